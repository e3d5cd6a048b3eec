//! TC3-HMAC-SHA256, the Tencent Cloud API 3.0 signature (docs: wire-protocols):
//! `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/<service>/tc3_request,
//! SignedHeaders=<a;b>, Signature=<hex>`, over
//! `METHOD\n/path\nquery\n<name:value\n per signed header>\n<signed headers>\n<hex sha256(body)>`,
//! signed with a key derived from the secret, the date and the service. The timestamp is
//! X-TC-Timestamp (Unix seconds), at most five minutes from our clock.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use hearth_cloud::{Error, Result};

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// How far X-TC-Timestamp may be from our clock (Tencent's limit).
pub const MAX_SKEW_SECS: i64 = 300;

/// The parts of an Authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub secret_id: String,
    pub date: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn invalid(why: &str) -> Error {
    Error::bad_request(
        "AuthFailure.InvalidAuthorization",
        format!("The Authorization header does not follow TC3-HMAC-SHA256: {why}."),
    )
}

pub fn parse_authorization(value: &str) -> Result<Authorization> {
    let rest = value
        .strip_prefix(ALGORITHM)
        .ok_or_else(|| invalid("it must start with TC3-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    let credential = credential.ok_or_else(|| invalid("Credential is missing"))?;
    let mut scope = credential.split('/');
    let (Some(id), Some(date), Some(service), Some("tc3_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(invalid(
            "Credential must be SecretId/YYYY-MM-DD/service/tc3_request",
        ));
    };
    if id.is_empty() || service.is_empty() {
        return Err(invalid("Credential has an empty SecretId or service"));
    }
    let signed_headers: Vec<String> = signed
        .ok_or_else(|| invalid("SignedHeaders is missing"))?
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect();
    if signed_headers.is_empty() {
        return Err(invalid("SignedHeaders is empty"));
    }
    let signature = signature.ok_or_else(|| invalid("Signature is missing"))?;
    Ok(Authorization {
        secret_id: id.to_string(),
        date: date.to_string(),
        service: service.to_string(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// X-TC-Timestamp within [`MAX_SKEW_SECS`] of `now` (Unix seconds), and the credential date
/// is that timestamp's UTC date.
pub fn check_time(timestamp: &str, date: &str, now: i64) -> Result<()> {
    let t: i64 = timestamp.trim().parse().map_err(|_| {
        Error::bad_request(
            "InvalidParameterValue",
            format!("The header X-TC-Timestamp {timestamp:?} is not a Unix time in seconds."),
        )
    })?;
    let skew = now.saturating_sub(t).unsigned_abs();
    if skew > MAX_SKEW_SECS as u64 {
        return Err(Error::bad_request(
            "AuthFailure.SignatureExpire",
            format!("The request timestamp {t} is {skew} seconds away from the server time {now}; at most {MAX_SKEW_SECS} are allowed: check the client clock."),
        ));
    }
    let day = chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    if day != date {
        return Err(Error::bad_request(
            "AuthFailure.SignatureFailure",
            format!("The Credential date {date} is not the UTC date of X-TC-Timestamp ({day})."),
        ));
    }
    Ok(())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The request as signed.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string (empty for the JSON POSTs the SDKs send).
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub timestamp: &'a str,
}

/// The expected signature of `req` under `auth`'s scope with `secret`, or `None` when a
/// signed header is missing. `lower_values` lower-cases header values (the documented form;
/// the SDKs send values that are already lower case, except the Host's port-free name).
fn expected(
    req: &Signed,
    auth: &Authorization,
    secret: &str,
    lower_values: bool,
) -> Option<String> {
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let value = req.headers.get(name.as_str())?.to_str().ok()?.trim();
        let value = if lower_values {
            value.to_ascii_lowercase()
        } else {
            value.to_string()
        };
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let unsigned = req
        .headers
        .get("x-tc-content-sha256")
        .and_then(|v| v.to_str().ok())
        == Some("UNSIGNED-PAYLOAD");
    let payload_hash = if unsigned {
        hex::encode(Sha256::digest(b"UNSIGNED-PAYLOAD"))
    } else {
        hex::encode(Sha256::digest(req.body))
    };
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        req.query,
        canonical_headers,
        auth.signed_headers.join(";"),
        payload_hash
    );
    let scope = format!("{}/{}/tc3_request", auth.date, auth.service);
    let to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        req.timestamp,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(format!("TC3{secret}").as_bytes(), auth.date.as_bytes());
    let k_service = hmac(&k_date, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"tc3_request");
    Some(hex::encode(hmac(&k_signing, to_sign.as_bytes())))
}

/// `AuthFailure.SignatureFailure` unless the signature matches.
pub fn verify(req: &Signed, auth: &Authorization, secret: &str) -> Result<()> {
    if !auth.signed_headers.iter().any(|h| h == "content-type")
        || !auth.signed_headers.iter().any(|h| h == "host")
    {
        return Err(Error::bad_request(
            "AuthFailure.SignatureFailure",
            "SignedHeaders must include content-type and host.",
        ));
    }
    let matches = [false, true].iter().any(|lower| {
        expected(req, auth, secret, *lower)
            .is_some_and(|e| crate::auth::constant_time_eq(e.as_bytes(), auth.signature.as_bytes()))
    });
    if matches {
        Ok(())
    } else {
        Err(Error::bad_request(
            "AuthFailure.SignatureFailure",
            "The request signature does not match: check the SecretKey and that the signed headers and body reach the server unchanged.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// Tencent's documented example (API 3.0 signature v3 page): DescribeInstances in
    /// ap-guangzhou, signed at 1551113065 with the example secret; the signature is the one
    /// tencentcloud-sdk-python's Sign.sign_tc3 computes for it.
    #[test]
    fn documented_example() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert("host", HeaderValue::from_static("cvm.tencentcloudapi.com"));
        let body = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let req = Signed {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
            timestamp: "1551113065",
        };
        let auth = parse_authorization("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168").unwrap();
        assert_eq!(auth.service, "cvm");
        assert!(verify(&req, &auth, "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE").is_ok());
        assert_eq!(
            verify(&req, &auth, "wrong").unwrap_err().code,
            "AuthFailure.SignatureFailure"
        );
        assert!(check_time("1551113065", "2019-02-25", 1551113065 + 299).is_ok());
        assert_eq!(
            check_time("1551113065", "2019-02-25", 1551113065 + 301)
                .unwrap_err()
                .code,
            "AuthFailure.SignatureExpire"
        );
        assert_eq!(
            check_time("1551113065", "2019-02-26", 1551113065)
                .unwrap_err()
                .code,
            "AuthFailure.SignatureFailure"
        );
    }

    #[test]
    fn malformed_headers() {
        for bad in [
            "TC3-HMAC-SHA256 SignedHeaders=host, Signature=ab",
            "TC3-HMAC-SHA256 Credential=id/2019-02-25/cvm, SignedHeaders=host, Signature=ab",
            "TC3-HMAC-SHA256 Credential=id/2019-02-25/cvm/tc3_request, Signature=ab",
            "TC3-HMAC-SHA256 Credential=id/2019-02-25/cvm/tc3_request, SignedHeaders=host",
            "HMAC Credential=x",
        ] {
            assert_eq!(
                parse_authorization(bad).unwrap_err().code,
                "AuthFailure.InvalidAuthorization",
                "{bad}"
            );
        }
    }
}
