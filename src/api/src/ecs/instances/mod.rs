//! Instances on the wire: launch (see [`launch`]), start/stop/reboot/delete, the Describe*
//! views, ModifyInstanceAttribute and ModifyInstanceMetadataOptions, DescribeDisks and
//! GetInstanceConsoleOutput, and an instance's place on the network (see [`network`]:
//! AllocatePublicIpAddress, JoinSecurityGroup, LeaveSecurityGroup). Decodes parameters, calls the cloud, shapes responses as the SDK
//! models read them.

mod launch;
mod network;

use std::collections::HashMap;

use hearth_cloud::instances::modify::{self, Modify};
use hearth_cloud::instances::view::{self, Disk, DiskFilter, Filter, Instance, Listed, Paging};
use hearth_cloud::instances::{self, Change, MetadataOptions, Transition};
use hearth_cloud::paging::{parse_next_token, Page};
use hearth_cloud::tags::Tag;
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "CreateInstance",
    "RunInstances",
    "StartInstance",
    "StartInstances",
    "StopInstance",
    "StopInstances",
    "RebootInstance",
    "RebootInstances",
    "DeleteInstance",
    "DeleteInstances",
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeInstanceAttribute",
    "ModifyInstanceAttribute",
    "DescribeUserData",
    "DescribeDisks",
    "GetInstanceConsoleOutput",
    "ModifyInstanceMetadataOptions",
    "AllocatePublicIpAddress",
    "JoinSecurityGroup",
    "LeaveSecurityGroup",
];

pub async fn call(cloud: &Cloud, action: &str, p: &Params) -> Result<Value> {
    match action {
        "CreateInstance" => launch::create_instance(cloud, p).await,
        "RunInstances" => launch::run_instances(cloud, p).await,
        "StartInstance" => one(cloud, p, Change::Start).await,
        "StartInstances" => many(cloud, p, Change::Start).await,
        "StopInstance" => one(cloud, p, stop(p)?).await,
        "StopInstances" => many(cloud, p, stop(p)?).await,
        "RebootInstance" => one(cloud, p, reboot(p)?).await,
        "RebootInstances" => many(cloud, p, reboot(p)?).await,
        "DeleteInstance" => delete(cloud, p, false).await,
        "DeleteInstances" => delete(cloud, p, true).await,
        "DescribeInstances" => describe(cloud, p).await,
        "DescribeInstanceStatus" => status(cloud, p).await,
        "DescribeInstanceAttribute" => attribute(cloud, p).await,
        "ModifyInstanceAttribute" => modify(cloud, p).await,
        "DescribeUserData" => user_data(cloud, p).await,
        "DescribeDisks" => disks(cloud, p).await,
        "GetInstanceConsoleOutput" => console(cloud, p).await,
        "ModifyInstanceMetadataOptions" => metadata(cloud, p).await,
        "AllocatePublicIpAddress" => network::allocate_public_ip(cloud, p).await,
        "JoinSecurityGroup" => network::join(cloud, p).await,
        "LeaveSecurityGroup" => network::leave(cloud, p).await,
        _ => unreachable!("dispatch only routes listed actions"),
    }
}

/// The region: RegionId where the action requires it; the host's own when an action makes it
/// optional and it is not given.
fn region(cloud: &Cloud, p: &Params, required: bool) -> Result<String> {
    match p.opt("RegionId") {
        Some(r) => Ok(r.to_string()),
        None if required => Err(Error::missing_parameter("RegionId")),
        None => Ok(cloud.config.region.id.clone()),
    }
}

fn dry_run(p: &Params) -> Result<bool> {
    Ok(p.boolean("DryRun")?.unwrap_or(false))
}

fn stop(p: &Params) -> Result<Change> {
    p.boolean("ConfirmStop")?;
    if p.boolean("Hibernate")? == Some(true) {
        return Err(Error::bad_request("HibernationConfigured.InstanceOperationForbidden", "The operation is not permitted due to limit of the hibernation configured instance: hearth instances cannot hibernate."));
    }
    Ok(Change::Stop {
        force: p.boolean("ForceStop")?.unwrap_or(false),
    })
}

