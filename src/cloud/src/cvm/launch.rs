//! CVM RunInstances (seed 004): every parameter checked with CVM's codes where CVM's rules
//! differ or name things differently, then turned into the shared [`Launch`] and launched by
//! the same code as ECS' RunInstances (one write transaction; nothing is created on
//! rejection). Errors from the shared launch are translated to CVM codes.

use std::net::Ipv4Addr;

use hearth_store::{vpcs, vswitches};

use super::errors::{translate, Service};
use super::{instance_types, naming};
use crate::instances::{self, Billing, DiskRequest, Idempotency, Launch};
use crate::tags::Tag;
use crate::{choice, images, Cloud, Error, Result};

/// One disk as CVM describes it (`SystemDisk`, `DataDisks.N`).
#[derive(Debug, Clone, Default)]
pub struct DiskSpec {
    pub disk_type: Option<String>,
    pub size: Option<i64>,
    pub delete_with_instance: Option<bool>,
    pub name: Option<String>,
    pub disk_id: Option<String>,
    pub snapshot_id: Option<String>,
    pub encrypt: Option<bool>,
    pub kms_key_id: Option<String>,
}

/// One `Tags.M` entry as given: (M, Key, Value).
pub type RawTag = (u32, Option<String>, Option<String>);

/// One `TagSpecification.N`: (N, ResourceType, its tags).
pub type TagSpecification = (u32, Option<String>, Vec<RawTag>);

/// RunInstances as decoded from the wire (types checked, values as given).
#[derive(Debug, Clone, Default)]
pub struct RunInstances {
    pub region: String,
    pub charge_type: Option<String>,
    /// InstanceChargePrepaid.Period (months) and .RenewFlag.
    pub period: Option<i64>,
    pub renew_flag: Option<String>,
    pub zone: Option<String>,
    pub project_id: Option<i64>,
    pub instance_type: Option<String>,
    pub image_id: Option<String>,
    pub system_disk: DiskSpec,
    pub data_disks: Vec<(u32, DiskSpec)>,
    /// Whether VirtualPrivateCloud was given at all.
    pub vpc_given: bool,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub private_ips: Vec<String>,
    pub as_vpc_gateway: bool,
    pub ipv6_address_count: i64,
    pub internet_charge_type: Option<String>,
    pub bandwidth_out: Option<i64>,
    pub public_ip_assigned: Option<bool>,
    pub bandwidth_package_id: Option<String>,
    pub instance_count: Option<i64>,
    pub min_count: Option<i64>,
    pub instance_name: Option<String>,
    pub password: Option<String>,
    pub key_ids: Vec<String>,
    pub keep_image_login: bool,
    pub security_group_ids: Vec<String>,
    pub client_token: Option<Idempotency>,
    pub host_name: Option<String>,
    /// TagSpecification.N: (N, ResourceType, Tags.M as (M, Key, Value)).
    pub tag_specifications: Vec<TagSpecification>,
    pub user_data: Option<String>,
    /// InstanceMarketOptions.SpotOptions.MaxPrice.
    pub spot_max_price: Option<String>,
    pub dry_run: bool,
    pub disable_api_termination: bool,
    /// (parameter, value) for parameters naming resources or features hearth does not have.
    pub absent: Vec<(String, String)>,
}

