//! Reading instances: DescribeInstances, DescribeInstanceStatus, DescribeInstanceAttribute,
//! DescribeUserData, GetInstanceConsoleOutput and DescribeDisks.

use std::collections::HashMap;

use base64::Engine;
use hearth_store::disks as disk_store;
use hearth_store::instances as store;
use hearth_store::{public_ips, Conn};

use super::{files, not_found};
use crate::paging::Page;
use crate::tags::Tag;
use crate::{Cloud, Error, Result};

pub use hearth_store::disks::{Disk, Filter as DiskFilter};
pub use hearth_store::instances::Filter;
pub use hearth_store::instances::Instance;

pub use crate::paging::Paging;

#[derive(Debug, Clone)]
pub struct Listed {
    pub instance: Instance,
    pub tags: Vec<Tag>,
    pub security_groups: Vec<String>,
    /// Its address from AllocatePublicIpAddress, if it has one.
    pub public_ip: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Listing {
    pub total: i64,
    pub instances: Vec<Listed>,
    pub next_token: String,
}

/// A page of instances: the page with its tags and total in one query, the page's security
/// groups in a second (never one query per instance).
pub async fn describe(
    cloud: &Cloud,
    filter: &Filter,
    paging: Paging,
    dry_run: bool,
) -> Result<Listing> {
    cloud.check_region(&filter.region_id)?;
    if dry_run {
        return Err(Error::dry_run_passed());
    }
    let mut conn = cloud.store.pool().acquire().await?;
    let (after, offset, limit) = paging.query();
    let page = store::list(&mut conn, filter, after, offset, limit).await?;
    let (total, mut rows) = (page.total, page.items);
    let next_token = paging.next_token(&mut rows, |r| r.seq);
    let ids: Vec<String> = rows.iter().map(|r| r.item.id.clone()).collect();
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for m in store::groups_of_many(&mut conn, &ids).await? {
        groups
            .entry(m.instance_id)
            .or_default()
            .push(m.security_group_id);
    }
    let mut public: HashMap<String, String> = public_ips::of_instances(&mut conn, &ids)
        .await?
        .into_iter()
        .map(|a| (a.instance_id, a.address))
        .collect();
    let instances = rows
        .into_iter()
        .map(|r| Listed {
            security_groups: groups.remove(&r.item.id).unwrap_or_default(),
            public_ip: public.remove(&r.item.id),
            instance: r.item,
            tags: r.tags,
        })
        .collect();
    Ok(Listing {
        total,
        instances,
        next_token,
    })
}

/// When a PrePaid instance's paid period ends (creation time + Period months), as
/// `2026-11-22T12:00:00Z`; `None` for pay-as-you-go instances.
pub fn expires_at(i: &Instance) -> Option<String> {
    use chrono::{Months, NaiveDateTime};
    if i.instance_charge_type != "PrePaid" {
        return None;
    }
    let t = NaiveDateTime::parse_from_str(&i.creation_time, "%Y-%m-%dT%H:%M:%SZ").ok()?;
    let end = t.checked_add_months(Months::new(i.period.max(0) as u32))?;
    Some(end.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The disks of a page of instances, by instance, in attachment order (one query).
pub async fn disks_of(cloud: &Cloud, ids: &[String]) -> Result<HashMap<String, Vec<Disk>>> {
    let mut conn = cloud.store.pool().acquire().await?;
    let mut out: HashMap<String, Vec<Disk>> = HashMap::new();
    for d in disk_store::of_instances(&mut conn, ids).await? {
        if let Some(i) = d.instance_id.clone() {
            out.entry(i).or_default().push(d);
        }
    }
    Ok(out)
}

pub(super) async fn find(conn: &mut Conn, region_id: &str, id: &str) -> Result<Instance> {
    match store::get(conn, id).await? {
        Some(i) if i.region_id == region_id => Ok(i),
        _ => Err(not_found(id)),
    }
}

/// One instance with its security groups and public IP (no tags: DescribeInstanceAttribute
/// has none).
pub async fn attribute(cloud: &Cloud, region_id: Option<&str>, id: &str) -> Result<Listed> {
    let region = region_id.unwrap_or(&cloud.config.region.id).to_string();
    cloud.check_region(&region)?;
    let mut conn = cloud.store.pool().acquire().await?;
    let instance = find(&mut conn, &region, id).await?;
    Ok(Listed {
        security_groups: store::groups_of(&mut conn, id).await?,
        public_ip: public_ips::of_instance(&mut conn, id).await?,
        tags: Vec::new(),
        instance,
    })
}

/// IDs of the instances holding any of `addresses` (DescribeInstances' PublicIpAddresses).
pub async fn ids_with_public_ips(cloud: &Cloud, addresses: &[String]) -> Result<Vec<String>> {
    let mut conn = cloud.store.pool().acquire().await?;
    Ok(public_ips::instances_with(&mut conn, addresses).await?)
}

/// DescribeUserData: the UserData as given (Base64), empty when none.
pub async fn user_data(cloud: &Cloud, region_id: &str, id: &str) -> Result<String> {
    cloud.check_region(region_id)?;
    let mut conn = cloud.store.pool().acquire().await?;
    Ok(find(&mut conn, region_id, id).await?.user_data)
}

/// The most console output GetInstanceConsoleOutput returns: the last 64 KiB.
pub const CONSOLE_TAIL: u64 = 64 * 1024;

/// GetInstanceConsoleOutput: the last 64 KiB of the serial console, Base64, and when it was
/// last written (empty when the instance never ran).
pub async fn console_output(cloud: &Cloud, region_id: &str, id: &str) -> Result<(String, String)> {
    cloud.check_region(region_id)?;
    let mut conn = cloud.store.pool().acquire().await?;
    find(&mut conn, region_id, id).await?;
    if !cloud.makes_files {
        // An API server of a cluster: the instance's node sends its console tail to the store.
        return Ok(hearth_store::consoles::get(&mut conn, id)
            .await?
            .unwrap_or_default());
    }
    drop(conn);
    let (bytes, when) = local_console(cloud, id).await?;
    Ok((
        base64::engine::general_purpose::STANDARD.encode(bytes),
        when,
    ))
}

/// The tail of the console output in this host's data dir, and when it last changed.
pub async fn local_console(cloud: &Cloud, id: &str) -> Result<(Vec<u8>, String)> {
    let path = files::console_path(&cloud.data_dir, id);
    let (bytes, when) = tokio::task::spawn_blocking(move || files::tail(&path, CONSOLE_TAIL))
        .await
        .map_err(Error::internal)?
        .map_err(|e| Error::internal(format!("the console log cannot be read: {e}")))?;
    let when = when
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        })
        .unwrap_or_default();
    Ok((bytes, when))
}

/// A page of disks with their tags.
pub async fn disks(
    cloud: &Cloud,
    filter: &DiskFilter,
    page: Page,
) -> Result<hearth_store::Page<hearth_store::Tagged<Disk>>> {
    cloud.check_region(&filter.region_id)?;
    let mut conn = cloud.store.pool().acquire().await?;
    Ok(disk_store::list(&mut conn, filter, page.offset(), page.limit()).await?)
}

/// IDs of the instances in a security group (DescribeInstances' SecurityGroupId filter).
pub async fn ids_in_group(cloud: &Cloud, group_id: &str) -> Result<Vec<String>> {
    let mut conn = cloud.store.pool().acquire().await?;
    Ok(store::in_group(&mut conn, group_id).await?)
}

/// The OS names of the image store's images, by image ID (one manifest read per listing).
pub fn os_names(cloud: &Cloud) -> HashMap<String, (String, String)> {
    crate::images::list(cloud)
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.id, (i.os_name, i.os_type)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepaid_expiry() {
        let mut i = Instance {
            instance_charge_type: "PrePaid".into(),
            period: 3,
            creation_time: "2026-11-30T12:00:00Z".into(),
            ..Default::default()
        };
        assert_eq!(expires_at(&i).as_deref(), Some("2027-02-28T12:00:00Z"));
        i.instance_charge_type = "PostPaid".into();
        assert_eq!(expires_at(&i), None);
    }
}