fn reboot(p: &Params) -> Result<Change> {
    Ok(Change::Reboot {
        force: p.boolean("ForceStop")?.unwrap_or(false)
            || p.boolean("ForceReboot")?.unwrap_or(false),
    })
}

/// StartInstance / StopInstance / RebootInstance: one InstanceId, an empty answer.
async fn one(cloud: &Cloud, p: &Params, change: Change) -> Result<Value> {
    let region_id = region(cloud, p, false)?;
    let id = p.required("InstanceId")?.to_string();
    instances::change(
        cloud,
        &region_id,
        &[id],
        change,
        p.opt("StoppedMode"),
        dry_run(p)?,
    )
    .await?;
    Ok(json!({}))
}

fn instance_ids(p: &Params) -> Result<Vec<String>> {
    let ids = p.list("InstanceId")?;
    if ids.is_empty() {
        return Err(Error::missing_parameter("InstanceId.N"));
    }
    if ids.len() > 100 {
        return Err(Error::invalid_parameter(
            "InstanceId.N",
            "at most 100 instances",
        ));
    }
    Ok(ids)
}

fn responses(list: Vec<Value>) -> Value {
    json!({"InstanceResponses": {"InstanceResponse": list}})
}

fn transition_json(t: &Transition) -> Value {
    json!({"InstanceId": t.instance_id, "Code": "200", "Message": "success", "PreviousStatus": t.previous.as_str(), "CurrentStatus": t.current.as_str()})
}

/// StartInstances / StopInstances / RebootInstances: AllTogether (default) changes all or
/// none; SuccessFirst changes each instance that can change and reports the others' errors.
async fn many(cloud: &Cloud, p: &Params, change: Change) -> Result<Value> {
    let region_id = p.required("RegionId")?.to_string();
    let ids = instance_ids(p)?;
    let mode = p
        .one_of("BatchOptimization", &["AllTogether", "SuccessFirst"])?
        .unwrap_or("AllTogether");
    let stopped_mode = p.opt("StoppedMode");
    let dry = dry_run(p)?;
    if mode == "AllTogether" || dry {
        let done = instances::change(cloud, &region_id, &ids, change, stopped_mode, dry).await?;
        return Ok(responses(done.iter().map(transition_json).collect()));
    }
    let mut out = Vec::new();
    for id in ids {
        match instances::change(cloud, &region_id, std::slice::from_ref(&id), change, stopped_mode, false).await {
            Ok(done) => out.extend(done.iter().map(transition_json)),
            Err(e) if e.status < 500 => out.push(json!({"InstanceId": id, "Code": e.code, "Message": e.message, "PreviousStatus": "", "CurrentStatus": ""})),
            Err(e) => return Err(e),
        }
    }
    Ok(responses(out))
}

async fn delete(cloud: &Cloud, p: &Params, plural: bool) -> Result<Value> {
    let (region_id, ids) = if plural {
        (p.required("RegionId")?.to_string(), instance_ids(p)?)
    } else {
        (
            region(cloud, p, false)?,
            vec![p.required("InstanceId")?.to_string()],
        )
    };
    if let Some(t) = p.opt("ClientToken") {
        hearth_cloud::client_token::check(t)?;
    }
    p.boolean("TerminateSubscription")?;
    let force = p.boolean("Force")?.unwrap_or(false) || p.boolean("ForceStop")?.unwrap_or(false);
    instances::delete(cloud, &region_id, &ids, force, dry_run(p)?).await?;
    Ok(json!({}))
}

fn tags_json(tags: &[Tag]) -> Value {
    let list: Vec<Value> = tags
        .iter()
        .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
        .collect();
    json!({"Tag": list})
}

/// ECS reports pay-as-you-go instances as expiring at the end of 2099.
fn expired_time(i: &Instance) -> String {
    view::expires_at(i)
        .map(|t| minutes(&t))
        .unwrap_or_else(|| "2099-12-31T15:59Z".into())
}

/// `2026-11-22T12:00:00Z` → `2026-11-22T12:00Z`, the minute precision DescribeInstances uses.
fn minutes(t: &str) -> String {
    match t.get(..16) {
        Some(m) if t.len() == 20 && t.ends_with('Z') => format!("{m}Z"),
        _ => t.to_string(),
    }
}

