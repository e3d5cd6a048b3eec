//! CreateInstance and RunInstances: every parameter checked (seed codes and statuses), then one
//! write transaction that re-checks the state (VSwitch, groups, key pair, addresses, capacity),
//! inserts the records and makes the files. A failure anywhere leaves no rows and no files.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use hearth_store::disks::{self as disk_store, Disk};
use hearth_store::instances::{self as store, Instance};
use hearth_store::{security_groups, tags as store_tags, vswitches, Conn};

use super::rules::{self, Category};
use super::{capacity, files, seed, Action, Intent, Status};
use crate::catalog::{self, InstanceType};
use crate::cidr::{self, Cidr};
use crate::images::{self, Image};
use crate::tags::Tag;
use crate::{choice, client_token, hostname, ids, names, password, Cloud, Error, Result};

/// One disk as requested (`SystemDisk.*` or `DataDisk.N.*`), values as given.
#[derive(Debug, Clone, Default)]
pub struct DiskRequest {
    pub category: Option<String>,
    pub size: Option<i64>,
    pub performance_level: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub delete_with_instance: Option<bool>,
    pub device: Option<String>,
    pub encrypted: Option<bool>,
    pub bursting_enabled: Option<bool>,
    pub provisioned_iops: Option<i64>,
}

/// Billing and placement parameters: validated and recorded, none of them changes what runs.
#[derive(Debug, Clone, Default)]
pub struct Billing {
    pub instance_charge_type: Option<String>,
    pub internet_charge_type: Option<String>,
    pub internet_max_bandwidth_in: Option<i64>,
    pub internet_max_bandwidth_out: Option<i64>,
    pub period: Option<i64>,
    pub period_unit: Option<String>,
    pub auto_renew: Option<bool>,
    pub auto_renew_period: Option<i64>,
    pub spot_strategy: Option<String>,
    pub spot_price_limit: Option<String>,
    pub spot_duration: Option<i64>,
    pub spot_interruption_behavior: Option<String>,
    pub io_optimized: Option<String>,
    pub credit_specification: Option<String>,
    pub security_enhancement_strategy: Option<String>,
    pub resource_group_id: Option<String>,
    pub affinity: Option<String>,
    pub tenancy: Option<String>,
    pub deployment_set_group_no: Option<i64>,
    pub storage_set_partition_number: Option<i64>,
    pub private_pool_match_criteria: Option<String>,
    pub hibernation_configured: Option<bool>,
    pub inner_ip_address: Option<String>,
    pub vlan_id: Option<String>,
    pub node_controller_id: Option<String>,
}

/// Instance metadata options (`HttpEndpoint`, `HttpTokens`, `HttpPutResponseHopLimit`).
#[derive(Debug, Clone, Default)]
pub struct MetadataOptions {
    pub http_endpoint: Option<String>,
    pub http_tokens: Option<String>,
    pub http_put_response_hop_limit: Option<i64>,
    pub instance_metadata_tags: Option<String>,
}

pub use crate::client_token::Idempotency;

/// CreateInstance / RunInstances as decoded from the wire.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// RunInstances (start them, Amount, sequences) rather than CreateInstance.
    pub run: bool,
    pub region_id: String,
    pub zone_id: Option<String>,
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
    pub security_group_id: Option<String>,
    pub security_group_ids: Vec<String>,
    pub vswitch_id: Option<String>,
    /// Private addresses, one per instance in order (ECS: PrivateIpAddress, for one instance;
    /// CVM: VirtualPrivateCloud.PrivateIpAddresses); empty to take free ones.
    pub private_ips: Vec<String>,
    pub instance_name: Option<String>,
    /// Names already made one per instance by the caller's dialect (CVM's `{R:x}` patterns),
    /// used instead of expanding `instance_name`; still checked by the shared name rule.
    pub instance_names: Vec<String>,
    /// The rules of the API the launch came through, where the APIs differ.
    pub policy: super::Policy,
    pub host_name: Option<String>,
    pub host_names: Vec<String>,
    pub unique_suffix: bool,
    pub description: Option<String>,
    pub password: Option<String>,
    pub password_inherit: bool,
    pub key_pair_name: Option<String>,
    pub user_data: Option<String>,
    pub system_disk: DiskRequest,
    pub data_disks: Vec<(u32, DiskRequest)>,
    pub amount: Option<i64>,
    pub min_amount: Option<i64>,
    pub auto_release_time: Option<String>,
    pub deletion_protection: bool,
    pub tags: Vec<Tag>,
    pub billing: Billing,
    pub metadata: MetadataOptions,
    /// (parameter, value) for parameters naming resource kinds hearth does not have.
    pub absent: Vec<(String, String)>,
    pub client_token: Option<Idempotency>,
    pub dry_run: bool,
}

fn one_of(
    param: &str,
    value: Option<&str>,
    allowed: &[&str],
    code: &str,
    status: u16,
    default: &str,
) -> Result<String> {
    match choice::one_of(value, allowed) {
        Ok(v) => Ok(v.unwrap_or(default).to_string()),
        Err(e) => Err(Error::new(
            status,
            code,
            format!(
                "The specified parameter \"{param}\" {:?} is not valid: use one of {}.",
                e.value, e.listed
            ),
        )),
    }
}

