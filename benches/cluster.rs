//! Placement under contention: two release API servers (`hearth serve --role api`) on one
//! PostgreSQL place RunInstances (Amount=1, one placement decision each) from concurrent
//! clients over 100 simulated hosts (registered rows with fresh heartbeats, no VMs). Prints
//! decisions per second, latency, and how many hosts ended over their offer (must be 0).
//! Then, as root, the overlay's latency: two node agents in network namespaces of their own,
//! joined by a veth pair, and the time from RunInstances answering to the route to the new
//! instance present on the other node. Run through scripts/bench-cluster, which starts the
//! database.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{arg, call, percentile, signed_query, start_server};
use hearth_store::hosts::{self, Host};

const HOST_VCPUS: i64 = 64;

async fn register_hosts(url: &str, count: usize) -> hearth_store::Store {
    let store = hearth_store::Store::connect(url)
        .await
        .expect("the database");
    let mut tx = store.write().await.unwrap();
    for n in 0..count {
        let host = Host {
            host_id: format!("sim-{n:03}"),
            zone_id: "hearth-local-a".into(),
            address: format!("198.51.100.{}", n % 250 + 1),
            kvm: "hardware".into(),
            accepts: true,
            vcpus: HOST_VCPUS,
            memory_mib: HOST_VCPUS * 4096,
            disk_gib: 1000,
            session: format!("bench/{n}"),
            started_at: "2026-01-01T00:00:00Z".into(),
        };
        hosts::upsert(&mut tx, &host).await.unwrap();
    }
    tx.commit().await.unwrap();
    store
}

/// An image catalog the API servers can name (they make no files, so a small file will do).
fn write_config(dir: &std::path::Path) -> std::path::PathBuf {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::write(images.join("bench.raw"), vec![0u8; 4096]).unwrap();
    std::fs::write(
        images.join("manifest.json"),
        r#"{"images": [{"id": "bench-img", "name": "bench", "os_name": "Linux", "os_type": "linux", "platform": "x", "architecture": "x86_64", "size_gib": 1, "file": "bench.raw"}]}"#,
    )
    .unwrap();
    let config = dir.join("hearth.toml");
    // Simulated hosts never beat: a long timeout keeps them available for the run.
    std::fs::write(
        &config,
        format!(
            "images_dir = {:?}\n[cluster]\nheartbeat_secs = 1\nhost_timeout_secs = 3600\n",
            images.display().to_string()
        ),
    )
    .unwrap();
    config
}

/// Two node agents in their own namespaces with an underlay, for the overlay measurement.
struct OverlayNodes {
    spaces: [String; 2],
    nodes: Vec<std::process::Child>,
    _dirs: Vec<tempfile::TempDir>,
}

