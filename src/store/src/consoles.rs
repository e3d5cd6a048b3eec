//! Console tails: the end of each instance's console output, written by the node that runs it
//! and read by API servers on other hosts.

use sqlx::Row;

use crate::query::execute;
use crate::Conn;

/// Stores `tail` (Base64) as the console of `instance_id`, changed at `updated_at`.
pub async fn put(
    conn: &mut Conn,
    instance_id: &str,
    tail: &str,
    updated_at: &str,
) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM console_tails WHERE instance_id = $1",
        &[instance_id],
    )
    .await?;
    execute(
        conn,
        "INSERT INTO console_tails (instance_id, tail, updated_at) VALUES ($1, $2, $3)",
        &[instance_id, tail, updated_at],
    )
    .await?;
    Ok(())
}

/// The stored tail (Base64) and when it changed, if the node has sent one.
pub async fn get(conn: &mut Conn, instance_id: &str) -> crate::Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT tail, updated_at FROM console_tails WHERE instance_id = $1")
        .bind(instance_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("tail")?, r.try_get("updated_at")?)))
        .transpose()
}

pub async fn delete(conn: &mut Conn, instance_id: &str) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM console_tails WHERE instance_id = $1",
        &[instance_id],
    )
    .await?;
    Ok(())
}
