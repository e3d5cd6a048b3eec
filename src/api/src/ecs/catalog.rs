//! The host's catalog, read-only: DescribeInstanceTypes, DescribeInstanceTypeFamilies,
//! DescribeImages and DescribeAvailableResource.

use hearth_cloud::catalog::{self, DiskCategory, InstanceType};
use hearth_cloud::images::{self, Image};
use hearth_cloud::paging::Page;
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "DescribeInstanceTypes",
    "DescribeInstanceTypeFamilies",
    "DescribeImages",
    "DescribeAvailableResource",
];

/// DescribeInstanceTypes' MaxResults: default and largest value, as ECS has them.
const MAX_RESULTS: i64 = 1600;

pub async fn call(cloud: &Cloud, action: &str, p: &Params) -> Result<Value> {
    match action {
        "DescribeInstanceTypes" => describe_instance_types(cloud, p),
        "DescribeInstanceTypeFamilies" => describe_families(cloud, p),
        "DescribeImages" => describe_images(cloud, p),
        "DescribeAvailableResource" => describe_available_resource(cloud, p),
        _ => unreachable!("dispatch only routes listed actions"),
    }
}

/// A float parameter such as MinimumMemorySize (GiB).
fn float(p: &Params, name: &str) -> Result<Option<f64>> {
    match p.opt(name) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
            _ => Err(Error::invalid_parameter(
                name,
                format!("expected a non-negative number, got {v:?}"),
            )),
        },
    }
}

fn describe_instance_types(cloud: &Cloud, p: &Params) -> Result<Value> {
    // DescribeInstanceTypes takes no RegionId in the SDK model; check it when one is sent.
    if let Some(region) = p.opt("RegionId") {
        cloud.check_region(region)?;
    }
    let ids = p.list("InstanceTypes")?;
    let mut families = p.list("InstanceTypeFamilies")?;
    families.extend(p.opt("InstanceTypeFamily").map(str::to_string));
    let min_cpu = p.int("MinimumCpuCoreCount")?;
    let max_cpu = p.int("MaximumCpuCoreCount")?;
    let min_mem = float(p, "MinimumMemorySize")?;
    let max_mem = float(p, "MaximumMemorySize")?;
    let arch = p.one_of("CpuArchitecture", &["X86", "ARM"])?;
    let mut archs = p.list("CpuArchitectures")?;
    archs.extend(arch.map(str::to_string));
    let max_results = p
        .int_in("MaxResults", 1, MAX_RESULTS, Some(MAX_RESULTS))?
        .unwrap_or(MAX_RESULTS) as usize;
    // NextToken is the position of the next type in the catalog, as the previous page gave it.
    let start = match p.opt("NextToken") {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| {
            Error::invalid_parameter("NextToken", "use the NextToken of the previous response")
        })?,
    };
    let matching: Vec<InstanceType> = catalog::instance_types(&cloud.config)
        .into_iter()
        .filter(|t| ids.is_empty() || ids.contains(&t.id))
        .filter(|t| families.is_empty() || families.contains(&t.family))
        .filter(|t| min_cpu.is_none_or(|m| t.vcpus as i64 >= m))
        .filter(|t| max_cpu.is_none_or(|m| t.vcpus as i64 <= m))
        .filter(|t| min_mem.is_none_or(|m| t.memory_gib() >= m))
        .filter(|t| max_mem.is_none_or(|m| t.memory_gib() <= m))
        .filter(|_| archs.is_empty() || archs.iter().any(|a| a == catalog::cpu_architecture()))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(max_results)
        .map(instance_type_json)
        .collect();
    let next = start + page.len();
    let next_token = if next < matching.len() {
        next.to_string()
    } else {
        String::new()
    };
    Ok(json!({
        "NextToken": next_token,
        "InstanceTypes": {"InstanceType": page},
    }))
}

