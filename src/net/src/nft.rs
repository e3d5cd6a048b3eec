//! The firewall: one ruleset in two hearth-owned tables, rendered from a [`Plan`] and applied in
//! one `nft -f` transaction that deletes and recreates both tables. nftables applies a file
//! atomically, so either the whole new ruleset is in force or (on any error) the previous one
//! still is; hearth never edits rules one by one.
//!
//! How packets meet the rules (see README "Host networking"):
//! - `bridge hearth`, prerouting: anti-spoofing. A frame from a TAP must carry the NIC's MAC and,
//!   for IPv4 and ARP, its address; anything else (and any other EtherType) is dropped. TAPs not
//!   in the plan match nothing and are dropped too.
//! - Bridge ports are isolated and the bridge answers ARP for the whole VSwitch (proxy ARP), so
//!   even two instances on one VSwitch talk through the host's IP layer, as ECS's vRouter does.
//!   That puts every instance-to-instance packet through conntrack and `inet hearth`, forward:
//!   VPC isolation (bridges of different VPCs never forward to each other), then the sender's
//!   egress rules, then the receiver's ingress rules. Replies of allowed flows pass as
//!   established.
//! - `inet hearth`, nat: DNAT of public IPs to their NICs, SNAT of those NICs to their public IP,
//!   and masquerade of the rest of VPC traffic leaving through the uplink.
//!
//! Security groups: the rules of all groups of a NIC, sorted by priority (1 first; Drop before
//! Accept at equal priority). Ingress: the first matching rule decides; then members of the
//! NIC's normal groups are accepted; everything else is dropped. Egress: the first matching rule
//! decides (Accept continues to the receiver's ingress check); without a match, allowed. NICs with
//! the same groups share one chain, so 100 instances in a 1,000-rule group cost 1,000 rules, not
//! 100,000.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::NetError;

use hearth_cloud::security_group::{Direction, Peer, Policy, PortRange, Protocol, Rule};

use crate::names::{BRIDGE_PREFIX, TAP_PREFIX, VXLAN_PREFIX};
use crate::plan::{format_mac, Plan};

/// The name of both hearth tables (`inet hearth`, `bridge hearth`).
pub const TABLE: &str = "hearth";

/// The metadata service's address (wire-protocols.md), allowed from every bridge.
pub const METADATA_ADDRESS: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 200);

/// A link name nft and the kernel both accept, and that cannot break out of a quoted string.
fn check_ifname(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} {name:?} is not a valid interface name (1-15 of A-Z a-z 0-9 _ - .)"
        ))
    }
}

fn ports(range: &PortRange) -> Option<String> {
    match range {
        PortRange::Any => None,
        PortRange::Ports { start, end } if start == end => Some(start.to_string()),
        PortRange::Ports { start, end } => Some(format!("{start}-{end}")),
    }
}

/// The match part of one rule, or `None` when it can never match (a peer group that no longer
/// exists has no members).
fn rule_match(rule: &Rule, group_sets: &BTreeMap<&str, usize>) -> Option<String> {
    let ingress = rule.direction == Direction::Ingress;
    let (peer_field, local_field, peer_if) = if ingress {
        ("saddr", "daddr", "iifname")
    } else {
        ("daddr", "saddr", "oifname")
    };
    let mut m = Vec::new();
    match &rule.peer {
        Peer::Cidr(net) if net.prefix == 0 => {}
        Peer::Cidr(net) => m.push(format!("ip {peer_field} {}/{}", net.network(), net.prefix)),
        Peer::Group(g) => {
            let n = group_sets.get(g.as_str())?;
            m.push(format!("{peer_if} . ip {peer_field} @g{n}"));
        }
    }
    if let Some(local) = &rule.local {
        m.push(format!(
            "ip {local_field} {}/{}",
            local.network(),
            local.prefix
        ));
    }
    match rule.protocol {
        Protocol::Tcp | Protocol::Udp => {
            let p = if rule.protocol == Protocol::Tcp {
                "tcp"
            } else {
                "udp"
            };
            m.push(format!("meta l4proto {p}"));
            if let Some(sp) = rule.source_ports.as_ref().and_then(ports) {
                m.push(format!("th sport {sp}"));
            }
            if let Some(dp) = ports(&rule.ports) {
                m.push(format!("th dport {dp}"));
            }
        }
        Protocol::Icmp => m.push("meta l4proto icmp".into()),
        Protocol::Gre => m.push("meta l4proto gre".into()),
        Protocol::All => {}
    }
    Some(m.join(" "))
}

