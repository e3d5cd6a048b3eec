//! What the API needs from the machine it runs on: the host side of networks and instances.
//!
//! The cloud crate is pure rules over the store; bridges, nftables and VMM processes live in the
//! node. Both sides meet here: an API call changes the store, then tells the host, which brings
//! the machine in line with the store (a reconcile, so a restart converges the same way).

use std::future::Future;
use std::pin::Pin;

use crate::Result;

pub type HostFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

pub trait Host: Send + Sync {
    /// Brings bridges, TAP attachments and the firewall in line with the store. Awaited by the
    /// API, so a security-group rule is in force when its Authorize call returns.
    fn sync_network(&self) -> HostFuture<'_>;

    /// An instance's wanted state changed (started, stopped, rebooted, deleted): wake the
    /// supervisor. Not awaited: instances move through Starting/Stopping on their own.
    fn instances_changed(&self);
}
