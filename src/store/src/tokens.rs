//! ClientToken records: the first response to (action, token) and a fingerprint of the
//! parameters it was given with.

use sqlx::Row;

use crate::query::execute;
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
    row.map(|r| {
        Ok(Recorded {
            fingerprint: r.try_get("fingerprint")?,
            response: r.try_get("response")?,
        })
    })
    .transpose()
}

pub async fn record(
    conn: &mut Conn,
    action: &str,
    token: &str,
    fingerprint: &str,
    response: &str,
    now: &str,
) -> crate::Result<()> {
    execute(conn, "INSERT INTO client_tokens (action, token, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5)", &[action, token, fingerprint, response, now]).await?;
    Ok(())
}
