//! Network changes reach the host before they are committed, and a host that refuses them rolls
//! the store back: the API call fails with InternalError and nothing is left half-done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hearth_cloud::config::Config;
use hearth_cloud::host::{Host, HostFuture};
use hearth_cloud::security_group::{self, Direction, NewGroup, RuleInput};
use hearth_cloud::{vpc, vswitch, Cloud, Error, Store};

/// A host that records what it was asked to enforce (the VSwitch count and rule count it saw)
/// and refuses while `refuse` is set.
#[derive(Default)]
struct FakeHost {
    refuse: AtomicBool,
    seen: Mutex<Vec<(usize, usize)>>,
}

impl Host for FakeHost {
    fn sync_network(&self) -> HostFuture<'_> {
        Box::pin(async { Ok(()) })
    }

    fn sync_network_in<'a>(&'a self, conn: &'a mut hearth_store::Conn) -> HostFuture<'a> {
        Box::pin(async move {
            let vswitches = hearth_store::vswitches::all_for_network(conn).await?.len();
            let rules = hearth_store::security_groups::all_rules(conn).await?.len();
            self.seen.lock().unwrap().push((vswitches, rules));
            if self.refuse.load(Ordering::SeqCst) {
                Err(Error::internal("nft refused the ruleset"))
            } else {
                Ok(())
            }
        })
    }

    fn instances_changed(&self) {}
}

async fn cloud(dir: &tempfile::TempDir, host: Arc<FakeHost>) -> Cloud {
    let store = Store::connect(&Store::default_url(dir.path()))
        .await
        .unwrap();
    Cloud::new(store, Config::default(), dir.path().into(), host)
}

fn ssh_rule() -> RuleInput {
    RuleInput {
        ip_protocol: Some("tcp".into()),
        port_range: Some("22/22".into()),
        source_cidr_ip: Some("0.0.0.0/0".into()),
        ..Default::default()
    }
}

async fn authorize_ssh(cloud: &Cloud, region: &str, sg: &str) -> hearth_cloud::Result<()> {
    security_group::authorize(cloud, region, sg, Direction::Ingress, &[ssh_rule()], None)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn the_host_sees_the_change_before_commit_and_can_refuse_it() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(FakeHost::default());
    let cloud = cloud(&dir, host.clone()).await;
    let region = cloud.config.region.id.clone();
    let zone = cloud.config.zones[0].id.clone();
    let vpc_id = vpc::create(
        &cloud,
        &vpc::CreateVpc {
            region_id: region.clone(),
            cidr_block: Some("10.0.0.0/16".into()),
            vpc_name: None,
            description: None,
            client_token: None,
            dry_run: false,
            tags: vec![],
        },
    )
    .await
    .unwrap()
    .vpc_id;
    let new_vswitch = |cidr: &str| vswitch::CreateVSwitch {
        zone_id: zone.clone(),
        vpc_id: vpc_id.clone(),
        cidr_block: cidr.into(),
        ..Default::default()
    };

    // Accepted: the host saw the new VSwitch while it was still uncommitted.
    let vsw = vswitch::create(&cloud, &new_vswitch("10.0.1.0/24"))
        .await
        .unwrap();
    assert_eq!(host.seen.lock().unwrap().last(), Some(&(1, 0)));

    // Refused: the call fails with InternalError and the VSwitch does not exist.
    host.refuse.store(true, Ordering::SeqCst);
    let err = vswitch::create(&cloud, &new_vswitch("10.0.2.0/24"))
        .await
        .unwrap_err();
    assert_eq!((err.code.as_str(), err.status), ("InternalError", 500));
    assert_eq!(host.seen.lock().unwrap().last(), Some(&(2, 0)));
    let mut conn = cloud.store.pool().acquire().await.unwrap();
    assert_eq!(
        hearth_store::vswitches::all_for_network(&mut conn)
            .await
            .unwrap()
            .len(),
        1
    );
    drop(conn);
    let err = vswitch::delete(&cloud, None, &vsw.vswitch_id, false)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InternalError");
    assert!(vswitch::attributes(&cloud, None, &vsw.vswitch_id, false)
        .await
        .is_ok());

    // Security groups: a refused rule is not stored; an accepted one is.
    host.refuse.store(false, Ordering::SeqCst);
    let sg = security_group::create(
        &cloud,
        NewGroup {
            region_id: region.clone(),
            vpc_id: Some(vpc_id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    host.refuse.store(true, Ordering::SeqCst);
    let err = authorize_ssh(&cloud, &region, &sg).await.unwrap_err();
    assert_eq!(err.code, "InternalError");
    assert!(security_group::rules(&cloud, &sg).await.unwrap().is_empty());
    host.refuse.store(false, Ordering::SeqCst);
    authorize_ssh(&cloud, &region, &sg).await.unwrap();
    assert_eq!(host.seen.lock().unwrap().last(), Some(&(1, 1)));
    host.refuse.store(true, Ordering::SeqCst);
    let err = security_group::revoke(&cloud, &region, &sg, Direction::Ingress, &[ssh_rule()], &[])
        .await
        .unwrap_err();
    assert_eq!(err.code, "InternalError");
    assert_eq!(security_group::rules(&cloud, &sg).await.unwrap().len(), 1);
    let err = security_group::delete(&cloud, &region, &sg)
        .await
        .unwrap_err();
    assert_eq!(err.code, "InternalError");
    host.refuse.store(false, Ordering::SeqCst);
    security_group::revoke(&cloud, &region, &sg, Direction::Ingress, &[ssh_rule()], &[])
        .await
        .unwrap();
    assert_eq!(host.seen.lock().unwrap().last(), Some(&(1, 0)));
    security_group::delete(&cloud, &region, &sg).await.unwrap();
    vswitch::delete(&cloud, None, &vsw.vswitch_id, false)
        .await
        .unwrap();
    assert_eq!(host.seen.lock().unwrap().last(), Some(&(0, 0)));
}
