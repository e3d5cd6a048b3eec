//! Security groups on the wire: CreateSecurityGroup, DescribeSecurityGroups,
//! DescribeSecurityGroupAttribute, Authorize/Revoke (ingress and egress), ModifySecurityGroupAttribute
//! and DeleteSecurityGroup. Decodes parameters, calls the cloud, shapes responses as the SDK models.

use hearth_cloud::paging::{parse_next_token, Page};
use hearth_cloud::security_group::{
    self as sg, Direction, GroupFilter, NicType, Paging, RuleInput,
};
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "CreateSecurityGroup",
    "DescribeSecurityGroups",
    "DescribeSecurityGroupAttribute",
    "AuthorizeSecurityGroup",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroup",
    "RevokeSecurityGroupEgress",
    "ModifySecurityGroupAttribute",
    "DeleteSecurityGroup",
];

pub async fn call(cloud: &Cloud, action: &str, p: &Params) -> Result<Value> {
    match action {
        "CreateSecurityGroup" => create(cloud, p).await,
        "DescribeSecurityGroups" => describe(cloud, p).await,
        "DescribeSecurityGroupAttribute" => attribute(cloud, p).await,
        "AuthorizeSecurityGroup" => authorize(cloud, p, Direction::Ingress).await,
        "AuthorizeSecurityGroupEgress" => authorize(cloud, p, Direction::Egress).await,
        "RevokeSecurityGroup" => revoke(cloud, p, Direction::Ingress).await,
        "RevokeSecurityGroupEgress" => revoke(cloud, p, Direction::Egress).await,
        "ModifySecurityGroupAttribute" => modify(cloud, p).await,
        "DeleteSecurityGroup" => delete(cloud, p).await,
        _ => unreachable!("dispatch only routes listed actions"),
    }
}

async fn create(cloud: &Cloud, p: &Params) -> Result<Value> {
    let group = sg::NewGroup {
        region_id: p.required("RegionId")?.to_string(),
        name: p.opt("SecurityGroupName").map(String::from),
        description: p.opt("Description").map(String::from),
        vpc_id: p.opt("VpcId").map(String::from),
        group_type: p.opt("SecurityGroupType").map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        client_token: p.idempotency(),
    };
    let id = sg::create(cloud, group).await?;
    Ok(json!({"SecurityGroupId": id}))
}

async fn describe(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?.to_string();
    let mut ids: Option<Vec<String>> = p.json_list("SecurityGroupIds")?;
    if ids.as_ref().is_some_and(|l| l.len() > 100) {
        return Err(Error::invalid_parameter(
            "SecurityGroupIds",
            "at most 100 IDs may be given",
        ));
    }
    if let Some(one) = p.opt("SecurityGroupId") {
        // Both given: a group must match both.
        ids = Some(match ids {
            Some(list) => list.into_iter().filter(|i| i == one).collect(),
            None => vec![one.to_string()],
        });
    }
    let in_vpc = match p.one_of("NetworkType", &["vpc", "classic"])? {
        Some("vpc") => Some(true),
        Some(_) => Some(false),
        None => None,
    };
    let filter = GroupFilter {
        region_id,
        vpc_id: p.opt("VpcId").map(String::from),
        ids,
        name: p.opt("SecurityGroupName").map(String::from),
        group_type: p
            .one_of("SecurityGroupType", &["normal", "enterprise"])?
            .map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        in_vpc,
        tags: p.tags()?,
    };
    // ECS offers no service-managed groups here; asking for only those finds none.
    let service_managed = p.boolean("ServiceManaged")?;
    let token_mode = p.opt("NextToken").is_some() || p.opt("MaxResults").is_some();
    let paging = if token_mode {
        let max = p.int_in("MaxResults", 10, 100, Some(10))?.unwrap_or(10);
        let after = p.opt("NextToken").map(parse_next_token).transpose()?;
        Paging::Token { after, max }
    } else {
        Paging::Numbered(Page::new(p.int("PageNumber")?, p.int("PageSize")?, 10, 50)?)
    };
    if p.boolean("DryRun")? == Some(true) {
        cloud.check_region(&filter.region_id)?;
        return Err(Error::dry_run_passed());
    }
    let mut listing = sg::describe(
        cloud,
        &sg::Query {
            filter: filter.clone(),
            paging,
        },
    )
    .await?;
    if service_managed == Some(true) {
        listing.groups.clear();
        listing.total = 0;
        listing.next_token.clear();
    }
    let groups: Vec<Value> = listing
        .groups
        .iter()
        .map(|l| {
            let g = &l.group;
            let tags: Vec<Value> = l
                .tags
                .iter()
                .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
                .collect();
            json!({
                "SecurityGroupId": g.id,
                "SecurityGroupName": g.name,
                "Description": g.description,
                "VpcId": g.vpc_id,
                "CreationTime": g.created_at,
                "SecurityGroupType": g.group_type,
                "ResourceGroupId": g.resource_group_id,
                "ServiceManaged": false,
                "EcsCount": l.ecs_count,
                "AvailableInstanceAmount": sg::capacity(&g.group_type) - l.ecs_count,
                "RuleCount": l.counts.rules,
                "GroupToGroupRuleCount": l.counts.group_to_group,
                "Tags": {"Tag": tags},
            })
        })
        .collect();
    let mut out = json!({
        "RegionId": filter.region_id,
        "TotalCount": listing.total,
        "SecurityGroups": {"SecurityGroup": groups},
    });
    match paging {
        Paging::Numbered(page) => {
            out["PageNumber"] = json!(page.number);
            out["PageSize"] = json!(page.size);
        }
        Paging::Token { .. } => {
            out["NextToken"] = json!(listing.next_token);
        }
    }
    Ok(out)
}

