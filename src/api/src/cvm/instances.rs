//! CVM instances on the wire: RunInstances (decoded into the cloud's CVM request), the
//! Describe views (instances launched through ECS look the same: CVM type names, states and
//! disk types) and Start/Stop/Reboot/TerminateInstances.

use std::collections::{BTreeMap, HashMap};

use hearth_cloud::cvm::errors::Service;
use hearth_cloud::cvm::launch::{self as cvm_launch, DiskSpec, RunInstances};
use hearth_cloud::cvm::{instance_types, lifecycle, states};
use hearth_cloud::instances::view::{self, Disk, Filter, Listed, Paging};
use hearth_cloud::instances::Change;
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use super::{cvm_error, filters, ids, single, tag_filters, tags_json, values, window, Context};
use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "RunInstances",
    "DescribeInstances",
    "DescribeInstancesStatus",
    "StartInstances",
    "StopInstances",
    "RebootInstances",
    "TerminateInstances",
];

pub async fn call(cloud: &Cloud, ctx: &Context, action: &str, p: &Params) -> Result<Value> {
    match action {
        "RunInstances" => run(cloud, ctx, p).await,
        "DescribeInstances" => describe(cloud, ctx, p).await,
        "DescribeInstancesStatus" => status(cloud, ctx, p).await,
        "StartInstances" => {
            super::only(p, &["InstanceIds"])?;
            let ids = p.list("InstanceIds")?;
            lifecycle::change(cloud, &ctx.region, &ids, Change::Start, None).await?;
            Ok(json!({}))
        }
        "StopInstances" => {
            super::only(p, &["InstanceIds", "ForceStop", "StopType", "StoppedMode"])?;
            let ids = p.list("InstanceIds")?;
            let hard = stop_type(p)? == Some("HARD") || p.boolean("ForceStop")? == Some(true);
            let mode = p.opt("StoppedMode");
            lifecycle::change(cloud, &ctx.region, &ids, Change::Stop { force: hard }, mode).await?;
            Ok(json!({}))
        }
        "RebootInstances" => {
            super::only(p, &["InstanceIds", "ForceReboot", "StopType"])?;
            let ids = p.list("InstanceIds")?;
            let hard = stop_type(p)? == Some("HARD") || p.boolean("ForceReboot")? == Some(true);
            lifecycle::change(
                cloud,
                &ctx.region,
                &ids,
                Change::Reboot { force: hard },
                None,
            )
            .await?;
            Ok(json!({}))
        }
        "TerminateInstances" => {
            super::only(
                p,
                &["InstanceIds", "ReleaseAddress", "ReleasePrepaidDataDisks"],
            )?;
            p.boolean("ReleaseAddress")?;
            p.boolean("ReleasePrepaidDataDisks")?;
            lifecycle::terminate(cloud, &ctx.region, &p.list("InstanceIds")?).await?;
            Ok(json!({}))
        }
        _ => Err(Error::internal(format!(
            "{action} is not an instance action"
        ))),
    }
}

/// StopType: SOFT (default, graceful), HARD (forced) or SOFT_FIRST (graceful, forced if the
/// guest does not stop: what hearth's graceful stop does anyway).
fn stop_type(p: &Params) -> Result<Option<&str>> {
    p.one_of("StopType", &["SOFT", "HARD", "SOFT_FIRST"])
        .map_err(|e| Error::bad_request("InvalidParameterValue", e.message))
}

/// Every RunInstances parameter of the SDK model (seed 004).
const RUN_PARAMS: &[&str] = &[
    "InstanceChargeType",
    "InstanceChargePrepaid",
    "Placement",
    "InstanceType",
    "ImageId",
    "SystemDisk",
    "DataDisks",
    "VirtualPrivateCloud",
    "InternetAccessible",
    "InstanceCount",
    "MinCount",
    "InstanceName",
    "LoginSettings",
    "SecurityGroupIds",
    "EnhancedService",
    "ClientToken",
    "HostName",
    "ActionTimer",
    "DisasterRecoverGroupIds",
    "TagSpecification",
    "InstanceMarketOptions",
    "UserData",
    "Metadata",
    "DryRun",
    "CpuTopology",
    "CamRoleName",
    "HpcClusterId",
    "LaunchTemplate",
    "DedicatedClusterId",
    "ChcIds",
    "PartitionNumber",
    "DisableApiTermination",
    "EnableJumboFrame",
    "NetworkInterfaces",
];

fn field(map: &BTreeMap<String, String>, name: &str) -> Option<String> {
    map.get(name).filter(|v| !v.is_empty()).cloned()
}

