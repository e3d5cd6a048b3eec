//! What the host offers, as CVM lists it: DescribeZones, DescribeInstanceTypeConfigs (types
//! under their CVM names with real CPU and memory) and DescribeImages.

use hearth_cloud::cvm::{self, instance_types};
use hearth_cloud::images::{self, Image};
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use super::{filters, only, window, Context};
use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "DescribeZones",
    "DescribeInstanceTypeConfigs",
    "DescribeImages",
];

pub async fn call(cloud: &Cloud, _ctx: &Context, action: &str, p: &Params) -> Result<Value> {
    match action {
        "DescribeZones" => zones(cloud, p),
        "DescribeInstanceTypeConfigs" => type_configs(cloud, p),
        "DescribeImages" => describe_images(cloud, p),
        _ => Err(Error::internal(format!("{action} is not a catalog action"))),
    }
}

fn zones(cloud: &Cloud, p: &Params) -> Result<Value> {
    only(p, &[])?;
    let list: Vec<Value> = cloud
        .config
        .zones
        .iter()
        .map(|z| {
            json!({
                "Zone": z.id,
                "ZoneName": z.local_name,
                "ZoneId": cvm::zone_number(&cloud.config, &z.id).unwrap_or_default(),
                "ZoneState": "AVAILABLE",
            })
        })
        .collect();
    Ok(json!({"TotalCount": list.len(), "ZoneSet": list}))
}

/// Whether `value` passes a filter's values (no filter: everything passes).
fn passes(filters: &[(String, Vec<String>)], name: &str, value: &str) -> bool {
    filters
        .iter()
        .filter(|(n, _)| n == name)
        .all(|(_, values)| values.iter().any(|v| v == value))
}

fn type_configs(cloud: &Cloud, p: &Params) -> Result<Value> {
    only(p, &["Filters"])?;
    let f = filters(p, &["zone", "instance-family", "instance-type"])?;
    let mut list = Vec::new();
    for zone in &cloud.config.zones {
        if !passes(&f, "zone", &zone.id) {
            continue;
        }
        for t in instance_types::all(&cloud.config) {
            if !passes(&f, "instance-family", &t.family) || !passes(&f, "instance-type", &t.name) {
                continue;
            }
            list.push(json!({
                "Zone": zone.id,
                "InstanceType": t.name,
                "InstanceFamily": t.family,
                "GPU": 0,
                "CPU": t.cpu,
                "Memory": t.memory_gib,
                "FPGA": 0,
                "GpuCount": 0,
            }));
        }
    }
    Ok(json!({"InstanceTypeConfigSet": list}))
}

fn image_json(i: &Image) -> Value {
    json!({
        "ImageId": i.id,
        "OsName": i.os_name,
        "ImageType": "PUBLIC_IMAGE",
        "CreatedTime": i.created_at,
        "ImageName": i.name,
        "ImageDescription": i.description,
        "ImageSize": i.size_gib,
        "Architecture": i.architecture,
        // An image whose file is missing cannot launch anything.
        "ImageState": if i.available { "NORMAL" } else { "CREATEFAILED" },
        "Platform": i.platform,
        "ImageCreator": "",
        "ImageSource": "OFFICIAL",
        "SyncPercent": if i.available { 100 } else { 0 },
        "IsSupportCloudinit": true,
        "SnapshotSet": [],
        "Tags": [],
        "LicenseType": "TencentCloud",
        "ImageFamily": "",
        "ImageDeprecated": false,
    })
}

fn describe_images(cloud: &Cloud, p: &Params) -> Result<Value> {
    only(
        p,
        &["ImageIds", "Filters", "Offset", "Limit", "InstanceType"],
    )?;
    let ids = p.list("ImageIds")?;
    let f = filters(
        p,
        &[
            "image-id",
            "image-type",
            "image-name",
            "platform",
            "image-state",
        ],
    )?;
    if !ids.is_empty() && !f.is_empty() {
        return Err(Error::bad_request(
            "InvalidParameterCombination",
            "ImageIds and Filters cannot be given together.",
        ));
    }
    if let Some(t) = p.opt("InstanceType") {
        // Every image runs on every type here; the type must exist, though.
        if instance_types::find(&cloud.config, t).is_none() {
            return Err(Error::bad_request(
                "InvalidParameterValue.InstanceTypeNotFound",
                format!("The instance type {t:?} does not exist: see DescribeInstanceTypeConfigs."),
            ));
        }
    }
    let page = window(p, 20, 100)?;
    // Every image here is a public one.
    let public = passes(&f, "image-type", "PUBLIC_IMAGE");
    let matching: Vec<Image> = images::list(cloud)?
        .into_iter()
        .filter(|i| ids.is_empty() || ids.contains(&i.id))
        .filter(|i| passes(&f, "image-id", &i.id))
        .filter(|_| public)
        .filter(|i| passes(&f, "image-name", &i.name))
        .filter(|i| passes(&f, "platform", &i.platform))
        .filter(|i| {
            passes(
                &f,
                "image-state",
                if i.available {
                    "NORMAL"
                } else {
                    "CREATEFAILED"
                },
            )
        })
        .collect();
    let rows: Vec<Value> = matching
        .iter()
        .skip(page.offset() as usize)
        .take(page.limit() as usize)
        .map(image_json)
        .collect();
    Ok(json!({"ImageSet": rows, "TotalCount": matching.len()}))
}