pub const CHARGE_TYPES: &[&str] = &[
    "PREPAID",
    "POSTPAID_BY_HOUR",
    "CDHPAID",
    "SPOTPAID",
    "CDCPAID",
];
/// InstanceChargePrepaid.Period in months (seed 004, `InvalidPeriod`).
pub const PERIODS: &[i64] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 24, 36];
pub const RENEW_FLAGS: &[&str] = &[
    "NOTIFY_AND_AUTO_RENEW",
    "NOTIFY_AND_MANUAL_RENEW",
    "DISABLE_NOTIFY_AND_MANUAL_RENEW",
];
pub const INTERNET_CHARGE_TYPES: &[&str] = &[
    "BANDWIDTH_PREPAID",
    "TRAFFIC_POSTPAID_BY_HOUR",
    "BANDWIDTH_POSTPAID_BY_HOUR",
    "BANDWIDTH_PACKAGE",
];
pub const DISK_TYPES: &[&str] = &[
    "LOCAL_BASIC",
    "LOCAL_SSD",
    "CLOUD_BASIC",
    "CLOUD_SSD",
    "CLOUD_PREMIUM",
    "CLOUD_BSSD",
    "CLOUD_HSSD",
    "CLOUD_TSSD",
];
/// The system disk size without SystemDisk.DiskSize (CVM's default), or the image's if larger.
pub const DEFAULT_SYSTEM_DISK_GIB: i64 = 50;
/// CLOUD_SSD data disks are at least 100 GiB (`InvalidParameterValue.CloudSsdDataDiskSizeTooSmall`).
pub const MIN_CLOUD_SSD_DATA_GIB: i64 = 100;
/// Private addresses given per request, at most (seed 004).
pub const MAX_PRIVATE_IPS: usize = 20;
/// Security groups per instance (the shared rule).
pub const MAX_SECURITY_GROUPS: usize = 5;
/// The tag key prefix Tencent Cloud reserves (`FailedOperation.TagKeyReserved`).
pub const RESERVED_TAG_PREFIX: &str = "qcloud:";

/// The shared disk category (and ESSD performance level) of a CVM disk type.
pub fn category_of(disk_type: &str) -> (&'static str, Option<&'static str>) {
    match disk_type {
        "LOCAL_BASIC" | "LOCAL_SSD" => ("ephemeral_ssd", None),
        "CLOUD_BASIC" => ("cloud", None),
        "CLOUD_SSD" => ("cloud_ssd", None),
        "CLOUD_BSSD" => ("cloud_essd", Some("PL0")),
        "CLOUD_HSSD" => ("cloud_essd", Some("PL1")),
        "CLOUD_TSSD" => ("cloud_essd", Some("PL2")),
        _ => ("cloud_efficiency", None),
    }
}

/// The CVM disk type of a shared disk category (for instances launched through ECS too).
pub fn disk_type_of(category: &str, performance_level: &str) -> &'static str {
    match (category, performance_level) {
        ("ephemeral_ssd", _) => "LOCAL_SSD",
        ("cloud", _) => "CLOUD_BASIC",
        ("cloud_ssd", _) => "CLOUD_SSD",
        ("cloud_essd", "PL0") | ("cloud_auto" | "cloud_essd_entry", _) => "CLOUD_BSSD",
        ("cloud_essd", "PL2" | "PL3") => "CLOUD_TSSD",
        ("cloud_essd", _) => "CLOUD_HSSD",
        _ => "CLOUD_PREMIUM",
    }
}

/// The CVM charge type of an instance record.
pub fn charge_type_of(instance_charge_type: &str, spot_strategy: &str) -> &'static str {
    match (instance_charge_type, spot_strategy) {
        ("PrePaid", _) => "PREPAID",
        (_, "SpotAsPriceGo" | "SpotWithPriceLimit") => "SPOTPAID",
        _ => "POSTPAID_BY_HOUR",
    }
}

/// The CVM internet charge type of an instance record.
pub fn internet_charge_type_of(ecs: &str) -> &'static str {
    if ecs == "PayByBandwidth" {
        "BANDWIDTH_POSTPAID_BY_HOUR"
    } else {
        "TRAFFIC_POSTPAID_BY_HOUR"
    }
}

fn value_error(code: &str, param: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_request(
        code,
        format!("The parameter \"{param}\" is not valid: {why}."),
    )
}

fn one_of<'a>(param: &str, value: Option<&'a str>, allowed: &[&str]) -> Result<Option<&'a str>> {
    choice::one_of(value, allowed).map_err(|e| {
        value_error(
            "InvalidParameterValue",
            param,
            format!("{:?} is not one of {}", e.value, e.listed),
        )
    })
}