fn disk(p: &Params, prefix: &str) -> Result<DiskSpec> {
    let f = |name: &str| format!("{prefix}.{name}");
    Ok(DiskSpec {
        disk_type: p.opt(&f("DiskType")).map(String::from),
        size: p.int(&f("DiskSize"))?,
        delete_with_instance: p.boolean(&f("DeleteWithInstance"))?,
        name: p.opt(&f("DiskName")).map(String::from),
        disk_id: p.opt(&f("DiskId")).map(String::from),
        snapshot_id: p.opt(&f("SnapshotId")).map(String::from),
        encrypt: p.boolean(&f("Encrypt"))?,
        kms_key_id: p.opt(&f("KmsKeyId")).map(String::from),
    })
}

/// Parameters naming things hearth does not have, when given (first one found is refused).
fn absent(p: &Params) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut note = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push((name.to_string(), v));
        }
    };
    let list = |name: &str| -> Result<Option<String>> {
        let l = p.list(name)?;
        Ok((!l.is_empty()).then(|| l.join(",")))
    };
    note("Placement.HostIds", list("Placement.HostIds")?);
    note(
        "Placement.HostId",
        p.opt("Placement.HostId").map(String::from),
    );
    note("HpcClusterId", p.opt("HpcClusterId").map(String::from));
    note("DisasterRecoverGroupIds", list("DisasterRecoverGroupIds")?);
    note(
        "LaunchTemplate",
        p.opt("LaunchTemplate.LaunchTemplateId").map(String::from),
    );
    note("ChcIds", list("ChcIds")?);
    note("CamRoleName", p.opt("CamRoleName").map(String::from));
    note(
        "DedicatedClusterId",
        p.opt("DedicatedClusterId").map(String::from),
    );
    note(
        "ActionTimer",
        p.opt("ActionTimer.TimerAction").map(String::from),
    );
    let nics = p.objects("NetworkInterfaces")?;
    note(
        "NetworkInterfaces",
        (!nics.is_empty()).then(|| format!("{} interfaces", nics.len())),
    );
    Ok(out)
}

