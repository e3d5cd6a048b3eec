//! This machine as a hearth node: what `hearth serve` plugs into the cloud as its host.

pub mod decide;
pub mod registry;
pub mod supervisor;
pub mod vm_config;
pub mod vmm_process;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_cloud::config::Network as NetworkConfig;
use hearth_cloud::host::{Host, HostFuture};
use hearth_cloud::{Error, Store};
use hearth_net::{MetadataTable, Network, Plan};
use tokio::sync::Notify;

pub struct Node {
    /// Wakes the instance supervisor.
    pub instances_changed: Arc<Notify>,
    /// Wakes [`Node::follow_store`].
    pub network_changed: Arc<Notify>,
    /// Bridges, TAPs and the firewall; `None` with `--host-network off`.
    pub network: Option<Network>,
    /// What the metadata service answers each instance; refreshed with every network sync.
    pub metadata: MetadataTable,
    store: Store,
    network_config: NetworkConfig,
    /// This host's id, when it is a node (its overlay is part of its plan).
    host_id: Option<String>,
    /// The plan last applied, so following the store re-applies only what changed.
    applied: Mutex<Option<Plan>>,
}

impl Node {
    pub fn new(
        store: Store,
        network_config: NetworkConfig,
        network: Option<Network>,
        host_id: Option<String>,
    ) -> Node {
        Node {
            instances_changed: Arc::new(Notify::new()),
            network_changed: Arc::new(Notify::new()),
            network,
            metadata: MetadataTable::default(),
            store,
            network_config,
            host_id,
            applied: Mutex::new(None),
        }
    }

    /// Brings the network in line with the store every `every`, and at once when an API server
    /// notifies a change: how a node learns of changes other hosts' API servers commit.
    pub async fn follow_store(self: Arc<Self>, every: Duration) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.network_changed.notified() => {}
            }
            let Some(network) = &self.network else {
                return;
            };
            let synced = async {
                let mut tx = self.store.write().await?;
                self.apply_from(network, &mut tx, true).await
            };
            if let Err(e) = synced.await {
                tracing::warn!(error = %e.message, "following the store's network failed; retrying");
            }
        }
    }

    /// Wakes what follows the store here when another process notifies a change.
    pub async fn listen_for_changes(self: Arc<Self>) {
        let me = self.clone();
        self.store
            .listen(move |what| match what {
                // Where instances are is part of the network plan too (the overlay's routes).
                "instances" => {
                    me.instances_changed.notify_one();
                    me.network_changed.notify_one();
                }
                "network" => me.network_changed.notify_one(),
                _ => {}
            })
            .await
    }

    /// Starts the metadata service (100.100.100.200:80 from every bridge). A host where the
    /// address cannot be served keeps working without it.
    pub async fn serve_metadata(&self) {
        if let Some(network) = &self.network {
            match network.serve_metadata(self.metadata.clone()).await {
                Ok(_) => tracing::info!("metadata service on 100.100.100.200:80"),
                Err(e) => tracing::warn!(error = %e, "no metadata service"),
            }
        }
    }

    /// Reads the plan on `conn` and applies it (with `only_if_changed`, only when it differs
    /// from the plan last applied: a TAP made since needs a full apply, a periodic follow not).
    async fn apply_from(
        &self,
        network: &Network,
        conn: &mut hearth_store::Conn,
        only_if_changed: bool,
    ) -> hearth_cloud::Result<()> {
        let plan = hearth_net::desired::read(conn, &self.network_config, self.host_id.as_deref())
            .await
            .map_err(Error::internal)?;
        let metadata = hearth_net::desired::instance_metadata(conn)
            .await
            .map_err(Error::internal)?;
        let unchanged = only_if_changed
            && self
                .applied
                .lock()
                .map(|a| a.as_ref() == Some(&plan))
                .unwrap_or(false);
        if !unchanged {
            network.apply(plan.clone()).await.map_err(|e| {
                tracing::error!(error = %e, "applying the host network failed; the previous state stays");
                Error::internal(format!("the host network could not be updated: {e}"))
            })?;
            if let Ok(mut a) = self.applied.lock() {
                *a = Some(plan);
            }
        }
        self.metadata.replace_all(metadata);
        Ok(())
    }
}

impl Host for Node {
    fn sync_network(&self) -> HostFuture<'_> {
        Box::pin(async move {
            let Some(network) = &self.network else {
                return Ok(());
            };
            // The write lock orders this apply with the API's: a plan read here can never
            // overwrite a newer one applied by a change that committed meanwhile.
            let mut tx = self.store.write().await?;
            self.apply_from(network, &mut tx, false).await
        })
    }

    fn sync_network_in<'a>(&'a self, conn: &'a mut hearth_store::Conn) -> HostFuture<'a> {
        Box::pin(async move {
            // Delivered to the other hosts' nodes when the caller commits.
            self.store.notify(conn, "network").await?;
            match &self.network {
                Some(network) => self.apply_from(network, conn, false).await,
                None => Ok(()),
            }
        })
    }

    fn instances_changed(&self) {
        self.instances_changed.notify_one();
        let store = self.store.clone();
        tokio::spawn(async move {
            let sent = async {
                let mut conn = store.pool().acquire().await?;
                store.notify(&mut conn, "instances").await
            };
            if let Err(e) = sent.await {
                tracing::debug!(error = %e, "no change notification; nodes rescan");
            }
        });
    }
}
