//! Hosts that fell silent: nothing vouches any longer for the guests of a host whose node
//! stopped beating, so its instances are shown Stopped (never Running) until it returns and
//! reconciles them.

use std::time::Duration;

use hearth_store::hosts;

use crate::{Cloud, Result};

/// Marks Stopped the instances of every host silent past the timeout; their IDs.
pub async fn stop_on_silent_hosts(cloud: &Cloud) -> Result<Vec<String>> {
    let mut tx = cloud.store.write().await?;
    let timeout = cloud.config.cluster.host_timeout_secs as i64;
    let ids = hosts::stop_on_silent_hosts(&mut tx, timeout, cloud.local_host.as_deref()).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Runs [`stop_on_silent_hosts`] at every heartbeat interval (in each API server: the sweep is
/// idempotent, so several racing agree).
pub async fn watch_hosts(cloud: Cloud) {
    let every = Duration::from_secs(cloud.config.cluster.heartbeat_secs);
    loop {
        tokio::time::sleep(every).await;
        match stop_on_silent_hosts(&cloud).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::warn!(instances = ?ids, "their host fell silent: shown Stopped")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.message, "cannot check for silent hosts"),
        }
    }
}