/// The error for a parameter naming something hearth does not have.
fn absent(param: &str, value: &str) -> Error {
    let field = param.rsplit('.').next().unwrap_or(param);
    let (code, what) = match (param, field) {
        ("Placement.HostIds" | "Placement.HostId", _) => {
            ("InvalidHostId.NotFound", "dedicated hosts (CDH)")
        }
        ("HpcClusterId", _) => (
            "ResourceNotFound.HpcCluster",
            "high-performance computing clusters",
        ),
        ("DisasterRecoverGroupIds", _) => (
            "FailedOperation.DisasterRecoverGroupNotFound",
            "placement groups",
        ),
        ("LaunchTemplate", _) => (
            "InvalidParameterValue.LaunchTemplateNotFound",
            "launch templates",
        ),
        ("ChcIds", _) => ("InvalidParameterValue.ChcHostsNotFound", "CHC servers"),
        ("CamRoleName", _) => ("AuthFailure.CamRoleNameAuthenticateFailed", "CAM roles"),
        ("DedicatedClusterId", _) => (
            "InvalidParameter.CdcNotSupported",
            "dedicated clusters (CDC)",
        ),
        ("InternetAccessible.BandwidthPackageId", _) => (
            "InvalidParameterValue.BandwidthPackageIdNotFound",
            "bandwidth packages",
        ),
        (_, "SnapshotId") => ("InvalidParameter.SnapshotNotFound", "snapshots"),
        (_, "DiskId") => (
            "InvalidParameterValue",
            "existing cloud disks to attach at launch",
        ),
        (_, "KmsKeyId" | "Encrypt") => (
            "UnsupportedOperation.InvalidRegionDiskEncrypt",
            "disk encryption",
        ),
        ("ActionTimer", _) => (
            "UnsupportedOperation.NotSupportImportInstancesActionTimer",
            "scheduled actions",
        ),
        ("NetworkInterfaces", _) => (
            "InvalidParameterValue.ElasticNetworkNotExist",
            "elastic network interfaces",
        ),
        _ => ("UnsupportedOperation", "such a feature"),
    };
    Error::bad_request(
        code,
        format!("The parameter \"{param}\" ({value:?}) cannot be used: this host has no {what}."),
    )
}

fn disk_request(param: &str, d: &DiskSpec, system: bool, image_gib: i64) -> Result<DiskRequest> {
    let disk_type = one_of(
        &format!("{param}.DiskType"),
        d.disk_type.as_deref(),
        DISK_TYPES,
    )?
    .unwrap_or("CLOUD_PREMIUM");
    if let Some(id) = &d.disk_id {
        return Err(absent(&format!("{param}.DiskId"), id));
    }
    if let Some(id) = &d.snapshot_id {
        return Err(absent(&format!("{param}.SnapshotId"), id));
    }
    if let Some(k) = &d.kms_key_id {
        return Err(absent(&format!("{param}.KmsKeyId"), k));
    }
    if d.encrypt == Some(true) {
        return Err(absent(&format!("{param}.Encrypt"), "true"));
    }
    let size = if system {
        Some(d.size.unwrap_or(DEFAULT_SYSTEM_DISK_GIB.max(image_gib)))
    } else {
        let size = d
            .size
            .ok_or_else(|| Error::missing_parameter(&format!("{param}.DiskSize")))?;
        if disk_type == "CLOUD_SSD" && size < MIN_CLOUD_SSD_DATA_GIB {
            return Err(value_error(
                "InvalidParameterValue.CloudSsdDataDiskSizeTooSmall",
                &format!("{param}.DiskSize"),
                format!(
                    "CLOUD_SSD data disks are at least {MIN_CLOUD_SSD_DATA_GIB} GiB, not {size}"
                ),
            ));
        }
        Some(size)
    };
    let (category, level) = category_of(disk_type);
    Ok(DiskRequest {
        category: Some(category.into()),
        size,
        performance_level: level.map(String::from),
        name: d.name.clone(),
        delete_with_instance: if system { None } else { d.delete_with_instance },
        ..Default::default()
    })
}

