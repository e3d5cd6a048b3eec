//! The overlay plan as a host reads it from a real store: hosts, VPCs and where instances are.

use hearth_store::hosts::{self, Host};
use hearth_store::{instances, vpcs, Store};

#[tokio::test]
async fn a_host_reads_the_other_hosts_instances_of_each_vpc() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&Store::default_url(dir.path()))
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    for (id, address) in [("h1", "192.0.2.1"), ("h2", "192.0.2.2")] {
        let h = Host {
            host_id: id.into(),
            address: address.into(),
            ..Host::default()
        };
        hosts::upsert(&mut tx, &h).await.unwrap();
    }
    for id in ["vpc-a", "vpc-b"] {
        let v = vpcs::Vpc {
            vpc_id: id.into(),
            ..Default::default()
        };
        vpcs::insert(&mut tx, &v).await.unwrap();
    }
    for (n, vpc, host, ip) in [
        (1, "vpc-a", "h1", "10.0.0.5"),
        (2, "vpc-a", "h2", "10.0.0.6"),
        (3, "vpc-b", "h2", "10.0.0.5"),
    ] {
        let i = instances::Instance {
            id: format!("i-{n}"),
            vpc_id: vpc.into(),
            vswitch_id: format!("vsw-{vpc}"),
            host_id: host.into(),
            private_ip: ip.into(),
            mac: format!("00:16:3e:00:00:0{n}"),
            ..Default::default()
        };
        instances::insert(&mut tx, &i, &[]).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut conn = store.pool().acquire().await.unwrap();
    let (plan, unreachable) = hearth_net::desired::overlay(&mut conn, "h1").await.unwrap();
    let plan = plan.expect("h1 advertises an address");
    assert!(unreachable.is_empty());
    assert_eq!(plan.local.to_string(), "192.0.2.1");
    let vnis: Vec<u32> = plan.vpcs.iter().map(|v| v.vni).collect();
    assert_eq!(
        vnis,
        [
            hearth_net::overlay::VNI_BASE + 1,
            hearth_net::overlay::VNI_BASE + 2
        ]
    );
    for v in &plan.vpcs {
        assert_eq!(v.peers.len(), 1, "{v:?}");
        assert_eq!(v.peers[0].host_id, "h2");
        assert_eq!(v.peers[0].address.to_string(), "192.0.2.2");
    }
    assert_eq!(plan.vpcs[0].peers[0].instances[0].to_string(), "10.0.0.6");
    assert_eq!(plan.vpcs[1].peers[0].instances[0].to_string(), "10.0.0.5");
    let (h2, _) = hearth_net::desired::overlay(&mut conn, "h2").await.unwrap();
    let h2 = h2.unwrap();
    assert_eq!(h2.vpcs[0].peers[0].instances[0].to_string(), "10.0.0.5");
    assert!(
        h2.vpcs[1].peers.is_empty(),
        "vpc-b has no instance away from h2"
    );
}
