//! Time to put a security-group change in force: from reading the plan out of the store to the
//! nftables ruleset applied (`Network::apply`), in a private network namespace. Needs root.
//! Run with scripts/bench-net.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_cloud::config::{Config, Network as NetworkConfig};
use hearth_cloud::host::{Host, HostFuture};
use hearth_cloud::{security_group, vpc, vswitch, Cloud, Store};
use hearth_net::{names, Namespace, Network, NicPlan};
use hearth_store::security_groups::RuleRecord;

struct NoHost;
impl Host for NoHost {
    fn sync_network(&self) -> HostFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn sync_network_in<'a>(&'a self, _conn: &'a mut hearth_store::Conn) -> HostFuture<'a> {
        Box::pin(async { Ok(()) })
    }
    fn instances_changed(&self) {}
}

/// A store with one VPC, one /16 VSwitch and one group of `rules` ingress rules (inserted
/// directly: the API caps a group at 200 rules).
async fn store_with(rules: usize) -> (tempfile::TempDir, Cloud, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&Store::default_url(dir.path()))
        .await
        .expect("store");
    let cloud = Cloud::new(
        store,
        Config::default(),
        dir.path().into(),
        Arc::new(NoHost),
    );
    let region = cloud.config.region.id.clone();
    let vpc_id = vpc::create(
        &cloud,
        &vpc::CreateVpc {
            region_id: region.clone(),
            cidr_block: Some("10.0.0.0/8".into()),
            vpc_name: None,
            description: None,
            client_token: None,
            dry_run: false,
            tags: vec![],
        },
    )
    .await
    .expect("vpc")
    .vpc_id;
    let vsw = vswitch::create(
        &cloud,
        &vswitch::CreateVSwitch {
            zone_id: cloud.config.zones[0].id.clone(),
            vpc_id: vpc_id.clone(),
            cidr_block: "10.1.0.0/16".into(),
            ..Default::default()
        },
    )
    .await
    .expect("vswitch")
    .vswitch_id;
    let sg = security_group::create(
        &cloud,
        security_group::NewGroup {
            region_id: region,
            vpc_id: Some(vpc_id),
            ..Default::default()
        },
    )
    .await
    .expect("group");
    let mut tx = cloud.store.write().await.expect("tx");
    for i in 0..rules {
        let port = 1000 + i;
        let peer = format!("172.{}.{}.0/24", 16 + i / 256 % 16, i % 256);
        let r = RuleRecord {
            id: format!("sgr-bench{i}"),
            security_group_id: sg.clone(),
            direction: "ingress".into(),
            protocol: if i % 2 == 0 { "TCP" } else { "UDP" }.into(),
            port_range: format!("{port}/{}", port + i % 10),
            source_port_range: String::new(),
            peer_cidr: peer.clone(),
            peer_group_id: String::new(),
            local_cidr: String::new(),
            policy: if i % 7 == 0 { "Drop" } else { "Accept" }.into(),
            priority: (1 + i % 100) as i64,
            nic_type: "intranet".into(),
            description: String::new(),
            created_at: "2026-01-01T00:00:00Z".into(),
            identity: format!("bench|{i}"),
        };
        hearth_store::security_groups::insert_rule(&mut tx, &r)
            .await
            .expect("rule");
    }
    tx.commit().await.expect("commit");
    (dir, cloud, vsw, sg)
}

fn nics(n: usize, vswitch_id: &str, group: &str) -> Vec<NicPlan> {
    (0..n)
        .map(|i| NicPlan {
            tap: names::tap_name(&format!("i-bench{i}"), 0),
            mac: [0, 0x16, 0x3e, 0, (i >> 8) as u8, i as u8],
            ip: std::net::Ipv4Addr::new(10, 1, (i / 250) as u8, (2 + i % 250) as u8),
            vswitch_id: vswitch_id.into(),
            groups: vec![group.into()],
            public_ip: None,
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("bench-net needs root (it builds bridges and nftables in a private namespace)");
        std::process::exit(1);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let net = Network::start(Namespace::Private).expect("network");
    let config = NetworkConfig::default();
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9}",
        "scenario (median of 7)", "read ms", "render ms", "apply ms", "total ms"
    );
    for (rules, instances) in [(1000usize, 0usize), (1000, 100), (200, 100), (0, 100)] {
        let (_dir, cloud, vsw, sg) = rt.block_on(store_with(rules));
        let mut samples = Vec::new();
        for _ in 0..7 {
            let t0 = Instant::now();
            let mut plan = rt.block_on(async {
                let mut conn = cloud.store.pool().acquire().await.expect("conn");
                hearth_net::desired::read(&mut conn, &config, None)
                    .await
                    .expect("read")
            });
            plan.nics = nics(instances, &vsw, &sg);
            let t1 = Instant::now();
            let script = hearth_net::nft::render(&plan).expect("render");
            let t2 = Instant::now();
            rt.block_on(net.apply(plan)).expect("apply");
            let t3 = Instant::now();
            let _ = script;
            samples.push((t1 - t0, t2 - t1, t3 - t2, t3 - t0));
        }
        samples.sort_by_key(|s| s.3);
        let (read, render, apply, total) = samples[samples.len() / 2];
        println!(
            "{:<44} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            format!("{rules}-rule group, {instances} instances"),
            ms(read),
            ms(render),
            ms(apply),
            ms(total)
        );
    }
    rt.block_on(net.remove_all()).expect("cleanup");
}