fn instance_type_json(t: &InstanceType) -> Value {
    json!({
        "InstanceTypeId": t.id,
        "InstanceTypeFamily": t.family,
        "CpuCoreCount": t.vcpus,
        "MemorySize": t.memory_gib(),
        "CpuArchitecture": catalog::cpu_architecture(),
        "InstanceCategory": t.category,
        "InstanceFamilyLevel": if t.burstable { "CreditEntryLevel" } else { "EnterpriseLevel" },
        // hearth attaches the primary network interface only.
        "EniQuantity": 1,
        "LocalStorageAmount": 0,
        "GPUAmount": 0,
        "GPUSpec": "",
    })
}

fn describe_families(cloud: &Cloud, p: &Params) -> Result<Value> {
    cloud.check_region(p.required("RegionId")?)?;
    let generation = p.opt("Generation");
    let rows: Vec<Value> = catalog::families(&cloud.config)
        .into_iter()
        .filter(|f| generation.is_none_or(|g| g == f.generation))
        .map(|f| json!({"InstanceTypeFamilyId": f.id, "Generation": f.generation}))
        .collect();
    Ok(json!({"InstanceTypeFamilies": {"InstanceTypeFamily": rows}}))
}

fn describe_images(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region = p.required("RegionId")?;
    cloud.check_region(region)?;
    let page = Page::new(p.int("PageNumber")?, p.int("PageSize")?, 10, 100)?;
    let ids: Vec<&str> = p
        .opt("ImageId")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    // ImageName matches as a substring (ECS documents a fuzzy match).
    let name = p.opt("ImageName");
    let os_type = p.one_of("OSType", &["linux", "windows"])?;
    let arch = p.one_of("Architecture", &["i386", "x86_64", "arm64"])?;
    let owner = p.one_of(
        "ImageOwnerAlias",
        &["system", "self", "others", "marketplace"],
    )?;
    // Status is a comma list; ECS shows only Available images unless asked otherwise.
    const STATUSES: &[&str] = &[
        "Creating",
        "Waiting",
        "Available",
        "UnAvailable",
        "CreateFailed",
        "Deprecated",
    ];
    let statuses: Vec<&str> = p
        .opt("Status")
        .unwrap_or("Available")
        .split(',')
        .map(str::trim)
        .collect();
    if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(s)) {
        return Err(Error::invalid_parameter(
            "Status",
            format!("{bad:?} is not one of {}", STATUSES.join(", ")),
        ));
    }
    let status = |i: &Image| {
        if i.available {
            "Available"
        } else {
            "UnAvailable"
        }
    };
    let matching: Vec<Image> = images::list(cloud)?
        .into_iter()
        .filter(|i| ids.is_empty() || ids.contains(&i.id.as_str()))
        .filter(|i| name.is_none_or(|n| i.name.contains(n)))
        .filter(|i| os_type.is_none_or(|o| i.os_type == o))
        .filter(|i| arch.is_none_or(|a| i.architecture == a))
        .filter(|_| owner.is_none_or(|o| o == "system"))
        .filter(|i| statuses.contains(&status(i)))
        .collect();
    let rows: Vec<Value> = matching
        .iter()
        .skip(page.offset() as usize)
        .take(page.limit() as usize)
        .map(|i| {
            json!({
                "ImageId": i.id,
                "ImageName": i.name,
                "Description": i.description,
                "OSName": i.os_name,
                "OSNameEn": i.os_name,
                "OSType": i.os_type,
                "Platform": i.platform,
                "Architecture": i.architecture,
                "Size": i.size_gib,
                "Status": status(i),
                "ImageOwnerAlias": "system",
                "IsSupportCloudinit": true,
                "IsSupportIoOptimized": true,
                "IsPublic": true,
                "IsSelfShared": "",
                "IsSubscribed": false,
                "IsCopied": false,
                // No instance is tracked as using an image yet.
                "Usage": "none",
                "Progress": if i.available { "100%" } else { "" },
                "Format": "RAW",
                "CreationTime": i.created_at,
                "ImageVersion": "",
                "ImageFamily": "",
                "ProductCode": "",
                "ResourceGroupId": "",
                "DiskDeviceMappings": {"DiskDeviceMapping": [{
                    "Type": "system",
                    "Size": i.size_gib.to_string(),
                    "Format": "RAW",
                }]},
                "Tags": {"Tag": []},
            })
        })
        .collect();
    Ok(json!({
        "RegionId": region,
        "TotalCount": matching.len(),
        "PageNumber": page.number,
        "PageSize": page.size,
        "Images": {"Image": rows},
    }))
}

