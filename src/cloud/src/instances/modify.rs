//! ModifyInstanceAttribute and ModifyInstanceMetadataOptions: checked like a launch, written in
//! one transaction, and the seed volume rewritten when what cloud-init reads has changed.

use hearth_store::instances as store;

use super::launch::{check_metadata, MetadataOptions};
use super::view::find;
use super::{host_files, membership, user_data, Status};
use crate::{hostname, names, password, Cloud, Error, Result};

/// ModifyInstanceAttribute's changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Modify {
    pub instance_name: Option<String>,
    pub description: Option<String>,
    pub host_name: Option<String>,
    pub password: Option<String>,
    pub user_data: Option<String>,
    pub deletion_protection: Option<bool>,
    pub credit_specification: Option<String>,
    pub security_group_ids: Vec<String>,
}

/// ModifyInstanceAttribute. UserData can only change while the instance is Stopped (ECS'
/// rule); HostName, Password and UserData rewrite the seed volume, which the guest reads on
/// its next first boot.
pub async fn modify(cloud: &Cloud, region_id: &str, id: &str, m: &Modify) -> Result<()> {
    cloud.check_region(region_id)?;
    if let Some(n) = &m.instance_name {
        names::check_name("InstanceName", n, "InvalidInstanceName.Malformed")?;
    }
    if let Some(d) = &m.description {
        names::check_description("Description", d)?;
    }
    if let Some(c) = &m.credit_specification {
        if c != "Standard" && c != "Unlimited" {
            return Err(Error::bad_request(
                "InvalidParameter.CreditSpecification",
                format!(
                    "The specified CreditSpecification {c:?} is not valid: Standard or Unlimited."
                ),
            ));
        }
    }
    let mut tx = cloud.store.write().await?;
    let mut i = find(&mut tx, region_id, id).await?;
    let windows = i.os_type == "windows";
    if let Some(h) = &m.host_name {
        hostname::ECS.check(h, windows)?;
    }
    if let Some(p) = &m.password {
        password::check(p, windows)?;
    }
    let decoded = match &m.user_data {
        Some(u) => {
            if i.status != Status::Stopped {
                return Err(Error::forbidden("IncorrectInstanceStatus", format!("The current status of the resource does not support this operation: UserData can only change while {id} is Stopped (it is {}).", i.status)));
            }
            Some(user_data::decode(u, user_data::limit(false))?)
        }
        None => None,
    };
    if !m.security_group_ids.is_empty() {
        let groups = membership::group_list(&m.security_group_ids)?;
        for g in &groups {
            let group = membership::group(&mut tx, region_id, g).await?;
            if group.vpc_id != i.vpc_id {
                return Err(Error::bad_request(
                    "InvalidParameter.Mismatch",
                    format!(
                        "Specified security group {g} is not in the VPC of {id} ({}).",
                        i.vpc_id
                    ),
                ));
            }
        }
        store::set_groups(&mut tx, id, &groups).await?;
    }
    let reseed = m.host_name.is_some() || m.password.is_some() || decoded.is_some();
    if let Some(n) = &m.instance_name {
        i.name = n.clone();
    }
    if let Some(d) = &m.description {
        i.description = d.clone();
    }
    if let Some(h) = &m.host_name {
        i.hostname = h.clone();
    }
    if let Some(p) = &m.password {
        i.password_hash = password::hash(p);
    }
    if let Some(u) = &m.user_data {
        i.user_data = u.clone();
    }
    if let Some(d) = m.deletion_protection {
        if d && (i.instance_charge_type == "PrePaid" || i.spot_strategy != "NoSpot") {
            return Err(Error::forbidden("InvalidChargeType.ValueNotSupported", "Deletion protection is only valid for postPaid instance, not for prePaid or spot instance."));
        }
        i.deletion_protection = d;
    }
    if let Some(c) = &m.credit_specification {
        i.credit_specification = c.clone();
    }
    store::update_attributes(&mut tx, &i).await?;
    if reseed {
        host_files::write_seed(cloud, &mut tx, &i).await?;
    }
    // New groups reach the instance's firewall, and a new hostname or user data the metadata
    // service, before the call returns (as with JoinSecurityGroup / LeaveSecurityGroup); a
    // refused apply keeps the old attributes.
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(())
}

/// ModifyInstanceMetadataOptions.
pub async fn modify_metadata(
    cloud: &Cloud,
    region_id: &str,
    id: &str,
    m: &MetadataOptions,
) -> Result<()> {
    cloud.check_region(region_id)?;
    let mut tx = cloud.store.write().await?;
    let mut i = find(&mut tx, region_id, id).await?;
    let (e, t, h, g) = check_metadata(
        m,
        Some((
            &i.http_endpoint,
            &i.http_tokens,
            i.http_put_hop_limit,
            &i.metadata_tags,
        )),
    )?;
    i.http_endpoint = e;
    i.http_tokens = t;
    i.http_put_hop_limit = h;
    i.metadata_tags = g;
    store::update_attributes(&mut tx, &i).await?;
    // The metadata service takes its per-instance settings from the host sync: committing
    // without it would leave a running instance's HttpTokens=required or HttpEndpoint=disabled
    // unenforced until some unrelated network change.
    crate::host::commit_with_network(cloud, tx).await?;
    Ok(())
}