async fn attribute(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?;
    let id = p.required("SecurityGroupId")?;
    let direction = match p.one_of("Direction", &["all", "ingress", "egress"])? {
        Some("ingress") => Some(Direction::Ingress),
        Some("egress") => Some(Direction::Egress),
        _ => None,
    };
    let nic_type = p
        .one_of("NicType", &["intranet", "internet"])?
        .and_then(NicType::parse);
    // A group holds at most 200 rules, so token paging slices the filtered list: the token is
    // the position of the next rule.
    let max = p.int_in("MaxResults", 10, 1000, None)?;
    let start = match p.opt("NextToken") {
        Some(t) => parse_next_token(t)? as usize,
        None => 0,
    };
    let (group, rules) = sg::attribute(cloud, region_id, id, direction, nic_type).await?;
    let end = match max {
        Some(max) => rules.len().min(start.saturating_add(max as usize)),
        None => rules.len(),
    };
    let next_token = if end < rules.len() {
        end.to_string()
    } else {
        String::new()
    };
    let permissions: Vec<Value> = rules
        .get(start.min(rules.len())..end.max(start.min(rules.len())))
        .unwrap_or_default()
        .iter()
        .map(|rp| {
            let r = &rp.rule;
            let ingress = r.direction == "ingress";
            // The peer is the source of ingress traffic and the destination of egress traffic;
            // the local CIDR, if any, is the other side.
            let (src_cidr, dst_cidr) = if ingress {
                (&r.peer_cidr, &r.local_cidr)
            } else {
                (&r.local_cidr, &r.peer_cidr)
            };
            let (src_group, src_name, dst_group, dst_name) = if ingress {
                (
                    r.peer_group_id.as_str(),
                    rp.peer_group_name.as_str(),
                    "",
                    "",
                )
            } else {
                (
                    "",
                    "",
                    r.peer_group_id.as_str(),
                    rp.peer_group_name.as_str(),
                )
            };
            json!({
                "SecurityGroupRuleId": r.id,
                "Direction": r.direction,
                "IpProtocol": r.protocol,
                "PortRange": r.port_range,
                "SourcePortRange": r.source_port_range,
                "SourceCidrIp": src_cidr,
                "DestCidrIp": dst_cidr,
                "SourceGroupId": src_group,
                "SourceGroupName": src_name,
                "SourceGroupOwnerAccount": "",
                "DestGroupId": dst_group,
                "DestGroupName": dst_name,
                "DestGroupOwnerAccount": "",
                "SourcePrefixListId": "",
                "SourcePrefixListName": "",
                "DestPrefixListId": "",
                "DestPrefixListName": "",
                "PortRangeListId": "",
                "PortRangeListName": "",
                "Ipv6SourceCidrIp": "",
                "Ipv6DestCidrIp": "",
                "Policy": r.policy,
                "Priority": r.priority.to_string(),
                "NicType": r.nic_type,
                "CreateTime": r.created_at,
                "Description": r.description,
            })
        })
        .collect();
    Ok(json!({
        "RegionId": group.region_id,
        "SecurityGroupId": group.id,
        "SecurityGroupName": group.name,
        "Description": group.description,
        "VpcId": group.vpc_id,
        "InnerAccessPolicy": group.inner_access_policy,
        "Permissions": {"Permission": permissions},
        "NextToken": next_token,
    }))
}

