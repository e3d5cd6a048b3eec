//! The hosts of a cluster: what each node agent offers, its heartbeat, and what its instances
//! hold. Every time here is the database's clock, so hosts whose clocks drift still agree on
//! which of them has gone silent.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::row::record;
use crate::Conn;

/// A host as its node agent registered it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Host {
    pub host_id: String,
    pub zone_id: String,
    /// The address other hosts reach it on (the overlay's underlay).
    pub address: String,
    /// hardware, pvm or none: what its /dev/kvm is.
    pub kvm: String,
    /// Instances may be placed here.
    pub accepts: bool,
    /// What it offers to instances, overcommit included.
    pub vcpus: i64,
    pub memory_mib: i64,
    /// Free space where its disks live, as of its last heartbeat.
    pub disk_gib: i64,
    /// Random per node process.
    pub session: String,
    pub started_at: String,
}

/// A host with how long it has been silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub host: Host,
    pub silent_secs: i64,
}

/// What the instances on one host that are not Stopped hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub host_id: String,
    pub vcpus: i64,
    pub memory_mib: i64,
}

/// The database's clock in unix seconds, as SQL.
fn now_sql(conn: &Conn) -> &'static str {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        "CAST(strftime('%s', 'now') AS BIGINT)"
    } else {
        "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
    }
}

const COLUMNS: &str =
    "host_id, zone_id, address, kvm, accepts, vcpus, memory_mib, disk_gib, session, started_at";

fn from_row(r: &AnyRow) -> crate::Result<Listed> {
    Ok(Listed {
        host: record!(r => Host {
            host_id, zone_id, address, kvm, accepts, vcpus, memory_mib, disk_gib, session,
            started_at,
        }),
        silent_secs: r.try_get("silent_secs")?,
    })
}

/// Every host, by id, with its silence.
pub async fn list(conn: &mut Conn) -> crate::Result<Vec<Listed>> {
    let sql = format!(
        "SELECT {COLUMNS}, {} - heartbeat_at AS silent_secs FROM hosts ORDER BY host_id",
        now_sql(conn)
    );
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(conn: &mut Conn, host_id: &str) -> crate::Result<Option<Listed>> {
    let sql = format!(
        "SELECT {COLUMNS}, {} - heartbeat_at AS silent_secs FROM hosts WHERE host_id = $1",
        now_sql(conn)
    );
    let row = sqlx::query(&sql)
        .bind(host_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Writes the host's row (new, or replacing the one a previous process of it left) with a
/// fresh heartbeat. Call inside a write transaction, after checking [`get`] for a live owner.
pub async fn upsert(conn: &mut Conn, h: &Host) -> crate::Result<()> {
    let now = now_sql(conn);
    sqlx::query("DELETE FROM hosts WHERE host_id = $1")
        .bind(&h.host_id)
        .execute(&mut *conn)
        .await?;
    let sql = format!(
        "INSERT INTO hosts ({COLUMNS}, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, {now})"
    );
    sqlx::query(&sql)
        .bind(&h.host_id)
        .bind(&h.zone_id)
        .bind(&h.address)
        .bind(&h.kvm)
        .bind(h.accepts as i64)
        .bind(h.vcpus)
        .bind(h.memory_mib)
        .bind(h.disk_gib)
        .bind(&h.session)
        .bind(&h.started_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Renews the heartbeat of `host_id`, with its free disk space, if `session` still owns it;
/// false when it does not (the row is gone, or another process of that id took it over after
/// this one fell silent).
pub async fn heartbeat(
    conn: &mut Conn,
    host_id: &str,
    session: &str,
    disk_gib: i64,
) -> crate::Result<bool> {
    let sql = format!(
        "UPDATE hosts SET heartbeat_at = {}, disk_gib = $3 WHERE host_id = $1 AND session = $2",
        now_sql(conn)
    );
    let done = sqlx::query(&sql)
        .bind(host_id)
        .bind(session)
        .bind(disk_gib)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets a host (its instances keep their host id, and with it their files and VMMs there).
pub async fn remove(conn: &mut Conn, host_id: &str) -> crate::Result<()> {
    sqlx::query("DELETE FROM hosts WHERE host_id = $1")
        .bind(host_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What the instances on each host hold, for every host that has instances.
pub async fn usage(conn: &mut Conn) -> crate::Result<Vec<Usage>> {
    let rows = sqlx::query(
        "SELECT host_id, CAST(COALESCE(SUM(vcpus), 0) AS BIGINT) AS vcpus, \
         CAST(COALESCE(SUM(memory_mib), 0) AS BIGINT) AS memory_mib \
         FROM instances WHERE status <> 'Stopped' GROUP BY host_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok(record!(r => Usage { host_id, vcpus, memory_mib })))
        .collect()
}

/// Gives every instance recorded before hosts existed to `host_id`: the upgrade of a
/// single-host hearth, whose instances all live on the host that runs it.
pub async fn claim_unplaced(conn: &mut Conn, host_id: &str) -> crate::Result<u64> {
    let done = sqlx::query("UPDATE instances SET host_id = $1 WHERE host_id = ''")
        .bind(host_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Marks Stopped every instance not already Stopped on a host silent for `timeout_secs` or
/// more, except on `alive` (the host of the calling process): nothing vouches for its guest any
/// longer, so it is never shown Running. The intent stays, for the node to act on when it
/// returns. Returns the IDs marked.
pub async fn stop_on_silent_hosts(
    conn: &mut Conn,
    timeout_secs: i64,
    alive: Option<&str>,
) -> crate::Result<Vec<String>> {
    let silent = format!(
        "SELECT host_id FROM hosts WHERE {} - heartbeat_at >= $1 AND host_id <> $2",
        now_sql(conn)
    );
    let alive = alive.unwrap_or_default();
    let ids: Vec<String> = sqlx::query(&format!(
        "SELECT id FROM instances WHERE status <> 'Stopped' AND host_id IN ({silent}) ORDER BY seq"
    ))
    .bind(timeout_secs)
    .bind(alive)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<crate::Result<_>>()?;
    if !ids.is_empty() {
        sqlx::query(&format!(
            "UPDATE instances SET status = 'Stopped' WHERE status <> 'Stopped' AND host_id IN ({silent})"
        ))
        .bind(timeout_secs)
        .bind(alive)
        .execute(&mut *conn)
        .await?;
    }
    Ok(ids)
}
