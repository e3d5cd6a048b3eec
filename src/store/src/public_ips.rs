//! Public IPs of instances (AllocatePublicIpAddress): one row per allocated address.

use sqlx::Row;

use crate::query::{execute, rows_in};
use crate::Conn;

/// The public IP of an instance, if it has one.
pub async fn of_instance(conn: &mut Conn, instance_id: &str) -> crate::Result<Option<String>> {
    let row = sqlx::query("SELECT address FROM public_ips WHERE instance_id = $1")
        .bind(instance_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| r.try_get("address")).transpose()
}

/// A public IP and the instance holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub instance_id: String,
    pub address: String,
}

/// The public IPs of the given instances, in one query.
pub async fn of_instances(conn: &mut Conn, ids: &[String]) -> crate::Result<Vec<Allocation>> {
    let sql = "SELECT instance_id, address FROM public_ips WHERE instance_id IN ({in})";
    let rows = rows_in(conn, sql, ids).await?;
    rows.iter()
        .map(|r| {
            Ok(Allocation {
                instance_id: r.try_get("instance_id")?,
                address: r.try_get("address")?,
            })
        })
        .collect()
}

/// IDs of the instances holding any of the given addresses.
pub async fn instances_with(conn: &mut Conn, addresses: &[String]) -> crate::Result<Vec<String>> {
    let sql = "SELECT instance_id FROM public_ips WHERE address IN ({in}) ORDER BY instance_id";
    let rows = rows_in(conn, sql, addresses).await?;
    rows.iter().map(|r| r.try_get("instance_id")).collect()
}

/// Every allocated address (what a new allocation must avoid).
pub async fn all_addresses(conn: &mut Conn) -> crate::Result<Vec<String>> {
    let rows = sqlx::query("SELECT address FROM public_ips")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| r.try_get("address")).collect()
}

/// Whether `address` is allocated to some instance.
pub async fn in_use(conn: &mut Conn, address: &str) -> crate::Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM public_ips WHERE address = $1")
        .bind(address)
        .fetch_optional(&mut *conn)
        .await?
        .is_some())
}

pub async fn insert(conn: &mut Conn, address: &str, instance_id: &str) -> crate::Result<()> {
    execute(
        conn,
        "INSERT INTO public_ips (address, instance_id) VALUES ($1, $2)",
        &[address, instance_id],
    )
    .await?;
    Ok(())
}

/// Releases the instance's address (with the instance, in its delete transaction).
pub async fn release_of_instance(conn: &mut Conn, instance_id: &str) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM public_ips WHERE instance_id = $1",
        &[instance_id],
    )
    .await?;
    Ok(())
}
