//! Public IPs and security-group membership against a host that can refuse: a refused apply
//! leaves the store as it was (the "nothing changed" rule), an accepted one is seen by
//! the host inside the transaction, and deleting an instance releases its address.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hearth_store::{instances as store, public_ips};

use super::contract_tests::{cloud_with, network};
use super::membership::{self, Member};
use super::*;
use crate::host::{Host, HostFuture};
use crate::{config, security_group, Cloud, Error};

/// Refuses every apply while `refuse` is set; records the public IPs of the plan it was given.
#[derive(Default)]
struct FlakyHost {
    refuse: AtomicBool,
    seen: Mutex<Vec<Option<String>>>,
}

impl Host for FlakyHost {
    fn sync_network(&self) -> HostFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn sync_network_in<'a>(&'a self, conn: &'a mut hearth_store::Conn) -> HostFuture<'a> {
        Box::pin(async move {
            if self.refuse.load(Ordering::SeqCst) {
                return Err(Error::internal("nft: the kernel refused the ruleset"));
            }
            let nics = store::nics(conn).await.map_err(Error::internal)?;
            *self.seen.lock().unwrap() = nics.into_iter().map(|n| n.public_ip).collect();
            Ok(())
        })
    }
    fn instances_changed(&self) {}
}

/// CreateInstance-style (not started): the smallest type on the test image in `vsw` and `sg`.
fn stopped_instance(region: &str, vsw: &str, sg: &str) -> Launch {
    Launch {
        run: false,
        region_id: region.to_string(),
        image_id: Some("img".into()),
        instance_type: Some("ecs.t6.small".into()),
        security_group_id: Some(sg.to_string()),
        vswitch_id: Some(vsw.to_string()),
        ..Default::default()
    }
}

async fn public_ip_of(c: &Cloud, id: &str) -> Option<String> {
    let mut conn = c.store.pool().acquire().await.unwrap();
    public_ips::of_instance(&mut conn, id).await.unwrap()
}

async fn groups(c: &Cloud, id: &str) -> Vec<String> {
    let mut conn = c.store.pool().acquire().await.unwrap();
    store::groups_of(&mut conn, id).await.unwrap()
}

#[tokio::test]
async fn refused_applies_change_nothing_and_delete_releases_the_address() {
    let dir = std::env::temp_dir().join(crate::ids::new_id("hearth-netrules"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = config::Config::default();
    cfg.network.public_ip_pool = Some("203.0.113.0/29".into());
    let host = Arc::new(FlakyHost::default());
    let c = cloud_with(&dir, cfg, host.clone()).await;
    let (vsw, sg) = network(&c).await;
    let region = c.config.region.id.clone();
    let req = stopped_instance(&region, &vsw, &sg);
    let id = launch(&c, &req).await.unwrap().remove(0);

    // The host refuses: no address is recorded.
    host.refuse.store(true, Ordering::SeqCst);
    let e = public_ip::allocate(&c, &region, &id, None)
        .await
        .unwrap_err();
    assert_eq!(e.status, 500);
    assert_eq!(public_ip_of(&c, &id).await, None);
    // Accepted: the host saw the address inside the transaction, before the commit.
    host.refuse.store(false, Ordering::SeqCst);
    let ip = public_ip::allocate(&c, &region, &id, None).await.unwrap();
    assert_eq!(ip, "203.0.113.1");
    assert_eq!(*host.seen.lock().unwrap(), vec![Some(ip.clone())]);
    assert_eq!(public_ip_of(&c, &id).await, Some(ip.clone()));

    // Membership: a refused join or leave leaves the groups as they were.
    let second = security_group::create(
        &c,
        security_group::NewGroup {
            region_id: region.clone(),
            vpc_id: Some(store_vpc(&c, &id).await),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let me = Member::Instance(id.clone());
    host.refuse.store(true, Ordering::SeqCst);
    membership::join(&c, &region, &me, &second)
        .await
        .unwrap_err();
    assert_eq!(groups(&c, &id).await, vec![sg.clone()]);
    host.refuse.store(false, Ordering::SeqCst);
    membership::join(&c, &region, &me, &second).await.unwrap();
    assert_eq!(groups(&c, &id).await, vec![sg.clone(), second.clone()]);
    host.refuse.store(true, Ordering::SeqCst);
    membership::leave(&c, &region, &me, &sg).await.unwrap_err();
    assert_eq!(groups(&c, &id).await, vec![sg.clone(), second.clone()]);

    // Deleting the instance: refused, it stays with its address; accepted, the address is free.
    delete(&c, &region, std::slice::from_ref(&id), false, false)
        .await
        .unwrap_err();
    assert_eq!(public_ip_of(&c, &id).await, Some(ip.clone()));
    host.refuse.store(false, Ordering::SeqCst);
    delete(&c, &region, std::slice::from_ref(&id), false, false)
        .await
        .unwrap();
    assert!(
        host.seen.lock().unwrap().is_empty(),
        "its DNAT left the plan"
    );
    let again = launch(&c, &req).await.unwrap().remove(0);
    assert_eq!(
        public_ip::allocate(&c, &region, &again, Some(&ip))
            .await
            .unwrap(),
        ip
    );
    c.store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn store_vpc(c: &Cloud, id: &str) -> String {
    let mut conn = c.store.pool().acquire().await.unwrap();
    store::get(&mut conn, id).await.unwrap().unwrap().vpc_id
}

/// ModifyInstanceMetadataOptions reaches the host (whose sync rebuilds the metadata service's
/// table) inside its transaction: a refused sync keeps the old options, an accepted one is in
/// force when the call returns.
#[tokio::test]
async fn metadata_options_go_through_the_host() {
    let dir = std::env::temp_dir().join(crate::ids::new_id("hearth-mdopts"));
    std::fs::create_dir_all(&dir).unwrap();
    let host = Arc::new(FlakyHost::default());
    let c = cloud_with(&dir, config::Config::default(), host.clone()).await;
    let (vsw, sg) = network(&c).await;
    let region = c.config.region.id.clone();
    let req = stopped_instance(&region, &vsw, &sg);
    let id = launch(&c, &req).await.unwrap().remove(0);
    let tokens = |c: &Cloud| {
        let c = c.clone();
        let id = id.clone();
        async move {
            let mut conn = c.store.pool().acquire().await.unwrap();
            store::get(&mut conn, &id)
                .await
                .unwrap()
                .unwrap()
                .http_tokens
        }
    };
    let required = MetadataOptions {
        http_tokens: Some("required".into()),
        ..Default::default()
    };
    host.refuse.store(true, Ordering::SeqCst);
    let e = super::modify::modify_metadata(&c, &region, &id, &required)
        .await
        .unwrap_err();
    assert_eq!(e.status, 500);
    assert_eq!(
        tokens(&c).await,
        "optional",
        "a refused sync changes nothing"
    );
    host.refuse.store(false, Ordering::SeqCst);
    super::modify::modify_metadata(&c, &region, &id, &required)
        .await
        .unwrap();
    assert_eq!(tokens(&c).await, "required");
    let _ = std::fs::remove_dir_all(&dir);
}
