//! Tencent VPC (2017-03-12): CreateVpc, CreateSubnet, DescribeVpcs, DescribeSubnets over the
//! same VPCs and VSwitches as ECS (a subnet is a VSwitch; IDs `vpc-…` and `vsw-…`). Names are
//! checked by CVM's limit (60 characters) and, being shared with ECS, by the ECS name rule too.

use hearth_cloud::cvm::errors::Service;
use hearth_cloud::cvm::vpc_time;
use hearth_cloud::vpc::{self, CreateVpc, DescribeVpcs, VpcView};
use hearth_cloud::vswitch::{self, CreateVSwitch, DescribeVSwitches, VSwitchFilter, VSwitchView};
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use super::{
    cvm_error, filters_with_code, ids, only, request_tags, single, tag_filters, tags_json, values,
    window, Context,
};
use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "CreateVpc",
    "CreateSubnet",
    "DescribeVpcs",
    "DescribeSubnets",
];

/// VpcName and SubnetName: at most 60 characters (Tencent's limit).
const MAX_NAME: usize = 60;
/// The unknown-filter code of the VPC service.
const BAD_FILTER: &str = "InvalidParameter.FilterInvalidKey";

pub async fn call(cloud: &Cloud, ctx: &Context, action: &str, p: &Params) -> Result<Value> {
    let err = cvm_error(Service::Vpc);
    match action {
        "CreateVpc" => create_vpc(cloud, ctx, p).await.map_err(err),
        "CreateSubnet" => create_subnet(cloud, ctx, p).await.map_err(err),
        "DescribeVpcs" => describe_vpcs(cloud, ctx, p).await.map_err(err),
        "DescribeSubnets" => describe_subnets(cloud, ctx, p).await.map_err(err),
        _ => Err(Error::internal(format!("{action} is not a VPC action"))),
    }
}

fn name<'a>(p: &'a Params, param: &str) -> Result<&'a str> {
    let n = p.required(param)?;
    if n.chars().count() > MAX_NAME {
        return Err(Error::bad_request(
            "InvalidParameterValue.TooLong",
            format!("The parameter \"{param}\" is longer than {MAX_NAME} characters."),
        ));
    }
    Ok(n)
}

fn vpc_json(v: &VpcView) -> Value {
    json!({
        "VpcName": v.vpc.vpc_name,
        "VpcId": v.vpc.vpc_id,
        "CidrBlock": v.vpc.cidr_block,
        "IsDefault": v.vpc.is_default,
        "EnableMulticast": false,
        "CreatedTime": vpc_time(&v.vpc.created_at),
        "DnsServerSet": [],
        "DomainName": "",
        "DhcpOptionsId": "",
        "EnableDhcp": true,
        "Ipv6CidrBlock": "",
        "TagSet": tags_json(&v.tags),
        "AssistantCidrSet": [],
        "EnableRouteVpcPublish": false,
        "Ipv6CidrBlockSet": [],
        "EnableRouteVpcPublishIpv6": false,
        "StackType": "IPv4",
    })
}

fn subnet_json(v: &VSwitchView) -> Value {
    let s = &v.vswitch;
    json!({
        "VpcId": s.vpc_id,
        "SubnetId": s.vswitch_id,
        "SubnetName": s.vswitch_name,
        "CidrBlock": s.cidr_block,
        "IsDefault": s.is_default,
        "EnableBroadcast": false,
        "Zone": s.zone_id,
        "RouteTableId": s.route_table_id,
        "CreatedTime": vpc_time(&s.created_at),
        "AvailableIpAddressCount": s.available_ip_count,
        "Ipv6CidrBlock": "",
        "NetworkAclId": "",
        "IsRemoteVpcSnat": false,
        "TotalIpAddressCount": s.cidr_last - s.cidr_first + 1,
        "TagSet": tags_json(&v.tags),
        "CdcId": "",
        "IsCdcSubnet": 0,
        "StackType": "IPv4",
    })
}

async fn one_vpc(cloud: &Cloud, region: &str, vpc_id: &str) -> Result<VpcView> {
    let q = DescribeVpcs {
        region_id: region.to_string(),
        vpc_ids: Some(vec![vpc_id.to_string()]),
        vpc_name: None,
        is_default: None,
        tags: Vec::new(),
        page: hearth_cloud::paging::Page::window(None, Some(1), 1, 1)?,
        dry_run: false,
    };
    vpc::describe(cloud, &q)
        .await?
        .1
        .into_iter()
        .next()
        .ok_or_else(|| Error::internal(format!("VPC {vpc_id} vanished after its creation")))
}

async fn create_vpc(cloud: &Cloud, ctx: &Context, p: &Params) -> Result<Value> {
    only(
        p,
        &[
            "VpcName",
            "CidrBlock",
            "EnableMulticast",
            "DnsServers",
            "DomainName",
            "Tags",
            "StackType",
        ],
    )?;
    let vpc_name = name(p, "VpcName")?;
    let cidr = p.required("CidrBlock")?;
    if p.boolean("EnableMulticast")? == Some(true) {
        return Err(Error::bad_request(
            "UnsupportedOperation",
            "EnableMulticast=true is not supported: hearth VPCs carry no multicast.",
        ));
    }
    for (param, given) in [
        ("DnsServers", !p.list("DnsServers")?.is_empty()),
        ("DomainName", p.opt("DomainName").is_some()),
    ] {
        if given {
            return Err(Error::bad_request("UnsupportedOperation", format!("The parameter \"{param}\" is not supported: instances get their DNS settings from the host.")));
        }
    }
    p.one_of("StackType", &["IPv4"])?;
    let req = CreateVpc {
        region_id: ctx.region.clone(),
        cidr_block: Some(cidr.to_string()),
        vpc_name: Some(vpc_name.to_string()),
        description: None,
        client_token: None,
        dry_run: false,
        tags: request_tags(p, Service::Vpc)?,
    };
    let created = vpc::create(cloud, &req).await?;
    let view = one_vpc(cloud, &ctx.region, &created.vpc_id).await?;
    Ok(json!({"Vpc": vpc_json(&view)}))
}