impl OverlayNodes {
    fn start(binary: &str, url: &str, config: &str) -> OverlayNodes {
        let tag = std::process::id();
        let spaces = [format!("hbench1-{tag}"), format!("hbench2-{tag}")];
        let ip = |args: &[&str]| {
            let ok = std::process::Command::new("ip")
                .args(args)
                .status()
                .expect("ip")
                .success();
            assert!(ok, "ip {}", args.join(" "));
        };
        for ns in &spaces {
            ip(&["netns", "add", ns]);
        }
        ip(&[
            "-n", &spaces[0], "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns",
            &spaces[1],
        ]);
        let mut nodes = Vec::new();
        let mut dirs = Vec::new();
        for (n, ns) in spaces.iter().enumerate() {
            let addr = format!("192.0.2.{}", 21 + n);
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", "ul0"]);
            ip(&["-n", ns, "link", "set", "ul0", "up"]);
            let dir = tempfile::tempdir().unwrap();
            let child = std::process::Command::new(binary)
                .args([
                    "serve",
                    "--role",
                    "node",
                    "--instances",
                    "off",
                    "--database-url",
                    url,
                    "--config",
                    config,
                ])
                .arg("--data-dir")
                .arg(dir.path())
                .args([
                    "--host-id",
                    &format!("overlay-{}", n + 1),
                    "--advertise-address",
                    &addr,
                ])
                .args(["--host-network", &format!("/run/netns/{ns}")])
                .env("HEARTH_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("node agent");
            nodes.push(child);
            dirs.push(dir);
        }
        OverlayNodes {
            spaces,
            nodes,
            _dirs: dirs,
        }
    }

    fn routes(&self, n: usize, ip: &str) -> bool {
        let out = std::process::Command::new("ip")
            .args(["-n", &self.spaces[n], "route", "show", ip])
            .output()
            .expect("ip route");
        String::from_utf8_lossy(&out.stdout).contains("hvx")
    }
}

impl Drop for OverlayNodes {
    fn drop(&mut self) {
        for c in &mut self.nodes {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.spaces {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .status();
        }
    }
}

/// RunInstances to the route present on the other node, `samples` times.
async fn overlay_latency(binary: &str, url: &str, config: &str, samples: usize) {
    let nodes = OverlayNodes::start(binary, url, config);
    let flags = ["--role", "api", "--database-url", url, "--config", config];
    let api = start_server(binary, &flags, &[]);
    let client = reqwest::Client::new();
    let a = &api.endpoint;
    let mut nonce = 9_000_000_000u64;
    let mut q = |action: &str, version: &str, extra: &[(&str, String)]| {
        nonce += 1;
        signed_query(action, version, extra, nonce)
    };
    // Both nodes registered before the first placement.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let vpc = call(
        &client,
        a,
        q(
            "CreateVpc",
            "2016-04-28",
            &[("CidrBlock", "172.16.0.0/16".into())],
        ),
    )
    .await;
    let vpc_id = vpc["VpcId"].as_str().unwrap().to_string();
    let vsw = call(
        &client,
        a,
        q(
            "CreateVSwitch",
            "2016-04-28",
            &[
                ("VpcId", vpc_id.clone()),
                ("ZoneId", "hearth-local-a".into()),
                ("CidrBlock", "172.16.0.0/24".into()),
            ],
        ),
    )
    .await;
    let vsw_id = vsw["VSwitchId"].as_str().unwrap().to_string();
    let sg = call(
        &client,
        a,
        q("CreateSecurityGroup", "2014-05-26", &[("VpcId", vpc_id)]),
    )
    .await;
    let sg_id = sg["SecurityGroupId"].as_str().unwrap().to_string();
    let mut times = Vec::new();
    for _ in 0..samples {
        let extra = [
            ("ImageId", "bench-img".to_string()),
            ("InstanceType", "ecs.t6.small".into()),
            ("SecurityGroupId", sg_id.clone()),
            ("VSwitchId", vsw_id.clone()),
        ];
        let body = call(&client, a, q("RunInstances", "2014-05-26", &extra)).await;
        let answered = Instant::now();
        let id = body["InstanceIdSets"]["InstanceIdSet"][0]
            .as_str()
            .unwrap()
            .to_string();
        let attr = call(
            &client,
            a,
            q(
                "DescribeInstanceAttribute",
                "2014-05-26",
                &[("InstanceId", id)],
            ),
        )
        .await;
        let ip = attr["VpcAttributes"]["PrivateIpAddress"]["IpAddress"][0]
            .as_str()
            .unwrap()
            .to_string();
        let host = attr["DedicatedHostAttribute"]["DedicatedHostName"]
            .as_str()
            .unwrap()
            .to_string();
        let other = if host == "overlay-1" { 1 } else { 0 };
        let deadline = answered + Duration::from_secs(10);
        while !nodes.routes(other, &ip) {
            assert!(
                Instant::now() < deadline,
                "no route to {ip} on the other node within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        times.push(answered.elapsed());
    }
    times.sort();
    println!(
        "RunInstances to the overlay route on the other node: p50 {:>6.1} ms  p99 {:>6.1} ms  max {:>6.1} ms  ({samples} instances, 2 node agents)",
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3
    );
    drop(api);
    drop(nodes);
}

fn main() {
    let binary = std::env::var("HEARTH_BIN").expect("HEARTH_BIN (scripts/bench-cluster sets it)");
    let url = std::env::var("HEARTH_BENCH_DATABASE_URL")
        .expect("HEARTH_BENCH_DATABASE_URL: an empty PostgreSQL database (scripts/bench-cluster)");
    let host_count: usize = arg("--hosts", "100").parse().expect("--hosts N");
    let clients: usize = arg("--clients", "16").parse().expect("--clients N");
    let seconds: u64 = arg("--seconds", "10").parse().expect("--seconds N");

    let shared = tempfile::tempdir().unwrap();
    let config = write_config(shared.path());
    let config = config.to_str().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if unsafe { libc::geteuid() } == 0 {
            overlay_latency(&binary, &url, config, 12).await;
        } else {
            println!("RunInstances to the overlay route on the other node: not measured (needs root)");
        }
        let store = register_hosts(&url, host_count).await;
        // The overlay's two nodes are stopped: only the simulated hosts take part below.
        let mut tx = store.write().await.unwrap();
        for id in ["overlay-1", "overlay-2"] {
            hosts::remove(&mut tx, id).await.unwrap();
        }
        tx.commit().await.unwrap();
        let flags = ["--role", "api", "--database-url", &url, "--config", config];
        let servers = [
            start_server(&binary, &flags, &[]),
            start_server(&binary, &flags, &[]),
        ];
        let client = reqwest::Client::new();
        let a = &servers[0].endpoint;
        let vpc = call(&client, a, signed_query("CreateVpc", "2016-04-28", &[("CidrBlock", "10.0.0.0/8".into())], 1)).await;
        let vpc_id = vpc["VpcId"].as_str().unwrap().to_string();
        let vsw = call(&client, a, signed_query("CreateVSwitch", "2016-04-28", &[("VpcId", vpc_id.clone()), ("ZoneId", "hearth-local-a".into()), ("CidrBlock", "10.0.0.0/16".into())], 2)).await;
        let vsw_id = vsw["VSwitchId"].as_str().unwrap().to_string();
        let sg = call(&client, a, signed_query("CreateSecurityGroup", "2014-05-26", &[("VpcId", vpc_id)], 3)).await;
        let sg_id = sg["SecurityGroupId"].as_str().unwrap().to_string();

        println!(
            "{host_count} simulated hosts of {HOST_VCPUS} vCPUs, 2 API servers on PostgreSQL, {clients} clients each, {seconds} s, RunInstances Amount=1 ecs.t6.small"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for (s, server) in servers.iter().enumerate() {
            for c in 0..clients {
                let (stop, refused) = (stop.clone(), refused.clone());
                let endpoint = server.endpoint.clone();
                let extra = [
                    ("ImageId", "bench-img".to_string()),
                    ("InstanceType", "ecs.t6.small".into()),
                    ("SecurityGroupId", sg_id.clone()),
                    ("VSwitchId", vsw_id.clone()),
                ];
                tasks.push(tokio::spawn(async move {
                    let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
                    let mut latencies = Vec::new();
                    let mut n = ((s * 1000 + c) as u64) << 32;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let query = signed_query("RunInstances", "2014-05-26", &extra, n);
                        let t = Instant::now();
                        let resp = http.get(format!("http://{endpoint}/?{query}")).send().await.expect("request");
                        let ok = resp.status().is_success();
                        let body = resp.text().await.unwrap_or_default();
                        if ok {
                            latencies.push(t.elapsed());
                        } else {
                            assert!(body.contains("NoStock"), "{body}");
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    latencies
                }));
            }
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        latencies.sort();
        let mut conn = store.pool().acquire().await.unwrap();
        let listed = hosts::list(&mut conn).await.unwrap();
        let usage = hosts::usage(&mut conn).await.unwrap();
        let over = usage
            .iter()
            .filter(|u| listed.iter().any(|l| l.host.host_id == u.host_id && (u.vcpus > l.host.vcpus || u.memory_mib > l.host.memory_mib)))
            .count();
        let used_hosts = usage
            .iter()
            .filter(|u| u.vcpus > 0 && listed.iter().any(|l| l.host.host_id == u.host_id))
            .count();
        println!(
            "placement decisions {:>7.0} /s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} placed, {} NoStock, on {used_hosts} hosts)",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.len(),
            refused.load(Ordering::Relaxed)
        );
        println!("hosts over their offer after the race: {over}");
        drop(servers);
    });
}