/// The billing parameters after their rules: what gets recorded.
#[derive(Debug, Clone, Default)]
struct BillingPlan {
    instance_charge_type: String,
    internet_charge_type: String,
    bandwidth_in: i64,
    bandwidth_out: i64,
    period: i64,
    period_unit: String,
    auto_renew: bool,
    auto_renew_period: i64,
    spot_strategy: String,
    spot_price_limit: String,
    spot_duration: i64,
    spot_interruption_behavior: String,
    io_optimized: String,
    credit_specification: String,
    security_enhancement: String,
    resource_group_id: String,
}

/// The billing rules; the policy picks the prepaid periods (ECS 1, 2, 3, 6, 12 months; CVM also
/// 4–11, 24 and 36) and whether deletion protection excludes prepaid and spot (ECS only).
fn check_billing(
    b: &Billing,
    deletion_protection: bool,
    policy: &super::Policy,
) -> Result<BillingPlan> {
    let ecs = policy.ecs_billing;
    let charge = one_of(
        "InstanceChargeType",
        b.instance_charge_type.as_deref(),
        &["PrePaid", "PostPaid"],
        "InvalidInstanceChargeType.NotFound",
        404,
        "PostPaid",
    )?;
    let internet = one_of(
        "InternetChargeType",
        b.internet_charge_type.as_deref(),
        &["PayByBandwidth", "PayByTraffic"],
        "InvalidInternetChargeType.ValueNotSupported",
        400,
        "PayByTraffic",
    )?;
    let out = b.internet_max_bandwidth_out.unwrap_or(0);
    if !(0..=100).contains(&out) {
        return Err(Error::bad_request("InvalidInternetMaxBandwidthOut.Malformed", format!("The specified parameter InternetMaxBandwidthOut {out} is not valid: 0 to 100 Mbit/s.")));
    }
    let in_max = if out <= 10 { 10 } else { out };
    let bw_in = b.internet_max_bandwidth_in.unwrap_or(in_max);
    if !(1..=in_max).contains(&bw_in) {
        return Err(Error::bad_request("InvalidInternetMaxBandwidthIn.Malformed", format!("The specified parameter InternetMaxBandwidthIn {bw_in} is not valid: 1 to {in_max} Mbit/s with InternetMaxBandwidthOut {out}.")));
    }
    let unit = one_of(
        "PeriodUnit",
        b.period_unit.as_deref(),
        &["Month"],
        "InvalidPeriodUnit.ValueNotSupported",
        400,
        "Month",
    )?;
    let months = [1, 2, 3, 6, 12];
    let period = match (charge.as_str(), b.period) {
        ("PrePaid", None) => return Err(Error::bad_request("MissingParamter", "The specified parameter \"Period\" is not null: PrePaid instances need a Period (1, 2, 3, 6 or 12 months).")),
        ("PrePaid", Some(p)) if ecs && !months.contains(&p) => return Err(Error::bad_request("InvalidPeriod", format!("The specified period {p} is not valid: use 1, 2, 3, 6 or 12 (months)."))),
        (_, Some(p)) => p,
        (_, None) => 0,
    };
    let auto_renew = b.auto_renew.unwrap_or(false);
    let renew_period = match b.auto_renew_period {
        Some(p) if !months.contains(&p) => {
            return Err(Error::bad_request(
                "InvalidAutoRenewPeriod.ValueNotSupported",
                format!("The specified autoRenewPeriod {p} is not valid: use 1, 2, 3, 6 or 12."),
            ))
        }
        Some(p) => p,
        None if auto_renew && charge == "PrePaid" => 1,
        None => 0,
    };
    let spot = one_of(
        "SpotStrategy",
        b.spot_strategy.as_deref(),
        &["NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo"],
        "InvalidSpotStrategy",
        400,
        "NoSpot",
    )?;
    if spot != "NoSpot" && charge == "PrePaid" {
        return Err(Error::bad_request("InvalidSpotPrepaid", "The specified Spot type is not support PrePay Instance: SpotStrategy needs InstanceChargeType=PostPaid."));
    }
    let price = match &b.spot_price_limit {
        None => String::new(),
        Some(p) => {
            let ok = p.parse::<f64>().is_ok_and(|v| v.is_finite() && v > 0.0)
                && p.split_once('.').is_none_or(|(_, f)| f.len() <= 3);
            if !ok {
                return Err(Error::bad_request("InvalidSpotPriceLimit", format!("The specified SpotPriceLimit {p:?} is not valid: a positive price with at most 3 decimals.")));
            }
            p.clone()
        }
    };
    let duration = b.spot_duration.unwrap_or(1);
    if ![0, 1].contains(&duration) {
        return Err(Error::bad_request(
            "InvalidSpotDuration",
            format!("The specified SpotDuration {duration} is not valid: 0 or 1."),
        ));
    }
    let interruption = one_of(
        "SpotInterruptionBehavior",
        b.spot_interruption_behavior.as_deref(),
        &["Terminate", "Stop"],
        "InvalidSpotInterruptionBehavior",
        400,
        "Terminate",
    )?;
    if ecs && deletion_protection && (charge == "PrePaid" || spot != "NoSpot") {
        return Err(Error::forbidden("InvalidChargeType.ValueNotSupported", "Deletion protection is only valid for postPaid instance, not for prePaid or spot instance."));
    }
    let io = one_of(
        "IoOptimized",
        b.io_optimized.as_deref(),
        &["none", "optimized"],
        "InvalidIoOptimizedValue.ValueNotSupported",
        400,
        "optimized",
    )?;
    if io == "none" {
        return Err(Error::forbidden("IoOptimized.NotSupported", "The specified instance type must be an I/O optimized instance: every hearth instance type is (IoOptimized=optimized)."));
    }
    let credit = one_of(
        "CreditSpecification",
        b.credit_specification.as_deref(),
        &["Standard", "Unlimited"],
        "InvalidParameter.CreditSpecification",
        400,
        "",
    )?;
    let hardening = one_of(
        "SecurityEnhancementStrategy",
        b.security_enhancement_strategy.as_deref(),
        &["Active", "Deactive"],
        "InvalidParameter",
        400,
        "",
    )?;
    one_of(
        "Affinity",
        b.affinity.as_deref(),
        &["default", "host"],
        "InvalidParameter.Affinity",
        400,
        "default",
    )?;
    let tenancy = one_of(
        "Tenancy",
        b.tenancy.as_deref(),
        &["default", "host"],
        "InvalidParameter.Tenancy",
        400,
        "default",
    )?;
    if tenancy == "host" {
        return Err(Error::bad_request("NoAvaliableDedicatedHost", "There's no enough resource on the specified dedicated host: this host offers no dedicated hosts (Tenancy=host)."));
    }
    if let Some(n) = b.deployment_set_group_no {
        if !(1..=7).contains(&n) {
            return Err(Error::invalid_parameter("DeploymentSetGroupNo", "1 to 7"));
        }
    }
    if let Some(n) = b.storage_set_partition_number {
        if n < 2 {
            return Err(Error::forbidden(
                "InvalidParameter.StorageSetPartitionNumber",
                "Specified parameter StorageSetPartitionNumber is not valid: at least 2.",
            ));
        }
    }
    let criteria = one_of(
        "PrivatePoolOptions.MatchCriteria",
        b.private_pool_match_criteria.as_deref(),
        &["Open", "Target", "None"],
        "InvalidParameter",
        400,
        "None",
    )?;
    if criteria == "Target" {
        return Err(Error::bad_request("MissingParameter.PrivatePoolOptionsId", "The specified PrivatePoolOptions.Id should not be null: Target mode needs a private pool, and this host has none."));
    }
    if b.hibernation_configured == Some(true) {
        return Err(Error::bad_request("HibernationConfigured.InstanceTypeNotSupport", "The specified instance type is not support hibernation (HibernationOptions.Configured)."));
    }
    if let Some(ip) = &b.inner_ip_address {
        if ip.parse::<Ipv4Addr>().is_err() {
            return Err(Error::bad_request(
                "InvalidInnerIpAddress.Malformed",
                format!("The specified parameter \"InnerIpAddress\" {ip:?} is not valid."),
            ));
        }
        return Err(Error::bad_request("InvalidInnerIpAddress.Unusable", "The specified InnerIpAddress is already used or not found in usable ip range: InnerIpAddress is for classic-network instances, which this host does not offer; use VSwitchId and PrivateIpAddress."));
    }
    if let Some(v) = &b.vlan_id {
        return Err(Error::bad_request("OperationDenied", format!("The specified parameter \"VlanId\" {v:?} is not valid: this host offers no VLANs (classic network).")));
    }
    if let Some(n) = &b.node_controller_id {
        return Err(Error::bad_request(
            "InvalidNodeControllerId.Malformed",
            format!("The specified parameter \"NodeControllerId\" {n:?} is not valid."),
        ));
    }
    Ok(BillingPlan {
        instance_charge_type: charge,
        internet_charge_type: internet,
        bandwidth_in: bw_in,
        bandwidth_out: out,
        period,
        period_unit: unit,
        auto_renew,
        auto_renew_period: renew_period,
        spot_strategy: spot,
        spot_price_limit: price,
        spot_duration: duration,
        spot_interruption_behavior: interruption,
        io_optimized: io,
        credit_specification: credit,
        security_enhancement: hardening,
        resource_group_id: b.resource_group_id.clone().unwrap_or_default(),
    })
}

