//! HMAC-SHA1, SignatureVersion 1.0: the signature sent by aliyun-python-sdk-core, the aliyun CLI
//! and Terraform. The signed set is every parameter from query and body except `Signature`.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use hearth_cloud::{Error, Result};

use super::{percent, Request};

/// Base64(HMAC-SHA1(secret + "&", StringToSign)) and the StringToSign, for messages.
pub fn sign(method: &str, pairs: &[(&str, &str)], secret: &str) -> (String, String) {
    let string_to_sign = string_to_sign(method, pairs);
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes any key length");
    mac.update(string_to_sign.as_bytes());
    (
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()),
        string_to_sign,
    )
}

fn string_to_sign(method: &str, pairs: &[(&str, &str)]) -> String {
    let query = percent::canonical_query(pairs.iter().copied());
    format!("{method}&%2F&{}", percent::encode(&query))
}

/// Checks the signature; the caller has already checked key, time and method parameters.
pub fn verify(req: &Request, secret: &str) -> Result<()> {
    let given = req.params.raw("Signature").unwrap_or_default();
    let pairs: Vec<(&str, &str)> = req
        .params
        .iter()
        .filter(|(k, _)| *k != "Signature")
        .collect();
    let (expected, string_to_sign) = sign(req.method, &pairs, secret);
    if super::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::bad_request(
            "SignatureDoesNotMatch",
            format!("Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example from Alibaba Cloud's RPC signature documentation.
    #[test]
    fn documented_example() {
        let pairs = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ];
        let (sig, sts) = sign("GET", &pairs, "testsecret");
        assert!(sts.starts_with("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions"));
        assert_eq!(sig, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
    }
}
