//! Request authentication for the Alibaba RPC dialect: HMAC-SHA1 (SignatureVersion 1.0) and
//! ACS3-HMAC-SHA256, with clock-skew and nonce-replay checks common to both.

pub mod acs3;
mod credentials;
mod nonce;
pub mod percent;
pub mod rpc_v1;

use std::time::Duration;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

pub use credentials::{AccessKey, KeyRing};
use hearth_cloud::{Error, Result};
pub use nonce::NonceCache;

use crate::params::Params;

/// How far a request's timestamp may be from our clock, and how long nonces are remembered.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Everything a signature covers.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as received (still percent-encoded).
    pub path: &'a str,
    /// Decoded query pairs, in order.
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// Query and form-body parameters merged.
    pub params: &'a Params,
}

/// Who signed, and what the signature says the request is.
#[derive(Debug)]
pub struct Caller {
    pub access_key_id: String,
    /// For ACS3, the action and version come from signed headers.
    pub action: Option<String>,
    pub version: Option<String>,
}

pub struct Authenticator {
    keys: KeyRing,
    nonces: NonceCache,
}

impl Authenticator {
    pub fn new(keys: KeyRing) -> Authenticator {
        Authenticator {
            keys,
            nonces: NonceCache::new(REPLAY_WINDOW),
        }
    }

    /// The access keys (the Tencent dialect signs with the same key pair).
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    pub fn verify(&self, req: &Request, now: DateTime<Utc>) -> Result<Caller> {
        match req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        {
            Some(value) if value.starts_with(acs3::ALGORITHM) => self.verify_acs3(req, value, now),
            _ => self.verify_rpc_v1(req, now),
        }
    }

    fn verify_rpc_v1(&self, req: &Request, now: DateTime<Utc>) -> Result<Caller> {
        let p = req.params;
        if p.opt("Signature").is_none() {
            return Err(Error::bad_request(
                "IncompleteSignature",
                "The request signature does not conform to Aliyun standards: the Signature parameter (or an ACS3-HMAC-SHA256 Authorization header) is missing.",
            ));
        }
        let key_id = p.required("AccessKeyId")?;
        let method = p.required("SignatureMethod")?;
        if method != "HMAC-SHA1" {
            return Err(Error::bad_request(
                "InvalidSignatureMethod",
                format!("SignatureMethod {method:?} is not supported: use HMAC-SHA1."),
            ));
        }
        let version = p.required("SignatureVersion")?;
        if version != "1.0" {
            return Err(Error::bad_request(
                "InvalidSignatureVersion",
                format!("SignatureVersion {version:?} is not supported: use 1.0."),
            ));
        }
        let nonce = p.required("SignatureNonce")?;
        check_time(p.required("Timestamp")?, "Timestamp", now)?;
        let secret = self.secret(key_id)?;
        rpc_v1::verify(req, secret)?;
        self.check_nonce(key_id, nonce)?;
        Ok(Caller {
            access_key_id: key_id.to_string(),
            action: None,
            version: None,
        })
    }

    fn verify_acs3(
        &self,
        req: &Request,
        authorization: &str,
        now: DateTime<Utc>,
    ) -> Result<Caller> {
        let auth = acs3::parse_authorization(authorization)?;
        let header = |name: &str| -> Result<String> {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::bad_request(
                        "MissingParameter",
                        format!(
                            "The header {name} that ACS3-HMAC-SHA256 requires is not supplied."
                        ),
                    )
                })
        };
        let date = header("x-acs-date")?;
        let nonce = header("x-acs-signature-nonce")?;
        let action = header("x-acs-action")?;
        let version = header("x-acs-version")?;
        check_time(&date, "x-acs-date", now)?;
        let secret = self.secret(&auth.credential)?;
        acs3::verify(req, &auth, secret)?;
        self.check_nonce(&auth.credential, &nonce)?;
        Ok(Caller {
            access_key_id: auth.credential,
            action: Some(action),
            version: Some(version),
        })
    }

    fn secret(&self, key_id: &str) -> Result<&str> {
        self.keys
            .secret(key_id)
            .ok_or_else(|| Error::not_found("InvalidAccessKeyId.NotFound", format!("Specified access key {key_id:?} is not found: check HEARTH_ACCESS_KEY_ID or run `hearth credentials`.")))
    }

    fn check_nonce(&self, key_id: &str, nonce: &str) -> Result<()> {
        if self.nonces.first_use(key_id, nonce) {
            Ok(())
        } else {
            Err(Error::bad_request("SignatureNonceUsed", format!("The request signature nonce {nonce:?} has been used in the last 15 minutes: send a fresh nonce with each request.")))
        }
    }
}

fn check_time(text: &str, name: &str, now: DateTime<Utc>) -> Result<()> {
    let t = DateTime::parse_from_rfc3339(text).map_err(|_| {
        Error::bad_request(
            "InvalidTimeStamp.Format",
            format!("The {name} {text:?} is not a UTC time in the form YYYY-MM-DDThh:mm:ssZ."),
        )
    })?;
    let skew = (now - t.with_timezone(&Utc)).num_seconds().unsigned_abs();
    if skew > REPLAY_WINDOW.as_secs() {
        return Err(Error::bad_request(
            "InvalidTimeStamp.Expired",
            format!("The {name} {text:?} is {skew} seconds away from the server time {}; at most 900 are allowed: check the client clock.", now.format("%Y-%m-%dT%H:%M:%SZ")),
        ));
    }
    Ok(())
}

/// Equality whose time does not depend on where the first difference is.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