/// Rules in the order they are evaluated: priority 1 first, Drop before Accept at one priority,
/// otherwise as stored.
fn ordered<'a>(rules: impl Iterator<Item = &'a Rule>, direction: Direction) -> Vec<&'a Rule> {
    let mut v: Vec<&Rule> = rules.filter(|r| r.direction == direction).collect();
    v.sort_by_key(|r| (r.priority, r.policy == Policy::Accept));
    v
}

fn elements(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" elements = {{ {} }};", items.join(", "))
    }
}

/// The nft script that replaces both hearth tables with the plan's ruleset; a plan it cannot
/// express safely (bad names, addresses outside their VSwitch, duplicates) is refused.
pub fn render(plan: &Plan) -> crate::Result<String> {
    ruleset(plan).map_err(NetError::Plan)
}

fn ruleset(plan: &Plan) -> Result<String, String> {
    let vswitches: BTreeMap<&str, &crate::plan::VSwitchPlan> = plan
        .vswitches
        .iter()
        .map(|v| (v.vswitch_id.as_str(), v))
        .collect();
    for v in &plan.vswitches {
        check_ifname("bridge", &v.bridge)?;
        if !v.bridge.starts_with(BRIDGE_PREFIX) {
            return Err(format!("bridge {:?} lacks the hearth prefix", v.bridge));
        }
    }
    if let Some(u) = &plan.nat.uplink {
        check_ifname("uplink", u)?;
    }
    let group_sets: BTreeMap<&str, usize> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.group_id.as_str(), i))
        .collect();

    // NICs: (bridge, ip) must be unique; groups of the same list share a profile.
    // Every group gets its own chains even before it has members, so what the API authorized
    // is visible (and checked by nft) at once; NICs in exactly one group share them.
    let mut profiles: BTreeMap<Vec<&str>, usize> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (vec![g.group_id.as_str()], i))
        .collect();
    let mut seen = BTreeSet::new();
    let mut nic_rows = Vec::new(); // (bridge, nic, profile)
    let mut members: Vec<Vec<String>> = vec![Vec::new(); plan.groups.len()];
    for nic in &plan.nics {
        check_ifname("TAP", &nic.tap)?;
        if !nic.tap.starts_with(TAP_PREFIX) {
            return Err(format!("TAP {:?} lacks the hearth prefix", nic.tap));
        }
        let vsw = vswitches.get(nic.vswitch_id.as_str()).ok_or_else(|| {
            format!(
                "NIC {} is in VSwitch {} which is not in the plan",
                nic.tap, nic.vswitch_id
            )
        })?;
        if !vsw.cidr.contains_addr(u32::from(nic.ip)) {
            return Err(format!(
                "NIC {} address {} is outside its VSwitch {}",
                nic.tap, nic.ip, vsw.cidr
            ));
        }
        if !seen.insert((vsw.bridge.as_str(), nic.ip)) {
            return Err(format!(
                "two NICs have address {} in VSwitch {}",
                nic.ip, nic.vswitch_id
            ));
        }
        let mut key: Vec<&str> = Vec::new();
        for g in &nic.groups {
            let n = *group_sets.get(g.as_str()).ok_or_else(|| {
                format!(
                    "NIC {} is in security group {g} which is not in the plan",
                    nic.tap
                )
            })?;
            members[n].push(format!("\"{}\" . {}", vsw.bridge, nic.ip));
            // Seen from another host's side of the overlay, the member arrives on (or leaves
            // through) its VPC's overlay device.
            if let Some(dev) = plan.overlay_device(&vsw.vpc_id) {
                members[n].push(format!("\"{dev}\" . {}", nic.ip));
            }
            if !key.contains(&g.as_str()) {
                key.push(g.as_str());
            }
        }
        let next = profiles.len();
        let p = *profiles.entry(key).or_insert(next);
        nic_rows.push((vsw.bridge.as_str(), nic, p));
    }

    let mut s = String::new();
    let w = &mut s;
    // `table` creates it if missing, so `delete` cannot fail on the first apply.
    let _ = writeln!(w, "table inet {TABLE}\ndelete table inet {TABLE}");
    let _ = writeln!(w, "table inet {TABLE} {{");
    for (n, m) in members.iter().enumerate() {
        let _ = writeln!(
            w,
            "  set g{n} {{ type ifname . ipv4_addr;{} }}",
            elements(m)
        );
    }
    // VPC isolation: the (from, to) bridge pairs that may forward to each other.
    let mut links = Vec::new();
    for a in &plan.vswitches {
        for b in plan.vswitches.iter().filter(|b| b.vpc_id == a.vpc_id) {
            links.push(format!("\"{}\" . \"{}\"", a.bridge, b.bridge));
        }
        if let Some(dev) = plan.overlay_device(&a.vpc_id) {
            check_ifname("overlay device", dev)?;
            links.push(format!("\"{}\" . \"{dev}\"", a.bridge));
            links.push(format!("\"{dev}\" . \"{}\"", a.bridge));
        }
    }
    let _ = writeln!(
        w,
        "  set vpc_links {{ type ifname . ifname;{} }}",
        elements(&links)
    );
    let gateways: Vec<String> = plan
        .vswitches
        .iter()
        .map(|v| format!("\"{}\" . {}", v.bridge, v.gateway()))
        .collect();
    let _ = writeln!(
        w,
        "  set gateways {{ type ifname . ipv4_addr;{} }}",
        elements(&gateways)
    );
    let mut blocks: Vec<String> = plan
        .vswitches
        .iter()
        .map(|v| v.cidr.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    blocks.dedup();
    let _ = writeln!(
        w,
        "  set vswitch_blocks {{ type ipv4_addr; flags interval; auto-merge;{} }}",
        elements(&blocks)
    );
    let nic_in: Vec<String> = nic_rows
        .iter()
        .map(|(br, nic, p)| format!("\"{br}\" . {} : jump in{p}", nic.ip))
        .collect();
    let nic_out: Vec<String> = nic_rows
        .iter()
        .map(|(br, nic, p)| format!("\"{br}\" . {} : jump out{p}", nic.ip))
        .collect();
    let _ = writeln!(
        w,
        "  map nic_in {{ type ifname . ipv4_addr : verdict;{} }}",
        elements(&nic_in)
    );
    let _ = writeln!(
        w,
        "  map nic_out {{ type ifname . ipv4_addr : verdict;{} }}",
        elements(&nic_out)
    );

    for (key, p) in &profiles {
        let groups: Vec<&crate::plan::GroupPlan> =
            key.iter().map(|g| &plan.groups[group_sets[g]]).collect();
        let all = || groups.iter().flat_map(|g| g.rules.iter());
        let _ = writeln!(w, "  chain in{p} {{");
        for r in ordered(all(), Direction::Ingress) {
            if let Some(m) = rule_match(r, &group_sets) {
                let verdict = if r.policy == Policy::Accept {
                    "accept"
                } else {
                    "drop"
                };
                let _ = writeln!(w, "    {m} {verdict}");
            }
        }
        for g in groups.iter().filter(|g| g.inner_accept) {
            let _ = writeln!(
                w,
                "    iifname . ip saddr @g{} accept",
                group_sets[g.group_id.as_str()]
            );
        }
        let _ = writeln!(w, "    drop\n  }}");
        let _ = writeln!(w, "  chain out{p} {{");
        for r in ordered(all(), Direction::Egress) {
            if let Some(m) = rule_match(r, &group_sets) {
                // Accept only ends the sender's check: the receiver's ingress rules still apply.
                let verdict = if r.policy == Policy::Accept {
                    "return"
                } else {
                    "drop"
                };
                let _ = writeln!(w, "    {m} {verdict}");
            }
        }
        let _ = writeln!(w, "  }}");
    }

    let br = format!("\"{BRIDGE_PREFIX}*\"");
    // The overlay: packets from other hosts' instances of a VPC, routed in over its device.
    let vx = format!("\"{VXLAN_PREFIX}*\"");
    // Connections to the metadata service carry the mark of the bridge they came in on.
    let mut marks = BTreeMap::new();
    for v in &plan.vswitches {
        let mark = crate::names::bridge_mark(&v.bridge);
        if let Some(other) = marks.insert(mark, v.bridge.as_str()) {
            return Err(format!(
                "bridges {other} and {} have the same metadata mark",
                v.bridge
            ));
        }
    }
    let _ = writeln!(
        w,
        "  chain metadata_mark {{\n    type filter hook prerouting priority mangle; policy accept;"
    );
    if !marks.is_empty() {
        let map: Vec<String> = marks
            .iter()
            .map(|(m, b)| format!("\"{b}\" : {m:#x}"))
            .collect();
        let _ = writeln!(
            w,
            "    iifname {br} ip daddr {METADATA_ADDRESS} tcp dport 80 meta mark set iifname map {{ {} }}",
            map.join(", ")
        );
    }
    let _ = writeln!(w, "  }}");
    let _ = writeln!(
        w,
        "  chain forward {{
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    iifname {br} ct state invalid drop
    oifname {br} ct state invalid drop
    iifname {br} oifname {br} iifname . oifname != @vpc_links drop
    iifname {br} oifname {vx} iifname . oifname != @vpc_links drop
    iifname {vx} oifname {br} iifname . oifname != @vpc_links drop
    iifname {vx} oifname {br} oifname . ip daddr vmap @nic_in
    iifname {vx} drop
    oifname {br} iifname != {br} ct status dnat oifname . ip daddr vmap @nic_in
    oifname {br} iifname != {br} drop
    iifname {br} iifname . ip saddr vmap @nic_out
    oifname {br} oifname . ip daddr vmap @nic_in
    oifname {br} drop
  }}
  chain input {{
    type filter hook input priority filter; policy accept;
    iifname {br} ct state established,related accept
    iifname {br} ct state invalid drop
    iifname {br} iifname . ip saddr vmap @nic_out
    iifname {br} iifname . ip daddr @gateways icmp type echo-request accept
    iifname {br} ip daddr {METADATA_ADDRESS} tcp dport 80 accept
    iifname {br} drop
  }}
  chain output {{
    type filter hook output priority filter; policy accept;
    oifname {br} icmp type redirect drop
    oifname {br} ct state established,related accept
    oifname {br} oifname . ip daddr vmap @nic_in
  }}"
    );

    let public: Vec<(Ipv4Addr, Ipv4Addr)> = plan
        .nics
        .iter()
        .filter_map(|n| n.public_ip.map(|p| (p, n.ip)))
        .collect();
    let _ = writeln!(
        w,
        "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;"
    );
    if !public.is_empty() {
        let map: Vec<String> = public.iter().map(|(p, i)| format!("{p} : {i}")).collect();
        let _ = writeln!(
            w,
            "    iifname != {br} dnat ip to ip daddr map {{ {} }}",
            map.join(", ")
        );
    }
    let _ = writeln!(
        w,
        "  }}\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;"
    );
    let out_if = match &plan.nat.uplink {
        Some(u) => format!("oifname \"{u}\""),
        // The overlay is not the way out: other hosts' instances see the real source.
        None => format!("oifname != {br} oifname != {vx}"),
    };
    if !public.is_empty() {
        // Keyed by bridge and address: overlapping VPCs may both use an address.
        let map: Vec<String> = nic_rows
            .iter()
            .filter_map(|(b, n, _)| n.public_ip.map(|p| format!("\"{b}\" . {} : {p}", n.ip)))
            .collect();
        let _ = writeln!(
            w,
            "    iifname {br} {out_if} snat ip to iifname . ip saddr map {{ {} }}",
            map.join(", ")
        );
    }
    if plan.nat.masquerade {
        let _ = writeln!(
            w,
            "    iifname {br} {out_if} ip saddr @vswitch_blocks masquerade"
        );
    }
    let _ = writeln!(w, "  }}\n}}");

    // Anti-spoofing, before the bridge decides anything.
    let macs: Vec<String> = plan
        .nics
        .iter()
        .map(|n| format!("\"{}\" . {}", n.tap, format_mac(&n.mac)))
        .collect();
    let ips: Vec<String> = plan
        .nics
        .iter()
        .map(|n| format!("\"{}\" . {}", n.tap, n.ip))
        .collect();
    let tap = format!("\"{TAP_PREFIX}*\"");
    let _ = writeln!(w, "table bridge {TABLE}\ndelete table bridge {TABLE}");
    let _ = writeln!(
        w,
        "table bridge {TABLE} {{
  set nic_mac {{ type ifname . ether_addr;{} }}
  set nic_ip {{ type ifname . ipv4_addr;{} }}
  chain prerouting {{
    type filter hook prerouting priority filter; policy accept;
    iifname {tap} iifname . ether saddr != @nic_mac drop
    iifname {tap} ether type arp iifname . arp saddr ether != @nic_mac drop
    iifname {tap} ether type arp iifname . arp saddr ip != @nic_ip drop
    iifname {tap} ether type ip iifname . ip saddr != @nic_ip drop
    iifname {tap} ether type != {{ ip, arp }} drop
  }}
}}",
        elements(&macs),
        elements(&ips)
    );
    Ok(s)
}

