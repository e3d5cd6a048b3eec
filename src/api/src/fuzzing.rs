//! Entry points for the fuzz targets in fuzz/ (cargo fuzz), also run by unit tests on generated
//! inputs so that every test run exercises them. Each must return normally for any input: a panic
//! here is a server crash on a hostile request.

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::auth::{AccessKey, Authenticator, KeyRing, Request};
use crate::params::Params;

/// Decodes `data` as a query string and runs every parameter getter over every key it names.
pub fn params(data: &[u8]) {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let p = Params::from_pairs(pairs.iter().cloned());
    for (k, _) in &pairs {
        let _ = p.opt(k);
        let _ = p.int(k);
        let _ = p.int_in(k, 1, 100, None);
        let _ = p.boolean(k);
        let _ = p.json_list(k);
        let _ = p.one_of(k, &["a", "b"]);
        let stem = k.split('.').next().unwrap_or(k);
        let _ = p.list(stem);
        let _ = p.objects(stem);
    }
    let _ = p.tags();
}

/// Splits `data` into query, headers and body and verifies it as a signed request.
/// Layout: lines; the first is the query, then `name: value` header lines up to an empty line,
/// the rest is the body.
pub fn signature(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let query_text = lines.next().unwrap_or("");
    let mut headers = HeaderMap::new();
    let mut consumed = query_text.len() + 1;
    for line in lines.by_ref() {
        consumed += line.len() + 1;
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()),
                HeaderValue::from_str(value.trim()),
            ) {
                headers.append(n, v);
            }
        }
    }
    let body = text
        .as_bytes()
        .get(consumed.min(text.len())..)
        .unwrap_or_default();
    let query: Vec<(String, String)> = form_urlencoded::parse(query_text.as_bytes())
        .into_owned()
        .collect();
    let params = Params::from_pairs(
        query
            .iter()
            .cloned()
            .chain(form_urlencoded::parse(body).into_owned()),
    );
    let auth = Authenticator::new(KeyRing::new([AccessKey {
        id: "fuzzkey".into(),
        secret: "fuzzsecret".into(),
    }]));
    let req = Request {
        method: "POST",
        path: "/",
        query: &query,
        headers: &headers,
        body,
        params: &params,
    };
    let _ = auth.verify(&req, chrono::Utc::now());
}

/// The Tencent dialect's decoding: the same layout as [`signature`]; the TC3 Authorization is
/// parsed and verified, X-TC-Timestamp checked, and the body (JSON) and query (GET pairs) are
/// decoded into parameters and read with every getter.
pub fn tencent(data: &[u8]) {
    use crate::cvm::tc3;
    let text = String::from_utf8_lossy(data);
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.split('\n');
    let query = lines.next().unwrap_or("");
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.trim().to_ascii_lowercase().as_bytes()),
                HeaderValue::from_str(value.trim()),
            ) {
                headers.append(n, v);
            }
        }
    }
    let timestamp = headers
        .get("x-tc-timestamp")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if let Some(Ok(auth)) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(tc3::parse_authorization)
    {
        let _ = tc3::check_time(&timestamp, &auth.date, chrono::Utc::now().timestamp());
        let req = tc3::Signed {
            method: "POST",
            path: "/",
            query,
            headers: &headers,
            body: body.as_bytes(),
            timestamp: &timestamp,
        };
        let _ = tc3::verify(&req, &auth, "fuzzsecret");
    }
    let from_query =
        Params::from_zero_based_pairs(form_urlencoded::parse(query.as_bytes()).into_owned());
    let from_body = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| Params::from_json(&v).ok());
    for p in std::iter::once(from_query).chain(from_body) {
        let names: Vec<String> = p.iter().map(|(k, _)| k.to_string()).collect();
        for k in &names {
            let _ = p.int(k);
            let _ = p.boolean(k);
            let stem = k.split('.').next().unwrap_or(k);
            let _ = p.list(stem);
            let _ = p.objects(stem);
        }
        let _ = p.top_level_names();
        let _ = crate::cvm::filters(&p, &["zone", "tag:"]);
        let _ = crate::cvm::window(&p, 20, 100);
    }
}

