//! Security groups (ECS 2014-05-26): create, list, inspect, authorize and revoke rules, delete.
//! The rule model lives in [`rule`]; this module holds the ECS rules about groups and runs each
//! change in one serialized write transaction, so nothing is ever half-done.

pub mod rule;

use hearth_store::security_groups::{
    self as store, GroupRecord, RuleCounts, RuleRecord, RuleWithPeer, TAG_RESOURCE_TYPE,
};
use hearth_store::Conn;

use crate::tags::Tag;
use crate::{client_token, ids, names, Cloud, Error, Result};

pub use hearth_store::security_groups::GroupFilter;
pub use rule::{Direction, Ipv4Net, NicType, Peer, Policy, PortRange, Protocol, Rule, RuleInput};

/// How many instances a group can hold, by type (ECS: 2,000 for basic groups, 65,536 for
/// enterprise groups); DescribeSecurityGroups reports the room left.
pub fn capacity(group_type: &str) -> i64 {
    if group_type == "enterprise" {
        65536
    } else {
        2000
    }
}

/// Rules one group may hold, ingress and egress together (the ECS default quota).
pub const MAX_RULES_PER_GROUP: i64 = 200;

pub use crate::client_token::Idempotency;

#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub region_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub vpc_id: Option<String>,
    pub group_type: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Vec<Tag>,
    pub client_token: Option<Idempotency>,
}

/// Whether `vpc_id` names a VPC in `region_id` (read on the create transaction's connection).
async fn vpc_exists(conn: &mut Conn, region_id: &str, vpc_id: &str) -> Result<bool> {
    Ok(hearth_store::vpcs::get(conn, vpc_id)
        .await?
        .is_some_and(|v| v.region_id == region_id))
}

/// IDs of instances whose network interfaces are in the group: DeleteSecurityGroup refuses a
/// group in use (`DependencyViolation`).
async fn instances_in_group(conn: &mut Conn, group_id: &str) -> Result<Vec<String>> {
    Ok(hearth_store::instances::in_group(conn, group_id).await?)
}

fn not_found(id: &str) -> Error {
    Error::not_found(
        "InvalidSecurityGroupId.NotFound",
        format!("The specified SecurityGroupId {id:?} does not exist in this region."),
    )
}

/// ClientToken idempotency through the shared mechanism (`crate::client_token`).
async fn replay(
    conn: &mut Conn,
    action: &str,
    token: &Option<Idempotency>,
) -> Result<Option<String>> {
    match token {
        Some(t) => client_token::replay(conn, action, Some(&t.token), &t.fingerprint).await,
        None => Ok(None),
    }
}

async fn remember(
    conn: &mut Conn,
    action: &str,
    token: &Option<Idempotency>,
    answer: &str,
) -> Result<()> {
    match token {
        Some(t) => {
            client_token::remember(conn, action, Some(&t.token), &t.fingerprint, &answer).await
        }
        None => Ok(()),
    }
}

/// Creates a group (no rules; instances inside a normal group reach each other) and returns its ID.
pub async fn create(cloud: &Cloud, g: NewGroup) -> Result<String> {
    cloud.check_region(&g.region_id)?;
    if let Some(name) = &g.name {
        names::check_name(
            "SecurityGroupName",
            name,
            "InvalidSecurityGroupName.Malformed",
        )?;
    }
    if let Some(d) = &g.description {
        names::check_description("Description", d)?;
    }
    let group_type = g.group_type.clone().unwrap_or_else(|| "normal".into());
    if group_type != "normal" && group_type != "enterprise" {
        return Err(Error::invalid_parameter(
            "SecurityGroupType",
            format!("{group_type:?} is not normal or enterprise"),
        ));
    }
    let mut tx = cloud.store.write().await?;
    if let Some(id) = replay(&mut tx, "CreateSecurityGroup", &g.client_token).await? {
        return Ok(id);
    }
    let vpc_id = g.vpc_id.clone().unwrap_or_default();
    if !vpc_id.is_empty() && !vpc_exists(&mut tx, &g.region_id, &vpc_id).await? {
        return Err(Error::not_found(
            "InvalidVpcId.NotFound",
            format!("The specified VpcId {vpc_id:?} does not exist."),
        ));
    }
    let record = GroupRecord {
        id: ids::new_id("sg"),
        region_id: g.region_id.clone(),
        name: g.name.clone().unwrap_or_default(),
        description: g.description.clone().unwrap_or_default(),
        vpc_id,
        // Enterprise groups isolate their members from each other unless a rule allows it.
        inner_access_policy: if group_type == "enterprise" {
            "Drop"
        } else {
            "Accept"
        }
        .into(),
        group_type,
        resource_group_id: g.resource_group_id.clone().unwrap_or_default(),
        created_at: ids::now_utc(),
    };
    store::insert_group(&mut tx, &record).await?;
    hearth_store::tags::set(&mut tx, TAG_RESOURCE_TYPE, &record.id, &g.tags).await?;
    remember(&mut tx, "CreateSecurityGroup", &g.client_token, &record.id).await?;
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(record.id)
}