fn decode_run(ctx: &Context, p: &Params) -> Result<RunInstances> {
    super::only(p, RUN_PARAMS)?;
    let mut data_disks = Vec::new();
    for (n, _) in p.objects("DataDisks")? {
        data_disks.push((n, disk(p, &format!("DataDisks.{n}"))?));
    }
    let mut tag_specifications = Vec::new();
    for (n, fields) in p.objects("TagSpecification")? {
        let mut tags: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
        for (k, v) in &fields {
            let Some(rest) = k.strip_prefix("Tags.") else {
                continue;
            };
            let Some((m, which)) = rest.split_once('.') else {
                continue;
            };
            let m: u32 = m.parse().map_err(|_| {
                Error::invalid_parameter(&format!("TagSpecification.{n}.{k}"), "a list index")
            })?;
            let entry = tags.entry(m).or_default();
            match which {
                "Key" => entry.0 = Some(v.clone()),
                "Value" => entry.1 = Some(v.clone()),
                _ => {}
            }
        }
        tag_specifications.push((
            n,
            field(&fields, "ResourceType"),
            tags.into_iter().map(|(m, (k, v))| (m, k, v)).collect(),
        ));
    }
    // Enhanced services (monitoring and security agents) have nothing to install here; their
    // flags are checked for type only.
    for s in ["SecurityService", "MonitorService", "AutomationService"] {
        p.boolean(&format!("EnhancedService.{s}.Enabled"))?;
    }
    if p.boolean("EnableJumboFrame")? == Some(true) {
        return Err(Error::bad_request(
            "UnsupportedOperation.InstanceTypeNotSupportJumboFrame",
            "EnableJumboFrame=true is not supported: hearth instance networks use a 1500-byte MTU.",
        ));
    }
    let core_count = p.int("CpuTopology.CoreCount")?;
    let threads = p.int("CpuTopology.ThreadPerCore")?;
    if core_count.is_some() != threads.is_some() {
        return Err(Error::bad_request(
            "InvalidParameter.LackCoreCountOrThreadPerCore",
            "CpuTopology.CoreCount and CpuTopology.ThreadPerCore must be given together.",
        ));
    }
    if threads.is_some_and(|t| t != 1) {
        return Err(Error::bad_request(
            "InvalidParameterValue.ThreadPerCoreValue",
            "CpuTopology.ThreadPerCore must be 1: hearth vCPUs are one thread per core.",
        ));
    }
    Ok(RunInstances {
        region: ctx.region.clone(),
        charge_type: p.opt("InstanceChargeType").map(String::from),
        period: p.int("InstanceChargePrepaid.Period")?,
        renew_flag: p.opt("InstanceChargePrepaid.RenewFlag").map(String::from),
        zone: p.opt("Placement.Zone").map(String::from),
        project_id: p.int("Placement.ProjectId")?,
        instance_type: p.opt("InstanceType").map(String::from),
        image_id: p.opt("ImageId").map(String::from),
        system_disk: disk(p, "SystemDisk")?,
        data_disks,
        vpc_given: p.top_level_names().contains("VirtualPrivateCloud"),
        vpc_id: p.opt("VirtualPrivateCloud.VpcId").map(String::from),
        subnet_id: p.opt("VirtualPrivateCloud.SubnetId").map(String::from),
        private_ips: p.list("VirtualPrivateCloud.PrivateIpAddresses")?,
        as_vpc_gateway: p.boolean("VirtualPrivateCloud.AsVpcGateway")? == Some(true),
        ipv6_address_count: p.int("VirtualPrivateCloud.Ipv6AddressCount")?.unwrap_or(0),
        internet_charge_type: p
            .opt("InternetAccessible.InternetChargeType")
            .map(String::from),
        bandwidth_out: p.int("InternetAccessible.InternetMaxBandwidthOut")?,
        public_ip_assigned: p.boolean("InternetAccessible.PublicIpAssigned")?,
        bandwidth_package_id: p
            .opt("InternetAccessible.BandwidthPackageId")
            .map(String::from),
        instance_count: p.int("InstanceCount")?,
        min_count: p.int("MinCount")?,
        instance_name: p.opt("InstanceName").map(String::from),
        password: p.opt("LoginSettings.Password").map(String::from),
        key_ids: p.list("LoginSettings.KeyIds")?,
        keep_image_login: p.boolean("LoginSettings.KeepImageLogin")? == Some(true),
        security_group_ids: p.list("SecurityGroupIds")?,
        client_token: p.idempotency(),
        host_name: p.opt("HostName").map(String::from),
        tag_specifications,
        user_data: p.opt("UserData").map(String::from),
        spot_max_price: p
            .opt("InstanceMarketOptions.SpotOptions.MaxPrice")
            .map(String::from),
        dry_run: p.boolean("DryRun")?.unwrap_or(false),
        disable_api_termination: p.boolean("DisableApiTermination")?.unwrap_or(false),
        absent: absent(p)?,
    })
}

async fn run(cloud: &Cloud, ctx: &Context, p: &Params) -> Result<Value> {
    let req = decode_run(ctx, p)?;
    let ids = cvm_launch::run(cloud, &req).await?;
    if req.dry_run {
        // CVM answers a passed dry run with just a RequestId.
        return Ok(json!({}));
    }
    Ok(json!({"InstanceIdSet": ids}))
}

fn system_disk_json(d: &Disk) -> Value {
    json!({
        "DiskType": cvm_launch::disk_type_of(&d.category, &d.performance_level),
        "DiskId": d.id,
        "DiskSize": d.size_gib,
        "DiskName": d.name,
    })
}

fn data_disk_json(d: &Disk) -> Value {
    json!({
        "DiskType": cvm_launch::disk_type_of(&d.category, &d.performance_level),
        "DiskId": d.id,
        "DiskSize": d.size_gib,
        "DeleteWithInstance": d.delete_with_instance,
        "DiskName": d.name,
        "Encrypt": false,
    })
}

fn stop_charging_mode(mode: &str) -> &'static str {
    match mode {
        "KeepCharging" => "KEEP_CHARGING",
        "StopCharging" => "STOP_CHARGING",
        _ => "NOT_APPLICABLE",
    }
}