fn tags(req: &RunInstances) -> Result<Vec<Tag>> {
    let mut raw = Vec::new();
    for (n, resource_type, list) in &req.tag_specifications {
        let param = format!("TagSpecification.{n}.ResourceType");
        match resource_type.as_deref() {
            None => return Err(Error::missing_parameter(&param)),
            Some("instance") => {}
            Some(other) => {
                return Err(value_error(
                    "InvalidParameterValue",
                    &param,
                    format!("{other:?}: RunInstances tags resource type instance (its disks get the same tags)"),
                ))
            }
        }
        for (m, key, value) in list {
            if key
                .as_deref()
                .is_some_and(|k| k.starts_with(RESERVED_TAG_PREFIX))
            {
                return Err(Error::bad_request(
                    "FailedOperation.TagKeyReserved",
                    format!("The tag key of TagSpecification.{n}.Tags.{m} starts with {RESERVED_TAG_PREFIX}, which is reserved for the system."),
                ));
            }
            raw.push((raw.len() as u32 + 1, key.clone(), value.clone()));
        }
    }
    crate::tags::validate(&raw).map_err(|e| translate(Service::Cvm, e))
}

/// Checks against the VPC and subnet as stored (the launch re-checks them in its
/// transaction): each exists, the subnet is in the VPC and in Placement.Zone.
async fn check_network(cloud: &Cloud, vpc_id: &str, subnet_id: &str, zone: &str) -> Result<()> {
    let mut conn = cloud.store.pool().acquire().await?;
    let vpc = vpcs::get(&mut conn, vpc_id).await?;
    if vpc.is_none() {
        return Err(value_error(
            "InvalidParameterValue.VpcIdNotExist",
            "VirtualPrivateCloud.VpcId",
            format!("{vpc_id:?} does not exist"),
        ));
    }
    let subnet = vswitches::get(&mut conn, subnet_id).await?.ok_or_else(|| {
        value_error(
            "InvalidParameterValue.SubnetNotExist",
            "VirtualPrivateCloud.SubnetId",
            format!("{subnet_id:?} does not exist"),
        )
    })?;
    if subnet.vpc_id != vpc_id {
        return Err(value_error(
            "InvalidParameterValue.VpcIdSubnetIdNotMatch",
            "VirtualPrivateCloud.SubnetId",
            format!("{subnet_id} is in {}, not in {vpc_id}", subnet.vpc_id),
        ));
    }
    if subnet.zone_id != zone {
        return Err(value_error(
            "InvalidParameterValue.SubnetIdZoneIdNotMatch",
            "VirtualPrivateCloud.SubnetId",
            format!(
                "{subnet_id} is in zone {}, not in Placement.Zone {zone}",
                subnet.zone_id
            ),
        ));
    }
    Ok(())
}

