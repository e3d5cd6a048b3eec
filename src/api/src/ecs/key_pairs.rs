//! CreateKeyPair, ImportKeyPair, DescribeKeyPairs and DeleteKeyPairs (ECS 2014-05-26).

use hearth_cloud::key_pairs::{self, Query};
use hearth_cloud::paging::Page;
use hearth_cloud::{Cloud, Result};
use serde_json::{json, Value};

use crate::params::Params;

pub const ACTIONS: &[&str] = &[
    "CreateKeyPair",
    "ImportKeyPair",
    "DescribeKeyPairs",
    "DeleteKeyPairs",
];

pub async fn call(cloud: &Cloud, action: &str, p: &Params) -> Result<Value> {
    cloud.check_region(p.required("RegionId")?)?;
    match action {
        "CreateKeyPair" => create(cloud, p).await,
        "ImportKeyPair" => import(cloud, p).await,
        "DescribeKeyPairs" => describe(cloud, p).await,
        "DeleteKeyPairs" => delete(cloud, p).await,
        _ => unreachable!("dispatch only routes listed actions"),
    }
}

async fn create(cloud: &Cloud, p: &Params) -> Result<Value> {
    let name = p.required("KeyPairName")?;
    let tags = p.tags()?;
    let c = key_pairs::create(cloud, name, &tags, p.opt("ResourceGroupId")).await?;
    Ok(json!({
        "KeyPairId": c.key_pair.id,
        "KeyPairName": c.key_pair.name,
        "KeyPairFingerPrint": c.key_pair.fingerprint,
        "PrivateKeyBody": c.private_key_pem,
    }))
}

async fn import(cloud: &Cloud, p: &Params) -> Result<Value> {
    let name = p.required("KeyPairName")?;
    let body = p.required("PublicKeyBody")?;
    let tags = p.tags()?;
    let kp = key_pairs::import(cloud, name, body, &tags, p.opt("ResourceGroupId")).await?;
    Ok(json!({
        "KeyPairName": kp.name,
        "KeyPairFingerPrint": kp.fingerprint,
    }))
}

async fn describe(cloud: &Cloud, p: &Params) -> Result<Value> {
    let page = Page::new(p.int("PageNumber")?, p.int("PageSize")?, 10, 50)?;
    let include_public_key = p.boolean("IncludePublicKey")?.unwrap_or(false);
    let query = Query {
        name: p.opt("KeyPairName"),
        fingerprint: p.opt("KeyPairFingerPrint"),
        resource_group_id: p.opt("ResourceGroupId"),
        tags: p.tags()?,
    };
    let (items, total) = key_pairs::describe(cloud, query, page).await?;
    let rows: Vec<Value> = items
        .into_iter()
        .map(|l| {
            let tags: Vec<Value> = l
                .tags
                .iter()
                .map(|t| json!({"TagKey": t.key, "TagValue": t.value}))
                .collect();
            let mut row = json!({
                "KeyPairName": l.key_pair.name,
                "KeyPairFingerPrint": l.key_pair.fingerprint,
                "CreationTime": l.key_pair.created_at,
                "ResourceGroupId": l.key_pair.resource_group_id,
                "Tags": {"Tag": tags},
            });
            if include_public_key {
                row["PublicKey"] = json!(l.key_pair.public_key);
            }
            row
        })
        .collect();
    Ok(json!({
        "TotalCount": total,
        "PageNumber": page.number,
        "PageSize": page.size,
        "KeyPairs": {"KeyPair": rows},
    }))
}

async fn delete(cloud: &Cloud, p: &Params) -> Result<Value> {
    let names = p
        .json_list("KeyPairNames")?
        .ok_or_else(|| hearth_cloud::Error::missing_parameter("KeyPairNames"))?;
    key_pairs::delete(cloud, &names).await?;
    Ok(json!({}))
}
