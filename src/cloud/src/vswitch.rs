//! VSwitches: a subnet of a VPC in one zone. Its block lies inside the VPC's block and shares no
//! address with the VPC's other VSwitches; the addresses instances can get follow the one
//! address plan in `cidr` (reserved, gateway, usable).

use serde::{Deserialize, Serialize};

use hearth_store::tags as store_tags;
use hearth_store::vswitches as store;
pub use hearth_store::vswitches::{VSwitch, VSwitchFilter};

use crate::cidr::{self, Cidr};
use crate::paging::Page;
use crate::tags::Tag;
use crate::{client_token, ids, names, vpc, Cloud, Error, Result};

fn malformed(text: &str, why: impl std::fmt::Display) -> Error {
    Error::bad_request(
        "InvalidCidrBlock.Malformed",
        format!("The specified CidrBlock {text:?} is not valid ({why}): use a block with a prefix from /16 to /29, no host bits set, inside the VPC's CIDR block."),
    )
}

/// Checks a VSwitch block against its VPC's block: prefix /16 to /29, inside the VPC.
pub fn check_vswitch_cidr(text: &str, vpc_cidr: &Cidr) -> Result<Cidr> {
    let cidr = Cidr::parse(text).map_err(|why| malformed(text, why))?;
    if !(16..=29).contains(&cidr.prefix()) {
        return Err(malformed(
            text,
            format!("prefix /{} is outside /16 to /29", cidr.prefix()),
        ));
    }
    if !vpc_cidr.contains(&cidr) {
        return Err(malformed(
            text,
            format!("it is not inside the VPC's block {vpc_cidr}"),
        ));
    }
    Ok(cidr)
}

#[derive(Debug, Clone, Default)]
pub struct CreateVSwitch {
    pub region_id: Option<String>,
    pub zone_id: String,
    pub vpc_id: String,
    pub cidr_block: String,
    pub vswitch_name: Option<String>,
    pub description: Option<String>,
    pub client_token: Option<String>,
    pub dry_run: bool,
    pub tags: Vec<Tag>,
}

