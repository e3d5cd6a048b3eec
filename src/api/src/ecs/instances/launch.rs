//! CreateInstance and RunInstances on the wire: every documented parameter decoded into the
//! cloud's `Launch` (types checked here, rules in the cloud), answered as the SDK models expect.

use std::collections::BTreeMap;

use hearth_cloud::instances::{self, Billing, DiskRequest, Launch, MetadataOptions};
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use crate::params::Params;

fn owned(v: Option<&str>) -> Option<String> {
    v.map(String::from)
}

/// Typed getters over one `Name.N.*` object.
struct Fields<'a> {
    prefix: String,
    map: &'a BTreeMap<String, String>,
}

impl Fields<'_> {
    fn name(&self, field: &str) -> String {
        format!("{}.{field}", self.prefix)
    }

    fn opt(&self, field: &str) -> Option<String> {
        self.map.get(field).filter(|v| !v.is_empty()).cloned()
    }

    fn int(&self, field: &str) -> Result<Option<i64>> {
        match self.opt(field) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                Error::invalid_parameter(
                    &self.name(field),
                    format!("expected an integer, got {v:?}"),
                )
            }),
        }
    }

    fn boolean(&self, field: &str) -> Result<Option<bool>> {
        match self.opt(field).as_deref() {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Error::invalid_parameter(
                &self.name(field),
                format!("expected true or false, got {v:?}"),
            )),
        }
    }
}

const DISK_FIELDS: &[&str] = &[
    "Category",
    "Size",
    "PerformanceLevel",
    "DiskName",
    "Description",
    "DeleteWithInstance",
    "Device",
    "Encrypted",
    "EncryptAlgorithm",
    "KMSKeyId",
    "SnapshotId",
    "StorageClusterId",
    "AutoSnapshotPolicyId",
    "BurstingEnabled",
    "ProvisionedIops",
];

/// Fields that name resources hearth does not have: collected for the cloud's NotFound codes.
const ABSENT_DISK_FIELDS: &[&str] = &[
    "SnapshotId",
    "KMSKeyId",
    "StorageClusterId",
    "AutoSnapshotPolicyId",
];

fn disk(f: &Fields, absent: &mut Vec<(String, String)>) -> Result<DiskRequest> {
    for key in f.map.keys() {
        if !DISK_FIELDS.contains(&key.as_str()) {
            return Err(Error::invalid_parameter(
                &f.name(key),
                format!("unknown field: use one of {}", DISK_FIELDS.join(", ")),
            ));
        }
    }
    for field in ABSENT_DISK_FIELDS {
        if let Some(v) = f.opt(field) {
            absent.push((f.name(field), v));
        }
    }
    if let Some(v) = f.opt("EncryptAlgorithm") {
        return Err(Error::bad_request(
            "InvalidEncryptAlgorithm",
            format!(
                "The specified parameter {} {v:?} is not valid: this host cannot encrypt disks.",
                f.name("EncryptAlgorithm")
            ),
        ));
    }
    Ok(DiskRequest {
        category: f.opt("Category"),
        size: f.int("Size")?,
        performance_level: f.opt("PerformanceLevel"),
        name: f.opt("DiskName"),
        description: f.opt("Description"),
        delete_with_instance: f.boolean("DeleteWithInstance")?,
        device: f.opt("Device"),
        encrypted: f.boolean("Encrypted")?,
        bursting_enabled: f.boolean("BurstingEnabled")?,
        provisioned_iops: f.int("ProvisionedIops")?,
    })
}

/// Top-level parameters naming resources hearth does not have, in the order they are checked.
const ABSENT: &[&str] = &[
    "DedicatedHostId",
    "DedicatedHostClusterId",
    "HpcClusterId",
    "DeploymentSetId",
    "LaunchTemplateId",
    "LaunchTemplateName",
    "RamRoleName",
    "ClusterId",
    "StorageSetId",
    "PrivatePoolOptions.Id",
    "ManagedHostId",
];

/// Features hearth does not offer, refused rather than ignored.
fn refuse_unsupported(p: &Params) -> Result<()> {
    for prefix in ["NetworkInterface.", "Ipv6Address.", "Arn."] {
        if let Some((k, _)) = p
            .iter()
            .find(|(k, v)| k.starts_with(prefix) && !v.is_empty())
        {
            let code = if prefix == "Arn." {
                "InvalidParameter.Arns"
            } else {
                "InvalidParameter"
            };
            return Err(Error::bad_request(code, format!("The specified parameter {k:?} is not supported: this host gives each instance one primary IPv4 network interface.")));
        }
    }
    if let Some(n) = p.int("Ipv6AddressCount")? {
        if n > 0 {
            return Err(Error::bad_request("InvalidParameter", "The specified parameter \"Ipv6AddressCount\" is not supported: this host offers no IPv6."));
        }
    }
    Ok(())
}

/// `Tag.N.Key`/`Tag.N.Value`, or the older spellings `Tag.N.key`/`Tag.N.value` that all three
/// CreateInstance editions still list (the capitalized one wins when both are given).
fn tags(p: &Params) -> Result<Vec<hearth_cloud::tags::Tag>> {
    let raw = p
        .objects("Tag")?
        .into_iter()
        .map(|(n, mut f)| {
            let key = f.remove("Key").or_else(|| f.remove("key"));
            let value = f.remove("Value").or_else(|| f.remove("value"));
            (n, key, value)
        })
        .collect::<Vec<_>>();
    hearth_cloud::tags::validate(&raw)
}

