//! The plan from the store: what the API has recorded is what the host should be.

use std::collections::{BTreeMap, HashMap};

use hearth_cloud::cidr::Cidr;
use hearth_cloud::config::Network as NetworkConfig;
use hearth_cloud::security_group::{rule_from_record, Rule};
use hearth_store::instances::MetadataRecord;
use hearth_store::{security_groups, vswitches, Conn};

use crate::metadata::InstanceMetadata;
use crate::plan::{GroupPlan, NatPlan, NicPlan, Plan, VSwitchPlan};
use crate::{NetError, Result};

/// Reads the plan of host `host_id` (`None`: no overlay) on `conn`. Called on the API's write
/// transaction, it sees that transaction's uncommitted change, so the change can be applied
/// before it is committed (and rolled back if the host refuses it).
pub async fn read(conn: &mut Conn, config: &NetworkConfig, host_id: Option<&str>) -> Result<Plan> {
    fn db(e: impl std::fmt::Display) -> NetError {
        NetError::Plan(format!("reading the network plan: {e}"))
    }
    let mut plan = Plan {
        nat: NatPlan {
            masquerade: config.masquerade,
            uplink: config.uplink.clone(),
        },
        ..Plan::default()
    };
    for v in vswitches::all_for_network(conn).await.map_err(db)? {
        let cidr = Cidr::parse(&v.cidr_block)
            .map_err(|e| NetError::Plan(format!("VSwitch {}: {e}", v.vswitch_id)))?;
        plan.vswitches
            .push(VSwitchPlan::new(&v.vswitch_id, &v.vpc_id, cidr));
    }
    let mut rules: HashMap<String, Vec<Rule>> = HashMap::new();
    for r in security_groups::all_rules(conn).await.map_err(db)? {
        let rule = rule_from_record(&r).map_err(|e| NetError::Plan(e.message))?;
        rules.entry(r.security_group_id).or_default().push(rule);
    }
    for g in security_groups::all_groups_for_network(conn)
        .await
        .map_err(db)?
    {
        plan.groups.push(GroupPlan {
            rules: rules.remove(&g.id).unwrap_or_default(),
            inner_accept: g.inner_access_policy == "Accept",
            group_id: g.id,
        });
    }
    plan.nics = instance_nics(conn).await?;
    if let Some(me) = host_id {
        let (overlay, unreachable) = overlay(conn, me).await?;
        if !unreachable.is_empty() {
            tracing::warn!(instances = ?unreachable, "on hosts that advertise no address: not reachable over the overlay");
        }
        plan.overlay = overlay;
    }
    Ok(plan)
}

