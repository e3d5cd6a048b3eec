//! ACS3-HMAC-SHA256: the signature of the current Alibaba Cloud SDKs (Tea/OpenAPI). The client
//! names the headers it signed; we rebuild the canonical request from exactly those.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use hearth_cloud::{Error, Result};

use super::{percent, Request};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The parsed `Authorization` header.
#[derive(Debug, PartialEq, Eq)]
pub struct Authorization {
    pub credential: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn incomplete(what: &str) -> Error {
    Error::bad_request(
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards: {what}."),
    )
}

pub fn parse_authorization(value: &str) -> Result<Authorization> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| incomplete("the Authorization header must start with ACS3-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim().to_string()),
            "SignedHeaders" => signed = Some(v.trim().to_string()),
            "Signature" => signature = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let credential = credential
        .filter(|c| !c.is_empty())
        .ok_or_else(|| incomplete("Credential is missing from the Authorization header"))?;
    let signed = signed
        .filter(|c| !c.is_empty())
        .ok_or_else(|| incomplete("SignedHeaders is missing from the Authorization header"))?;
    let signature = signature
        .filter(|c| !c.is_empty())
        .ok_or_else(|| incomplete("Signature is missing from the Authorization header"))?;
    let signed_headers: Vec<String> = signed
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    Ok(Authorization {
        credential,
        signed_headers,
        signature,
    })
}

pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request for the headers the client says it signed.
pub fn canonical_request(req: &Request, signed_headers: &[String]) -> Result<String> {
    let mut names: Vec<&String> = signed_headers.iter().collect();
    names.sort();
    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<&str> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .collect();
        if values.is_empty() {
            return Err(incomplete(&format!(
                "the signed header {name} is not in the request"
            )));
        }
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    let query = percent::canonical_query(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let signed_list = names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(";");
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        query,
        canonical_headers,
        signed_list,
        hex_sha256(req.body)
    ))
}

pub fn sign(canonical_request: &str, secret: &str) -> String {
    let string_to_sign = format!("{ALGORITHM}\n{}", hex_sha256(canonical_request.as_bytes()));
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks that every `x-acs-*` header and `host` are signed, the body hash matches its header,
/// and the signature matches.
pub fn verify(req: &Request, auth: &Authorization, secret: &str) -> Result<()> {
    for name in req.headers.keys() {
        let n = name.as_str();
        if (n.starts_with("x-acs-") || n == "host") && !auth.signed_headers.iter().any(|s| s == n) {
            return Err(incomplete(&format!(
                "the header {n} must be listed in SignedHeaders"
            )));
        }
    }
    if let Some(claimed) = req
        .headers
        .get("x-acs-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        if !claimed.eq_ignore_ascii_case(&hex_sha256(req.body)) {
            return Err(Error::bad_request(
                "SignatureDoesNotMatch",
                "The x-acs-content-sha256 header does not match the SHA-256 of the request body.",
            ));
        }
    }
    let canonical = canonical_request(req, &auth.signed_headers)?;
    let expected = sign(&canonical, secret);
    if super::constant_time_eq(
        auth.signature.to_ascii_lowercase().as_bytes(),
        expected.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(Error::bad_request(
            "SignatureDoesNotMatch",
            format!("Specified signature is not matched with our calculation. server canonical request is:{canonical}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_authorization() {
        let a = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=AK1,SignedHeaders=host;x-acs-date,Signature=ab12",
        )
        .unwrap();
        assert_eq!(a.credential, "AK1");
        assert_eq!(a.signed_headers, vec!["host", "x-acs-date"]);
        assert_eq!(a.signature, "ab12");
        assert_eq!(
            parse_authorization("ACS3-HMAC-SHA256 Credential=AK1")
                .unwrap_err()
                .code,
            "IncompleteSignature"
        );
        assert_eq!(
            parse_authorization("Bearer x").unwrap_err().code,
            "IncompleteSignature"
        );
    }
}