/// Decodes CreateInstance (`run` false) or RunInstances (`run` true).
pub fn decode(p: &Params, run: bool) -> Result<Launch> {
    let region_id = p.required("RegionId")?.to_string();
    refuse_unsupported(p)?;
    let mut absent: Vec<(String, String)> = ABSENT
        .iter()
        .filter_map(|name| p.opt(name).map(|v| (name.to_string(), v.to_string())))
        .collect();
    if let Some(family) = p.opt("ImageFamily") {
        if p.opt("ImageId").is_some() {
            return Err(Error::bad_request(
                "UnexpectedImageFamily.ImageIdSupplied",
                "The input parameter ImageFamily must be null when image id is set.",
            ));
        }
        absent.push(("ImageFamily".into(), family.into()));
    }
    let system_map: BTreeMap<String, String> = p
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("SystemDisk.")
                .map(|f| (f.to_string(), v.to_string()))
        })
        .collect();
    let system_disk = disk(
        &Fields {
            prefix: "SystemDisk".into(),
            map: &system_map,
        },
        &mut absent,
    )?;
    let mut data_disks = Vec::new();
    for (n, map) in p.objects("DataDisk")? {
        let d = disk(
            &Fields {
                prefix: format!("DataDisk.{n}"),
                map: &map,
            },
            &mut absent,
        )?;
        data_disks.push((n, d));
    }
    let billing = Billing {
        instance_charge_type: owned(p.opt("InstanceChargeType")),
        internet_charge_type: owned(p.opt("InternetChargeType")),
        internet_max_bandwidth_in: p.int("InternetMaxBandwidthIn")?,
        internet_max_bandwidth_out: p.int("InternetMaxBandwidthOut")?,
        period: p.int("Period")?,
        period_unit: owned(p.opt("PeriodUnit")),
        auto_renew: p.boolean("AutoRenew")?,
        auto_renew_period: p.int("AutoRenewPeriod")?,
        spot_strategy: owned(p.opt("SpotStrategy")),
        spot_price_limit: owned(p.opt("SpotPriceLimit")),
        spot_duration: p.int("SpotDuration")?,
        spot_interruption_behavior: owned(p.opt("SpotInterruptionBehavior")),
        io_optimized: owned(p.opt("IoOptimized")),
        credit_specification: owned(p.opt("CreditSpecification")),
        security_enhancement_strategy: owned(p.opt("SecurityEnhancementStrategy")),
        resource_group_id: owned(p.opt("ResourceGroupId")),
        affinity: owned(p.opt("Affinity")),
        tenancy: owned(p.opt("Tenancy")),
        deployment_set_group_no: p.int("DeploymentSetGroupNo")?,
        storage_set_partition_number: p.int("StorageSetPartitionNumber")?,
        private_pool_match_criteria: owned(p.opt("PrivatePoolOptions.MatchCriteria")),
        hibernation_configured: p.boolean("HibernationOptions.Configured")?,
        inner_ip_address: owned(p.opt("InnerIpAddress")),
        vlan_id: owned(p.opt("VlanId")),
        node_controller_id: owned(p.opt("NodeControllerId")),
    };
    // Accepted and checked for type; they change nothing here.
    p.boolean("UseAdditionalService")?;
    p.boolean("AutoPay")?;
    let metadata = MetadataOptions {
        http_endpoint: owned(p.opt("HttpEndpoint")),
        http_tokens: owned(p.opt("HttpTokens")),
        http_put_response_hop_limit: p.int("HttpPutResponseHopLimit")?,
        instance_metadata_tags: owned(p.opt("InstanceMetadataTags")),
    };
    Ok(Launch {
        run,
        region_id,
        zone_id: owned(p.opt("ZoneId")),
        image_id: owned(p.opt("ImageId")),
        instance_type: owned(p.opt("InstanceType")),
        security_group_id: owned(p.opt("SecurityGroupId")),
        security_group_ids: p.list("SecurityGroupIds")?,
        vswitch_id: owned(p.opt("VSwitchId")),
        private_ips: p
            .opt("PrivateIpAddress")
            .map(String::from)
            .into_iter()
            .collect(),
        instance_name: owned(p.opt("InstanceName")),
        host_name: owned(p.opt("HostName")),
        host_names: p.list("HostNames")?,
        unique_suffix: p.boolean("UniqueSuffix")?.unwrap_or(false),
        description: owned(p.opt("Description")),
        password: owned(p.opt("Password")),
        password_inherit: p.boolean("PasswordInherit")?.unwrap_or(false),
        key_pair_name: owned(p.opt("KeyPairName")),
        user_data: owned(p.opt("UserData")),
        system_disk,
        data_disks,
        amount: p.int("Amount")?,
        min_amount: p.int("MinAmount")?,
        auto_release_time: owned(p.opt("AutoReleaseTime")),
        deletion_protection: p.boolean("DeletionProtection")?.unwrap_or(false),
        tags: tags(p)?,
        billing,
        metadata,
        absent,
        client_token: p.idempotency(),
        dry_run: p.boolean("DryRun")?.unwrap_or(false),
        ..Default::default()
    })
}

pub async fn create_instance(cloud: &Cloud, p: &Params) -> Result<Value> {
    let req = decode(p, false)?;
    let ids = instances::launch(cloud, &req).await?;
    let id = ids.into_iter().next().unwrap_or_default();
    Ok(json!({"InstanceId": id}))
}

pub async fn run_instances(cloud: &Cloud, p: &Params) -> Result<Value> {
    let req = decode(p, true)?;
    let ids = instances::launch(cloud, &req).await?;
    Ok(json!({"InstanceIdSets": {"InstanceIdSet": ids}}))
}