async fn create_subnet(cloud: &Cloud, ctx: &Context, p: &Params) -> Result<Value> {
    only(
        p,
        &[
            "VpcId",
            "SubnetName",
            "CidrBlock",
            "Zone",
            "Tags",
            "StackType",
            "CdcId",
            "Ipv6CidrBlock",
        ],
    )?;
    let vpc_id = p.required("VpcId")?;
    let subnet_name = name(p, "SubnetName")?;
    let cidr = p.required("CidrBlock")?;
    let zone = p.required("Zone")?;
    if let Some(cdc) = p.opt("CdcId") {
        return Err(Error::bad_request(
            "ResourceNotFound",
            format!("The CDC {cdc:?} (CdcId) does not exist: this host has no dedicated clusters."),
        ));
    }
    if p.opt("Ipv6CidrBlock").is_some() {
        return Err(Error::bad_request(
            "UnsupportedOperation",
            "Ipv6CidrBlock is not supported: this host offers no IPv6.",
        ));
    }
    p.one_of("StackType", &["IPv4"])?;
    let req = CreateVSwitch {
        region_id: Some(ctx.region.clone()),
        zone_id: zone.to_string(),
        vpc_id: vpc_id.to_string(),
        cidr_block: cidr.to_string(),
        vswitch_name: Some(subnet_name.to_string()),
        description: None,
        client_token: None,
        dry_run: false,
        tags: request_tags(p, Service::Vpc)?,
    };
    let created = vswitch::create(cloud, &req).await?;
    let view = vswitch::attributes(cloud, Some(&ctx.region), &created.vswitch_id, false).await?;
    Ok(json!({"Subnet": subnet_json(&view)}))
}

fn boolean_filter(filters: &[(String, Vec<String>)], name: &str) -> Result<Option<bool>> {
    match single(filters, name)?.as_deref() {
        None => Ok(None),
        Some("true" | "True" | "TRUE") => Ok(Some(true)),
        Some("false" | "False" | "FALSE") => Ok(Some(false)),
        Some(v) => Err(Error::bad_request(
            "InvalidParameterValue.Malformed",
            format!("The filter {name:?} takes true or false, not {v:?}."),
        )),
    }
}

async fn describe_vpcs(cloud: &Cloud, ctx: &Context, p: &Params) -> Result<Value> {
    only(p, &["VpcIds", "Filters", "Offset", "Limit"])?;
    let f = filters_with_code(
        p,
        &["vpc-name", "is-default", "vpc-id", "tag-key", "tag:"],
        BAD_FILTER,
    )?;
    let vpc_ids = ids(p.list("VpcIds")?, values(&f, "vpc-id"));
    if vpc_ids.as_ref().is_some_and(|l| l.len() > vpc::MAX_IDS) {
        return Err(Error::bad_request(
            "InvalidParameterValue.LimitExceeded",
            format!("At most {} VPC IDs may be given here.", vpc::MAX_IDS),
        ));
    }
    let page = window(p, 20, 100)?;
    let q = DescribeVpcs {
        region_id: ctx.region.clone(),
        vpc_ids: vpc_ids.clone(),
        vpc_name: single(&f, "vpc-name")?,
        is_default: boolean_filter(&f, "is-default")?,
        tags: tag_filters(&f)?,
        page,
        dry_run: false,
    };
    // An empty ID list matches nothing (the shared listing would reject it as too short).
    let (total, rows) = if vpc_ids.as_ref().is_some_and(|l| l.is_empty()) {
        (0, Vec::new())
    } else {
        vpc::describe(cloud, &q).await?
    };
    let list: Vec<Value> = rows.iter().map(vpc_json).collect();
    Ok(json!({"TotalCount": total, "VpcSet": list}))
}

async fn describe_subnets(cloud: &Cloud, ctx: &Context, p: &Params) -> Result<Value> {
    only(
        p,
        &[
            "SubnetIds",
            "Filters",
            "Offset",
            "Limit",
            "MaxResults",
            "NextToken",
        ],
    )?;
    if p.opt("NextToken").is_some() || p.opt("MaxResults").is_some() {
        return Err(Error::bad_request(
            "UnsupportedOperation",
            "NextToken and MaxResults are not supported here: page with Offset and Limit.",
        ));
    }
    let f = filters_with_code(
        p,
        &[
            "subnet-id",
            "vpc-id",
            "zone",
            "subnet-name",
            "is-default",
            "tag-key",
            "tag:",
        ],
        BAD_FILTER,
    )?;
    let subnet_ids = ids(p.list("SubnetIds")?, values(&f, "subnet-id"));
    let q = DescribeVSwitches {
        region_id: Some(ctx.region.clone()),
        filter: VSwitchFilter {
            vpc_id: single(&f, "vpc-id")?,
            vswitch_ids: subnet_ids,
            zone_id: single(&f, "zone")?,
            vswitch_name: single(&f, "subnet-name")?,
            is_default: boolean_filter(&f, "is-default")?,
            tags: tag_filters(&f)?,
            ..Default::default()
        },
        page: window(p, 20, 100)?,
        dry_run: false,
    };
    let (total, rows) = vswitch::describe(cloud, &q).await?;
    let list: Vec<Value> = rows.iter().map(subnet_json).collect();
    Ok(json!({"TotalCount": total, "SubnetSet": list}))
}
