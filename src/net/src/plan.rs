//! The desired state of this host's networks as plain data: what [`crate::nft::render`] turns
//! into one nftables ruleset and [`crate::Network::apply`] makes real. Built from the store by
//! [`crate::desired`]; tests build it by hand.

use std::net::Ipv4Addr;

use hearth_cloud::cidr::{self, Cidr};
use hearth_cloud::security_group::Rule;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub vswitches: Vec<VSwitchPlan>,
    pub nics: Vec<NicPlan>,
    pub groups: Vec<GroupPlan>,
    pub nat: NatPlan,
    /// The VPC overlay to other hosts; `None` for a host on its own.
    pub overlay: Option<crate::overlay::OverlayPlan>,
}

impl Plan {
    /// The overlay device of `vpc_id` on this host, if it has one.
    pub fn overlay_device(&self, vpc_id: &str) -> Option<&str> {
        self.overlay
            .as_ref()?
            .vpcs
            .iter()
            .find(|v| v.vpc_id == vpc_id)
            .map(|v| v.device.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct VSwitchPlan {
    pub vswitch_id: String,
    pub vpc_id: String,
    /// The Linux bridge (see [`crate::names::bridge_name`]).
    pub bridge: String,
    pub cidr: Cidr,
}

impl VSwitchPlan {
    pub fn new(vswitch_id: &str, vpc_id: &str, cidr: Cidr) -> VSwitchPlan {
        VSwitchPlan {
            vswitch_id: vswitch_id.into(),
            vpc_id: vpc_id.into(),
            bridge: crate::names::bridge_name(vswitch_id),
            cidr,
        }
    }

    /// The bridge's own address: the VSwitch gateway (first usable address).
    pub fn gateway(&self) -> Ipv4Addr {
        cidr::gateway(&self.cidr)
    }
}

/// One network interface of an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct NicPlan {
    /// The host end: a TAP for a microVM (a veth in tests).
    pub tap: String,
    /// The guest's MAC and address; frames from the TAP with any other are dropped.
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    pub vswitch_id: String,
    /// Security-group IDs, in the instance's order.
    pub groups: Vec<String>,
    /// An address from `network.public_ip_pool`, DNATed to `ip` (and used as its SNAT source).
    pub public_ip: Option<Ipv4Addr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    pub group_id: String,
    /// Members of a group with inner access `Accept` (normal groups) reach each other.
    pub inner_accept: bool,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NatPlan {
    /// Masquerade VPC traffic that leaves through a non-hearth interface.
    pub masquerade: bool,
    /// Only this interface counts as the uplink (`None`: any interface that is not a hearth bridge).
    pub uplink: Option<String>,
}

impl Default for NatPlan {
    fn default() -> Self {
        NatPlan {
            masquerade: true,
            uplink: None,
        }
    }
}

pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
