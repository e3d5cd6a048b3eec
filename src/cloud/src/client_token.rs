//! ClientToken idempotency for actions that create or delete: the first answer given for
//! (action, token) is recorded in the same transaction as the change, and a retry with the same
//! token gets that answer again without changing anything. The fingerprint is a canonical text of
//! the request's own parameters (never signature or common parameters), so reusing a token for a
//! different request is refused with `IdempotentParameterMismatch`.

use hearth_store::{tokens, Conn};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{ids, Error, Result};

/// A ClientToken and the fingerprint of the parameters it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub token: String,
    pub fingerprint: String,
}

/// Checks the token's form: 1–64 ASCII characters (as ECS documents).
pub fn check(token: &str) -> Result<()> {
    if !token.is_empty() && token.len() <= 64 && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid_parameter(
            "ClientToken",
            "use at most 64 printable ASCII characters",
        ))
    }
}

/// The recorded answer to an earlier request with this token, if there was one with the same
/// fingerprint; `IdempotentParameterMismatch` if the earlier request was a different one.
pub async fn replay<T: DeserializeOwned>(
    conn: &mut Conn,
    action: &str,
    token: Option<&str>,
    fingerprint: &str,
) -> Result<Option<T>> {
    let Some(token) = token else {
        return Ok(None);
    };
    match tokens::find(conn, action, token).await? {
        None => Ok(None),
        Some(recorded) if recorded.fingerprint == fingerprint => serde_json::from_str(&recorded.response)
            .map(Some)
            .map_err(Error::internal),
        Some(_) => Err(Error::bad_request(
            "IdempotentParameterMismatch",
            format!("The ClientToken {token:?} was already used by a {action} request with different parameters: use a new ClientToken for a different request."),
        )),
    }
}

/// Records `answer` as the answer to (action, token); call in the transaction that made the change.
pub async fn remember<T: Serialize>(
    conn: &mut Conn,
    action: &str,
    token: Option<&str>,
    fingerprint: &str,
    answer: &T,
) -> Result<()> {
    if let Some(token) = token {
        let text = serde_json::to_string(answer).map_err(Error::internal)?;
        tokens::record(conn, action, token, fingerprint, &text, &ids::now_utc()).await?;
    }
    Ok(())
}