fn instance_json(
    cloud: &Cloud,
    l: &Listed,
    disks: &[Disk],
    os: &HashMap<String, (String, String)>,
) -> Value {
    let i = &l.instance;
    let system = disks.iter().find(|d| d.disk_type == "system");
    let data: Vec<Value> = disks
        .iter()
        .filter(|d| d.disk_type != "system")
        .map(data_disk_json)
        .collect();
    let os_name = os
        .get(&i.image_id)
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let charge = cvm_launch::charge_type_of(&i.instance_charge_type, &i.spot_strategy);
    let renew = match (charge, i.auto_renew) {
        ("PREPAID", true) => "NOTIFY_AND_AUTO_RENEW",
        ("PREPAID", false) => "NOTIFY_AND_MANUAL_RENEW",
        _ => "",
    };
    let head = json!({
        "Placement": {"Zone": i.zone_id, "ProjectId": 0},
        "InstanceId": i.id,
        "InstanceType": instance_types::name_of(&cloud.config, &i.instance_type),
        "CPU": i.vcpus,
        "Memory": i.memory_mib / 1024,
        "RestrictState": "NORMAL",
        "InstanceName": i.name,
        "InstanceChargeType": charge,
        "SystemDisk": system.map(system_disk_json).unwrap_or(Value::Null),
        "DataDisks": data,
        "PrivateIpAddresses": [i.private_ip],
        "PublicIpAddresses": l.public_ip.iter().collect::<Vec<_>>(),
        "InternetAccessible": {
            "InternetChargeType": cvm_launch::internet_charge_type_of(&i.internet_charge_type),
            "InternetMaxBandwidthOut": i.internet_max_bandwidth_out,
            "PublicIpAssigned": l.public_ip.is_some(),
        },
        "VirtualPrivateCloud": {
            "VpcId": i.vpc_id,
            "SubnetId": i.vswitch_id,
            "AsVpcGateway": false,
            "PrivateIpAddresses": [i.private_ip],
        },
        "ImageId": i.image_id,
        "RenewFlag": renew,
        "CreatedTime": i.creation_time,
        "ExpiredTime": view::expires_at(i),
        "OsName": os_name,
    });
    let tail = json!({
        "SecurityGroupIds": l.security_groups,
        "LoginSettings": {"KeyIds": if i.key_pair_name.is_empty() { vec![] } else { vec![i.key_pair_name.clone()] }},
        "InstanceState": states::of(i),
        "Tags": tags_json(&l.tags),
        "StopChargingMode": stop_charging_mode(&i.stopped_mode),
        "Uuid": i.id,
        "LatestOperation": "",
        "LatestOperationState": "",
        "LatestOperationRequestId": "",
        "DisasterRecoverGroupId": "",
        "IPv6Addresses": [],
        "CamRoleName": "",
        "HpcClusterId": "",
        "RdmaIpAddresses": [],
        "DedicatedClusterId": "",
        "IsolatedSource": "NOTISOLATED",
        "LicenseType": "TencentCloud",
        "DisableApiTermination": i.deletion_protection,
        "HostName": i.hostname,
        "DefaultLoginUser": if i.os_type == "windows" { "Administrator" } else { "root" },
        "DefaultLoginPort": if i.os_type == "windows" { 3389 } else { 22 },
        "LatestOperationErrorMsg": "",
        "EnableJumboFrame": false,
    });
    let mut out = head;
    if let (Value::Object(a), Value::Object(b)) = (&mut out, tail) {
        a.extend(b);
    }
    out
}

/// DescribeInstances' filters (CVM names), single-valued where the listing matches one value.
const FILTERS: &[&str] = &[
    "zone",
    "project-id",
    "host-id",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "uuid",
    "security-group-id",
    "instance-name",
    "instance-charge-type",
    "instance-state",
    "private-ip-address",
    "public-ip-address",
    "ipv6-address",
    "tag-key",
    "tag:",
];

fn id_list(p: &Params) -> Result<Vec<String>> {
    let ids = p.list("InstanceIds")?;
    if ids.len() > lifecycle::MAX_IDS {
        return Err(Error::bad_request(
            "InvalidParameterValue.LimitExceeded",
            format!(
                "The parameter \"InstanceIds\" has {} IDs: at most {}.",
                ids.len(),
                lifecycle::MAX_IDS
            ),
        ));
    }
    Ok(ids)
}

/// The instance IDs a filter allows, further limited to `allowed`.
fn narrow(ids: Option<Vec<String>>, allowed: Vec<String>) -> Option<Vec<String>> {
    Some(match ids {
        Some(list) => list.into_iter().filter(|i| allowed.contains(i)).collect(),
        None => allowed,
    })
}

