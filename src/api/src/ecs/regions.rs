//! DescribeRegions and DescribeZones: the one region this host serves and its zones.

use hearth_cloud::{Cloud, Result};
use serde_json::{json, Value};

use crate::params::Params;

pub const ACTIONS: &[&str] = &["DescribeRegions", "DescribeZones"];

pub async fn call(cloud: &Cloud, action: &str, p: &Params) -> Result<Value> {
    match action {
        "DescribeRegions" => Ok(describe_regions(cloud)),
        "DescribeZones" => describe_zones(cloud, p),
        _ => unreachable!("dispatch only routes listed actions"),
    }
}

fn describe_regions(cloud: &Cloud) -> Value {
    let r = &cloud.config.region;
    json!({"Regions": {"Region": [{
        "RegionId": r.id,
        "LocalName": r.local_name,
        "RegionEndpoint": "",
        "Status": "available",
    }]}})
}

fn describe_zones(cloud: &Cloud, p: &Params) -> Result<Value> {
    cloud.check_region(p.required("RegionId")?)?;
    let zones: Vec<Value> = cloud
        .config
        .zones
        .iter()
        .map(|z| json!({"ZoneId": z.id, "LocalName": z.local_name}))
        .collect();
    Ok(json!({"Zones": {"Zone": zones}}))
}
