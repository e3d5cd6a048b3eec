//! What the benchmarks share: a `hearth serve` of their own, signed requests, percentiles.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hearth_api::auth::rpc_v1;

pub const KEY_ID: &str = "LTAIbenchkey00000001";
pub const SECRET: &str = "bench-secret";

pub struct Server {
    pub child: Child,
    pub endpoint: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hearth serve` on a free port in a fresh data dir, with `args` and `env` added.
pub fn start_server(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("127.0.0.1:{port}");
    let child = Command::new(binary)
        .args(["serve", "--listen", &endpoint, "--data-dir"])
        .arg(dir.path())
        .args(args)
        // Bridges and nftables in a namespace that ends with the server: a benchmark leaves
        // nothing on the machine.
        .env("HEARTH_HOST_NETWORK", "private")
        .envs(env.iter().copied())
        .env("HEARTH_ACCESS_KEY_ID", KEY_ID)
        .env("HEARTH_ACCESS_KEY_SECRET", SECRET)
        .env("HEARTH_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start hearth serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&endpoint).is_err() {
        assert!(Instant::now() < deadline, "hearth serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        endpoint,
        dir,
    }
}

/// The query string of a signed HMAC-SHA1 request.
pub fn signed_query(action: &str, version: &str, extra: &[(&str, String)], nonce: u64) -> String {
    let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    // Unique per action, request and run: a reused nonce is (rightly) refused.
    let nonce = format!("bench-{action}-{nonce}-{}", std::process::id());
    let mut pairs: Vec<(&str, &str)> = vec![
        ("Action", action),
        ("Version", version),
        ("Format", "JSON"),
        ("AccessKeyId", KEY_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", &nonce),
        ("Timestamp", &timestamp),
        ("RegionId", "hearth-local"),
    ];
    for (k, v) in extra {
        pairs.push((k, v));
    }
    let (signature, _) = rpc_v1::sign("GET", &pairs, SECRET);
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        s.append_pair(k, v);
    }
    s.append_pair("Signature", &signature);
    s.finish()
}

pub async fn call(client: &reqwest::Client, endpoint: &str, query: String) -> serde_json::Value {
    let resp = client
        .get(format!("http://{endpoint}/?{query}"))
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.expect("json body");
    assert!(status.is_success(), "{status}: {body}");
    body
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// The value after `--name` on the command line, or `default`.
pub fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}