/// DescribeSecurityGroups' question: filters plus either page numbers or a NextToken cursor.
#[derive(Debug, Clone)]
pub struct Query {
    pub filter: GroupFilter,
    pub paging: Paging,
}

pub use crate::paging::Paging;

#[derive(Debug, Clone)]
pub struct Listed {
    pub group: GroupRecord,
    pub tags: Vec<Tag>,
    pub counts: RuleCounts,
    pub ecs_count: i64,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub total: i64,
    pub groups: Vec<Listed>,
    /// The token for the next page in NextToken mode, empty when this page is the last.
    pub next_token: String,
}

/// A page of groups: one query for the page, its rule counts and the total, then one query for
/// the whole page's tags.
pub async fn describe(cloud: &Cloud, q: &Query) -> Result<Listing> {
    cloud.check_region(&q.filter.region_id)?;
    let mut conn = cloud.store.pool().acquire().await?;
    let (after, offset, limit) = q.paging.query();
    let page = store::page_groups(&mut conn, &q.filter, after, limit, offset).await?;
    let (total, mut rows) = (page.total, page.items);
    let next_token = q.paging.next_token(&mut rows, |r| r.seq);
    // Instances per group for the whole page in one query (the same membership table as
    // `instances_in_group`).
    let ids: Vec<String> = rows.iter().map(|r| r.item.group.id.clone()).collect();
    let members = hearth_store::instances::count_in_groups(&mut conn, &ids).await?;
    let groups = rows
        .into_iter()
        .map(|r| Listed {
            tags: r.tags,
            counts: r.item.counts,
            ecs_count: members.get(&r.item.group.id).copied().unwrap_or(0),
            group: r.item.group,
        })
        .collect();
    Ok(Listing {
        total,
        groups,
        next_token,
    })
}