/// The overlay host `host_id` needs (see [`crate::overlay`]), and the instances left out of it.
pub async fn overlay(
    conn: &mut Conn,
    host_id: &str,
) -> Result<(Option<crate::overlay::OverlayPlan>, Vec<String>)> {
    fn db(e: impl std::fmt::Display) -> NetError {
        NetError::Plan(format!("reading the overlay plan: {e}"))
    }
    let hosts = hearth_store::hosts::list(conn).await.map_err(db)?;
    let vpcs = hearth_store::vpcs::sequence_numbers(conn)
        .await
        .map_err(db)?;
    let placed = hearth_store::instances::placements(conn)
        .await
        .map_err(db)?;
    let hosts: Vec<crate::overlay::HostRow> = hosts
        .iter()
        .map(|l| crate::overlay::HostRow {
            host_id: &l.host.host_id,
            address: &l.host.address,
        })
        .collect();
    let vpcs: Vec<(&str, i64)> = vpcs.iter().map(|(v, s)| (v.as_str(), *s)).collect();
    let nics = placed
        .iter()
        .map(|p| {
            Ok(crate::overlay::NicRow {
                vpc_id: &p.vpc_id,
                host_id: &p.host_id,
                ip: p.private_ip.parse().map_err(|e| {
                    NetError::Plan(format!("instance address {:?}: {e}", p.private_ip))
                })?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    crate::overlay::plan(host_id, &hosts, &vpcs, &nics).map_err(NetError::Plan)
}

/// The NICs of instances that should be on the network (every instance that is not deleted; a
/// stopped one keeps its address and rules), with their TAP ([`crate::names::tap_name`]), MAC,
/// private IP, VSwitch, security groups and public IP (AllocatePublicIpAddress), which the
/// ruleset DNATs to the private IP and uses as the SNAT source of its traffic out.
pub async fn instance_nics(conn: &mut Conn) -> Result<Vec<NicPlan>> {
    let nics = hearth_store::instances::nics(conn)
        .await
        .map_err(|e| NetError::Plan(format!("reading instance NICs: {e}")))?;
    nics.into_iter()
        .map(|n| {
            Ok(NicPlan {
                tap: crate::names::tap_name(&n.instance_id, 0),
                mac: parse_mac(&n.mac).ok_or_else(|| {
                    NetError::Plan(format!("instance {}: bad MAC {:?}", n.instance_id, n.mac))
                })?,
                ip: n.private_ip.parse().map_err(|_| {
                    NetError::Plan(format!(
                        "instance {}: bad address {:?}",
                        n.instance_id, n.private_ip
                    ))
                })?,
                public_ip: n
                    .public_ip
                    .as_deref()
                    .map(|p| {
                        p.parse().map_err(|_| {
                            NetError::Plan(format!(
                                "instance {}: bad public address {p:?}",
                                n.instance_id
                            ))
                        })
                    })
                    .transpose()?,
                vswitch_id: n.vswitch_id,
                groups: n.groups,
            })
        })
        .collect()
}

fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Every instance's metadata, keyed as the service looks it up: by the bridge it asks from
/// ([`crate::names::bridge_name`] of its VSwitch) and its private IP. The items are those of
/// wire-protocols.md (instance-id, hostname, instance/instance-type, image-id, mac,
/// private-ipv4, region-id, zone-id, vpc-id, vswitch-id, vswitch-cidr-block, public-keys/…,
/// network/interfaces/macs/<mac>/…), with the user data and the ModifyInstanceMetadataOptions
/// settings.
pub async fn instance_metadata(
    conn: &mut Conn,
) -> Result<Vec<(String, std::net::Ipv4Addr, InstanceMetadata)>> {
    let records = hearth_store::instances::metadata_records(conn)
        .await
        .map_err(|e| NetError::Plan(format!("reading instance metadata: {e}")))?;
    records
        .into_iter()
        .map(|r| {
            let ip = r.private_ip.parse().map_err(|_| {
                NetError::Plan(format!(
                    "instance {}: bad address {:?}",
                    r.instance_id, r.private_ip
                ))
            })?;
            Ok((crate::names::bridge_name(&r.vswitch_id), ip, metadata_of(r)))
        })
        .collect()
}

fn metadata_of(r: MetadataRecord) -> InstanceMetadata {
    let mut items = BTreeMap::new();
    let mut item = |k: &str, v: &str| items.insert(k.to_string(), v.to_string());
    item("instance-id", &r.instance_id);
    item("hostname", &r.hostname);
    item("instance/instance-type", &r.instance_type);
    item("image-id", &r.image_id);
    item("mac", &r.mac);
    item("private-ipv4", &r.private_ip);
    item("region-id", &r.region_id);
    item("zone-id", &r.zone_id);
    item("vpc-id", &r.vpc_id);
    item("vswitch-id", &r.vswitch_id);
    item("vswitch-cidr-block", &r.vswitch_cidr);
    let nic = format!("network/interfaces/macs/{}", r.mac);
    item(&format!("{nic}/primary-ip-address"), &r.private_ip);
    item(&format!("{nic}/vpc-id"), &r.vpc_id);
    item(&format!("{nic}/vswitch-id"), &r.vswitch_id);
    item(&format!("{nic}/vswitch-cidr-block"), &r.vswitch_cidr);
    if let Ok(cidr) = Cidr::parse(&r.vswitch_cidr) {
        let gateway = hearth_cloud::cidr::gateway(&cidr);
        item(&format!("{nic}/gateway"), &gateway.to_string());
    }
    if let Some(key) = &r.public_key {
        item("public-keys/0/openssh-key", key);
    }
    // Stored as given (Base64) and checked when it was given; a record that no longer decodes
    // is served as no user data rather than garbage.
    let user_data = match r.user_data.as_str() {
        "" => None,
        encoded => hearth_cloud::instances::user_data::decode(encoded, usize::MAX)
            .ok()
            .map(|bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned()),
    };
    InstanceMetadata {
        items,
        user_data,
        tokens_required: r.http_tokens == "required",
        disabled: r.http_endpoint == "disabled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MetadataRecord {
        MetadataRecord {
            instance_id: "i-abc".into(),
            hostname: "web-1".into(),
            instance_type: "ecs.t6.small".into(),
            image_id: "tiny-x64".into(),
            mac: "00:16:3e:01:02:03".into(),
            private_ip: "10.1.2.7".into(),
            region_id: "local-1".into(),
            zone_id: "local-1a".into(),
            vpc_id: "vpc-1".into(),
            vswitch_id: "vsw-1".into(),
            vswitch_cidr: "10.1.2.0/24".into(),
            public_key: Some("ssh-ed25519 AAAA test".into()),
            user_data: "IyEvYmluL3NoCmVjaG8gaGkK".into(), // "#!/bin/sh\necho hi\n"
            http_endpoint: "enabled".into(),
            http_tokens: "optional".into(),
        }
    }

    #[test]
    fn an_instance_is_told_its_own_identity_network_key_and_user_data() {
        let md = metadata_of(record());
        let item = |k: &str| md.items.get(k).map(String::as_str);
        assert_eq!(item("instance-id"), Some("i-abc"));
        assert_eq!(item("hostname"), Some("web-1"));
        assert_eq!(item("instance/instance-type"), Some("ecs.t6.small"));
        assert_eq!(item("private-ipv4"), Some("10.1.2.7"));
        assert_eq!(item("vswitch-cidr-block"), Some("10.1.2.0/24"));
        assert_eq!(
            item("network/interfaces/macs/00:16:3e:01:02:03/gateway"),
            Some("10.1.2.1")
        );
        assert_eq!(
            item("public-keys/0/openssh-key"),
            Some("ssh-ed25519 AAAA test")
        );
        assert_eq!(md.user_data.as_deref(), Some("#!/bin/sh\necho hi\n"));
        assert!(!md.tokens_required && !md.disabled);
    }

    #[test]
    fn metadata_options_and_missing_parts_are_honoured() {
        let mut r = record();
        r.user_data = String::new();
        r.public_key = None;
        r.http_tokens = "required".into();
        r.http_endpoint = "disabled".into();
        let md = metadata_of(r);
        assert_eq!(md.user_data, None);
        assert!(!md.items.keys().any(|k| k.starts_with("public-keys")));
        assert!(md.tokens_required && md.disabled);
    }
}