fn describe_available_resource(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region = p.required("RegionId")?;
    cloud.check_region(region)?;
    let destination = p.required("DestinationResource")?;
    const DESTINATIONS: &[&str] = &[
        "Zone",
        "IoOptimized",
        "InstanceType",
        "SystemDisk",
        "DataDisk",
        "Network",
    ];
    if !DESTINATIONS.contains(&destination) {
        return Err(Error::invalid_parameter(
            "DestinationResource",
            format!("{destination:?} is not one of {}", DESTINATIONS.join(", ")),
        ));
    }
    p.one_of("InstanceChargeType", &["PrePaid", "PostPaid"])?;
    p.one_of(
        "SpotStrategy",
        &["NoSpot", "SpotWithPriceLimit", "SpotAsPriceGo"],
    )?;
    p.one_of("IoOptimized", &["none", "optimized"])?;
    p.one_of("NetworkCategory", &["vpc", "classic"])?;
    p.one_of(
        "ResourceType",
        &["instance", "disk", "reservedinstance", "ddh"],
    )?;
    let zone_id = p.opt("ZoneId");
    if let Some(z) = zone_id {
        if !cloud.config.zones.iter().any(|zone| zone.id == z) {
            return Err(Error::not_found(
                "InvalidZoneId.NotFound",
                format!("The specified ZoneId {z:?} does not exist in region {region}."),
            ));
        }
    }
    let cores = p.int("Cores")?;
    let memory = float(p, "Memory")?;
    let wanted_type = p.opt("InstanceType");
    let types: Vec<InstanceType> = catalog::instance_types(&cloud.config)
        .into_iter()
        .filter(|t| wanted_type.is_none_or(|w| w == t.id))
        .filter(|t| cores.is_none_or(|c| t.vcpus as i64 == c))
        .filter(|t| memory.is_none_or(|m| (t.memory_gib() - m).abs() < 1e-9))
        .collect();
    // A zone offers nothing when the instance type asked about is not offered.
    if (wanted_type.is_some() || cores.is_some() || memory.is_some()) && types.is_empty() {
        return Ok(json!({"AvailableZones": {"AvailableZone": []}}));
    }
    let available =
        |value: &str| json!({"Value": value, "Status": "Available", "StatusCategory": "WithStock"});
    let disks = |list: &[DiskCategory], wanted: Option<&str>| -> Vec<Value> {
        list.iter()
            .filter(|d| wanted.is_none_or(|w| w == d.name))
            .map(|d| {
                let mut v = available(d.name);
                v["Min"] = json!(d.min_gib);
                v["Max"] = json!(d.max_gib);
                v["Unit"] = json!("GiB");
                v
            })
            .collect()
    };
    let zones: Vec<Value> = cloud
        .config
        .zones
        .iter()
        .filter(|z| zone_id.is_none_or(|w| w == z.id))
        .map(|z| {
            let supported: Vec<Value> = match destination {
                "Zone" => vec![available(&z.id)],
                "IoOptimized" => vec![available("optimized")],
                "InstanceType" => types.iter().map(|t| available(&t.id)).collect(),
                "SystemDisk" => disks(catalog::SYSTEM_DISKS, p.opt("SystemDiskCategory")),
                "DataDisk" => disks(catalog::DATA_DISKS, p.opt("DataDiskCategory")),
                _ => vec![available("vpc")],
            };
            json!({
                "RegionId": region,
                "ZoneId": z.id,
                "Status": "Available",
                "StatusCategory": "WithStock",
                "AvailableResources": {"AvailableResource": [{
                    "Type": destination,
                    "SupportedResources": {"SupportedResource": supported},
                }]},
            })
        })
        .collect();
    Ok(json!({"AvailableZones": {"AvailableZone": zones}}))
}
