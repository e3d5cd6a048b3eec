//! What the API needs from the machine it runs on: the host side of networks and instances.
//!
//! The cloud crate is pure rules over the store; bridges, nftables and VMM processes live in the
//! node. Both sides meet here: an API call changes the store, then tells the host, which brings
//! the machine in line with the store (a reconcile, so a restart converges the same way).

use std::future::Future;
use std::pin::Pin;

use hearth_store::{Conn, WriteTx};

use crate::{Cloud, Result};

pub type HostFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

pub trait Host: Send + Sync {
    /// Brings bridges, TAP attachments and the firewall in line with the committed store. Takes
    /// the store's write lock to read a consistent state, so never call it while holding a
    /// `WriteTx` (use [`commit_with_network`] there).
    fn sync_network(&self) -> HostFuture<'_>;

    /// Like [`Host::sync_network`], but reads the store through `conn`: the caller's write
    /// transaction, uncommitted change included. An error means the host kept its previous
    /// state, and the caller drops the transaction so the store keeps its previous state too.
    fn sync_network_in<'a>(&'a self, conn: &'a mut Conn) -> HostFuture<'a>;

    /// An instance's wanted state changed (started, stopped, rebooted, deleted): wake the
    /// supervisor. Not awaited: instances move through Starting/Stopping on their own.
    fn instances_changed(&self);
}

/// Commits a change to networks or security groups only once the host enforces it: the host
/// applies the plan read inside `tx` first (so a rule is in force when the API call returns);
/// if that fails, `tx` is dropped and the store rolls back, and the call fails with
/// `InternalError`. If the commit itself fails after the host applied the change, the host is
/// brought back to the committed state.
pub async fn commit_with_network(cloud: &Cloud, mut tx: WriteTx) -> Result<()> {
    if let Err(e) = cloud.host.sync_network_in(&mut tx).await {
        if let Err(rb) = tx.rollback().await {
            tracing::error!(error = %rb, "rolling back after the host refused a change");
        }
        return Err(e);
    }
    if let Err(e) = tx.commit().await {
        if let Err(again) = cloud.host.sync_network().await {
            tracing::error!(error = %again, "could not restore the host network after a failed commit");
        }
        return Err(e.into());
    }
    Ok(())
}
