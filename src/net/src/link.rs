//! Links over rtnetlink: the VSwitch bridges and the TAPs' place on them. Everything here acts on
//! the network namespace the netlink socket was opened in (the [`crate::Network`] worker's).

use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::AddressFamily;
use netlink_packet_utils::nla::DefaultNla;
use rtnetlink::Handle;

use crate::{NetError, Result};

const IFLA_PROTINFO: u16 = 12;
const NLA_F_NESTED: u16 = 0x8000;
const IFLA_BRPORT_ISOLATED: u16 = 33;

fn err(what: &str, e: rtnetlink::Error) -> NetError {
    NetError::netlink(what, e)
}

#[derive(Debug, Clone)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// The bridge (or other controller) the link is attached to.
    pub controller: Option<u32>,
}

fn link_of(m: &LinkMessage) -> Link {
    let mut link = Link {
        index: m.header.index,
        name: String::new(),
        controller: None,
    };
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Controller(c) => link.controller = Some(*c),
            _ => {}
        }
    }
    link
}

/// Every link of the namespace.
pub async fn all(h: &Handle) -> Result<Vec<Link>> {
    let mut out = Vec::new();
    let mut s = h.clone().link().get().execute();
    while let Some(m) = s.try_next().await.map_err(|e| err("listing links", e))? {
        out.push(link_of(&m));
    }
    Ok(out)
}

/// The link called `name`, if any.
pub async fn by_name(h: &Handle, name: &str) -> Result<Option<Link>> {
    let mut s = h.clone().link().get().match_name(name.into()).execute();
    match s.try_next().await {
        Ok(m) => Ok(m.as_ref().map(link_of)),
        // ENODEV: no such link.
        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENODEV => Ok(None),
        Err(e) => Err(err(&format!("looking up {name}"), e)),
    }
}

/// Creates the bridge `name` if missing, brings it up and gives it `gateway/prefix`. Returns
/// whether it had to be created. The bridge answers ARP for its whole subnet (proxy ARP across
/// isolated ports), so instances reach each other through the host's IP layer and its firewall.
pub async fn ensure_bridge(h: &Handle, name: &str, gateway: Ipv4Addr, prefix: u8) -> Result<bool> {
    let (link, created) = match by_name(h, name).await? {
        Some(l) => (l, false),
        None => {
            h.link()
                .add()
                .bridge(name.into())
                .execute()
                .await
                .map_err(|e| err(&format!("creating bridge {name}"), e))?;
            let l = by_name(h, name)
                .await?
                .ok_or_else(|| NetError::Host(format!("bridge {name} vanished after creation")))?;
            (l, true)
        }
    };
    let mut present = Vec::new();
    let mut s = h
        .address()
        .get()
        .set_link_index_filter(link.index)
        .execute();
    while let Some(m) = s
        .try_next()
        .await
        .map_err(|e| err("listing addresses", e))?
    {
        for a in &m.attributes {
            if let AddressAttribute::Address(IpAddr::V4(x)) = a {
                present.push((*x, m.header.prefix_len));
            }
        }
    }
    // The gateway, and the metadata service's address (local on every bridge, so each
    // instance reaches it through its own gateway).
    for (addr, len) in [(gateway, prefix), (crate::nft::METADATA_ADDRESS, 32)] {
        if !present.contains(&(addr, len)) {
            h.address()
                .add(link.index, IpAddr::V4(addr), len)
                .execute()
                .await
                .map_err(|e| err(&format!("adding {addr}/{len} to {name}"), e))?;
        }
    }
    for (key, value) in [
        ("conf/{}/proxy_arp", "1"),
        ("conf/{}/proxy_arp_pvlan", "1"),
        ("conf/{}/send_redirects", "0"),
        ("neigh/{}/proxy_delay", "0"),
    ] {
        crate::sysctl(&format!("ipv4/{}", key.replace("{}", name)), value)?;
    }
    h.link()
        .set(link.index)
        .up()
        .execute()
        .await
        .map_err(|e| err(&format!("bringing {name} up"), e))?;
    Ok(created)
}

pub async fn delete(h: &Handle, link: &Link) -> Result<()> {
    h.clone()
        .link()
        .del(link.index)
        .execute()
        .await
        .map_err(|e| err(&format!("deleting {}", link.name), e))
}

/// Puts `port` on `bridge` as an isolated port (ports of one bridge cannot talk to each other
/// directly; only through the bridge's own IP interface) and brings it up.
pub async fn attach(h: &Handle, port: &Link, bridge: &Link) -> Result<()> {
    if port.controller != Some(bridge.index) {
        h.link()
            .set(port.index)
            .controller(bridge.index)
            .execute()
            .await
            .map_err(|e| err(&format!("attaching {} to {}", port.name, bridge.name), e))?;
    }
    let mut req = h.link().set(port.index);
    let msg = req.message_mut();
    msg.header.interface_family = AddressFamily::Bridge;
    // IFLA_PROTINFO (nested) { IFLA_BRPORT_ISOLATED: u8 1 }, padded to 4 bytes.
    let inner = [5u8, 0, IFLA_BRPORT_ISOLATED as u8, 0, 1, 0, 0, 0].to_vec();
    msg.attributes.push(LinkAttribute::Other(DefaultNla::new(
        IFLA_PROTINFO | NLA_F_NESTED,
        inner,
    )));
    req.execute()
        .await
        .map_err(|e| err(&format!("isolating port {}", port.name), e))?;
    h.link()
        .set(port.index)
        .up()
        .execute()
        .await
        .map_err(|e| err(&format!("bringing {} up", port.name), e))
}
