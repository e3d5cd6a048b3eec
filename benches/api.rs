//! API throughput and latency: signed DescribeSecurityGroups and DescribeVSwitches against a
//! release `hearth serve` on SQLite with 10,000 of each stored. Run through scripts/bench-api.
//!
//! Every request is signed (HMAC-SHA1, a fresh nonce each), sent over keep-alive connections by
//! concurrent clients on this same machine, so client and server share the two cores.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_api::auth::rpc_v1;

const KEY_ID: &str = "LTAIbenchkey00000001";
const SECRET: &str = "bench-secret";

struct Server {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(binary: &str) -> Server {
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
        _dir: dir,
    }
}

/// The query string of a signed HMAC-SHA1 request.
fn signed_query(action: &str, version: &str, extra: &[(&str, String)], nonce: u64) -> String {
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

async fn call(client: &reqwest::Client, endpoint: &str, query: String) -> serde_json::Value {
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

async fn seed(client: &reqwest::Client, endpoint: &str, count: usize) {
    let started = Instant::now();
    let mut nonce = 1_000_000_000u64;
    let mut next = || {
        nonce += 1;
        nonce
    };
    let vpc = call(
        client,
        endpoint,
        signed_query(
            "CreateVpc",
            "2016-04-28",
            &[("CidrBlock", "10.0.0.0/8".into())],
            next(),
        ),
    )
    .await;
    let vpc_id = vpc["VpcId"].as_str().expect("VpcId").to_string();
    for i in 0..count {
        // /29 networks: 10.x.y.z with 8 addresses each, none overlapping.
        let base = (i as u32) * 8;
        let cidr = format!(
            "10.{}.{}.{}/29",
            (base >> 16) & 255,
            (base >> 8) & 255,
            base & 255
        );
        let extra = [
            ("VpcId", vpc_id.clone()),
            ("ZoneId", "hearth-local-a".into()),
            ("CidrBlock", cidr),
        ];
        call(
            client,
            endpoint,
            signed_query("CreateVSwitch", "2016-04-28", &extra, next()),
        )
        .await;
        let extra = [
            ("VpcId", vpc_id.clone()),
            ("SecurityGroupName", format!("bench-{i}")),
        ];
        call(
            client,
            endpoint,
            signed_query("CreateSecurityGroup", "2014-05-26", &extra, next()),
        )
        .await;
    }
    println!(
        "seeded {count} VSwitches and {count} security groups in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

struct Run {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn load(
    endpoint: &str,
    action: &'static str,
    version: &'static str,
    clients: usize,
    duration: Duration,
) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for c in 0..clients {
        let stop = stop.clone();
        let endpoint = endpoint.to_string();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::new();
            let mut n = (c as u64) << 32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let query = signed_query(action, version, &[("PageSize", "10".into())], n);
                let t = Instant::now();
                let resp = client
                    .get(format!("http://{endpoint}/?{query}"))
                    .send()
                    .await
                    .expect("request");
                assert!(resp.status().is_success(), "{}", resp.status());
                let _ = resp.bytes().await.expect("body");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Run {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let binary = std::env::var("HEARTH_BIN")
        .expect("HEARTH_BIN: the release hearth binary (scripts/bench-api sets it)");
    let objects: usize = arg("--objects", "10000").parse().expect("--objects N");
    let clients: usize = arg("--clients", "16").parse().expect("--clients N");
    let seconds: u64 = arg("--seconds", "10").parse().expect("--seconds N");

    let server = start_server(&binary);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        seed(&client, &server.endpoint, objects).await;
        println!("{clients} concurrent clients, {seconds} s per action, PageSize=10, every request signed (HMAC-SHA1)");
        // DescribeRegions touches no table: the floor set by HTTP, signatures and encoding.
        let actions = [("DescribeSecurityGroups", "2014-05-26"), ("DescribeVSwitches", "2016-04-28"), ("DescribeRegions", "2014-05-26")];
        for (action, version) in actions {
            let mut run = load(&server.endpoint, action, version, clients, Duration::from_secs(seconds)).await;
            run.latencies.sort();
            println!(
                "{action:<24} {:>7.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests)",
                run.requests as f64 / run.elapsed.as_secs_f64(),
                percentile(&run.latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&run.latencies, 0.99).as_secs_f64() * 1e3,
                run.requests
            );
        }
    });
}