/// ECS takes at most 100 `Permissions.N` entries per request.
const MAX_PERMISSIONS: usize = 100;

/// The rules of an Authorize/Revoke request: the flat parameters (when IpProtocol is given)
/// followed by each `Permissions.N` entry.
fn rule_inputs(p: &Params) -> Result<Vec<RuleInput>> {
    let field = |m: &std::collections::BTreeMap<String, String>, k: &str| {
        m.get(k).filter(|v| !v.is_empty()).cloned()
    };
    let mut inputs = Vec::new();
    if p.opt("IpProtocol").is_some() {
        inputs.push(RuleInput {
            prefix: String::new(),
            ip_protocol: p.opt("IpProtocol").map(String::from),
            port_range: p.opt("PortRange").map(String::from),
            source_port_range: p.opt("SourcePortRange").map(String::from),
            source_cidr_ip: p.opt("SourceCidrIp").map(String::from),
            dest_cidr_ip: p.opt("DestCidrIp").map(String::from),
            source_group_id: p.opt("SourceGroupId").map(String::from),
            dest_group_id: p.opt("DestGroupId").map(String::from),
            policy: p.opt("Policy").map(String::from),
            priority: p.opt("Priority").map(String::from),
            nic_type: p.opt("NicType").map(String::from),
            description: p.opt("Description").map(String::from),
        });
    }
    let listed = p.objects("Permissions")?;
    if listed.len() > MAX_PERMISSIONS {
        return Err(Error::invalid_parameter(
            "Permissions",
            format!("at most {MAX_PERMISSIONS} rules may be given in one request"),
        ));
    }
    for (n, m) in listed {
        inputs.push(RuleInput {
            prefix: format!("Permissions.{n}."),
            ip_protocol: field(&m, "IpProtocol"),
            port_range: field(&m, "PortRange"),
            source_port_range: field(&m, "SourcePortRange"),
            source_cidr_ip: field(&m, "SourceCidrIp"),
            dest_cidr_ip: field(&m, "DestCidrIp"),
            source_group_id: field(&m, "SourceGroupId"),
            dest_group_id: field(&m, "DestGroupId"),
            policy: field(&m, "Policy"),
            priority: field(&m, "Priority"),
            nic_type: field(&m, "NicType"),
            description: field(&m, "Description"),
        });
    }
    Ok(inputs)
}

async fn authorize(cloud: &Cloud, p: &Params, direction: Direction) -> Result<Value> {
    let region_id = p.required("RegionId")?;
    let id = p.required("SecurityGroupId")?;
    let inputs = rule_inputs(p)?;
    sg::authorize(cloud, region_id, id, direction, &inputs, p.idempotency()).await?;
    Ok(json!({}))
}

async fn revoke(cloud: &Cloud, p: &Params, direction: Direction) -> Result<Value> {
    let region_id = p.required("RegionId")?;
    let id = p.required("SecurityGroupId")?;
    let inputs = rule_inputs(p)?;
    let rule_ids = p.list("SecurityGroupRuleId")?;
    sg::revoke(cloud, region_id, id, direction, &inputs, &rule_ids).await?;
    Ok(json!({}))
}

async fn modify(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?;
    let id = p.required("SecurityGroupId")?;
    sg::modify(
        cloud,
        region_id,
        id,
        p.opt("SecurityGroupName"),
        p.opt("Description"),
    )
    .await?;
    Ok(json!({}))
}

async fn delete(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?;
    let id = p.required("SecurityGroupId")?;
    sg::delete(cloud, region_id, id).await?;
    Ok(json!({}))
}