/// Checks metadata options; returns (endpoint, tokens, hop limit, tags).
pub fn check_metadata(
    m: &MetadataOptions,
    current: Option<(&str, &str, i64, &str)>,
) -> Result<(String, String, i64, String)> {
    let (e, t, h, g) = current.unwrap_or(("enabled", "optional", 1, "disabled"));
    let endpoint = one_of(
        "HttpEndpoint",
        m.http_endpoint.as_deref(),
        &["enabled", "disabled"],
        "InvalidHttpEndpoint.NotSupported",
        400,
        e,
    )?;
    let tokens = one_of(
        "HttpTokens",
        m.http_tokens.as_deref(),
        &["optional", "required"],
        "InvalidHttpTokens.NotSupported",
        400,
        t,
    )?;
    let hops = m.http_put_response_hop_limit.unwrap_or(h);
    if !(1..=64).contains(&hops) {
        return Err(Error::bad_request("InvalidHttpPutResponseHopLimit.NotSupported", format!("The specified HttpPutResponseHopLimit {hops} not supported, more than 1 and less than 64 is reasonable.")));
    }
    let tags = one_of(
        "InstanceMetadataTags",
        m.instance_metadata_tags.as_deref(),
        &["enabled", "disabled"],
        "InvalidParameter",
        400,
        g,
    )?;
    Ok((endpoint, tokens, hops, tags))
}

/// A disk to create: its record (minus IDs and paths) and where its bytes come from.
#[derive(Debug, Clone)]
struct DiskPlan {
    category: Category,
    size_gib: i64,
    performance_level: String,
    name: String,
    description: String,
    delete_with_instance: bool,
}

