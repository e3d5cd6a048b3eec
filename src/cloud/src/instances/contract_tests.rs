//! The supervisor contract end to end on a real SQLite store: launch, status/intent moves,
//! settle, delete (at once when Stopped, through the supervisor's finish_delete when forced),
//! and the files each step leaves.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hearth_store::instances as store;

use super::*;
use crate::host::{Host, HostFuture};
use crate::{config, security_group, vpc, vswitch, Cloud};

/// Test double for the node: no host networking, counts the supervisor wake-ups.
#[derive(Default)]
struct CountingHost(AtomicUsize);

impl Host for CountingHost {
    fn sync_network(&self) -> HostFuture<'_> {
        Box::pin(async { Ok(()) })
    }
    fn sync_network_in<'a>(&'a self, _conn: &'a mut hearth_store::Conn) -> HostFuture<'a> {
        Box::pin(async { Ok(()) })
    }
    fn instances_changed(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

async fn cloud(dir: &Path) -> (Cloud, Arc<CountingHost>) {
    let host = Arc::new(CountingHost::default());
    let c = cloud_with(dir, config::Config::default(), host.clone()).await;
    (c, host)
}

/// A cloud on a fresh SQLite store in `dir` with one image (`img`) and the given host.
pub(super) async fn cloud_with(dir: &Path, cfg: config::Config, host: Arc<dyn Host>) -> Cloud {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::write(images.join("img.raw"), b"image bytes").unwrap();
    std::fs::write(
        images.join("manifest.json"),
        r#"{"images": [{"id": "img", "name": "i", "os_name": "Linux", "os_type": "linux", "platform": "x", "architecture": "x86_64", "size_gib": 1, "file": "img.raw"}]}"#,
    )
    .unwrap();
    let store = hearth_store::Store::connect(&hearth_store::Store::default_url(dir))
        .await
        .unwrap();
    let mut tx = store.write().await.unwrap();
    let row = hearth_store::hosts::Host {
        host_id: TEST_HOST.into(),
        zone_id: cfg.zone_of_host(TEST_HOST).into(),
        kvm: "hardware".into(),
        accepts: true,
        vcpus: 64,
        memory_mib: 256 * 1024,
        disk_gib: 1000,
        ..Default::default()
    };
    hearth_store::hosts::upsert(&mut tx, &row).await.unwrap();
    tx.commit().await.unwrap();
    Cloud::new(store, cfg, dir.to_path_buf(), host)
}

/// The one host the test clouds have.
pub(super) const TEST_HOST: &str = "test-host";

/// A VPC 10.9.0.0/16 with a /24 VSwitch and a security group: (VSwitch ID, group ID).
pub(super) async fn network(c: &Cloud) -> (String, String) {
    let region = c.config.region.id.clone();
    let v = vpc::create(
        c,
        &vpc::CreateVpc {
            region_id: region.clone(),
            cidr_block: Some("10.9.0.0/16".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let sw = vswitch::create(
        c,
        &vswitch::CreateVSwitch {
            zone_id: c.config.zones[0].id.clone(),
            vpc_id: v.vpc_id.clone(),
            cidr_block: "10.9.1.0/24".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let sg = security_group::create(
        c,
        security_group::NewGroup {
            region_id: region,
            vpc_id: Some(v.vpc_id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    (sw.vswitch_id, sg)
}

fn disk_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("disks"))
        .map(|r| r.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

async fn state(c: &Cloud, id: &str) -> Option<(String, Option<String>)> {
    let mut conn = c.store.pool().acquire().await.unwrap();
    store::get(&mut conn, id)
        .await
        .unwrap()
        .map(|i| (i.status.to_string(), i.intent.map(|t| t.to_string())))
}

#[tokio::test]
async fn supervisor_contract() {
    let dir = std::env::temp_dir().join(crate::ids::new_id("hearth-contract"));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, host) = cloud(&dir).await;
    let (vsw, sg) = network(&c).await;
    let region = c.config.region.id.clone();
    let mut req = Launch {
        run: true,
        region_id: region.clone(),
        image_id: Some("img".into()),
        instance_type: Some("ecs.t6.small".into()),
        security_group_id: Some(sg),
        vswitch_id: Some(vsw),
        data_disks: vec![(
            1,
            DiskRequest {
                size: Some(20),
                delete_with_instance: Some(false),
                ..Default::default()
            },
        )],
        ..Default::default()
    };
    // RunInstances: Pending + 'start', the supervisor woken once.
    let ids = launch(&c, &req).await.unwrap();
    let id = ids[0].clone();
    assert_eq!(
        state(&c, &id).await,
        Some(("Pending".into(), Some("start".into())))
    );
    assert_eq!(host.0.load(Ordering::SeqCst), 1);
    assert!(files::seed_path(&dir, &id).exists());
    assert_eq!(disk_files(&dir).len(), 2);
    assert_eq!(pending_intents(&c, TEST_HOST).await.unwrap().len(), 1);
    // Pending cannot be stopped; the supervisor settles it Running (start time recorded).
    let stop = Change::Stop { force: false };
    let err = change(&c, &region, &ids, stop, None, false)
        .await
        .unwrap_err();
    assert_eq!(err.code, "IncorrectInstanceStatus");
    // A settle for an intent that is not the current one changes nothing.
    assert!(!settle(&c, &id, Status::Running, Some(Intent::Stop))
        .await
        .unwrap());
    assert!(settle(&c, &id, Status::Running, Some(Intent::Start))
        .await
        .unwrap());
    assert_eq!(state(&c, &id).await, Some(("Running".into(), None)));
    assert!(pending_intents(&c, TEST_HOST).await.unwrap().is_empty());
    // Reboot and stop set Stopping with their intents.
    let t = change(
        &c,
        &region,
        &ids,
        Change::Reboot { force: true },
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        (t[0].previous.as_str(), t[0].current.as_str()),
        ("Running", "Stopping")
    );
    assert_eq!(
        state(&c, &id).await.unwrap().1.as_deref(),
        Some("force_reboot")
    );
    assert!(settle(&c, &id, Status::Running, Some(Intent::ForceReboot))
        .await
        .unwrap());
    change(&c, &region, &ids, stop, Some("StopCharging"), false)
        .await
        .unwrap();
    assert_eq!(
        state(&c, &id).await,
        Some(("Stopping".into(), Some("stop".into())))
    );
    assert!(settle(&c, &id, Status::Stopped, Some(Intent::Stop))
        .await
        .unwrap());
    // Start again, then a forced delete of the running instance goes through the supervisor.
    change(&c, &region, &ids, Change::Start, None, false)
        .await
        .unwrap();
    assert_eq!(
        state(&c, &id).await,
        Some(("Starting".into(), Some("start".into())))
    );
    assert!(settle(&c, &id, Status::Running, Some(Intent::Start))
        .await
        .unwrap());
    let err = delete(&c, &region, &ids, false, false).await.unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.status),
        ("IncorrectInstanceStatus", 403)
    );
    delete(&c, &region, &ids, true, false).await.unwrap();
    assert_eq!(
        state(&c, &id).await,
        Some(("Stopping".into(), Some("delete".into())))
    );
    assert!(
        files::seed_path(&dir, &id).exists(),
        "files stay until the VMM has ended"
    );
    finish_delete(&c, &id).await.unwrap();
    assert_eq!(state(&c, &id).await, None);
    assert!(!files::instance_dir(&dir, &id).exists());
    // The data disk with DeleteWithInstance=false stays; the system disk is gone.
    assert_eq!(disk_files(&dir).len(), 1);
    finish_delete(&c, &id).await.unwrap(); // already gone: fine
                                           // CreateInstance: Stopped, nothing for the supervisor; deleted at once.
    req.run = false;
    assert!(due_for_release(&c, TEST_HOST).await.unwrap().is_empty());
    let created = launch(&c, &req).await.unwrap();
    assert_eq!(state(&c, &created[0]).await, Some(("Stopped".into(), None)));
    let woken = host.0.load(Ordering::SeqCst);
    delete(&c, &region, &created, false, false).await.unwrap();
    assert_eq!(state(&c, &created[0]).await, None);
    assert_eq!(host.0.load(Ordering::SeqCst), woken);
    c.store.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}
