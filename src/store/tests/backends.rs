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
            let name = format!("hearth_store_{}", std::process::id() as u64 * 1000 + rand_suffix());
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
