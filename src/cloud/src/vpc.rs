//! VPCs: a private network with one CIDR block from the private address ranges. Here a VPC is
//! usable the moment it exists, so its status is always `Available`.

use serde::{Deserialize, Serialize};

pub use hearth_store::vpcs::Vpc;
use hearth_store::vpcs::{self as store, VpcFilter};
use hearth_store::{tags as store_tags, vswitches};

use crate::cidr::Cidr;
use crate::paging::Page;
use crate::tags::Tag;
use crate::{client_token, ids, names, Cloud, Error, Result};

/// The block a VPC gets when CreateVpc names none.
pub const DEFAULT_CIDR: &str = "172.16.0.0/12";

/// The private ranges (RFC 1918) a VPC block must lie in.
const PRIVATE_RANGES: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// How many IDs DescribeVpcs accepts in VpcId.
pub const MAX_IDS: usize = 20;

/// Checks a VPC block: a proper network address inside a private range, prefix /8 to /28.
pub fn check_vpc_cidr(text: &str) -> Result<Cidr> {
    let allowed = "a private block such as 192.168.0.0/16: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, with a prefix from /8 to /28 and no host bits set";
    let malformed = |why: String| {
        Error::bad_request(
            "InvalidCidrBlock.Malformed",
            format!("The specified CidrBlock {text:?} is not valid ({why}): use {allowed}."),
        )
    };
    let cidr = Cidr::parse(text).map_err(malformed)?;
    if !(8..=28).contains(&cidr.prefix()) {
        return Err(malformed(format!(
            "prefix /{} is outside /8 to /28",
            cidr.prefix()
        )));
    }
    let private = PRIVATE_RANGES
        .iter()
        .filter_map(|r| Cidr::parse(r).ok())
        .any(|r| r.contains(&cidr));
    if !private {
        return Err(malformed("it is not inside a private range".into()));
    }
    Ok(cidr)
}