fn family_of(instance_type: &str) -> String {
    instance_type
        .rsplit_once('.')
        .map(|(f, _)| f.to_string())
        .unwrap_or_default()
}

fn instance_json(l: &Listed, os: &HashMap<String, (String, String)>) -> Value {
    let i = &l.instance;
    let (os_name, os_type) = os
        .get(&i.image_id)
        .cloned()
        .unwrap_or_else(|| (String::new(), i.os_type.clone()));
    let mut out = json!({
        "InstanceId": i.id,
        "InstanceName": i.name,
        "Description": i.description,
        "HostName": i.hostname,
        "ImageId": i.image_id,
        "OSName": os_name,
        "OSNameEn": os_name,
        "OSType": os_type,
        "RegionId": i.region_id,
        "ZoneId": i.zone_id,
        "InstanceType": i.instance_type,
        "InstanceTypeFamily": family_of(&i.instance_type),
        "Cpu": i.vcpus,
        "Memory": i.memory_mib,
        "CpuOptions": {"CoreCount": i.vcpus, "ThreadsPerCore": 1, "Numa": ""},
        "GPUAmount": 0,
        "GPUSpec": "",
        "Status": i.status.as_str(),
        "StoppedMode": i.stopped_mode,
        "CreationTime": minutes(&i.creation_time),
        "StartTime": minutes(&i.start_time),
        "ExpiredTime": expired_time(i),
    });
    // In parts: one json! of every field exceeds the macro recursion limit.
    let rest = json!({
        "AutoReleaseTime": i.auto_release_time,
        "InstanceChargeType": i.instance_charge_type,
        "InternetChargeType": i.internet_charge_type,
        "InternetMaxBandwidthIn": i.internet_max_bandwidth_in,
        "InternetMaxBandwidthOut": i.internet_max_bandwidth_out,
        "SpotStrategy": i.spot_strategy,
        "SpotPriceLimit": i.spot_price_limit.parse::<f64>().unwrap_or(0.0),
        "SpotDuration": i.spot_duration,
        "SpotInterruptionBehavior": i.spot_interruption_behavior,
        "CreditSpecification": i.credit_specification,
        "IoOptimized": i.io_optimized == "optimized",
        "InstanceNetworkType": "vpc",
        "DeletionProtection": i.deletion_protection,
        "KeyPairName": i.key_pair_name,
        "ResourceGroupId": i.resource_group_id,
        "DeviceAvailable": true,
        "Recyclable": false,
        "SaleCycle": "",
        "SerialNumber": "",
        "VlanId": "",
        "ClusterId": "",
        "HpcClusterId": "",
        "DeploymentSetId": "",
        "LocalStorageAmount": 0,
        "LocalStorageCapacity": 0,
    });
    let network = json!({
        "HibernationOptions": {"Configured": false},
        "MetadataOptions": {"HttpEndpoint": i.http_endpoint, "HttpTokens": i.http_tokens, "HttpPutResponseHopLimit": i.http_put_hop_limit, "InstanceMetadataTags": i.metadata_tags},
        "SecurityGroupIds": {"SecurityGroupId": l.security_groups},
        "VpcAttributes": {
            "VpcId": i.vpc_id,
            "VSwitchId": i.vswitch_id,
            "PrivateIpAddress": {"IpAddress": [i.private_ip]},
            "NatIpAddress": "",
        },
        "InnerIpAddress": {"IpAddress": []},
        "PublicIpAddress": {"IpAddress": l.public_ip.iter().collect::<Vec<_>>()},
        "EipAddress": {"AllocationId": "", "IpAddress": "", "Bandwidth": 0, "InternetChargeType": "", "IsSupportUnassociate": true},
        "NetworkInterfaces": {"NetworkInterface": [{
            "NetworkInterfaceId": "",
            "Type": "Primary",
            "MacAddress": i.mac,
            "PrimaryIpAddress": i.private_ip,
            "PrivateIpSets": {"PrivateIpSet": [{"PrivateIpAddress": i.private_ip, "Primary": true}]},
        }]},
        "OperationLocks": {"LockReason": []},
        "Tags": tags_json(&l.tags),
        // The hearth host the instance lives on (docs/api-compat.md): ECS's one field naming a
        // physical host. DedicatedHostId stays empty, so no client takes it for a dedicated host.
        "DedicatedHostAttribute": {"DedicatedHostId": "", "DedicatedHostName": i.host_id, "DedicatedHostClusterId": ""},
    });
    for part in [rest, network] {
        if let (Value::Object(a), Value::Object(b)) = (&mut out, part) {
            a.extend(b);
        }
    }
    out
}

