//! The store's behaviour on every backend: SQLite always, PostgreSQL when the test command
//! provides a server (HEARTH_PG_ADMIN_URL). With HEARTH_REQUIRE_POSTGRES=1 (scripts/test) a
//! missing server is a failure, not a skip.

use hearth_store::tags::{self, Tag};
use hearth_store::{Backend, Store};
use sqlx::{Connection, Row};

struct TestStore {
    store: Store,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

async fn stores() -> Vec<TestStore> {
    let dir = tempfile::tempdir().unwrap();
    let url = Store::default_url(dir.path());
    let mut out = vec![TestStore {
        store: Store::connect(&url).await.unwrap(),
        url,
        _dir: Some(dir),
    }];
    match std::env::var("HEARTH_PG_ADMIN_URL") {
        Ok(admin) => {
            sqlx::any::install_default_drivers();
            // Tests run in parallel: a counter, not the clock, keeps their databases apart.
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("hearth_store_{}_{n}_{}", std::process::id(), rand_suffix());
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            out.push(TestStore { store: Store::connect(&url).await.unwrap(), url, _dir: None });
        }
        Err(_) if std::env::var("HEARTH_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("HEARTH_REQUIRE_POSTGRES=1 but HEARTH_PG_ADMIN_URL is not set")
        }
        Err(_) => eprintln!("note: PostgreSQL store tests not run (HEARTH_PG_ADMIN_URL unset); scripts/test runs them"),
    }
    out
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        % 1000
}

fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.into(),
        value: v.into(),
    }
}

#[tokio::test]
async fn committed_writes_are_kept_and_dropped_ones_vanish() {
    for t in stores().await {
        let s = &t.store;
        let mut tx = s.write().await.unwrap();
        tags::set(&mut tx, "vpc", "vpc-kept", &[tag("team", "a")])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = s.write().await.unwrap();
        tags::set(&mut tx, "vpc", "vpc-dropped", &[tag("team", "b")])
            .await
            .unwrap();
        drop(tx); // an early return in a handler: nothing may remain

        let mut conn = s.pool().acquire().await.unwrap();
        assert_eq!(
            tags::list(&mut conn, "vpc", "vpc-kept").await.unwrap(),
            vec![tag("team", "a")],
            "{:?}",
            s.backend()
        );
        assert!(
            tags::list(&mut conn, "vpc", "vpc-dropped")
                .await
                .unwrap()
                .is_empty(),
            "{:?}",
            s.backend()
        );
    }
}

#[tokio::test]
async fn state_survives_a_reconnect_and_migrations_run_once() {
    for t in stores().await {
        let mut tx = t.store.write().await.unwrap();
        tags::set(&mut tx, "sg", "sg-1", &[tag("k", "v")])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        t.store.close().await;

        let again = Store::connect(&t.url).await.unwrap();
        let mut conn = again.pool().acquire().await.unwrap();
        assert_eq!(
            tags::list(&mut conn, "sg", "sg-1").await.unwrap(),
            vec![tag("k", "v")]
        );
        let applied: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get(0);
        assert!(applied >= 1);
    }
}