/// Everything a launch needs after the stateless checks.
struct Plan {
    itype: InstanceType,
    image: Image,
    zone_id: String,
    system: DiskPlan,
    data: Vec<DiskPlan>,
    amount: i64,
    min_amount: i64,
    names: Vec<String>,
    hostnames: Vec<Option<String>>,
    description: String,
    password_hash: String,
    user_data: Vec<u8>,
    auto_release_time: String,
    billing: BillingPlan,
    metadata: (String, String, i64, String),
    groups: Vec<String>,
}

fn check_disk_texts(param: &str, d: &DiskRequest) -> Result<(String, String)> {
    if let Some(name) = &d.name {
        names::check_name(
            &format!("{param}.DiskName"),
            name,
            "InvalidDiskName.Malformed",
        )?;
    }
    if let Some(text) = &d.description {
        names::check_description(&format!("{param}.Description"), text)
            .map_err(|e| Error::bad_request("InvalidDiskDescription.Malformed", e.message))?;
    }
    if d.encrypted == Some(true) {
        return Err(Error::bad_request("InvalidParameter.EncryptedNotSupported", format!("The specified parameter {param}.Encrypted is not supported: this host has no KMS, so disks cannot be encrypted.")));
    }
    if let Some(iops) = d.provisioned_iops {
        if iops < 0 {
            return Err(Error::invalid_parameter(
                &format!("{param}.ProvisionedIops"),
                "a non-negative number",
            ));
        }
    }
    Ok((
        d.name.clone().unwrap_or_default(),
        d.description.clone().unwrap_or_default(),
    ))
}

/// UserData limits per action: CreateInstance 32 KiB (seed 001), RunInstances 16 KiB (its seed).
fn user_data_limit(run: bool) -> usize {
    if run {
        16 * 1024
    } else {
        32 * 1024
    }
}