async fn describe(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?.to_string();
    let mut ids = p.json_list("InstanceIds")?;
    if ids.as_ref().is_some_and(|l| l.len() > 100) {
        return Err(Error::invalid_parameter(
            "InstanceIds",
            "at most 100 IDs may be given",
        ));
    }
    if let Some(group) = p.opt("SecurityGroupId") {
        let members = view::ids_in_group(cloud, group).await?;
        ids = Some(match ids {
            Some(list) => list.into_iter().filter(|i| members.contains(i)).collect(),
            None => members,
        });
    }
    let status = p.one_of("Status", instances::STATUSES)?.map(String::from);
    let private_ips = p.json_list("PrivateIpAddresses")?;
    // An empty list filters nothing, as before this host gave out public IPs.
    if let Some(public) = p.json_list("PublicIpAddresses")?.filter(|l| !l.is_empty()) {
        if public.len() > 100 {
            return Err(Error::invalid_parameter(
                "PublicIpAddresses",
                "at most 100 addresses may be given",
            ));
        }
        let holders = view::ids_with_public_ips(cloud, &public).await?;
        ids = Some(match ids {
            Some(list) => list.into_iter().filter(|i| holders.contains(i)).collect(),
            None => holders,
        });
    }
    // Addresses and networks this host never gives out match nothing.
    let nothing = ["EipAddresses", "InnerIpAddresses", "RdmaIpAddresses"]
        .iter()
        .any(|k| p.opt(k).is_some_and(|v| v != "[]"))
        || p.one_of("InstanceNetworkType", &["vpc", "classic"])? == Some("classic")
        || p.boolean("IoOptimized")? == Some(false);
    if nothing {
        ids = Some(Vec::new());
    }
    let filter = Filter {
        region_id: region_id.clone(),
        ids,
        zone_id: p.opt("ZoneId").map(String::from),
        vpc_id: p.opt("VpcId").map(String::from),
        vswitch_id: p.opt("VSwitchId").map(String::from),
        status,
        name: p.opt("InstanceName").map(String::from),
        instance_type: p.opt("InstanceType").map(String::from),
        image_id: p.opt("ImageId").map(String::from),
        key_pair_name: p.opt("KeyPairName").map(String::from),
        private_ips,
        instance_charge_type: p
            .one_of("InstanceChargeType", &["PrePaid", "PostPaid"])?
            .map(String::from),
        resource_group_id: p.opt("ResourceGroupId").map(String::from),
        tags: p.tags()?,
        ..Default::default()
    };
    let token_mode = p.opt("NextToken").is_some() || p.opt("MaxResults").is_some();
    let paging = if token_mode {
        let max = p.int_in("MaxResults", 1, 100, Some(10))?.unwrap_or(10);
        let after = p.opt("NextToken").map(parse_next_token).transpose()?;
        Paging::Token { after, max }
    } else {
        Paging::Numbered(Page::new(
            p.int("PageNumber")?,
            p.int("PageSize")?,
            10,
            100,
        )?)
    };
    let listing = view::describe(cloud, &filter, paging, dry_run(p)?).await?;
    let os = view::os_names(cloud);
    let list: Vec<Value> = listing
        .instances
        .iter()
        .map(|l| instance_json(l, &os))
        .collect();
    let mut out = json!({
        "TotalCount": listing.total,
        "Instances": {"Instance": list},
    });
    match paging {
        Paging::Numbered(page) => {
            out["PageNumber"] = json!(page.number);
            out["PageSize"] = json!(page.size);
        }
        Paging::Token { .. } => out["NextToken"] = json!(listing.next_token),
    }
    Ok(out)
}