async fn describe(cloud: &Cloud, ctx: &Context, p: &Params) -> Result<Value> {
    super::only(p, &["InstanceIds", "Filters", "Offset", "Limit"])?;
    let given = id_list(p)?;
    let f = filters(p, FILTERS)?;
    if !given.is_empty() && !f.is_empty() {
        return Err(Error::bad_request(
            "InvalidParameter",
            "InstanceIds and Filters cannot be given together.",
        ));
    }
    let mut by_id = values(&f, "instance-id");
    if let Some(uuids) = values(&f, "uuid") {
        by_id = ids(uuids, by_id);
    }
    let mut ids_filter = ids(given, by_id);
    if let Some(group) = single(&f, "security-group-id")? {
        let members = view::ids_in_group(cloud, &group)
            .await
            .map_err(cvm_error(Service::Cvm))?;
        ids_filter = narrow(ids_filter, members);
    }
    if let Some(public) = values(&f, "public-ip-address") {
        let holders = view::ids_with_public_ips(cloud, &public)
            .await
            .map_err(cvm_error(Service::Cvm))?;
        ids_filter = narrow(ids_filter, holders);
    }
    // Nothing here has a dedicated host, an IPv6 address, or a project other than 0.
    let nothing = ["host-id", "ipv6-address"]
        .iter()
        .any(|n| values(&f, n).is_some())
        || values(&f, "project-id").is_some_and(|v| !v.iter().any(|p| p == "0"));
    if nothing {
        ids_filter = Some(Vec::new());
    }
    let (status, intents, launch_failed) = match single(&f, "instance-state")? {
        None => (None, None, None),
        Some(s) => {
            if !states::STATES.contains(&s.as_str()) {
                return Err(Error::bad_request(
                    "InvalidParameterValue",
                    format!(
                        "The instance-state filter {s:?} is not one of {}.",
                        states::STATES.join(", ")
                    ),
                ));
            }
            match states::condition(&s) {
                Some(c) => (Some(c.status.to_string()), c.intents, c.launch_failed),
                None => {
                    ids_filter = Some(Vec::new());
                    (None, None, None)
                }
            }
        }
    };
    let strings = |l: &[&str]| Some(l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let (charge, spot_strategies) = match single(&f, "instance-charge-type")?.as_deref() {
        None => (None, None),
        Some("PREPAID") => (Some("PrePaid".to_string()), None),
        Some("POSTPAID_BY_HOUR") => (Some("PostPaid".to_string()), strings(&["NoSpot"])),
        Some("SPOTPAID") => (
            Some("PostPaid".to_string()),
            strings(&["SpotAsPriceGo", "SpotWithPriceLimit"]),
        ),
        // CDHPAID, CDCPAID and the rest: nothing here is charged so.
        Some(_) => {
            ids_filter = Some(Vec::new());
            (None, None)
        }
    };
    let filter = Filter {
        region_id: ctx.region.clone(),
        ids: ids_filter,
        zone_id: single(&f, "zone")?,
        vpc_id: single(&f, "vpc-id")?,
        vswitch_id: single(&f, "subnet-id")?,
        status,
        intents,
        name: single(&f, "instance-name")?,
        private_ips: values(&f, "private-ip-address"),
        instance_charge_type: charge,
        spot_strategies,
        launch_failed,
        tags: tag_filters(&f)?,
        ..Default::default()
    };
    let page = window(p, 20, 100)?;
    let listing = view::describe(cloud, &filter, Paging::Numbered(page), false)
        .await
        .map_err(cvm_error(Service::Cvm))?;
    let page_ids: Vec<String> = listing
        .instances
        .iter()
        .map(|l| l.instance.id.clone())
        .collect();
    let disks = view::disks_of(cloud, &page_ids)
        .await
        .map_err(cvm_error(Service::Cvm))?;
    let os = view::os_names(cloud);
    let list: Vec<Value> = listing
        .instances
        .iter()
        .map(|l| {
            let d = disks.get(&l.instance.id).map(Vec::as_slice).unwrap_or(&[]);
            instance_json(cloud, l, d, &os)
        })
        .collect();
    Ok(json!({"TotalCount": listing.total, "InstanceSet": list}))
}

async fn status(cloud: &Cloud, ctx: &Context, p: &Params) -> Result<Value> {
    super::only(p, &["InstanceIds", "Offset", "Limit"])?;
    let given = id_list(p)?;
    let filter = Filter {
        region_id: ctx.region.clone(),
        ids: (!given.is_empty()).then_some(given),
        ..Default::default()
    };
    let page = window(p, 20, 100)?;
    let listing = view::describe(cloud, &filter, Paging::Numbered(page), false)
        .await
        .map_err(cvm_error(Service::Cvm))?;
    let list: Vec<Value> = listing
        .instances
        .iter()
        .map(|l| {
            json!({
                "InstanceId": l.instance.id,
                "InstanceState": states::of(&l.instance),
            })
        })
        .collect();
    Ok(json!({"TotalCount": listing.total, "InstanceStatusSet": list}))
}