/// Every check that needs no transaction, then the shared request.
async fn check(cloud: &Cloud, req: &RunInstances) -> Result<Launch> {
    cloud
        .check_region(&req.region)
        .map_err(|e| translate(Service::Cvm, e))?;
    if let Some((param, value)) = req.absent.first() {
        return Err(absent(param, value));
    }
    // Charging.
    let charge = one_of(
        "InstanceChargeType",
        req.charge_type.as_deref(),
        CHARGE_TYPES,
    )?
    .unwrap_or("POSTPAID_BY_HOUR");
    one_of(
        "InstanceChargePrepaid.RenewFlag",
        req.renew_flag.as_deref(),
        RENEW_FLAGS,
    )?;
    let mut billing = Billing::default();
    match charge {
        "PREPAID" => {
            let period = req
                .period
                .ok_or_else(|| Error::missing_parameter("InstanceChargePrepaid.Period"))?;
            if !PERIODS.contains(&period) {
                return Err(Error::bad_request("InvalidPeriod", format!("The parameter \"InstanceChargePrepaid.Period\" {period} is not valid: use 1 to 12, 24 or 36 (months).")));
            }
            billing.instance_charge_type = Some("PrePaid".into());
            billing.period = Some(period);
            billing.auto_renew = Some(req.renew_flag.as_deref() == Some("NOTIFY_AND_AUTO_RENEW"));
        }
        "CDHPAID" => return Err(Error::missing_parameter("Placement.HostIds")),
        "CDCPAID" => return Err(Error::missing_parameter("DedicatedClusterId")),
        "SPOTPAID" => {
            billing.instance_charge_type = Some("PostPaid".into());
            billing.spot_strategy = Some(
                if req.spot_max_price.is_some() {
                    "SpotWithPriceLimit"
                } else {
                    "SpotAsPriceGo"
                }
                .into(),
            );
            billing.spot_price_limit = req.spot_max_price.clone();
        }
        _ => billing.instance_charge_type = Some("PostPaid".into()),
    }
    // Placement.
    let zone = req
        .zone
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("Placement.Zone"))?;
    if !cloud.config.zones.iter().any(|z| z.id == zone) {
        let known: Vec<&str> = cloud.config.zones.iter().map(|z| z.id.as_str()).collect();
        return Err(Error::bad_request(
            "InvalidZone.MismatchRegion",
            format!(
                "The zone {zone:?} (Placement.Zone) does not exist in region {}: use one of {}.",
                req.region,
                known.join(", ")
            ),
        ));
    }
    if let Some(p) = req.project_id.filter(|p| *p != 0) {
        return Err(Error::bad_request(
            "InvalidProjectId.NotFound",
            format!("The project {p} (Placement.ProjectId) does not exist: this host has only the default project 0."),
        ));
    }
    // Image and type.
    let image_id = req
        .image_id
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("ImageId"))?;
    let image = images::image(cloud, image_id)?.ok_or_else(|| {
        Error::bad_request(
            "InvalidImageId.NotFound",
            format!("The image {image_id:?} does not exist: see DescribeImages."),
        )
    })?;
    let windows = image.os_type == "windows";
    let itype = match req.instance_type.as_deref() {
        Some(name) if !instance_types::well_formed(name) => {
            return Err(Error::bad_request(
                "InvalidInstanceType.Malformed",
                format!("The parameter \"InstanceType\" {name:?} is not of the form FAMILY.SIZE such as S7.MEDIUM8."),
            ))
        }
        Some(name) => instance_types::find(&cloud.config, name).ok_or_else(|| {
            Error::bad_request(
                "InvalidParameterValue.InstanceTypeNotFound",
                format!("The instance type {name:?} does not exist: see DescribeInstanceTypeConfigs."),
            )
        })?,
        None => instance_types::default_type(&cloud.config).ok_or_else(|| {
            Error::bad_request(
                "ResourceInsufficient.SpecifiedInstanceType",
                "This host offers no instance type with a CVM name.",
            )
        })?,
    };
    // Disks.
    let image_gib = image.size_gib as i64;
    let system_disk = disk_request("SystemDisk", &req.system_disk, true, image_gib)?;
    let mut data_disks = Vec::new();
    let mut local = 0;
    for (n, d) in &req.data_disks {
        let disk = disk_request(&format!("DataDisks.{n}"), d, false, image_gib)?;
        if disk.category.as_deref() == Some("ephemeral_ssd") {
            local += 1;
        }
        data_disks.push((*n, disk));
    }
    if local > 1 {
        return Err(value_error(
            "InvalidParameterValue.LimitExceeded",
            "DataDisks",
            "at most one LOCAL_BASIC or LOCAL_SSD data disk",
        ));
    }
    // Network.
    if !req.vpc_given {
        return Err(Error::missing_parameter("VirtualPrivateCloud"));
    }
    let vpc_id = req
        .vpc_id
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("VirtualPrivateCloud.VpcId"))?;
    let subnet_id = req
        .subnet_id
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("VirtualPrivateCloud.SubnetId"))?;
    if req.as_vpc_gateway {
        return Err(absent("VirtualPrivateCloud.AsVpcGateway", "true"));
    }
    if req.ipv6_address_count > 0 {
        return Err(value_error(
            "InvalidParameterValue.VpcNotSupportIpv6Address",
            "VirtualPrivateCloud.Ipv6AddressCount",
            "this host offers no IPv6",
        ));
    }
    // Counts.
    let count = req.instance_count.unwrap_or(1);
    if !(1..=naming::MAX_INSTANCE_COUNT).contains(&count) {
        return Err(value_error(
            "InvalidParameterValue.Range",
            "InstanceCount",
            format!("{count} is outside 1 to {}", naming::MAX_INSTANCE_COUNT),
        ));
    }
    let min_count = req.min_count.unwrap_or(count);
    if !(1..=count).contains(&min_count) {
        return Err(value_error(
            "InvalidParameterValue.InvalidParameterMinCount",
            "MinCount",
            format!("{min_count} must be a positive number not above InstanceCount ({count})"),
        ));
    }
    if req.private_ips.len() > MAX_PRIVATE_IPS {
        return Err(value_error(
            "InvalidParameterValue.LimitExceeded",
            "VirtualPrivateCloud.PrivateIpAddresses",
            format!("at most {MAX_PRIVATE_IPS} addresses"),
        ));
    }
    for ip in &req.private_ips {
        if ip.parse::<Ipv4Addr>().is_err() {
            return Err(value_error(
                "InvalidParameter.InvalidIpFormat",
                "VirtualPrivateCloud.PrivateIpAddresses",
                format!("{ip:?} is not an IPv4 address"),
            ));
        }
    }
    if !req.private_ips.is_empty() && req.private_ips.len() as i64 != count {
        return Err(value_error(
            "InvalidParameterCombination",
            "VirtualPrivateCloud.PrivateIpAddresses",
            format!(
                "give one address per instance: {} addresses for InstanceCount {count}",
                req.private_ips.len()
            ),
        ));
    }
    if !req.private_ips.is_empty() && min_count != count {
        return Err(value_error(
            "InvalidParameterCombination",
            "MinCount",
            "MinCount cannot be used with VirtualPrivateCloud.PrivateIpAddresses",
        ));
    }
    // Internet.
    let internet = one_of(
        "InternetAccessible.InternetChargeType",
        req.internet_charge_type.as_deref(),
        INTERNET_CHARGE_TYPES,
    )?;
    if internet == Some("BANDWIDTH_PACKAGE") {
        let id = req
            .bandwidth_package_id
            .as_deref()
            .ok_or_else(|| Error::missing_parameter("InternetAccessible.BandwidthPackageId"))?;
        return Err(absent("InternetAccessible.BandwidthPackageId", id));
    }
    billing.internet_charge_type = internet.map(|t| {
        if t.starts_with("BANDWIDTH") {
            "PayByBandwidth".to_string()
        } else {
            "PayByTraffic".to_string()
        }
    });
    if let Some(out) = req.bandwidth_out {
        if !(0..=100).contains(&out) {
            return Err(value_error(
                "InvalidParameterValue.Range",
                "InternetAccessible.InternetMaxBandwidthOut",
                format!("{out} Mbit/s is outside 0 to 100"),
            ));
        }
    }
    billing.internet_max_bandwidth_out = req.bandwidth_out;
    if req.public_ip_assigned == Some(true) {
        return Err(Error::bad_request(
            "InvalidParameter.InternetAccessibleNotSupported",
            "The parameter \"InternetAccessible.PublicIpAssigned\" cannot be true: instances reach the internet through the host's NAT; this host assigns no public IPs at launch.",
        ));
    }
    // Names.
    let n = count as usize;
    let names = naming::instance_names(req.instance_name.as_deref(), n)?;
    let host_names = match &req.host_name {
        Some(h) => naming::host_names(h, n, windows)?,
        None => Vec::new(),
    };
    // Login.
    if req.keep_image_login && !req.key_ids.is_empty() {
        return Err(Error::bad_request(
            "InvalidParameter.ParameterConflict",
            "LoginSettings.KeepImageLogin and LoginSettings.KeyIds cannot be given together.",
        ));
    }
    if req.keep_image_login && req.password.is_some() {
        return Err(value_error(
            "InvalidParameterCombination",
            "LoginSettings.Password",
            "it cannot be given with KeepImageLogin=true",
        ));
    }
    if req.key_ids.len() > 1 {
        return Err(value_error(
            "InvalidParameterValue.LimitExceeded",
            "LoginSettings.KeyIds",
            "at most one key at launch",
        ));
    }
    // Security groups.
    if req.security_group_ids.is_empty() {
        return Err(Error::bad_request("MissingParameter", "The parameter \"SecurityGroupIds\" is required: this host creates no default security group; create one (ECS CreateSecurityGroup) in the subnet's VPC."));
    }
    if req.security_group_ids.len() > MAX_SECURITY_GROUPS {
        return Err(value_error(
            "InvalidParameterValue.LimitExceeded",
            "SecurityGroupIds",
            format!("at most {MAX_SECURITY_GROUPS} security groups"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = req.security_group_ids.iter().find(|g| !seen.insert(*g)) {
        return Err(value_error(
            "InvalidParameterValue.Duplicate",
            "SecurityGroupIds",
            format!("{dup} is given twice"),
        ));
    }
    if let Some(t) = &req.client_token {
        if t.token.len() > 64 {
            return Err(Error::bad_request(
                "InvalidClientToken.TooLong",
                "The parameter \"ClientToken\" is longer than 64 characters.",
            ));
        }
    }
    let tags = tags(req)?;
    check_network(cloud, vpc_id, subnet_id, zone).await?;
    Ok(Launch {
        run: true,
        policy: super::POLICY,
        region_id: req.region.clone(),
        zone_id: Some(zone.to_string()),
        image_id: Some(image.id.clone()),
        instance_type: Some(itype.ecs.id.clone()),
        security_group_ids: req.security_group_ids.clone(),
        vswitch_id: Some(subnet_id.to_string()),
        private_ips: req.private_ips.clone(),
        instance_names: names,
        host_names,
        password: req.password.clone(),
        key_pair_name: req.key_ids.first().cloned(),
        user_data: req.user_data.clone(),
        system_disk,
        data_disks,
        amount: Some(count),
        min_amount: Some(min_count),
        deletion_protection: req.disable_api_termination,
        tags,
        billing,
        client_token: req.client_token.clone(),
        dry_run: req.dry_run,
        ..Default::default()
    })
}

/// Launches the instances and returns their IDs; a DryRun whose checks all pass returns none.
pub async fn run(cloud: &Cloud, req: &RunInstances) -> Result<Vec<String>> {
    let launch = check(cloud, req).await?;
    match instances::launch(cloud, &launch).await {
        Ok(ids) => Ok(ids),
        Err(e) if req.dry_run && e.code == "DryRunOperation" => Ok(Vec::new()),
        // With MinCount, running out of capacity means fewer than MinCount fit (seed 004).
        Err(e) if req.min_count.is_some() && e.code == "OperationDenied.NoStock" => Err(Error {
            code: "ResourceInsufficient.InsufficientOfferingMinimum".into(),
            ..e
        }),
        Err(e) => Err(translate(Service::Cvm, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_types_round_trip() {
        for t in DISK_TYPES {
            let (category, level) = category_of(t);
            let back = disk_type_of(category, level.unwrap_or(""));
            let expected = if *t == "LOCAL_BASIC" { "LOCAL_SSD" } else { t };
            assert_eq!(back, expected, "{t}");
        }
        assert_eq!(charge_type_of("PostPaid", "SpotAsPriceGo"), "SPOTPAID");
        assert_eq!(charge_type_of("PrePaid", "NoSpot"), "PREPAID");
        assert_eq!(charge_type_of("PostPaid", "NoSpot"), "POSTPAID_BY_HOUR");
    }

    #[test]
    fn disks() {
        let d = |t: &str, size| DiskSpec {
            disk_type: Some(t.into()),
            size,
            ..Default::default()
        };
        let code = |r: Result<DiskRequest>| r.unwrap_err().code;
        assert_eq!(
            code(disk_request(
                "DataDisks.1",
                &d("CLOUD_SSD", Some(50)),
                false,
                1
            )),
            "InvalidParameterValue.CloudSsdDataDiskSizeTooSmall"
        );
        assert_eq!(
            code(disk_request("DataDisks.1", &d("CLOUD_SSD", None), false, 1)),
            "MissingParameter"
        );
        assert_eq!(
            code(disk_request("SystemDisk", &d("FLOPPY", None), true, 1)),
            "InvalidParameterValue"
        );
        let s = disk_request("SystemDisk", &DiskSpec::default(), true, 60).unwrap();
        assert_eq!(
            (s.category.as_deref(), s.size),
            (Some("cloud_efficiency"), Some(60))
        );
        let s = disk_request("SystemDisk", &d("CLOUD_BSSD", Some(30)), true, 1).unwrap();
        assert_eq!(
            (s.category.as_deref(), s.performance_level.as_deref()),
            (Some("cloud_essd"), Some("PL0"))
        );
    }
}
