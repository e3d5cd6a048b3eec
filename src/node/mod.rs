//! This machine as a hearth node: what `hearth serve` plugs into the cloud as its host.

pub mod vmm_process;

use std::sync::Arc;

use hearth_cloud::host::{Host, HostFuture};
use tokio::sync::Notify;

pub struct Node {
    /// Wakes the instance supervisor.
    pub instances_changed: Arc<Notify>,
}

impl Node {
    pub fn new() -> Node {
        Node {
            instances_changed: Arc::new(Notify::new()),
        }
    }
}

impl Host for Node {
    fn sync_network(&self) -> HostFuture<'_> {
        // Host networking (bridges, TAPs, nftables) arrives with issue #6.
        Box::pin(async { Ok(()) })
    }

    fn instances_changed(&self) {
        self.instances_changed.notify_one();
    }
}