#[cfg(test)]
mod tests {
    /// A small deterministic generator, so a failure reproduces from the printed seed.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() as usize) % items.len()]
        }
    }

    const PIECES: &[&str] = &[
        "Tag.",
        "1",
        "0",
        "21",
        "4294967296",
        ".Key",
        ".Value",
        "=",
        "&",
        "%",
        "%zz",
        "%F0%9F",
        "+",
        "Action",
        "Signature",
        "SignatureNonce",
        "Timestamp",
        "2026-11-22T00:00:00Z",
        "AccessKeyId",
        "fuzzkey",
        "[\"a\"",
        "]",
        "\"",
        "..",
        ".",
        "-1",
        "aliyun",
        "http://",
        "\u{0}",
        "\u{ffff}",
        "PageSize",
        "true",
        "x",
    ];
    const HEADER_PIECES: &[&str] = &[
        "authorization: ACS3-HMAC-SHA256 Credential=fuzzkey,SignedHeaders=host;x-acs-date,Signature=00",
        "authorization: ACS3-HMAC-SHA256 ,,,==",
        "authorization: ACS3-HMAC-SHA256",
        "host: 127.0.0.1",
        "x-acs-date: 2026-11-22T00:00:00Z",
        "x-acs-date: not-a-date",
        "x-acs-signature-nonce: n",
        "x-acs-action: DescribeRegions",
        "x-acs-version: 2014-05-26",
        "x-acs-content-sha256: zz",
        "content-type: application/x-www-form-urlencoded",
    ];

    const TC3_HEADERS: &[&str] = &[
        "authorization: TC3-HMAC-SHA256 Credential=fuzzkey/2026-11-22/cvm/tc3_request, SignedHeaders=content-type;host, Signature=00",
        "authorization: TC3-HMAC-SHA256 Credential=/, SignedHeaders=;, Signature=",
        "authorization: TC3-HMAC-SHA256 ,,,==",
        "content-type: application/json",
        "host: 127.0.0.1",
        "x-tc-timestamp: 1795000000",
        "x-tc-timestamp: -9223372036854775808",
        "x-tc-timestamp: 99999999999999999999",
        "x-tc-content-sha256: UNSIGNED-PAYLOAD",
    ];
    const JSON_PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"Filters\"",
        "\"Name\"",
        "\"Values\"",
        "\"zone\"",
        "\"Limit\"",
        "\"Offset\"",
        "-1",
        "1e999",
        "null",
        "true",
        "\"\u{0}\"",
        "\"a.b\"",
        "\"Tags\"",
        "0",
        "\"tag:k\"",
    ];

    #[test]
    fn generated_tencent_inputs_never_panic() {
        for seed in 0..3000u64 {
            let mut g = Lcg(seed);
            let mut query = String::new();
            for _ in 0..(g.next() % 12) {
                query.push_str(g.pick(PIECES));
            }
            let mut request = format!("{query}\n");
            for _ in 0..(g.next() % 5) {
                request.push_str(g.pick(TC3_HEADERS));
                request.push('\n');
            }
            request.push('\n');
            for _ in 0..(g.next() % 30) {
                request.push_str(g.pick(JSON_PIECES));
            }
            super::tencent(request.as_bytes());
        }
        super::tencent(br#"
authorization: TC3-HMAC-SHA256 Credential=fuzzkey/2026-11-22/cvm/tc3_request, SignedHeaders=content-type;host, Signature=00

{"Filters": [{"Name": "zone", "Values": ["a", "b"]}], "Limit": 5, "Offset": 2}"#);
    }

    #[test]
    fn generated_inputs_never_panic() {
        for seed in 0..3000u64 {
            let mut g = Lcg(seed);
            let mut query = String::new();
            for _ in 0..(g.next() % 24) {
                query.push_str(g.pick(PIECES));
            }
            super::params(query.as_bytes());
            let mut request = format!("{query}\n");
            for _ in 0..(g.next() % 5) {
                request.push_str(g.pick(HEADER_PIECES));
                request.push('\n');
            }
            request.push('\n');
            request.push_str(g.pick(PIECES));
            super::signature(request.as_bytes());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut g = Lcg(7);
        for _ in 0..2000 {
            let len = (g.next() % 200) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| g.next() as u8).collect();
            super::params(&bytes);
            super::signature(&bytes);
            super::tencent(&bytes);
        }
    }
}