#[derive(Debug, Clone, Default)]
pub struct CreateVpc {
    pub region_id: String,
    pub cidr_block: Option<String>,
    pub vpc_name: Option<String>,
    pub description: Option<String>,
    pub client_token: Option<String>,
    pub dry_run: bool,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedVpc {
    pub vpc_id: String,
    pub vrouter_id: String,
    pub route_table_id: String,
    pub resource_group_id: String,
}

impl CreateVpc {
    /// The request's own parameters as canonical text, for ClientToken comparisons.
    fn fingerprint(&self) -> String {
        format!(
            "region={:?} cidr={:?} name={:?} description={:?} tags={:?}",
            self.region_id, self.cidr_block, self.vpc_name, self.description, self.tags
        )
    }
}

pub async fn create(cloud: &Cloud, req: &CreateVpc) -> Result<CreatedVpc> {
    cloud.check_region(&req.region_id)?;
    let cidr = check_vpc_cidr(req.cidr_block.as_deref().unwrap_or(DEFAULT_CIDR))?;
    if let Some(name) = &req.vpc_name {
        names::check_name("VpcName", name, "InvalidVpcName.Malformed")?;
    }
    if let Some(d) = &req.description {
        names::check_description("Description", d)?;
    }
    if let Some(t) = &req.client_token {
        client_token::check(t)?;
    }
    if req.dry_run {
        return Err(Error::dry_run_passed());
    }
    let fingerprint = req.fingerprint();
    let token = req.client_token.as_deref();
    let mut tx = cloud.store.write().await?;
    if let Some(done) = client_token::replay(&mut tx, "CreateVpc", token, &fingerprint).await? {
        return Ok(done);
    }
    let vpc = Vpc {
        vpc_id: ids::new_id("vpc"),
        region_id: req.region_id.clone(),
        vpc_name: req.vpc_name.clone().unwrap_or_default(),
        description: req.description.clone().unwrap_or_default(),
        cidr_block: cidr.to_string(),
        vrouter_id: ids::new_id("vrt"),
        route_table_id: ids::new_id("vtb"),
        is_default: false,
        status: "Available".into(),
        created_at: ids::now_utc(),
    };
    store::insert(&mut tx, &vpc).await?;
    store_tags::set(&mut tx, "vpc", &vpc.vpc_id, &req.tags).await?;
    let created = CreatedVpc {
        vpc_id: vpc.vpc_id,
        vrouter_id: vpc.vrouter_id,
        route_table_id: vpc.route_table_id,
        // Resource groups do not exist here.
        resource_group_id: String::new(),
    };
    client_token::remember(&mut tx, "CreateVpc", token, &fingerprint, &created).await?;
    tx.commit().await?;
    Ok(created)
}

#[derive(Debug, Clone)]
pub struct DescribeVpcs {
    pub region_id: String,
    pub vpc_ids: Option<Vec<String>>,
    pub vpc_name: Option<String>,
    pub is_default: Option<bool>,
    pub tags: Vec<Tag>,
    pub page: Page,
    pub dry_run: bool,
}

/// A VPC as DescribeVpcs shows it: the record, its VSwitches and its tags.
#[derive(Debug, Clone)]
pub struct VpcView {
    pub vpc: Vpc,
    pub vswitch_ids: Vec<String>,
    pub tags: Vec<Tag>,
}

/// The matching count and one page. Three queries whatever the page size: count+page, the
/// page's VSwitch IDs, the page's tags.
pub async fn describe(cloud: &Cloud, q: &DescribeVpcs) -> Result<(i64, Vec<VpcView>)> {
    cloud.check_region(&q.region_id)?;
    if q.vpc_ids.as_ref().is_some_and(|ids| ids.len() > MAX_IDS) {
        return Err(Error::invalid_parameter(
            "VpcId",
            format!("give at most {MAX_IDS} IDs, separated by commas"),
        ));
    }
    if q.dry_run {
        return Err(Error::dry_run_passed());
    }
    let filter = VpcFilter {
        vpc_ids: q.vpc_ids.clone(),
        vpc_name: q.vpc_name.clone(),
        is_default: q.is_default,
        tags: q.tags.clone(),
    };
    let mut conn = cloud.store.pool().acquire().await?;
    let page = store::list(&mut conn, &filter, q.page.offset(), q.page.limit()).await?;
    let (total, vpcs) = (page.total, page.items);
    let ids: Vec<String> = vpcs.iter().map(|v| v.vpc_id.clone()).collect();
    let members = vswitches::ids_in_vpcs(&mut conn, &ids).await?;
    let mut tags = store_tags::of_many(&mut conn, "vpc", &ids).await?;
    let views = vpcs
        .into_iter()
        .map(|vpc| VpcView {
            vswitch_ids: members
                .iter()
                .filter(|b| b.vpc_id == vpc.vpc_id)
                .map(|b| b.vswitch_id.clone())
                .collect(),
            tags: tags.remove(&vpc.vpc_id).unwrap_or_default(),
            vpc,
        })
        .collect();
    Ok((total, views))
}

fn vpc_not_found(vpc_id: &str) -> Error {
    Error::not_found(
        "InvalidVpcId.NotFound",
        format!("The specified VpcId {vpc_id:?} does not exist."),
    )
}

/// Finds a VPC or answers `InvalidVpcId.NotFound`.
pub(crate) async fn find(conn: &mut hearth_store::Conn, vpc_id: &str) -> Result<Vpc> {
    store::get(conn, vpc_id)
        .await?
        .ok_or_else(|| vpc_not_found(vpc_id))
}

/// Deletes a VPC that has no VSwitches or security groups left (`DependencyViolation` names
/// those it still has).
pub async fn delete(
    cloud: &Cloud,
    region_id: Option<&str>,
    vpc_id: &str,
    dry_run: bool,
) -> Result<()> {
    if let Some(r) = region_id {
        cloud.check_region(r)?;
    }
    let mut tx = cloud.store.write().await?;
    let vpc = find(&mut tx, vpc_id).await?;
    let blocking: Vec<String> = vswitches::ids_in_vpcs(&mut tx, &[vpc_id.to_string()])
        .await?
        .into_iter()
        .map(|b| b.vswitch_id)
        .collect();
    if !blocking.is_empty() {
        return Err(Error::forbidden(
            "DependencyViolation",
            format!(
                "The specified VPC {vpc_id:?} still has VSwitches: delete {} first.",
                blocking.join(", ")
            ),
        ));
    }
    let groups = hearth_store::security_groups::ids_in_vpc(&mut tx, &vpc.region_id, vpc_id).await?;
    if !groups.is_empty() {
        return Err(Error::forbidden(
            "DependencyViolation",
            format!(
                "The specified VPC {vpc_id:?} still has security groups: delete {} first.",
                groups.join(", ")
            ),
        ));
    }
    if dry_run {
        return Err(Error::dry_run_passed());
    }
    store_tags::delete_all(&mut tx, "vpc", vpc_id).await?;
    store::delete(&mut tx, vpc_id).await?;
    tx.commit().await?;
    Ok(())
}

/// ModifyVpcAttribute: a new name and/or description.
pub async fn modify(
    cloud: &Cloud,
    region_id: Option<&str>,
    vpc_id: &str,
    vpc_name: Option<&str>,
    description: Option<&str>,
) -> Result<()> {
    if let Some(r) = region_id {
        cloud.check_region(r)?;
    }
    if let Some(name) = vpc_name {
        names::check_name("VpcName", name, "InvalidVpcName.Malformed")?;
    }
    if let Some(d) = description {
        names::check_description("Description", d)?;
    }
    let mut tx = cloud.store.write().await?;
    find(&mut tx, vpc_id).await?;
    store::update(&mut tx, vpc_id, vpc_name, description).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpc_blocks() {
        for ok in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "10.1.0.0/16",
            "172.31.255.240/28",
            "192.168.3.0/24",
        ] {
            assert_eq!(check_vpc_cidr(ok).unwrap().to_string(), ok);
        }
        for bad in [
            "10.0.0.1/8",
            "172.0.0.0/8",
            "11.0.0.0/8",
            "192.168.0.0/15",
            "10.0.0.0/29",
            "10.0.0.0/7",
            "0.0.0.0/0",
            "172.32.0.0/16",
            "10.0.0.0",
            " 10.0.0.0/8",
        ] {
            let e = check_vpc_cidr(bad).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.status),
                ("InvalidCidrBlock.Malformed", 400)
            );
            assert!(e.message.contains("192.168.0.0/16"), "{}", e.message);
        }
        assert!(check_vpc_cidr(DEFAULT_CIDR).is_ok());
    }

    #[test]
    fn fingerprint_ignores_token_and_dry_run_but_not_parameters() {
        let a = CreateVpc {
            region_id: "r".into(),
            cidr_block: Some("10.0.0.0/8".into()),
            client_token: Some("t1".into()),
            ..Default::default()
        };
        let mut b = a.clone();
        b.client_token = Some("t2".into());
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.cidr_block = Some("10.0.0.0/16".into());
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