impl CreateVSwitch {
    /// The request's own parameters as canonical text, for ClientToken comparisons.
    fn fingerprint(&self) -> String {
        format!(
            "region={:?} zone={:?} vpc={:?} cidr={:?} name={:?} description={:?} tags={:?}",
            self.region_id,
            self.zone_id,
            self.vpc_id,
            self.cidr_block,
            self.vswitch_name,
            self.description,
            self.tags
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedVSwitch {
    pub vswitch_id: String,
}

fn check_zone(cloud: &Cloud, zone_id: &str) -> Result<()> {
    if cloud.config.zones.iter().any(|z| z.id == zone_id) {
        Ok(())
    } else {
        let known: Vec<&str> = cloud.config.zones.iter().map(|z| z.id.as_str()).collect();
        Err(Error::not_found(
            "InvalidZoneId.NotFound",
            format!(
                "The specified ZoneId {zone_id:?} does not exist; zones of this region: {}.",
                known.join(", ")
            ),
        ))
    }
}

pub async fn create(cloud: &Cloud, req: &CreateVSwitch) -> Result<CreatedVSwitch> {
    if let Some(r) = &req.region_id {
        cloud.check_region(r)?;
    }
    check_zone(cloud, &req.zone_id)?;
    if let Some(name) = &req.vswitch_name {
        names::check_name("VSwitchName", name, "InvalidVSwitchName.Malformed")?;
    }
    if let Some(d) = &req.description {
        names::check_description("Description", d)?;
    }
    if let Some(t) = &req.client_token {
        client_token::check(t)?;
    }
    let fingerprint = req.fingerprint();
    let token = req.client_token.as_deref();
    // One write transaction: the VPC lookup, the overlap check and the insert cannot interleave
    // with another create.
    let mut tx = cloud.store.write().await?;
    let owner = vpc::find(&mut tx, &req.vpc_id).await?;
    let vpc_cidr = Cidr::parse(&owner.cidr_block).map_err(Error::internal)?;
    let block = check_vswitch_cidr(&req.cidr_block, &vpc_cidr)?;
    if req.dry_run {
        // The overlap check is part of the dry run too.
        overlap_check(&mut tx, &req.vpc_id, &block).await?;
        return Err(Error::dry_run_passed());
    }
    if let Some(done) = client_token::replay(&mut tx, "CreateVSwitch", token, &fingerprint).await? {
        return Ok(done);
    }
    overlap_check(&mut tx, &req.vpc_id, &block).await?;
    let vswitch = VSwitch {
        vswitch_id: ids::new_id("vsw"),
        vpc_id: req.vpc_id.clone(),
        zone_id: req.zone_id.clone(),
        vswitch_name: req.vswitch_name.clone().unwrap_or_default(),
        description: req.description.clone().unwrap_or_default(),
        cidr_block: block.to_string(),
        route_table_id: owner.route_table_id.clone(),
        cidr_first: block.first() as i64,
        cidr_last: block.last() as i64,
        available_ip_count: cidr::available_count(&block) as i64,
        is_default: false,
        status: "Available".into(),
        created_at: ids::now_utc(),
    };
    store::insert(&mut tx, &vswitch).await?;
    store_tags::set(&mut tx, "vswitch", &vswitch.vswitch_id, &req.tags).await?;
    let created = CreatedVSwitch {
        vswitch_id: vswitch.vswitch_id,
    };
    client_token::remember(&mut tx, "CreateVSwitch", token, &fingerprint, &created).await?;
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(created)
}

async fn overlap_check(conn: &mut hearth_store::Conn, vpc_id: &str, block: &Cidr) -> Result<()> {
    match store::overlapping(conn, vpc_id, block.first() as i64, block.last() as i64).await? {
        None => Ok(()),
        Some(other) => Err(Error::bad_request(
            "InvalidCidrBlock.Overlapped",
            format!("The specified CidrBlock {block} overlaps VSwitch {} ({}) of the same VPC: choose a block that shares no address with the VPC's other VSwitches.", other.vswitch_id, other.cidr_block),
        )),
    }
}

#[derive(Debug, Clone)]
pub struct DescribeVSwitches {
    pub region_id: Option<String>,
    pub filter: VSwitchFilter,
    pub page: Page,
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub struct VSwitchView {
    pub vswitch: VSwitch,
    pub tags: Vec<Tag>,
}

/// The matching count and one page; at most two queries whatever the page size (the page with
/// its tags, and a count when the page alone does not tell the total).
pub async fn describe(cloud: &Cloud, q: &DescribeVSwitches) -> Result<(i64, Vec<VSwitchView>)> {
    if let Some(r) = &q.region_id {
        cloud.check_region(r)?;
    }
    if q.dry_run {
        return Err(Error::dry_run_passed());
    }
    let mut conn = cloud.store.pool().acquire().await?;
    let page = store::list(&mut conn, &q.filter, q.page.offset(), q.page.limit()).await?;
    let views = page
        .items
        .into_iter()
        .map(|r| VSwitchView {
            vswitch: r.item,
            tags: r.tags,
        })
        .collect();
    Ok((page.total, views))
}

fn not_found(vswitch_id: &str) -> Error {
    Error::not_found(
        "InvalidVSwitchId.NotFound",
        format!("The specified VSwitchId {vswitch_id:?} does not exist."),
    )
}

/// DescribeVSwitchAttributes: one VSwitch with its tags.
pub async fn attributes(
    cloud: &Cloud,
    region_id: Option<&str>,
    vswitch_id: &str,
    dry_run: bool,
) -> Result<VSwitchView> {
    if let Some(r) = region_id {
        cloud.check_region(r)?;
    }
    let mut conn = cloud.store.pool().acquire().await?;
    let vswitch = store::get(&mut conn, vswitch_id)
        .await?
        .ok_or_else(|| not_found(vswitch_id))?;
    if dry_run {
        return Err(Error::dry_run_passed());
    }
    let tags = store_tags::list(&mut conn, "vswitch", vswitch_id).await?;
    Ok(VSwitchView { vswitch, tags })
}

pub async fn delete(
    cloud: &Cloud,
    region_id: Option<&str>,
    vswitch_id: &str,
    dry_run: bool,
) -> Result<()> {
    if let Some(r) = region_id {
        cloud.check_region(r)?;
    }
    let mut tx = cloud.store.write().await?;
    store::get(&mut tx, vswitch_id)
        .await?
        .ok_or_else(|| not_found(vswitch_id))?;
    // A VSwitch that still has instances cannot go (checked in this same transaction).
    let instances = hearth_store::instances::in_vswitch(&mut tx, vswitch_id).await?;
    if !instances.is_empty() {
        return Err(Error::forbidden(
            "DependencyViolation",
            format!(
                "The specified VSwitch {vswitch_id} still has instances ({}): delete them first.",
                instances.join(", ")
            ),
        ));
    }
    if dry_run {
        return Err(Error::dry_run_passed());
    }
    store_tags::delete_all(&mut tx, "vswitch", vswitch_id).await?;
    store::delete(&mut tx, vswitch_id).await?;
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(())
}

/// ModifyVSwitchAttribute: a new name and/or description.
pub async fn modify(
    cloud: &Cloud,
    region_id: Option<&str>,
    vswitch_id: &str,
    vswitch_name: Option<&str>,
    description: Option<&str>,
) -> Result<()> {
    if let Some(r) = region_id {
        cloud.check_region(r)?;
    }
    if let Some(name) = vswitch_name {
        names::check_name("VSwitchName", name, "InvalidVSwitchName.Malformed")?;
    }
    if let Some(d) = description {
        names::check_description("Description", d)?;
    }
    let mut tx = cloud.store.write().await?;
    store::get(&mut tx, vswitch_id)
        .await?
        .ok_or_else(|| not_found(vswitch_id))?;
    store::update(&mut tx, vswitch_id, vswitch_name, description).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vswitch_blocks() {
        let vpc = Cidr::parse("172.16.0.0/12").unwrap();
        assert!(check_vswitch_cidr("172.16.0.0/16", &vpc).is_ok());
        assert!(check_vswitch_cidr("172.31.255.248/29", &vpc).is_ok());
        for bad in [
            "172.16.0.0/15",  // too big
            "172.16.0.0/30",  // too small
            "172.16.0.1/24",  // host bits
            "192.168.0.0/24", // outside the VPC
            "172.32.0.0/24",  // just past the VPC
            "172.16.0.0",     // no prefix
            "172.016.0.0/24", // leading zero
        ] {
            let e = check_vswitch_cidr(bad, &vpc).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.status),
                ("InvalidCidrBlock.Malformed", 400),
                "{bad}"
            );
        }
        let small = Cidr::parse("192.168.0.0/28").unwrap();
        assert!(check_vswitch_cidr("192.168.0.0/28", &small).is_ok());
        assert!(check_vswitch_cidr("192.168.0.8/29", &small).is_ok());
        assert!(check_vswitch_cidr("192.168.0.16/29", &small).is_err());
    }
}