fn check_request(cloud: &Cloud, req: &Launch) -> Result<Plan> {
    cloud.check_region(&req.region_id)?;
    if let Some((param, value)) = req.absent.first() {
        if let Some(e) = rules::absent_resource(param, value) {
            return Err(e);
        }
    }
    let image_id = req
        .image_id
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("ImageId"))?;
    let type_id = req
        .instance_type
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("InstanceType"))?;
    let itype = catalog::instance_type(&cloud.config, type_id).ok_or_else(|| {
        Error::bad_request("InvalidInstanceType.ValueNotSupported", format!("The specified InstanceType {type_id:?} does not exist or beyond the permitted range: see DescribeInstanceTypes."))
    })?;
    if let Some(z) = &req.zone_id {
        if !cloud.config.zones.iter().any(|zone| &zone.id == z) {
            return Err(Error::not_found(
                "InvalidZoneId.NotFound",
                format!("The specified ZoneId {z:?} does not exist."),
            ));
        }
    }
    let image = images::image(cloud, image_id)?.ok_or_else(|| {
        Error::not_found(
            "InvalidImageId.NotFound",
            format!("The specified ImageId {image_id:?} does not exist: see DescribeImages."),
        )
    })?;
    if !image.available {
        return Err(Error::forbidden("OperationDenied.ImageNotValid", format!("The specified Image {image_id:?} is disabled or is deleted: its file is missing from the image store.")));
    }
    let windows = image.os_type == "windows";
    // Disks.
    let s = &req.system_disk;
    let (system_cat, system_size) =
        rules::system_disk(s.category.as_deref(), s.size, image.size_gib as i64)?;
    let system_pl = rules::performance_level(
        "SystemDisk.PerformanceLevel",
        system_cat.name,
        s.performance_level.as_deref(),
    )?;
    if system_cat.name == "cloud_essd" && system_size < rules::essd_min_gib(&system_pl) {
        return Err(Error::forbidden("OperationDenied.PerformanceLevelNotMatch", format!("The specified SystemDisk.PerformanceLevel {system_pl} and SystemDisk.Size {system_size} do not match: {system_pl} needs at least {} GiB.", rules::essd_min_gib(&system_pl))));
    }
    let (system_name, system_description) = check_disk_texts("SystemDisk", s)?;
    if req.data_disks.len() > rules::MAX_DATA_DISKS
        || req
            .data_disks
            .iter()
            .any(|(n, _)| *n as usize > rules::MAX_DATA_DISKS)
    {
        return Err(Error::bad_request("InstanceDiskNumber.LimitExceed", format!("The total number of specified disk in an instance exceeds: at most {} data disks, DataDisk.1 to DataDisk.{}.", rules::MAX_DATA_DISKS, rules::MAX_DATA_DISKS)));
    }
    let mut data = Vec::new();
    let mut local = Vec::new();
    for (n, d) in &req.data_disks {
        let param = format!("DataDisk.{n}");
        let category = d.category.as_deref().unwrap_or("cloud_efficiency");
        let pl = rules::performance_level(
            &format!("{param}.PerformanceLevel"),
            category,
            d.performance_level.as_deref(),
        )?;
        let (c, size) = rules::data_disk(*n, d.category.as_deref(), d.size, &pl)?;
        if let Some(dev) = &d.device {
            rules::check_device(*n, dev)?;
        }
        let (name, description) = check_disk_texts(&param, d)?;
        local.push((*n, c.name, size, d.delete_with_instance));
        data.push(DiskPlan {
            category: c,
            size_gib: size,
            performance_level: pl,
            name,
            description,
            delete_with_instance: d.delete_with_instance.unwrap_or(true),
        });
    }
    rules::local_ssd(system_cat.name, &local)?;
    // Amount and names.
    let amount = if req.run { req.amount.unwrap_or(1) } else { 1 };
    let max_amount = req.policy.max_amount;
    if !(1..=max_amount).contains(&amount) {
        return Err(Error::invalid_parameter(
            "Amount",
            format!("{amount} is outside 1 to {max_amount}"),
        ));
    }
    // MinAmount is a RunInstances parameter; CreateInstance makes exactly one.
    let min_amount = if req.run {
        req.min_amount.unwrap_or(amount)
    } else {
        1
    };
    if !(1..=amount).contains(&min_amount) {
        return Err(Error::invalid_parameter(
            "MinAmount",
            format!("{min_amount} must be from 1 to Amount ({amount})"),
        ));
    }
    let n = amount as usize;
    let names = match &req.instance_name {
        _ if !req.instance_names.is_empty() => {
            if req.instance_names.len() != n {
                return Err(Error::internal(format!(
                    "{} instance names for {n} instances",
                    req.instance_names.len()
                )));
            }
            for one in &req.instance_names {
                names::check_name("InstanceName", one, "InvalidInstanceName.Malformed")?;
            }
            req.instance_names.clone()
        }
        Some(name) => {
            let list = rules::name_sequence("InstanceName", name, n, req.unique_suffix)?;
            for one in &list {
                names::check_name("InstanceName", one, "InvalidInstanceName.Malformed")?;
            }
            list
        }
        None => vec![String::new(); n],
    };
    let hostnames: Vec<Option<String>> = if !req.host_names.is_empty() {
        if req.host_names.len() != n {
            return Err(Error::invalid_parameter(
                "HostNames",
                format!(
                    "give one host name per instance ({n}), got {}",
                    req.host_names.len()
                ),
            ));
        }
        req.host_names.iter().cloned().map(Some).collect()
    } else {
        match &req.host_name {
            Some(h) => rules::name_sequence("HostName", h, n, req.unique_suffix)?
                .into_iter()
                .map(Some)
                .collect(),
            None => vec![None; n],
        }
    };
    for h in hostnames.iter().flatten() {
        hostname::ECS.check(h, windows)?;
    }
    if let Some(d) = &req.description {
        names::check_description("Description", d)?;
    }
    // Credentials and user data.
    if req.password_inherit && req.password.is_some() {
        return Err(Error::bad_request(
            "InvalidPasswordParam.Mismatch",
            "The input password should be null when passwdInherit is true.",
        ));
    }
    let password_hash = match &req.password {
        Some(p) => {
            req.policy.password.check(p, windows)?;
            password::hash(p)
        }
        None => String::new(),
    };
    if windows && req.key_pair_name.is_some() {
        return Err(Error::forbidden(
            "DependencyViolation.WindowsInstance",
            "The instance creating is window, cannot use ssh key pair to login.",
        ));
    }
    let user_data = match &req.user_data {
        Some(u) => rules::user_data(u, user_data_limit(req.run))?,
        None => Vec::new(),
    };
    let auto_release_time = match &req.auto_release_time {
        Some(t) => rules::auto_release_time(t, chrono::Utc::now())?,
        None => String::new(),
    };
    let billing = check_billing(&req.billing, req.deletion_protection, &req.policy)?;
    let metadata = check_metadata(&req.metadata, None)?;
    if let Some(t) = &req.client_token {
        client_token::check(&t.token)?;
    }
    // Security groups: SecurityGroupId or SecurityGroupIds.N, not both.
    let groups = match (&req.security_group_id, req.security_group_ids.is_empty()) {
        (Some(_), false) => {
            return Err(Error::invalid_parameter(
                "SecurityGroupIds",
                "give SecurityGroupId or SecurityGroupIds.N, not both",
            ))
        }
        (Some(g), true) => vec![g.clone()],
        (None, false) => {
            let mut list = req.security_group_ids.clone();
            list.dedup();
            if list.len() > 5 {
                return Err(Error::invalid_parameter(
                    "SecurityGroupIds",
                    "at most 5 security groups",
                ));
            }
            list
        }
        (None, true) => return Err(Error::missing_parameter("SecurityGroupId")),
    };
    if !req.private_ips.is_empty() && req.private_ips.len() as i64 != amount {
        return Err(Error::invalid_parameter(
            "PrivateIpAddress",
            format!(
                "give one address per instance ({amount}), not {}",
                req.private_ips.len()
            ),
        ));
    }
    let system = DiskPlan {
        category: system_cat,
        size_gib: system_size,
        performance_level: system_pl,
        name: system_name,
        description: system_description,
        delete_with_instance: true,
    };
    Ok(Plan {
        itype,
        image,
        zone_id: req.zone_id.clone().unwrap_or_default(),
        system,
        data,
        amount,
        min_amount,
        names,
        hostnames,
        description: req.description.clone().unwrap_or_default(),
        password_hash,
        user_data,
        auto_release_time,
        billing,
        metadata,
        groups,
    })
}

/// The VSwitch, its block, and the address given (checked against the block and the store).
struct Network {
    vswitch: hearth_store::vswitches::VSwitch,
    block: Cidr,
}

