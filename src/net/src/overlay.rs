//! The VPC overlay between hosts, as plain data: what each host needs so that instances of one
//! VPC on different hosts reach each other, with no multicast and no flooding.
//!
//! Routed, not bridged, so every packet still crosses the IP layer (and the firewall) on both
//! hosts as it does between instances of one host:
//! - per VPC, one VXLAN device (`hvx…`, VNI [`VNI_BASE`] + the VPC's sequence number, UDP
//!   [`VXLAN_PORT`] from the advertised address), with a MAC derived from host and VPC, on no
//!   bridge;
//! - per remote instance of that VPC, a /32 route over the device and a permanent neighbour
//!   entry naming the MAC of the remote host's device;
//! - per remote host with instances in that VPC, a forwarding entry: its device's MAC → its
//!   advertised address.
//!
//! The sender's host checks the sender's egress rules, the receiver's host its ingress rules; a
//! VNI per VPC keeps VPCs apart on the wire.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::names;

/// The IANA VXLAN port.
pub const VXLAN_PORT: u16 = 4789;
/// VNIs below this are left to the operator's own VXLANs.
pub const VNI_BASE: u32 = 4096;
/// The largest VNI (24 bits).
pub const VNI_MAX: u32 = (1 << 24) - 1;

/// What this host needs for the overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayPlan {
    /// This host's advertised address: the local end of every device.
    pub local: Ipv4Addr,
    pub vpcs: Vec<VpcOverlay>,
}

/// The overlay of one VPC on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcOverlay {
    pub vpc_id: String,
    pub vni: u32,
    /// The VXLAN device ([`names::vxlan_name`]).
    pub device: String,
    /// The device's MAC ([`names::overlay_mac`] of this host).
    pub mac: [u8; 6],
    /// The other hosts that hold instances of this VPC, by host id.
    pub peers: Vec<Peer>,
}

/// A remote host as one VPC's overlay sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub host_id: String,
    /// Where its device receives (its advertised address).
    pub address: Ipv4Addr,
    /// Its device's MAC, the destination of frames for its instances.
    pub mac: [u8; 6],
    /// The private addresses of its instances in this VPC, each routed over the device.
    pub instances: Vec<Ipv4Addr>,
}

/// A host as registered.
pub struct HostRow<'a> {
    pub host_id: &'a str,
    pub address: &'a str,
}

/// An instance's place: its VPC, its host and its address.
pub struct NicRow<'a> {
    pub vpc_id: &'a str,
    pub host_id: &'a str,
    pub ip: Ipv4Addr,
}

/// The overlay of host `me`, or `None` when it has no advertised address (a host on its own).
/// VPCs come with their sequence numbers; instances of hosts without a usable address are left
/// out (nothing could reach them) and named in the second value.
pub fn plan(
    me: &str,
    hosts: &[HostRow],
    vpcs: &[(&str, i64)],
    nics: &[NicRow],
) -> Result<(Option<OverlayPlan>, Vec<String>), String> {
    let address = |h: &HostRow| h.address.parse::<Ipv4Addr>().ok();
    let Some(local) = hosts.iter().find(|h| h.host_id == me).and_then(address) else {
        return Ok((None, Vec::new()));
    };
    let peers_at: BTreeMap<&str, Option<Ipv4Addr>> =
        hosts.iter().map(|h| (h.host_id, address(h))).collect();
    let mut unreachable = Vec::new();
    let mut out = Vec::new();
    for (vpc_id, seq) in vpcs {
        let vni = u32::try_from(*seq)
            .ok()
            .and_then(|s| s.checked_add(VNI_BASE))
            .filter(|v| *v <= VNI_MAX)
            .ok_or_else(|| format!("VPC {vpc_id} has no VNI: sequence {seq} is out of range"))?;
        let mut peers: BTreeMap<&str, Peer> = BTreeMap::new();
        for n in nics
            .iter()
            .filter(|n| n.vpc_id == *vpc_id && n.host_id != me)
        {
            match peers_at.get(n.host_id).copied().flatten() {
                Some(address) => peers
                    .entry(n.host_id)
                    .or_insert_with(|| Peer {
                        host_id: n.host_id.to_string(),
                        address,
                        mac: names::overlay_mac(n.host_id, vpc_id),
                        instances: Vec::new(),
                    })
                    .instances
                    .push(n.ip),
                None => unreachable.push(format!("{} on host {:?}", n.ip, n.host_id)),
            }
        }
        out.push(VpcOverlay {
            vpc_id: vpc_id.to_string(),
            vni,
            device: names::vxlan_name(vpc_id),
            mac: names::overlay_mac(me, vpc_id),
            peers: peers.into_values().collect(),
        });
    }
    Ok((Some(OverlayPlan { local, vpcs: out }), unreachable))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn each_host_routes_the_other_hosts_instances_of_each_vpc() {
        let hosts = [
            HostRow {
                host_id: "h1",
                address: "192.0.2.1",
            },
            HostRow {
                host_id: "h2",
                address: "192.0.2.2",
            },
            HostRow {
                host_id: "h3",
                address: "",
            },
        ];
        let vpcs = [("vpc-a", 1), ("vpc-b", 2)];
        let nics = [
            NicRow {
                vpc_id: "vpc-a",
                host_id: "h1",
                ip: ip("10.0.0.5"),
            },
            NicRow {
                vpc_id: "vpc-a",
                host_id: "h2",
                ip: ip("10.0.0.6"),
            },
            NicRow {
                vpc_id: "vpc-a",
                host_id: "h2",
                ip: ip("10.0.0.7"),
            },
            NicRow {
                vpc_id: "vpc-b",
                host_id: "h1",
                ip: ip("10.0.0.5"),
            },
            NicRow {
                vpc_id: "vpc-b",
                host_id: "h3",
                ip: ip("10.0.0.9"),
            },
        ];
        let (plan, unreachable) = plan("h1", &hosts, &vpcs, &nics).unwrap();
        let plan = plan.unwrap();
        assert_eq!(plan.local, ip("192.0.2.1"));
        let a = &plan.vpcs[0];
        assert_eq!((a.vni, a.device.len()), (VNI_BASE + 1, 15));
        assert_eq!(a.mac, names::overlay_mac("h1", "vpc-a"));
        assert_eq!(a.peers.len(), 1);
        assert_eq!(a.peers[0].host_id, "h2");
        assert_eq!(a.peers[0].address, ip("192.0.2.2"));
        assert_eq!(a.peers[0].mac, names::overlay_mac("h2", "vpc-a"));
        assert_eq!(a.peers[0].instances, [ip("10.0.0.6"), ip("10.0.0.7")]);
        // Another VPC: its own VNI and device; the same address elsewhere is another instance.
        let b = &plan.vpcs[1];
        assert_eq!(b.vni, VNI_BASE + 2);
        assert_ne!(b.device, a.device);
        assert!(b.peers.is_empty(), "h3 advertises no address");
        assert_eq!(unreachable, ["10.0.0.9 on host \"h3\""]);
    }

    #[test]
    fn a_host_without_an_address_has_no_overlay_and_vnis_stay_in_range() {
        let hosts = [HostRow {
            host_id: "solo",
            address: "",
        }];
        assert_eq!(plan("solo", &hosts, &[("vpc-a", 1)], &[]).unwrap().0, None);
        let hosts = [HostRow {
            host_id: "h1",
            address: "192.0.2.1",
        }];
        assert!(plan("h1", &hosts, &[("vpc-a", VNI_MAX as i64)], &[]).is_err());
        assert!(plan("h1", &hosts, &[("vpc-a", -1)], &[]).is_err());
    }
}
