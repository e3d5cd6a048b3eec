//! hearth-net: the host side of instance networking (issue #6).
//!
//! - [`names`]: the bridge of a VSwitch and the TAP of an instance NIC, by name.
//! - [`plan`]: the desired state (VSwitches, NICs, security groups, NAT) as plain data, and
//!   [`desired::read`] which builds it from the store.
//! - [`nft`]: the one nftables ruleset (VPC isolation, security groups, anti-spoofing, NAT).
//! - [`Network`]: the worker that applies a plan (bridges over netlink, then the ruleset in one
//!   `nft -f` transaction) and creates and deletes TAPs, all in one network namespace.
//!
//! What the supervisor calls, per NIC of an instance it starts:
//! `let tap = names::tap_name(&instance_id, 0); network.create_tap(&tap, &names::bridge_name(&vswitch_id))`,
//! then `hearth vmm --tap <tap>`; after the VMM exits for good, `network.delete_tap(&tap)`.

pub mod desired;
mod error;
pub mod link;
pub mod metadata;
pub mod names;
mod network;
pub mod nft;
pub mod overlay;
pub mod plan;
pub mod tap;
mod vxlan;

pub use error::{NetError, Result};
pub use metadata::{InstanceMetadata, MetadataTable};
pub use network::{Namespace, Network};
pub use plan::{GroupPlan, NatPlan, NicPlan, Plan, VSwitchPlan};

/// Writes `/proc/sys/net/<key>` for the calling thread's network namespace.
pub(crate) fn sysctl(key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/net/{key}");
    std::fs::write(&path, value)
        .map_err(|e| NetError::io(&format!("cannot set {path} to {value}"), e))
}