async fn check_network(conn: &mut Conn, req: &Launch, plan: &mut Plan) -> Result<Network> {
    let vswitch_id = req
        .vswitch_id
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("VSwitchId"))?;
    let vswitch = vswitches::get(conn, vswitch_id).await?.ok_or_else(|| {
        Error::not_found(
            "InvalidVSwitchId.NotFound",
            format!("Specified virtual switch {vswitch_id:?} does not exist."),
        )
    })?;
    if plan.zone_id.is_empty() {
        plan.zone_id = vswitch.zone_id.clone();
    } else if plan.zone_id != vswitch.zone_id {
        return Err(Error::bad_request("InvalidParameter.Mismatch", format!("Specified virtual switch {vswitch_id} is not in the specified zone {}: it is in {}.", plan.zone_id, vswitch.zone_id)));
    }
    for g in &plan.groups {
        let group = security_groups::get_group(conn, &req.region_id, g)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    "InvalidSecurityGroupId.NotFound",
                    format!("The specified SecurityGroupId {g:?} does not exist."),
                )
            })?;
        if group.vpc_id != vswitch.vpc_id {
            return Err(Error::bad_request("InvalidParameter.Mismatch", format!("Specified security group {g} and virtual switch {vswitch_id} are not in the same VPC ({} and {}).", if group.vpc_id.is_empty() { "classic" } else { &group.vpc_id }, vswitch.vpc_id)));
        }
    }
    let block = Cidr::parse(&vswitch.cidr_block).map_err(Error::internal)?;
    let mut seen = std::collections::HashSet::new();
    for ip in &req.private_ips {
        if !seen.insert(ip) {
            return Err(Error::bad_request(
                "InvalidPrivateIpAddress.Duplicated",
                format!("Specified private IP address {ip} is duplicated: it is given twice."),
            ));
        }
        let addr: Ipv4Addr = ip.parse().map_err(|_| {
            Error::bad_request(
                "InvalidPrivateIpAddress.Malformed",
                format!("Specified private IP address {ip:?} is invalid."),
            )
        })?;
        let usable = cidr::usable(&block);
        let inside =
            usable.is_some_and(|(a, b)| (u32::from(a)..=u32::from(b)).contains(&u32::from(addr)));
        if !inside {
            let why = if block.contains_addr(u32::from(addr)) {
                "it is one of the VSwitch's reserved addresses (network, gateway and the last three)"
            } else {
                "it is not in the CIDR block of the virtual switch"
            };
            return Err(Error::bad_request("InvalidPrivateIpAddress", format!("Specified private IP address {addr} cannot be used in {vswitch_id} ({}): {why}.", vswitch.cidr_block)));
        }
        if store::addresses_in_vswitch(conn, vswitch_id)
            .await?
            .iter()
            .any(|a| a == ip)
        {
            return Err(Error::bad_request("InvalidPrivateIpAddress.Duplicated", format!("Specified private IP address {addr} is duplicated: another instance in {vswitch_id} has it.")));
        }
    }
    Ok(Network { vswitch, block })
}

/// The lowest free usable addresses of the block, `count` of them (fewer if it runs out).
fn free_addresses(block: &Cidr, taken: &[String], count: usize) -> Vec<Ipv4Addr> {
    let Some((first, last)) = cidr::usable(block) else {
        return Vec::new();
    };
    let taken: std::collections::HashSet<&str> = taken.iter().map(String::as_str).collect();
    (u32::from(first)..=u32::from(last))
        .map(Ipv4Addr::from)
        .filter(|a| !taken.contains(a.to_string().as_str()))
        .take(count)
        .collect()
}

async fn unique_mac(conn: &mut Conn, id: &str) -> Result<String> {
    for attempt in 0..64 {
        let mac = rules::mac_for(id, attempt);
        if !store::mac_in_use(conn, &mac).await? {
            return Ok(mac);
        }
    }
    Err(Error::internal("no free MAC address after 64 attempts"))
}

/// Creates instances (CreateInstance: one, Stopped; RunInstances: Amount, Pending + 'start')
/// and returns their IDs.
pub async fn launch(cloud: &Cloud, req: &Launch) -> Result<Vec<String>> {
    let mut plan = check_request(cloud, req)?;
    let action = if req.run { Action::Run } else { Action::Create };
    let mut tx = cloud.store.write().await?;
    let token = req.client_token.as_ref();
    if let Some(t) = token {
        if let Some(done) = client_token::replay::<Vec<String>>(
            &mut tx,
            action.name(),
            Some(&t.token),
            &t.fingerprint,
        )
        .await?
        {
            return Ok(done);
        }
    }
    let net = check_network(&mut tx, req, &mut plan).await?;
    let public_key = match &req.key_pair_name {
        Some(name) => Some(
            store::key_pair_public_key(&mut tx, name)
                .await?
                .ok_or_else(|| {
                    Error::not_found(
                        "InvalidKeyPairName.NotFound",
                        format!(
                            "The specified KeyPairName {name:?} does not exist in our records."
                        ),
                    )
                })?,
        ),
        None => None,
    };
    let taken = store::addresses_in_vswitch(&mut tx, &net.vswitch.vswitch_id).await?;
    let mut count = plan.amount;
    if req.run {
        let limits = capacity::host_limits(&cloud.config.capacity);
        let used = store::usage(&mut tx).await?;
        let each = capacity::Resources {
            vcpus: plan.itype.vcpus as i64,
            memory_mib: plan.itype.memory_mib as i64,
        };
        count = capacity::how_many_fit(limits, used, each, plan.amount);
        if count < plan.min_amount {
            return Err(capacity::no_stock(&format!(
                "{} instance(s) of {} ({} vCPUs, {} MiB each) do not fit: {} of {} vCPUs and {} of {} MiB are in use",
                plan.min_amount, plan.itype.id, each.vcpus, each.memory_mib, used.vcpus, limits.vcpus, used.memory_mib, limits.memory_mib
            )));
        }
    }
    let addresses: Vec<Ipv4Addr> = if req.private_ips.is_empty() {
        free_addresses(&net.block, &taken, count as usize)
    } else {
        req.private_ips
            .iter()
            .map(|ip| ip.parse().map_err(Error::internal))
            .collect::<Result<_>>()?
    };
    if (addresses.len() as i64) < count {
        if (addresses.len() as i64) < plan.min_amount {
            return Err(Error::forbidden(
                "QuotaExceeded.PrivateIpAddress",
                format!(
                    "Don't have enough private IPs in this switch: {} has {} free addresses.",
                    net.vswitch.vswitch_id,
                    addresses.len()
                ),
            ));
        }
        count = addresses.len() as i64;
    }
    if req.dry_run {
        return Err(Error::dry_run_passed());
    }
    let mut made: Vec<PathBuf> = Vec::new();
    let result = create_all(
        cloud,
        &mut tx,
        req,
        &plan,
        &net,
        public_key.as_deref(),
        &addresses[..count as usize],
        &mut made,
    )
    .await;
    let ids = match result {
        Ok(ids) => ids,
        Err(e) => {
            drop(tx);
            files::remove_all(&made);
            return Err(e);
        }
    };
    if let Some(t) = token {
        if let Err(e) =
            client_token::remember(&mut tx, action.name(), Some(&t.token), &t.fingerprint, &ids)
                .await
        {
            drop(tx);
            files::remove_all(&made);
            return Err(e);
        }
    }
    if let Err(e) = tx.commit().await {
        files::remove_all(&made);
        return Err(e.into());
    }
    if req.run {
        cloud.host.instances_changed();
    }
    Ok(ids)
}

