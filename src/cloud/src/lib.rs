//! The domain of hearth: what a region, a VPC, a security group or an instance is, and the ECS
//! rules that decide which requests are valid. Pure logic over the store: no HTTP, no ioctls.

pub mod catalog;
pub mod choice;
pub mod cidr;
pub mod client_token;
pub mod cluster;
pub mod config;
pub mod cvm;
pub mod disk_performance;
pub mod disk_rules;
mod error;
pub mod fat;
pub mod host;
pub mod hostname;
pub mod ids;
pub mod images;
pub mod instances;
pub mod internet_bandwidth;
pub mod key_pairs;
pub mod names;
pub mod paging;
pub mod password;
pub mod placement;
pub mod security_group;
pub mod ssh_keys;
pub mod tags;
pub mod vpc;
pub mod vswitch;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::{Error, Result};
pub use hearth_store::Store;

/// The cloud as the API sees it: configuration plus state.
#[derive(Clone)]
pub struct Cloud {
    pub store: Store,
    pub config: Arc<config::Config>,
    pub data_dir: PathBuf,
    /// The machine side: networks and instance processes.
    pub host: Arc<dyn host::Host>,
    /// Instance files (disks, seed) are made in `data_dir` when instances are created: true
    /// when this process is also the instances' host; an API server of a cluster leaves them to
    /// the node each instance is placed on.
    pub makes_files: bool,
    /// The host this process is also the node agent of (`--role all`): never taken for silent.
    pub local_host: Option<String>,
}

impl Cloud {
    pub fn new(
        store: Store,
        config: config::Config,
        data_dir: PathBuf,
        host: Arc<dyn host::Host>,
    ) -> Cloud {
        Cloud {
            store,
            config: Arc::new(config),
            data_dir,
            host,
            makes_files: true,
            local_host: None,
        }
    }

    /// `InvalidRegionId.NotFound` unless `region` is the region this host serves.
    pub fn check_region(&self, region: &str) -> Result<()> {
        if region == self.config.region.id {
            Ok(())
        } else {
            Err(Error::not_found(
                "InvalidRegionId.NotFound",
                format!(
                    "The specified RegionId \"{region}\" does not exist; this host serves \"{}\".",
                    self.config.region.id
                ),
            ))
        }
    }
}
