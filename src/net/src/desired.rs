//! The plan from the store: what the API has recorded is what the host should be.

use std::collections::HashMap;

use hearth_cloud::cidr::Cidr;
use hearth_cloud::config::Network as NetworkConfig;
use hearth_cloud::security_group::{rule_from_record, Rule};
use hearth_store::{security_groups, vswitches, Conn};

use crate::plan::{GroupPlan, NatPlan, NicPlan, Plan, VSwitchPlan};

/// Reads the plan on `conn`. Called on the API's write transaction, it sees that transaction's
/// uncommitted change, so the change can be applied before it is committed (and rolled back if
/// the host refuses it).
pub async fn read(conn: &mut Conn, config: &NetworkConfig) -> Result<Plan, String> {
    fn db(e: impl std::fmt::Display) -> String {
        format!("reading the network plan: {e}")
    }
    let mut plan = Plan {
        nat: NatPlan {
            masquerade: config.masquerade,
            uplink: config.uplink.clone(),
        },
        ..Plan::default()
    };
    for (id, vpc, block) in vswitches::all_for_network(conn).await.map_err(db)? {
        let cidr = Cidr::parse(&block).map_err(|e| format!("VSwitch {id}: {e}"))?;
        plan.vswitches.push(VSwitchPlan::new(&id, &vpc, cidr));
    }
    let mut rules: HashMap<String, Vec<Rule>> = HashMap::new();
    for r in security_groups::all_rules(conn).await.map_err(db)? {
        let rule = rule_from_record(&r).map_err(|e| e.message)?;
        rules.entry(r.security_group_id).or_default().push(rule);
    }
    for (id, inner) in security_groups::all_groups_for_network(conn)
        .await
        .map_err(db)?
    {
        plan.groups.push(GroupPlan {
            rules: rules.remove(&id).unwrap_or_default(),
            group_id: id,
            inner_accept: inner == "Accept",
        });
    }
    plan.nics = instance_nics(conn).await?;
    Ok(plan)
}

/// The NICs of instances that should be on the network (every instance that is not deleted; a
/// stopped one keeps its address and rules), with their TAP ([`crate::names::tap_name`]), MAC,
/// private IP, VSwitch and security groups. Public IPs are not allocated yet.
pub async fn instance_nics(conn: &mut Conn) -> Result<Vec<NicPlan>, String> {
    let nics = hearth_store::instances::nics(conn)
        .await
        .map_err(|e| format!("reading instance NICs: {e}"))?;
    nics.into_iter()
        .map(|n| {
            Ok(NicPlan {
                tap: crate::names::tap_name(&n.instance_id, 0),
                mac: parse_mac(&n.mac)
                    .ok_or_else(|| format!("instance {}: bad MAC {:?}", n.instance_id, n.mac))?,
                ip: n.private_ip.parse().map_err(|_| {
                    format!("instance {}: bad address {:?}", n.instance_id, n.private_ip)
                })?,
                vswitch_id: n.vswitch_id,
                groups: n.groups,
                public_ip: None,
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

/// HOOK(instances): what the metadata service answers each instance NIC, keyed by its bridge
/// ([`crate::names::bridge_name`] of its VSwitch) and private IP: the items of
/// wire-protocols.md (instance-id, hostname, instance/instance-type, image-id, mac, private-ipv4,
/// region-id, zone-id, vpc-id, vswitch-id, vswitch-cidr-block, public-keys/…,
/// network/interfaces/macs/<mac>/…), user data and the ModifyInstanceMetadataOptions settings.
/// No instances yet, so none.
pub async fn instance_metadata(
    _conn: &mut Conn,
) -> Result<
    Vec<(
        String,
        std::net::Ipv4Addr,
        crate::metadata::InstanceMetadata,
    )>,
    String,
> {
    Ok(Vec::new())
}