#[allow(clippy::too_many_arguments)]
async fn create_all(
    cloud: &Cloud,
    tx: &mut Conn,
    req: &Launch,
    plan: &Plan,
    net: &Network,
    public_key: Option<&str>,
    addresses: &[Ipv4Addr],
    made: &mut Vec<PathBuf>,
) -> Result<Vec<String>> {
    let now = ids::now_utc();
    let mut created = Vec::new();
    for (i, addr) in addresses.iter().enumerate() {
        let id = ids::new_id("i");
        let mac = unique_mac(tx, &id).await?;
        let hostname = plan.hostnames[i].clone().unwrap_or_else(|| id.clone());
        let name = if plan.names[i].is_empty() {
            id.clone()
        } else {
            plan.names[i].clone()
        };
        let (status, intent) = if req.run {
            (Status::Pending, Some(Intent::Start))
        } else {
            (Status::Stopped, None)
        };
        let b = &plan.billing;
        let record = Instance {
            id: id.clone(),
            region_id: req.region_id.clone(),
            zone_id: plan.zone_id.clone(),
            instance_type: plan.itype.id.clone(),
            vcpus: plan.itype.vcpus as i64,
            memory_mib: plan.itype.memory_mib as i64,
            image_id: plan.image.id.clone(),
            os_type: plan.image.os_type.clone(),
            hostname: hostname.clone(),
            name,
            description: plan.description.clone(),
            vpc_id: net.vswitch.vpc_id.clone(),
            vswitch_id: net.vswitch.vswitch_id.clone(),
            private_ip: addr.to_string(),
            mac: mac.clone(),
            key_pair_name: req.key_pair_name.clone().unwrap_or_default(),
            password_hash: plan.password_hash.clone(),
            user_data: req.user_data.clone().unwrap_or_default(),
            status,
            intent,
            stopped_mode: "Not-applicable".into(),
            deletion_protection: req.deletion_protection,
            auto_release_time: plan.auto_release_time.clone(),
            instance_charge_type: b.instance_charge_type.clone(),
            internet_charge_type: b.internet_charge_type.clone(),
            internet_max_bandwidth_in: b.bandwidth_in,
            internet_max_bandwidth_out: b.bandwidth_out,
            period: b.period,
            period_unit: b.period_unit.clone(),
            auto_renew: b.auto_renew,
            auto_renew_period: b.auto_renew_period,
            spot_strategy: b.spot_strategy.clone(),
            spot_price_limit: b.spot_price_limit.clone(),
            spot_duration: b.spot_duration,
            spot_interruption_behavior: b.spot_interruption_behavior.clone(),
            io_optimized: b.io_optimized.clone(),
            credit_specification: b.credit_specification.clone(),
            security_enhancement: b.security_enhancement.clone(),
            resource_group_id: b.resource_group_id.clone(),
            http_endpoint: plan.metadata.0.clone(),
            http_tokens: plan.metadata.1.clone(),
            http_put_hop_limit: plan.metadata.2,
            metadata_tags: plan.metadata.3.clone(),
            creation_time: now.clone(),
            start_time: String::new(),
            launch_failed: false,
        };
        // The unique index on (vswitch_id, private_ip) is the last word when another hearth
        // process shares the database: a lost race is the address being taken, not a 500.
        store::insert(tx, &record, &plan.groups).await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Error::bad_request(
                "InvalidPrivateIpAddress.Duplicated",
                format!("Specified private IP address {addr} is duplicated: another request took it at the same time; retry."),
            ),
            _ => Error::from(e),
        })?;
        store::adjust_vswitch_free(tx, &record.vswitch_id, -1).await?;
        store_tags::set(tx, store::TAG_TYPE, &id, &req.tags).await?;
        // Disks: records, then files.
        let mut disk_files: Vec<(PathBuf, u64, bool)> = Vec::new();
        for (index, d) in std::iter::once(&plan.system)
            .chain(plan.data.iter())
            .enumerate()
        {
            let disk_id = ids::new_id("d");
            let path = files::disk_path(&cloud.data_dir, &disk_id);
            let disk = Disk {
                id: disk_id.clone(),
                instance_id: Some(id.clone()),
                region_id: req.region_id.clone(),
                zone_id: plan.zone_id.clone(),
                disk_type: if index == 0 { "system" } else { "data" }.into(),
                category: d.category.name.into(),
                size_gib: d.size_gib,
                performance_level: d.performance_level.clone(),
                device: rules::device_name(index),
                order_index: index as i64,
                delete_with_instance: d.delete_with_instance,
                name: d.name.clone(),
                description: d.description.clone(),
                image_id: if index == 0 {
                    plan.image.id.clone()
                } else {
                    String::new()
                },
                path: path.to_string_lossy().into_owned(),
                status: "In_use".into(),
                creation_time: now.clone(),
                attached_time: now.clone(),
                detached_time: String::new(),
            };
            disk_store::insert(tx, &disk).await?;
            store_tags::set(tx, disk_store::TAG_TYPE, &disk_id, &req.tags).await?;
            disk_files.push((path, d.size_gib as u64 * files::GIB, index == 0));
        }
        let s = seed::Seed {
            instance_id: id.clone(),
            hostname,
            mac,
            address: *addr,
            prefix: net.block.prefix(),
            gateway: cidr::gateway(&net.block),
            user_data: plan.user_data.clone(),
            public_key: public_key.map(String::from),
            password_hash: (!plan.password_hash.is_empty()).then(|| plan.password_hash.clone()),
        };
        let dir = files::instance_dir(&cloud.data_dir, &id);
        made.push(dir.clone());
        made.extend(disk_files.iter().map(|(p, _, _)| p.clone()));
        let image_path = plan.image.path.clone();
        let data_dir = cloud.data_dir.clone();
        let id_for_files = id.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for (path, size, system) in &disk_files {
                if *system {
                    files::clone_image(&image_path, path, *size)?;
                } else {
                    files::sparse_file(path, *size)?;
                }
            }
            let volume = seed::volume(&s).map_err(std::io::Error::other)?;
            files::write_atomic(&files::seed_path(&data_dir, &id_for_files), &volume)
        })
        .await
        .map_err(Error::internal)?
        .map_err(|e| {
            Error::internal(format!("the files of instance {id} could not be made: {e}"))
        })?;
        created.push(id);
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::super::Policy;

    /// CVM's billing: any Period, DeletionProtection on any charge type.
    const ANY_PERIOD: Policy = Policy {
        ecs_billing: false,
        ..Policy::ECS
    };
    use super::*;

    #[test]
    fn addresses_skip_taken_and_reserved() {
        let block = Cidr::parse("192.168.0.0/29").unwrap();
        // /29: .0 network, .1 gateway, .5-.7 reserved: .2, .3, .4 usable.
        let got = free_addresses(&block, &["192.168.0.3".into()], 5);
        assert_eq!(
            got,
            [Ipv4Addr::new(192, 168, 0, 2), Ipv4Addr::new(192, 168, 0, 4)]
        );
    }

    #[test]
    fn billing_rules() {
        let ok = check_billing(&Billing::default(), true, &Policy::ECS).unwrap();
        assert_eq!(
            (ok.instance_charge_type.as_str(), ok.bandwidth_in),
            ("PostPaid", 10)
        );
        let code = |b: Billing, p: bool| check_billing(&b, p, &Policy::ECS).unwrap_err().code;
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("Free".into()),
                    ..Default::default()
                },
                false
            ),
            "InvalidInstanceChargeType.NotFound"
        );
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("PrePaid".into()),
                    ..Default::default()
                },
                false
            ),
            "MissingParamter"
        );
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("PrePaid".into()),
                    period: Some(5),
                    ..Default::default()
                },
                false
            ),
            "InvalidPeriod"
        );
        assert_eq!(
            code(
                Billing {
                    instance_charge_type: Some("PrePaid".into()),
                    period: Some(1),
                    ..Default::default()
                },
                true
            ),
            "InvalidChargeType.ValueNotSupported"
        );
        assert_eq!(
            code(
                Billing {
                    internet_max_bandwidth_out: Some(101),
                    ..Default::default()
                },
                false
            ),
            "InvalidInternetMaxBandwidthOut.Malformed"
        );
        assert_eq!(
            code(
                Billing {
                    spot_price_limit: Some("0.1234".into()),
                    ..Default::default()
                },
                false
            ),
            "InvalidSpotPriceLimit"
        );
        assert_eq!(
            code(
                Billing {
                    spot_strategy: Some("Cheap".into()),
                    ..Default::default()
                },
                false
            ),
            "InvalidSpotStrategy"
        );
        // CVM: its own prepaid periods (checked by the CVM rules), deletion protection for any
        // charge type.
        let prepaid = |period| Billing {
            instance_charge_type: Some("PrePaid".into()),
            period: Some(period),
            ..Default::default()
        };
        assert!(check_billing(&prepaid(36), true, &ANY_PERIOD).is_ok());
        assert_eq!(
            check_billing(&prepaid(36), false, &Policy::ECS)
                .unwrap_err()
                .code,
            "InvalidPeriod"
        );
    }
}