/// Runs an nft script as one transaction (`nft -f -`). On failure nothing of the script is in
/// force and the error carries nft's message.
pub fn apply_script(script: &str) -> crate::Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            NetError::Nft(format!(
                "cannot run nft (is the nftables package installed?): {e}"
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| NetError::Nft(format!("cannot write to nft: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetError::Nft(format!("nft failed: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Nft(format!(
            "nft refused the ruleset: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Removes both hearth tables (nothing else).
pub fn remove_script() -> String {
    format!(
        "table inet {TABLE}\ndelete table inet {TABLE}\ntable bridge {TABLE}\ndelete table bridge {TABLE}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{GroupPlan, NicPlan, VSwitchPlan};
    use hearth_cloud::cidr::Cidr;
    use hearth_cloud::security_group::RuleInput;

    fn rule(proto: &str, ports: &str, peer: &str, policy: &str, priority: u8) -> Rule {
        let mut i = RuleInput {
            ip_protocol: Some(proto.into()),
            port_range: Some(ports.into()),
            policy: Some(policy.into()),
            priority: Some(priority.to_string()),
            ..Default::default()
        };
        if peer.starts_with("sg-") {
            i.source_group_id = Some(peer.into());
        } else {
            i.source_cidr_ip = Some(peer.into());
        }
        i.parse(Direction::Ingress).unwrap()
    }

    fn plan() -> Plan {
        let v = VSwitchPlan::new("vsw-1", "vpc-1", Cidr::parse("10.0.0.0/24").unwrap());
        Plan {
            nics: vec![NicPlan {
                tap: "htap1".into(),
                mac: [0, 0x16, 0x3e, 0, 0, 1],
                ip: "10.0.0.5".parse().unwrap(),
                vswitch_id: v.vswitch_id.clone(),
                groups: vec!["sg-a".into(), "sg-b".into()],
                public_ip: None,
            }],
            vswitches: vec![v],
            groups: vec![
                GroupPlan {
                    group_id: "sg-a".into(),
                    inner_accept: true,
                    rules: vec![
                        rule("tcp", "22/22", "0.0.0.0/0", "accept", 5),
                        rule("udp", "53/60", "10.1.2.3/8", "accept", 1),
                    ],
                },
                GroupPlan {
                    group_id: "sg-b".into(),
                    inner_accept: false,
                    rules: vec![
                        rule("tcp", "22/22", "1.2.3.4", "drop", 5),
                        rule("icmp", "-1/-1", "sg-a", "accept", 3),
                    ],
                },
            ],
            ..Plan::default()
        }
    }

    #[test]
    fn rules_of_all_groups_in_priority_order_drop_first() {
        let script = render(&plan()).unwrap();
        // The NIC's profile (sg-a + sg-b) is chain in2 (in0, in1: the groups alone).
        let chain = script
            .split("chain in2 {")
            .nth(1)
            .and_then(|c| c.split('}').next())
            .unwrap();
        let lines: Vec<&str> = chain
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(
            lines,
            [
                "ip saddr 10.0.0.0/8 meta l4proto udp th dport 53-60 accept",
                "iifname . ip saddr @g0 meta l4proto icmp accept",
                "ip saddr 1.2.3.4/32 meta l4proto tcp th dport 22 drop",
                "meta l4proto tcp th dport 22 accept",
                "iifname . ip saddr @g0 accept",
                "drop",
            ]
        );
        assert!(script.contains("\"hbr"));
        assert!(script.contains("\"htap1\" . 00:16:3e:00:00:01"));
        assert!(script.contains("masquerade"));
    }

    #[test]
    fn bad_plans_are_refused_before_nft() {
        let mut p = plan();
        p.nics[0].ip = "10.9.9.9".parse().unwrap();
        assert!(render(&p).unwrap_err().to_string().contains("outside"));
        let mut p = plan();
        p.nics[0].tap = "eth0".into();
        assert!(render(&p).unwrap_err().to_string().contains("prefix"));
        let mut p = plan();
        p.nics[0].tap = "htap\"; flush ruleset".into();
        assert!(render(&p).is_err());
        let mut p = plan();
        p.nics[0].groups.push("sg-gone".into());
        assert!(render(&p).unwrap_err().to_string().contains("sg-gone"));
        let mut p = plan();
        p.nics.push(p.nics[0].clone());
        assert!(render(&p).unwrap_err().to_string().contains("10.0.0.5"));
    }
}
