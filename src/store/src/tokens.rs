//! ClientToken records: the first response to (action, token) and a fingerprint of the
//! parameters it was given with.

use sqlx::Row;

use crate::Conn;

pub struct Recorded {
    pub fingerprint: String,
    pub response: String,
}

pub async fn find(conn: &mut Conn, action: &str, token: &str) -> crate::Result<Option<Recorded>> {
    let row = sqlx::query(
        "SELECT fingerprint, response FROM client_tokens WHERE action = $1 AND token = $2",
    )
    .bind(action)
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| Recorded {
        fingerprint: r.get(0),
        response: r.get(1),
    }))
}

pub async fn record(
    conn: &mut Conn,
    action: &str,
    token: &str,
    fingerprint: &str,
    response: &str,
    now: &str,
) -> crate::Result<()> {
    sqlx::query("INSERT INTO client_tokens (action, token, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(action)
        .bind(token)
        .bind(fingerprint)
        .bind(response)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