/// Check-then-insert under concurrency: each writer reads the count and inserts the next
/// number. Serialized writers give 0..N with no duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_are_serialized() {
    for t in stores().await {
        let mut tasks = Vec::new();
        for _ in 0..24 {
            let s = t.store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = s.write().await.unwrap();
                let n: i64 =
                    sqlx::query("SELECT COUNT(*) FROM tags WHERE resource_type = 'counter'")
                        .fetch_one(&mut *tx)
                        .await
                        .unwrap()
                        .get(0);
                tokio::task::yield_now().await;
                tags::set(
                    &mut tx,
                    "counter",
                    &format!("c-{n}"),
                    &[tag("n", &n.to_string())],
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let rows = sqlx::query("SELECT resource_id FROM tags WHERE resource_type = 'counter'")
            .fetch_all(t.store.pool())
            .await
            .unwrap();
        let mut ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        ids.sort_by_key(|id| id[2..].parse::<u32>().unwrap());
        let expected: Vec<String> = (0..24).map(|n| format!("c-{n}")).collect();
        assert_eq!(ids, expected, "{:?}", t.store.backend());
    }
}

#[tokio::test]
async fn tag_filters_select_resources_with_every_tag() {
    for t in stores().await {
        let mut tx = t.store.write().await.unwrap();
        tags::set(&mut tx, "vpc", "a", &[tag("env", "prod"), tag("team", "x")])
            .await
            .unwrap();
        tags::set(&mut tx, "vpc", "b", &[tag("env", "prod")])
            .await
            .unwrap();
        tags::set(&mut tx, "vpc", "c", &[tag("env", "dev"), tag("team", "x")])
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let (clause, binds) =
            tags::filter_clause("vpc", "v.id", &[tag("env", "prod"), tag("team", "")], 1);
        let sql = format!("SELECT v.id FROM (SELECT DISTINCT resource_id AS id FROM tags) v WHERE {clause} ORDER BY v.id");
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let ids: Vec<String> = q
            .fetch_all(t.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, vec!["a"], "{:?}", t.store.backend());
    }
}

#[tokio::test]
async fn backend_is_chosen_by_url() {
    assert!(Store::connect("mysql://x").await.is_err());
    let stores = stores().await;
    assert_eq!(stores[0].store.backend(), Backend::Sqlite);
    if let Some(pg) = stores.get(1) {
        assert_eq!(pg.store.backend(), Backend::Postgres);
    }
}

/// Every table's insert binds one value per column, in the column list's order: each record,
/// with a distinct value in every field, reads back as written, alone and through its listing.
#[tokio::test]
async fn records_read_back_as_written() {
    use hearth_store::{disks, instances, key_pairs, security_groups as sg, vpcs, vswitches};
    for t in stores().await {
        let s = &t.store;
        let vpc = vpcs::Vpc {
            vpc_id: "vpc-1".into(),
            region_id: "r-1".into(),
            vpc_name: "net".into(),
            description: "d".into(),
            cidr_block: "10.0.0.0/16".into(),
            vrouter_id: "vrt-1".into(),
            route_table_id: "vtb-1".into(),
            is_default: true,
            status: "Available".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
        };
        let vsw = vswitches::VSwitch {
            vswitch_id: "vsw-1".into(),
            vpc_id: "vpc-1".into(),
            zone_id: "z-1".into(),
            vswitch_name: "sub".into(),
            description: "d2".into(),
            cidr_block: "10.0.1.0/24".into(),
            route_table_id: "vtb-1".into(),
            cidr_first: 167772416,
            cidr_last: 167772671,
            available_ip_count: 252,
            is_default: false,
            status: "Available".into(),
            created_at: "2026-01-01T00:00:01Z".into(),
        };
        let group = sg::GroupRecord {
            id: "sg-1".into(),
            region_id: "r-1".into(),
            name: "web".into(),
            description: "d3".into(),
            vpc_id: "vpc-1".into(),
            group_type: "normal".into(),
            resource_group_id: "rg-1".into(),
            inner_access_policy: "Accept".into(),
            created_at: "2026-01-01T00:00:02Z".into(),
        };
        let rule = sg::RuleRecord {
            id: "sgr-1".into(),
            security_group_id: "sg-1".into(),
            direction: "ingress".into(),
            protocol: "TCP".into(),
            port_range: "22/22".into(),
            source_port_range: "1/65535".into(),
            peer_cidr: "0.0.0.0/0".into(),
            peer_group_id: "".into(),
            local_cidr: "10.0.1.0/24".into(),
            policy: "Accept".into(),
            priority: 7,
            nic_type: "intranet".into(),
            description: "ssh".into(),
            created_at: "2026-01-01T00:00:03Z".into(),
            identity: "ingress|TCP|22/22".into(),
        };
        let kp = key_pairs::KeyPair {
            name: "kp".into(),
            id: "kp-1".into(),
            fingerprint: "fp".into(),
            public_key: "ssh-ed25519 AAAA".into(),
            resource_group_id: "rg-2".into(),
            created_at: "2026-01-01T00:00:04Z".into(),
        };
        let instance = instances::Instance {
            id: "i-1".into(),
            region_id: "r-1".into(),
            zone_id: "z-1".into(),
            instance_type: "ecs.t1".into(),
            vcpus: 2,
            memory_mib: 2048,
            image_id: "img".into(),
            os_type: "linux".into(),
            hostname: "host".into(),
            name: "vm".into(),
            description: "d4".into(),
            vpc_id: "vpc-1".into(),
            vswitch_id: "vsw-1".into(),
            private_ip: "10.0.1.5".into(),
            mac: "02:00:00:00:00:01".into(),
            key_pair_name: "kp".into(),
            password_hash: "ph".into(),
            user_data: "ud".into(),
            status: hearth_store::Status::Running,
            intent: Some(hearth_store::Intent::Stop),
            stopped_mode: "KeepCharging".into(),
            deletion_protection: true,
            auto_release_time: "2027-01-01T00:00:00Z".into(),
            instance_charge_type: "PostPaid".into(),
            internet_charge_type: "PayByTraffic".into(),
            internet_max_bandwidth_in: 3,
            internet_max_bandwidth_out: 4,
            period: 5,
            period_unit: "Month".into(),
            auto_renew: true,
            auto_renew_period: 6,
            spot_strategy: "NoSpot".into(),
            spot_price_limit: "0.5".into(),
            spot_duration: 8,
            spot_interruption_behavior: "Terminate".into(),
            io_optimized: "optimized".into(),
            credit_specification: "Standard".into(),
            security_enhancement: "Active".into(),
            resource_group_id: "rg-3".into(),
            http_endpoint: "enabled".into(),
            http_tokens: "optional".into(),
            http_put_hop_limit: 9,
            metadata_tags: "disabled".into(),
            creation_time: "2026-01-01T00:00:05Z".into(),
            start_time: "2026-01-01T00:00:06Z".into(),
            launch_failed: true,
            host_id: "h-1".into(),
        };
        let disk = disks::Disk {
            id: "d-1".into(),
            instance_id: Some("i-1".into()),
            region_id: "r-1".into(),
            zone_id: "z-1".into(),
            disk_type: "system".into(),
            category: "cloud_essd".into(),
            size_gib: 40,
            performance_level: "PL1".into(),
            device: "/dev/vda".into(),
            order_index: 0,
            delete_with_instance: true,
            name: "sys".into(),
            description: "d5".into(),
            image_id: "img".into(),
            path: "/var/disk".into(),
            status: "In_use".into(),
            creation_time: "2026-01-01T00:00:07Z".into(),
            attached_time: "2026-01-01T00:00:08Z".into(),
            detached_time: "".into(),
        };
        let mut tx = s.write().await.unwrap();
        vpcs::insert(&mut tx, &vpc).await.unwrap();
        vswitches::insert(&mut tx, &vsw).await.unwrap();
        sg::insert_group(&mut tx, &group).await.unwrap();
        sg::insert_rule(&mut tx, &rule).await.unwrap();
        key_pairs::insert(&mut tx, &kp).await.unwrap();
        instances::insert(&mut tx, &instance, &["sg-1".to_string()])
            .await
            .unwrap();
        disks::insert(&mut tx, &disk).await.unwrap();
        tx.commit().await.unwrap();

        let mut conn = s.pool().acquire().await.unwrap();
        assert_eq!(
            vpcs::get(&mut conn, "vpc-1").await.unwrap(),
            Some(vpc.clone())
        );
        assert_eq!(
            vswitches::get(&mut conn, "vsw-1").await.unwrap(),
            Some(vsw.clone())
        );
        assert_eq!(
            sg::get_group(&mut conn, "r-1", "sg-1").await.unwrap(),
            Some(group.clone())
        );
        assert_eq!(sg::all_rules(&mut conn).await.unwrap(), vec![rule.clone()]);
        assert_eq!(
            instances::get(&mut conn, "i-1").await.unwrap(),
            Some(instance.clone())
        );
        assert_eq!(
            disks::of_instance(&mut conn, "i-1").await.unwrap(),
            vec![disk.clone()]
        );

        let listed = vpcs::list(&mut conn, &Default::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!((listed.total, listed.items), (1, vec![vpc]));
        let listed = key_pairs::page(&mut conn, &Default::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!((listed.total, listed.items), (1, vec![kp]));
        let listed = vswitches::list(&mut conn, &Default::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(listed.total, 1);
        assert_eq!(listed.items[0].item, vsw);
        let filter = instances::Filter {
            region_id: "r-1".into(),
            ..Default::default()
        };
        let listed = instances::list(&mut conn, &filter, None, 0, 10)
            .await
            .unwrap();
        assert_eq!(listed.total, 1);
        assert_eq!(listed.items[0].item, instance);
        let filter = disks::Filter {
            region_id: "r-1".into(),
            ..Default::default()
        };
        let listed = disks::list(&mut conn, &filter, 0, 10).await.unwrap();
        assert_eq!(listed.total, 1);
        assert_eq!(listed.items[0].item, disk);
        let filter = sg::GroupFilter {
            region_id: "r-1".into(),
            ..Default::default()
        };
        let listed = sg::page_groups(&mut conn, &filter, None, 10, 0)
            .await
            .unwrap();
        assert_eq!(listed.total, 1);
        assert_eq!(listed.items[0].item.group, group);
        assert_eq!(
            listed.items[0].item.counts,
            sg::RuleCounts {
                rules: 1,
                group_to_group: 0
            }
        );
    }
}

#[tokio::test]
async fn hosts_register_beat_and_fall_silent() {
    use hearth_store::hosts::{self, Host};
    use hearth_store::instances;
    for t in stores().await {
        let s = &t.store;
        let host = Host {
            host_id: "h-1".into(),
            zone_id: "z-1".into(),
            address: "192.0.2.1".into(),
            kvm: "hardware".into(),
            accepts: true,
            vcpus: 8,
            memory_mib: 8192,
            disk_gib: 100,
            session: "s-1".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
        };
        let instance = |id: &str, ip: &str, host_id: &str, status| instances::Instance {
            id: id.into(),
            vswitch_id: "vsw-1".into(),
            private_ip: ip.into(),
            mac: format!("02:00:00:00:00:{}", &ip[ip.len() - 1..]),
            vcpus: 2,
            memory_mib: 1024,
            status,
            host_id: host_id.into(),
            ..Default::default()
        };
        let mut tx = s.write().await.unwrap();
        hosts::upsert(&mut tx, &host).await.unwrap();
        let running = hearth_store::Status::Running;
        let stopped = hearth_store::Status::Stopped;
        for i in [
            instance("i-1", "10.0.0.1", "h-1", running),
            instance("i-2", "10.0.0.2", "h-1", stopped),
            instance("i-3", "10.0.0.3", "", running),
        ] {
            instances::insert(&mut tx, &i, &[]).await.unwrap();
        }
        tx.commit().await.unwrap();

        let mut conn = s.pool().acquire().await.unwrap();
        let listed = hosts::list(&mut conn).await.unwrap();
        assert_eq!(listed.len(), 1, "{}", t.url);
        assert_eq!(listed[0].host, host);
        assert!((0..=1).contains(&listed[0].silent_secs), "{listed:?}");
        assert!(hosts::heartbeat(&mut conn, "h-1", "s-1", 50).await.unwrap());
        assert!(!hosts::heartbeat(&mut conn, "h-1", "s-other", 50)
            .await
            .unwrap());
        let got = hosts::get(&mut conn, "h-1").await.unwrap().unwrap();
        assert_eq!(got.host.disk_gib, 50);
        assert_eq!(hosts::claim_unplaced(&mut conn, "h-1").await.unwrap(), 1);
        let usage = hosts::usage(&mut conn).await.unwrap();
        assert_eq!(
            usage,
            vec![hosts::Usage {
                host_id: "h-1".into(),
                vcpus: 4,
                memory_mib: 2048,
            }],
            "the Stopped instance holds nothing"
        );
        // A host is silent for 0 s or more at once, so timeout 0 treats it as gone.
        assert!(hosts::stop_on_silent_hosts(&mut conn, 3600, None)
            .await
            .unwrap()
            .is_empty());
        assert!(
            hosts::stop_on_silent_hosts(&mut conn, 0, Some("h-1"))
                .await
                .unwrap()
                .is_empty(),
            "the caller's own host is alive"
        );
        let marked = hosts::stop_on_silent_hosts(&mut conn, 0, None)
            .await
            .unwrap();
        assert_eq!(marked, ["i-1", "i-3"]);
        let states = instances::on_host(&mut conn, "h-1").await.unwrap();
        assert!(states.iter().all(|st| st.status == stopped), "{states:?}");
        assert!(hosts::usage(&mut conn).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn console_tails_are_replaced_and_go_with_their_instance() {
    use hearth_store::{consoles, instances};
    for t in stores().await {
        let s = &t.store;
        let mut tx = s.write().await.unwrap();
        let i = instances::Instance {
            id: "i-c".into(),
            mac: "02:00:00:00:00:0c".into(),
            ..Default::default()
        };
        instances::insert(&mut tx, &i, &[]).await.unwrap();
        tx.commit().await.unwrap();
        let mut w = s.own_row_write().await.unwrap();
        consoles::put(&mut w, "i-c", "Zmlyc3Q=", "2026-01-01T00:00:00Z")
            .await
            .unwrap();
        consoles::put(&mut w, "i-c", "c2Vjb25k", "2026-01-01T00:00:05Z")
            .await
            .unwrap();
        w.finish().await.unwrap();
        let mut conn = s.pool().acquire().await.unwrap();
        assert_eq!(
            consoles::get(&mut conn, "i-c").await.unwrap(),
            Some(("c2Vjb25k".into(), "2026-01-01T00:00:05Z".into())),
            "{}",
            t.url
        );
        drop(conn);
        let mut tx = s.write().await.unwrap();
        instances::delete(&mut tx, "i-c").await.unwrap();
        tx.commit().await.unwrap();
        let mut conn = s.pool().acquire().await.unwrap();
        assert_eq!(consoles::get(&mut conn, "i-c").await.unwrap(), None);
    }
}
