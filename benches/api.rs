//! API throughput and latency: signed DescribeSecurityGroups and DescribeVSwitches against a
//! release `hearth serve` on SQLite with 10,000 of each stored. Run through scripts/bench-api.
//!
//! Every request is signed (HMAC-SHA1, a fresh nonce each), sent over keep-alive connections by
//! concurrent clients on this same machine, so client and server share the two cores.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{arg, call, percentile, signed_query, start_server};

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

fn main() {
    let binary = std::env::var("HEARTH_BIN")
        .expect("HEARTH_BIN: the release hearth binary (scripts/bench-api sets it)");
    let objects: usize = arg("--objects", "10000").parse().expect("--objects N");
    let clients: usize = arg("--clients", "16").parse().expect("--clients N");
    let seconds: u64 = arg("--seconds", "10").parse().expect("--seconds N");

    let server = start_server(&binary, &[], &[]);
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
