//! The VPC product (2016-04-28): VPCs and VSwitches. Reads the wire parameters, hands them to
//! the cloud's rules, and shapes answers as the official VPC SDK models expect.

use hearth_cloud::paging::Page;
use hearth_cloud::tags::Tag;
use hearth_cloud::vpc::{self, CreateVpc, DescribeVpcs, VpcView};
use hearth_cloud::vswitch::{self, CreateVSwitch, DescribeVSwitches, VSwitchFilter, VSwitchView};
use hearth_cloud::{Cloud, Result};
use serde_json::{json, Value};

use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "CreateVpc",
    "DescribeVpcs",
    "DeleteVpc",
    "ModifyVpcAttribute",
    "CreateVSwitch",
    "DescribeVSwitches",
    "DescribeVSwitchAttributes",
    "DeleteVSwitch",
    "ModifyVSwitchAttribute",
];

/// Describe* page sizes: 10 by default, at most 50 (as the VPC API documents).
const DEFAULT_PAGE_SIZE: u32 = 10;
const MAX_PAGE_SIZE: u32 = 50;

pub async fn call(cloud: &Cloud, action: &str, p: &Params) -> Result<Value> {
    match action {
        "CreateVpc" => create_vpc(cloud, p).await,
        "DescribeVpcs" => describe_vpcs(cloud, p).await,
        "DeleteVpc" => {
            let dry_run = dry_run(p)?;
            vpc::delete(cloud, p.opt("RegionId"), p.required("VpcId")?, dry_run).await?;
            Ok(json!({}))
        }
        "ModifyVpcAttribute" => {
            let (id, name, desc) = (p.required("VpcId")?, p.opt("VpcName"), p.opt("Description"));
            vpc::modify(cloud, p.opt("RegionId"), id, name, desc).await?;
            Ok(json!({}))
        }
        "CreateVSwitch" => create_vswitch(cloud, p).await,
        "DescribeVSwitches" => describe_vswitches(cloud, p).await,
        "DescribeVSwitchAttributes" => {
            let dry_run = dry_run(p)?;
            let view =
                vswitch::attributes(cloud, p.opt("RegionId"), p.required("VSwitchId")?, dry_run)
                    .await?;
            Ok(vswitch_json(&view))
        }
        "DeleteVSwitch" => {
            let dry_run = dry_run(p)?;
            vswitch::delete(cloud, p.opt("RegionId"), p.required("VSwitchId")?, dry_run).await?;
            Ok(json!({}))
        }
        "ModifyVSwitchAttribute" => {
            let id = p.required("VSwitchId")?;
            let (name, desc) = (p.opt("VSwitchName"), p.opt("Description"));
            vswitch::modify(cloud, p.opt("RegionId"), id, name, desc).await?;
            Ok(json!({}))
        }
        _ => unreachable!("dispatch only routes listed actions"),
    }
}

fn dry_run(p: &Params) -> Result<bool> {
    Ok(p.boolean("DryRun")?.unwrap_or(false))
}

fn page(p: &Params) -> Result<Page> {
    Page::new(
        p.int("PageNumber")?,
        p.int("PageSize")?,
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
    )
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

fn tags_json(tags: &[Tag]) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|t| json!({"Key": t.key, "Value": t.value}))
        .collect();
    json!({ "Tag": list })
}

async fn create_vpc(cloud: &Cloud, p: &Params) -> Result<Value> {
    let req = CreateVpc {
        region_id: p.required("RegionId")?.to_string(),
        cidr_block: owned(p.opt("CidrBlock")),
        vpc_name: owned(p.opt("VpcName")),
        description: owned(p.opt("Description")),
        client_token: owned(p.opt("ClientToken")),
        dry_run: dry_run(p)?,
        tags: p.tags()?,
    };
    let created = vpc::create(cloud, &req).await?;
    Ok(json!({
        "VpcId": created.vpc_id,
        "VRouterId": created.vrouter_id,
        "RouteTableId": created.route_table_id,
        "ResourceGroupId": created.resource_group_id,
    }))
}

