//! The metadata service from inside guests: each instance reads its own data and only its own;
//! spoofed sources get nothing. Needs root and curl.

mod common;

use std::collections::BTreeMap;

use common::*;
use hearth_cloud::security_group::Direction::Ingress;
use hearth_net::{InstanceMetadata, MetadataTable, Plan};

/// (HTTP status, body) of a request from `g`, or status 0 when nothing answered.
fn curl(g: &Ns, args: &[&str]) -> (u16, String) {
    let mut all = vec!["-s", "-m", "2", "-w", "\n%{http_code}"];
    all.extend_from_slice(args);
    let out = g.cmd("curl", &all);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

const BASE: &str = "http://100.100.100.200/latest";

#[test]
fn each_instance_reads_only_its_own_metadata() {
    if !root() {
        return;
    }
    let host = Host::new();
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (v1, v2) = (
        vswitch("vsw-m1", "vpc-a", "10.1.0.0/24"),
        vswitch("vsw-m2", "vpc-b", "10.2.0.0/24"),
    );
    let open = group(
        "sg-open",
        &[(Ingress, "all", "-1/-1", "0.0.0.0/0", "accept", 1)],
    );
    let a = nic(1, &v1, "10.1.0.10", &["sg-open"]);
    let b = nic(2, &v1, "10.1.0.11", &["sg-open"]);
    let c = nic(3, &v2, "10.2.0.10", &["sg-open"]);
    let (ga, gb, gc) = (
        host.guest(&a, &v1),
        host.guest(&b, &v1),
        host.guest(&c, &v2),
    );
    let plan = Plan {
        vswitches: vec![v1.clone(), v2.clone()],
        nics: vec![a.clone(), b.clone(), c.clone()],
        groups: vec![open],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();

    let table = MetadataTable::default();
    let entry = |id: &str, secret: &str, hardened: bool| InstanceMetadata {
        items: BTreeMap::from([
            ("instance-id".to_string(), id.to_string()),
            ("region-id".to_string(), "hearth-local".to_string()),
        ]),
        user_data: Some(secret.to_string()),
        tokens_required: hardened,
        disabled: false,
    };
    table.set(&v1.bridge, a.ip, entry("i-a", "secret-a", false));
    table.set(&v1.bridge, b.ip, entry("i-b", "secret-b", true));
    let _server = mt.block_on(host.net.serve_metadata(table.clone())).unwrap();

    assert_eq!(
        curl(&ga, &[&format!("{BASE}/meta-data/instance-id")]),
        (200, "i-a".into())
    );
    assert_eq!(
        curl(&ga, &[&format!("{BASE}/meta-data/")]),
        (200, "instance-id\nregion-id".into())
    );
    assert_eq!(
        curl(&ga, &[&format!("{BASE}/user-data")]),
        (200, "secret-a".into())
    );

    // Hardened: b needs a token, and a's token is not b's.
    assert_eq!(curl(&gb, &[&format!("{BASE}/user-data")]).0, 401);
    let (status, token) = curl(
        &gb,
        &[
            "-X",
            "PUT",
            "-H",
            "X-aliyun-ecs-metadata-token-ttl-seconds: 60",
            &format!("{BASE}/api/token"),
        ],
    );
    assert_eq!(status, 200);
    let header = format!("X-aliyun-ecs-metadata-token: {token}");
    assert_eq!(
        curl(&gb, &["-H", &header, &format!("{BASE}/user-data")]),
        (200, "secret-b".into())
    );
    assert_eq!(
        curl(&ga, &["-H", &header, &format!("{BASE}/user-data")]).0,
        401,
        "another instance's token"
    );

    // An instance the table does not know (another VPC, same service address) gets nothing.
    assert_eq!(curl(&gc, &[&format!("{BASE}/user-data")]).0, 404);
    // a pretending to be b: anti-spoofing drops it before the service sees it.
    ga.ip(&["addr", "add", "10.1.0.11/32", "dev", "eth0"]);
    assert_eq!(
        curl(
            &ga,
            &["--interface", "10.1.0.11", &format!("{BASE}/user-data")]
        )
        .0,
        0,
        "spoofed source: no answer at all"
    );
    // Entries follow the table: an instance that is gone gets nothing.
    table.replace_all(vec![]);
    assert_eq!(
        curl(&ga, &[&format!("{BASE}/meta-data/instance-id")]).0,
        404
    );
}