/// A group and its rules (filtered by direction and NIC type), with peer group names.
pub async fn attribute(
    cloud: &Cloud,
    region_id: &str,
    id: &str,
    direction: Option<Direction>,
    nic_type: Option<NicType>,
) -> Result<(GroupRecord, Vec<RuleWithPeer>)> {
    cloud.check_region(region_id)?;
    let mut conn = cloud.store.pool().acquire().await?;
    let group = store::get_group(&mut conn, region_id, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let rules = store::rules_of(&mut conn, id)
        .await?
        .into_iter()
        .filter(|r| direction.is_none_or(|d| r.rule.direction == d.as_str()))
        .filter(|r| nic_type.is_none_or(|n| r.rule.nic_type == n.as_str()))
        .collect();
    Ok((group, rules))
}

/// The normalized rules of a group, for whoever turns them into packet filters.
pub async fn rules(cloud: &Cloud, id: &str) -> Result<Vec<(String, Rule)>> {
    let mut conn = cloud.store.pool().acquire().await?;
    store::rules_of(&mut conn, id)
        .await?
        .into_iter()
        .map(|r| Ok((r.rule.id.clone(), rule_from_record(&r.rule)?)))
        .collect()
}

pub fn rule_from_record(r: &RuleRecord) -> Result<Rule> {
    let bad = || Error::internal(format!("stored rule {} is unreadable", r.id));
    let opt_range = |s: &str| -> Result<Option<PortRange>> {
        if s.is_empty() {
            Ok(None)
        } else {
            PortRange::parse(s).map(Some).ok_or_else(bad)
        }
    };
    Ok(Rule {
        direction: Direction::parse(&r.direction).ok_or_else(bad)?,
        protocol: Protocol::parse(&r.protocol).ok_or_else(bad)?,
        ports: PortRange::parse(&r.port_range).ok_or_else(bad)?,
        source_ports: opt_range(&r.source_port_range)?,
        peer: if r.peer_group_id.is_empty() {
            Peer::Cidr(Ipv4Net::parse(&r.peer_cidr).ok_or_else(bad)?)
        } else {
            Peer::Group(r.peer_group_id.clone())
        },
        local: if r.local_cidr.is_empty() {
            None
        } else {
            Some(Ipv4Net::parse(&r.local_cidr).ok_or_else(bad)?)
        },
        policy: Policy::parse(&r.policy).ok_or_else(bad)?,
        priority: u8::try_from(r.priority).map_err(|_| bad())?,
        nic_type: NicType::parse(&r.nic_type).ok_or_else(bad)?,
        description: r.description.clone(),
    })
}

fn record_of(group_id: &str, rule: &Rule) -> RuleRecord {
    let (peer_cidr, peer_group_id) = match &rule.peer {
        Peer::Cidr(n) => (n.to_string(), String::new()),
        Peer::Group(g) => (String::new(), g.clone()),
    };
    RuleRecord {
        id: ids::new_id("sgr"),
        security_group_id: group_id.to_string(),
        direction: rule.direction.as_str().into(),
        protocol: rule.protocol.as_str().into(),
        port_range: rule.ports.to_string(),
        source_port_range: rule.source_ports.map(|p| p.to_string()).unwrap_or_default(),
        peer_cidr,
        peer_group_id,
        local_cidr: rule.local.map(|n| n.to_string()).unwrap_or_default(),
        policy: rule.policy.as_str().into(),
        priority: rule.priority as i64,
        nic_type: rule.nic_type.as_str().into(),
        description: rule.description.clone(),
        created_at: ids::now_utc(),
        identity: rule.identity(),
    }
}

fn parse_all(inputs: &[RuleInput], direction: Direction) -> Result<Vec<Rule>> {
    if inputs.is_empty() {
        return Err(Error::missing_parameter("IpProtocol"));
    }
    inputs.iter().map(|i| i.parse(direction)).collect()
}

/// Checks that every group peer exists (`InvalidSecurityGroupId.NotFound` naming it).
async fn check_peers(conn: &mut Conn, region_id: &str, rules: &[Rule]) -> Result<()> {
    let mut wanted: Vec<String> = rules
        .iter()
        .filter_map(|r| match &r.peer {
            Peer::Group(g) => Some(g.clone()),
            Peer::Cidr(_) => None,
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    let found = store::existing_group_ids(conn, region_id, &wanted).await?;
    match wanted.iter().find(|w| !found.contains(w)) {
        Some(missing) => Err(not_found(missing)),
        None => Ok(()),
    }
}

/// Adds rules. A rule identical to an existing one (all but its description) adds nothing, as
/// ECS does; all of the request's rules are added or none.
pub async fn authorize(
    cloud: &Cloud,
    region_id: &str,
    group_id: &str,
    direction: Direction,
    inputs: &[RuleInput],
    token: Option<Idempotency>,
) -> Result<()> {
    cloud.check_region(region_id)?;
    let rules = parse_all(inputs, direction)?;
    let action = match direction {
        Direction::Ingress => "AuthorizeSecurityGroup",
        Direction::Egress => "AuthorizeSecurityGroupEgress",
    };
    let mut tx = cloud.store.write().await?;
    if replay(&mut tx, action, &token).await?.is_some() {
        return Ok(());
    }
    store::get_group(&mut tx, region_id, group_id)
        .await?
        .ok_or_else(|| not_found(group_id))?;
    check_peers(&mut tx, region_id, &rules).await?;
    let mut count = store::count_rules(&mut tx, group_id).await?;
    let mut added: Vec<String> = Vec::new();
    for rule in &rules {
        let identity = rule.identity();
        if added.contains(&identity)
            || store::find_rule_by_identity(&mut tx, group_id, &identity)
                .await?
                .is_some()
        {
            continue;
        }
        count += 1;
        if count > MAX_RULES_PER_GROUP {
            // Dropping the transaction un-adds this request's earlier rules too.
            return Err(Error::forbidden(
                "AuthorizationLimitExceed",
                format!("The limit of authorization records in the security group {group_id} is reached: a group holds at most {MAX_RULES_PER_GROUP} rules."),
            ));
        }
        store::insert_rule(&mut tx, &record_of(group_id, rule)).await?;
        added.push(identity);
    }
    remember(&mut tx, action, &token, "").await?;
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(())
}

/// Removes rules, matched by their parameters (description ignored) or by SecurityGroupRuleId.
/// Revoking parameters that match no rule succeeds and changes nothing, as ECS does; a rule ID
/// that is not a rule of this group and direction is refused, since the caller named a
/// specific object that does not exist.
pub async fn revoke(
    cloud: &Cloud,
    region_id: &str,
    group_id: &str,
    direction: Direction,
    inputs: &[RuleInput],
    rule_ids: &[String],
) -> Result<()> {
    cloud.check_region(region_id)?;
    let rules = if rule_ids.is_empty() || !inputs.is_empty() {
        parse_all(inputs, direction)?
    } else {
        Vec::new()
    };
    let mut tx = cloud.store.write().await?;
    store::get_group(&mut tx, region_id, group_id)
        .await?
        .ok_or_else(|| not_found(group_id))?;
    let found = store::existing_rule_ids(&mut tx, group_id, direction.as_str(), rule_ids).await?;
    if let Some(missing) = rule_ids.iter().find(|id| !found.contains(id)) {
        return Err(Error::not_found(
            "InvalidSecurityGroupRuleId.NotFound",
            format!(
                "The specified SecurityGroupRuleId {missing:?} is not an {} rule of {group_id}.",
                direction.as_str()
            ),
        ));
    }
    for id in rule_ids {
        store::delete_rule(&mut tx, group_id, id).await?;
    }
    for rule in &rules {
        store::delete_rule_by_identity(&mut tx, group_id, &rule.identity()).await?;
    }
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(())
}

/// Deletes a group with its rules and tags, unless another group's rules name it or (later)
/// instances are in it.
pub async fn delete(cloud: &Cloud, region_id: &str, group_id: &str) -> Result<()> {
    cloud.check_region(region_id)?;
    let mut tx = cloud.store.write().await?;
    store::get_group(&mut tx, region_id, group_id)
        .await?
        .ok_or_else(|| not_found(group_id))?;
    let referencing = store::groups_referencing(&mut tx, group_id).await?;
    if !referencing.is_empty() {
        return Err(Error::forbidden(
            "DependencyViolation",
            format!(
                "The security group {group_id} is authorized in rules of other security groups ({}): revoke those rules first.",
                referencing.join(", ")
            ),
        ));
    }
    let instances = instances_in_group(&mut tx, group_id).await?;
    if !instances.is_empty() {
        return Err(Error::forbidden(
            "DependencyViolation",
            format!(
                "The security group {group_id} still has instances ({}): remove them from the group first.",
                instances.join(", ")
            ),
        ));
    }
    store::delete_group(&mut tx, group_id).await?;
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(())
}

/// Renames a group and/or changes its description; a parameter not given is left as it is.
pub async fn modify(
    cloud: &Cloud,
    region_id: &str,
    group_id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<()> {
    cloud.check_region(region_id)?;
    if let Some(name) = name {
        names::check_name(
            "SecurityGroupName",
            name,
            "InvalidSecurityGroupName.Malformed",
        )?;
    }
    if let Some(d) = description {
        names::check_description("Description", d)?;
    }
    let mut tx = cloud.store.write().await?;
    let group = store::get_group(&mut tx, region_id, group_id)
        .await?
        .ok_or_else(|| not_found(group_id))?;
    store::update_group(
        &mut tx,
        group_id,
        name.unwrap_or(&group.name),
        description.unwrap_or(&group.description),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