async fn describe_vpcs(cloud: &Cloud, p: &Params) -> Result<Value> {
    // VpcId is one ID or several separated by commas.
    let vpc_ids = p.opt("VpcId").map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    let q = DescribeVpcs {
        region_id: p.required("RegionId")?.to_string(),
        vpc_ids,
        vpc_name: owned(p.opt("VpcName")),
        is_default: p.boolean("IsDefault")?,
        tags: p.tags()?,
        page: page(p)?,
        dry_run: dry_run(p)?,
    };
    let (total, views) = vpc::describe(cloud, &q).await?;
    let items: Vec<Value> = views.iter().map(vpc_json).collect();
    Ok(json!({
        "TotalCount": total,
        "PageNumber": q.page.number,
        "PageSize": q.page.size,
        "Vpcs": {"Vpc": items},
    }))
}

fn vpc_json(view: &VpcView) -> Value {
    let v = &view.vpc;
    json!({
        "VpcId": v.vpc_id,
        "RegionId": v.region_id,
        "Status": v.status,
        "VpcName": v.vpc_name,
        "VSwitchIds": {"VSwitchId": view.vswitch_ids},
        "CidrBlock": v.cidr_block,
        "VRouterId": v.vrouter_id,
        "Description": v.description,
        "IsDefault": v.is_default,
        "CreationTime": v.created_at,
        "ResourceGroupId": "",
        "RouterTableIds": {"RouterTableIds": [v.route_table_id]},
        "NatGatewayIds": {"NatGatewayIds": []},
        "UserCidrs": {"UserCidr": []},
        "SecondaryCidrBlocks": {"SecondaryCidrBlock": []},
        "Ipv6CidrBlock": "",
        "EnabledIpv6": false,
        "Tags": tags_json(&view.tags),
    })
}

async fn create_vswitch(cloud: &Cloud, p: &Params) -> Result<Value> {
    let req = CreateVSwitch {
        region_id: owned(p.opt("RegionId")),
        zone_id: p.required("ZoneId")?.to_string(),
        vpc_id: p.required("VpcId")?.to_string(),
        cidr_block: p.required("CidrBlock")?.to_string(),
        vswitch_name: owned(p.opt("VSwitchName")),
        description: owned(p.opt("Description")),
        client_token: owned(p.opt("ClientToken")),
        dry_run: dry_run(p)?,
        tags: p.tags()?,
    };
    let created = vswitch::create(cloud, &req).await?;
    Ok(json!({"VSwitchId": created.vswitch_id}))
}

async fn describe_vswitches(cloud: &Cloud, p: &Params) -> Result<Value> {
    let q = DescribeVSwitches {
        region_id: owned(p.opt("RegionId")),
        filter: VSwitchFilter {
            vpc_id: owned(p.opt("VpcId")),
            vswitch_id: owned(p.opt("VSwitchId")),
            zone_id: owned(p.opt("ZoneId")),
            vswitch_name: owned(p.opt("VSwitchName")),
            is_default: p.boolean("IsDefault")?,
            tags: p.tags()?,
            ..Default::default()
        },
        page: page(p)?,
        dry_run: dry_run(p)?,
    };
    let (total, views) = vswitch::describe(cloud, &q).await?;
    let items: Vec<Value> = views.iter().map(vswitch_json).collect();
    Ok(json!({
        "TotalCount": total,
        "PageNumber": q.page.number,
        "PageSize": q.page.size,
        "VSwitches": {"VSwitch": items},
    }))
}

/// One VSwitch: the same fields in DescribeVSwitches items and DescribeVSwitchAttributes.
fn vswitch_json(view: &VSwitchView) -> Value {
    let v = &view.vswitch;
    json!({
        "VSwitchId": v.vswitch_id,
        "VpcId": v.vpc_id,
        "Status": v.status,
        "CidrBlock": v.cidr_block,
        "ZoneId": v.zone_id,
        "AvailableIpAddressCount": v.available_ip_count,
        "Description": v.description,
        "VSwitchName": v.vswitch_name,
        "CreationTime": v.created_at,
        "IsDefault": v.is_default,
        "ResourceGroupId": "",
        "Ipv6CidrBlock": "",
        "EnabledIpv6": false,
        "ShareType": "",
        "NetworkAclId": "",
        "RouteTable": {"RouteTableId": v.route_table_id, "RouteTableType": "System"},
        "Tags": tags_json(&view.tags),
    })
}
