//! The overlay made real over netlink: one VXLAN device per VPC with the forwarding entries,
//! neighbour entries and /32 routes of [`crate::overlay`]. A device whose entries changed is made
//! again from scratch (its routes and entries go with it), so nothing stale can survive.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_route::neighbour::{NeighbourFlag, NeighbourState};
use netlink_packet_route::route::RouteScope;
use rtnetlink::Handle;

use crate::link::{self, Link};
use crate::overlay::{VpcOverlay, VXLAN_PORT};
use crate::{NetError, Result};

fn err(what: &str, e: rtnetlink::Error) -> NetError {
    NetError::Host(format!("{what}: {e}"))
}

/// Makes `v`'s device anew from `local`: deleted if present, created (no learning: every entry
/// comes from the store), given its MAC, brought up, then its entries added.
pub async fn make(h: &Handle, v: &VpcOverlay, local: Ipv4Addr) -> Result<()> {
    if let Some(old) = link::by_name(h, &v.device).await? {
        link::delete(h, &old).await?;
    }
    h.link()
        .add()
        .vxlan(v.device.clone(), v.vni)
        .port(VXLAN_PORT)
        .local(local)
        .learning(false)
        .execute()
        .await
        .map_err(|e| err(&format!("creating VXLAN device {}", v.device), e))?;
    let dev = link::by_name(h, &v.device)
        .await?
        .ok_or_else(|| NetError::Host(format!("{} vanished after creation", v.device)))?;
    h.link()
        .set(dev.index)
        .address(v.mac.to_vec())
        .execute()
        .await
        .map_err(|e| err(&format!("setting the MAC of {}", v.device), e))?;
    h.link()
        .set(dev.index)
        .up()
        .execute()
        .await
        .map_err(|e| err(&format!("bringing {} up", v.device), e))?;
    add_entries(h, &dev, v).await
}

async fn add_entries(h: &Handle, dev: &Link, v: &VpcOverlay) -> Result<()> {
    for peer in &v.peers {
        // The device's own forwarding entry (NTF_SELF): frames for that MAC go to that host.
        h.neighbours()
            .add_bridge(dev.index, &peer.mac)
            .destination(IpAddr::V4(peer.address))
            .flags(vec![NeighbourFlag::Own])
            .replace()
            .execute()
            .await
            .map_err(|e| {
                err(
                    &format!("forwarding entry for {} on {}", peer.host_id, v.device),
                    e,
                )
            })?;
        for ip in &peer.instances {
            h.neighbours()
                .add(dev.index, IpAddr::V4(*ip))
                .link_local_address(&peer.mac)
                .state(NeighbourState::Permanent)
                .replace()
                .execute()
                .await
                .map_err(|e| err(&format!("neighbour {ip} on {}", v.device), e))?;
            h.route()
                .add()
                .v4()
                .destination_prefix(*ip, 32)
                .output_interface(dev.index)
                .scope(RouteScope::Link)
                .replace()
                .execute()
                .await
                .map_err(|e| err(&format!("route to {ip} over {}", v.device), e))?;
        }
    }
    Ok(())
}

/// The VXLAN devices hearth made here.
pub async fn devices(h: &Handle) -> Result<Vec<Link>> {
    Ok(link::all(h)
        .await?
        .into_iter()
        .filter(|l| l.name.starts_with(crate::names::VXLAN_PREFIX))
        .collect())
}