async fn status(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?.to_string();
    let ids = p.list("InstanceId")?;
    if ids.len() > 100 {
        return Err(Error::invalid_parameter(
            "InstanceId.N",
            "at most 100 instances",
        ));
    }
    if let Some(c) = p.opt("ClusterId") {
        return Err(Error::not_found(
            "InvalidClusterId.NotFound",
            format!("The specified ClusterId {c:?} does not exist: this host has no clusters."),
        ));
    }
    let page = Page::new(p.int("PageNumber")?, p.int("PageSize")?, 10, 50)?;
    let filter = Filter {
        region_id,
        ids: (!ids.is_empty()).then_some(ids),
        zone_id: p.opt("ZoneId").map(String::from),
        ..Default::default()
    };
    let listing = view::describe(cloud, &filter, Paging::Numbered(page), false).await?;
    let list: Vec<Value> = listing
        .instances
        .iter()
        .map(|l| json!({"InstanceId": l.instance.id, "Status": l.instance.status.as_str()}))
        .collect();
    Ok(json!({
        "TotalCount": listing.total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "InstanceStatuses": {"InstanceStatus": list},
    }))
}

async fn attribute(cloud: &Cloud, p: &Params) -> Result<Value> {
    let id = p.required("InstanceId")?;
    let listed = view::attribute(cloud, p.opt("RegionId"), id).await?;
    let os = view::os_names(cloud);
    let full = instance_json(&listed, &os);
    // DescribeInstanceAttribute carries a subset of DescribeInstances' fields.
    let keys = [
        "InstanceId",
        "InstanceName",
        "Description",
        "HostName",
        "ImageId",
        "RegionId",
        "ZoneId",
        "InstanceType",
        "Cpu",
        "Memory",
        "Status",
        "StoppedMode",
        "CreationTime",
        "ExpiredTime",
        "InstanceChargeType",
        "InternetChargeType",
        "InternetMaxBandwidthIn",
        "InternetMaxBandwidthOut",
        "CreditSpecification",
        "InstanceNetworkType",
        "SerialNumber",
        "VlanId",
        "ClusterId",
        "SecurityGroupIds",
        "VpcAttributes",
        "InnerIpAddress",
        "PublicIpAddress",
        "EipAddress",
        "OperationLocks",
    ];
    let mut out = serde_json::Map::new();
    for k in keys {
        if let Some(v) = full.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    out.insert("IoOptimized".into(), json!(listed.instance.io_optimized));
    if let Some(v) = full.get("DedicatedHostAttribute") {
        out.insert("DedicatedHostAttribute".into(), v.clone());
    }
    out.insert("EnableNetworkEncryption".into(), json!(false));
    out.insert("EnableJumboFrame".into(), json!(false));
    Ok(Value::Object(out))
}

async fn modify(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = region(cloud, p, false)?;
    let id = p.required("InstanceId")?;
    let m = Modify {
        instance_name: p.opt("InstanceName").map(String::from),
        description: p.opt("Description").map(String::from),
        host_name: p.opt("HostName").map(String::from),
        password: p.opt("Password").map(String::from),
        user_data: p.opt("UserData").map(String::from),
        deletion_protection: p.boolean("DeletionProtection")?,
        credit_specification: p.opt("CreditSpecification").map(String::from),
        security_group_ids: p.list("SecurityGroupIds")?,
    };
    modify::modify(cloud, &region_id, id, &m).await?;
    Ok(json!({}))
}

async fn user_data(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?.to_string();
    let id = p.required("InstanceId")?;
    let data = view::user_data(cloud, &region_id, id).await?;
    Ok(json!({"InstanceId": id, "RegionId": region_id, "UserData": data}))
}

async fn console(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?.to_string();
    let id = p.required("InstanceId")?;
    p.boolean("RemoveSymbols")?;
    let (output, when) = view::console_output(cloud, &region_id, id).await?;
    Ok(json!({"InstanceId": id, "ConsoleOutput": output, "LastUpdateTime": when}))
}

async fn metadata(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = region(cloud, p, false)?;
    let id = p.required("InstanceId")?;
    let m = MetadataOptions {
        http_endpoint: p.opt("HttpEndpoint").map(String::from),
        http_tokens: p.opt("HttpTokens").map(String::from),
        http_put_response_hop_limit: p.int("HttpPutResponseHopLimit")?,
        instance_metadata_tags: p.opt("InstanceMetadataTags").map(String::from),
    };
    modify::modify_metadata(cloud, &region_id, id, &m).await?;
    Ok(json!({}))
}

/// ESSD IOPS by performance level (ECS' published formula); other categories report 0.
fn essd_iops(d: &Disk) -> i64 {
    let cap = match d.performance_level.as_str() {
        "PL0" => return (1800 + 12 * d.size_gib).min(10_000),
        "PL1" => 50_000,
        "PL2" => 100_000,
        "PL3" => 1_000_000,
        _ => return 0,
    };
    (1800 + 50 * d.size_gib).min(cap)
}

fn disk_json(d: &Disk, tags: &[Tag]) -> Value {
    let instance_id = d.instance_id.clone().unwrap_or_default();
    let attachments: Vec<Value> = d
        .instance_id
        .iter()
        .map(|i| json!({"InstanceId": i, "Device": d.device, "AttachedTime": d.attached_time}))
        .collect();
    json!({
        "DiskId": d.id,
        "DiskName": d.name,
        "Description": d.description,
        "Type": d.disk_type,
        "Category": d.category,
        "Size": d.size_gib,
        "PerformanceLevel": d.performance_level,
        "IOPS": essd_iops(d),
        "Device": d.device,
        "InstanceId": instance_id,
        "RegionId": d.region_id,
        "ZoneId": d.zone_id,
        "Status": d.status,
        "ImageId": d.image_id,
        "SourceSnapshotId": "",
        "CreationTime": d.creation_time,
        "AttachedTime": d.attached_time,
        "DetachedTime": d.detached_time,
        "DeleteWithInstance": d.delete_with_instance,
        "DeleteAutoSnapshot": true,
        "EnableAutoSnapshot": false,
        "Encrypted": false,
        "Portable": d.category != "ephemeral_ssd" && d.disk_type == "data",
        "DiskChargeType": "PostPaid",
        "MultiAttach": "Disabled",
        "BurstingEnabled": false,
        "Attachments": {"Attachment": attachments},
        "OperationLocks": {"OperationLock": []},
        "Tags": tags_json(tags),
    })
}

async fn disks(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = p.required("RegionId")?.to_string();
    let ids = p.json_list("DiskIds")?;
    if ids.as_ref().is_some_and(|l| l.len() > 100) {
        return Err(Error::invalid_parameter(
            "DiskIds",
            "at most 100 IDs may be given",
        ));
    }
    let disk_type = match p.one_of("DiskType", &["all", "system", "data"])? {
        Some("all") | None => None,
        Some(t) => Some(t.to_string()),
    };
    let status = p.one_of(
        "Status",
        &[
            "In_use",
            "Available",
            "Attaching",
            "Detaching",
            "Creating",
            "ReIniting",
            "All",
        ],
    )?;
    let filter = DiskFilter {
        region_id,
        ids,
        instance_id: p.opt("InstanceId").map(String::from),
        zone_id: p.opt("ZoneId").map(String::from),
        disk_type,
        category: p.opt("Category").filter(|c| *c != "all").map(String::from),
        status: status.filter(|s| *s != "All").map(String::from),
        name: p.opt("DiskName").map(String::from),
        delete_with_instance: p.boolean("DeleteWithInstance")?,
        tags: p.tags()?,
    };
    let page = Page::new(p.int("PageNumber")?, p.int("PageSize")?, 10, 100)?;
    if dry_run(p)? {
        cloud.check_region(&filter.region_id)?;
        return Err(Error::dry_run_passed());
    }
    let disks = view::disks(cloud, &filter, page).await?;
    let list: Vec<Value> = disks
        .items
        .iter()
        .map(|r| disk_json(&r.item, &r.tags))
        .collect();
    Ok(json!({
        "TotalCount": disks.total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "Disks": {"Disk": list},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_families() {
        assert_eq!(minutes("2026-11-22T12:34:00Z"), "2026-11-22T12:34Z");
        assert_eq!(minutes("2026-11-22T12:34:56Z"), "2026-11-22T12:34Z");
        assert_eq!(minutes(""), "");
        assert_eq!(family_of("ecs.g7.large"), "ecs.g7");
    }
}
