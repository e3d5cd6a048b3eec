//! JoinSecurityGroup / LeaveSecurityGroup: one security group more or less for an instance.
//! The change is applied to the host network inside the write transaction
//! ([`crate::host::commit_with_network`]), so the instance's firewall follows it before the
//! call returns, and a refused apply leaves both the store and the host as they were.
//!
//! Error codes and statuses are those of the ECS JoinSecurityGroup / LeaveSecurityGroup
//! references (InvalidSecurityGroupAssociation.NotFound is what LeaveSecurityGroup answers for a
//! non-member since July 2024, instead of succeeding).

use hearth_store::instances::{self as store, Instance};
use hearth_store::{security_groups, Conn};

use super::{not_found, Status};
use crate::security_group::capacity;
use crate::{Cloud, Error, Result};

/// Security groups one instance may be in (the ECS default quota).
pub const MAX_GROUPS_PER_INSTANCE: usize = 5;

/// What to add to or remove from a security group. ECS also takes a NetworkInterfaceId; hearth
/// instances have only their primary NIC, which has no ID of its own, so none is ever found.
#[derive(Debug, Clone)]
pub enum Member {
    Instance(String),
    NetworkInterface(String),
}

fn eni_not_found(id: &str) -> Error {
    Error::not_found(
        "InvalidEniId.NotFound",
        format!("The specified NetworkInterfaceId {id:?} does not exist: hearth instances have only their primary network interface; use InstanceId."),
    )
}

async fn instance(conn: &mut Conn, region_id: &str, id: &str, action: &str) -> Result<Instance> {
    let i = match store::get(conn, id).await? {
        Some(i) if i.region_id == region_id => i,
        _ => return Err(not_found(id)),
    };
    if i.status != Status::Running && i.status != Status::Stopped {
        return Err(Error::forbidden(
            "IncorrectInstanceStatus",
            format!("The current status of the resource does not support this operation: {action} needs the instance {id} to be Running or Stopped, it is {}.", i.status),
        ));
    }
    Ok(i)
}

/// The group `id` of `region_id`, or `InvalidSecurityGroupId.NotFound`.
pub(super) async fn group(
    conn: &mut Conn,
    region_id: &str,
    id: &str,
) -> Result<security_groups::GroupRecord> {
    security_groups::get_group(conn, region_id, id)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                "InvalidSecurityGroupId.NotFound",
                format!("The specified SecurityGroupId {id:?} does not exist."),
            )
        })
}

/// A list of security groups for one instance: duplicates next to each other dropped, at most 5.
pub(super) fn group_list(ids: &[String]) -> Result<Vec<String>> {
    let mut groups = ids.to_vec();
    groups.dedup();
    if groups.len() > 5 {
        return Err(Error::invalid_parameter(
            "SecurityGroupIds",
            "at most 5 security groups",
        ));
    }
    Ok(groups)
}

/// JoinSecurityGroup: the group goes after the instance's others.
pub async fn join(cloud: &Cloud, region_id: &str, member: &Member, group_id: &str) -> Result<()> {
    cloud.check_region(region_id)?;
    let mut tx = cloud.store.write().await?;
    let g = group(&mut tx, region_id, group_id).await?;
    let id = match member {
        Member::Instance(id) => id,
        Member::NetworkInterface(eni) => return Err(eni_not_found(eni)),
    };
    let i = instance(&mut tx, region_id, id, "JoinSecurityGroup").await?;
    if g.vpc_id != i.vpc_id {
        return Err(Error::bad_request(
            "InvalidInstanceId.Mismatch",
            format!("Specified instance and security group are not in the same VPC: {id} is in {}, {group_id} in {}.", i.vpc_id, if g.vpc_id.is_empty() { "no VPC" } else { &g.vpc_id }),
        ));
    }
    let groups = store::groups_of(&mut tx, id).await?;
    if groups.iter().any(|m| m == group_id) {
        return Err(Error::forbidden(
            "InvalidInstanceId.AlreadyExists",
            format!("The specified instance already exists in the specified security group: {id} is in {group_id}."),
        ));
    }
    if groups.len() >= MAX_GROUPS_PER_INSTANCE {
        return Err(Error::bad_request(
            "InstanceSecurityGroupLimitExceeded",
            format!("Exceeding the allowed amount of security groups that an instance can be in: {id} is in {} groups, at most {MAX_GROUPS_PER_INSTANCE}.", groups.len()),
        ));
    }
    let members = store::count_in_groups(&mut tx, std::slice::from_ref(&g.id))
        .await?
        .get(&g.id)
        .copied()
        .unwrap_or(0);
    if members >= capacity(&g.group_type) {
        return Err(Error::forbidden(
            "SecurityGroupInstanceLimitExceeded",
            format!("The maximum number of instances in a security group is exceeded: {group_id} holds {members}."),
        ));
    }
    store::add_group(&mut tx, id, group_id).await?;
    crate::host::commit_with_network(cloud, tx).await
}

/// LeaveSecurityGroup: an instance keeps at least one group.
pub async fn leave(cloud: &Cloud, region_id: &str, member: &Member, group_id: &str) -> Result<()> {
    cloud.check_region(region_id)?;
    let mut tx = cloud.store.write().await?;
    group(&mut tx, region_id, group_id).await?;
    let id = match member {
        Member::Instance(id) => id,
        Member::NetworkInterface(eni) => return Err(eni_not_found(eni)),
    };
    instance(&mut tx, region_id, id, "LeaveSecurityGroup").await?;
    let groups = store::groups_of(&mut tx, id).await?;
    if !groups.iter().any(|m| m == group_id) {
        return Err(Error::bad_request(
            "InvalidSecurityGroupAssociation.NotFound",
            format!("The instance {id} is not in the security group {group_id}."),
        ));
    }
    if groups.len() == 1 {
        return Err(Error::forbidden(
            "InstanceLastSecurityGroup",
            format!("The specified security group is the last security group for the instance: {id} must stay in at least one group."),
        ));
    }
    store::remove_group(&mut tx, id, group_id).await?;
    crate::host::commit_with_network(cloud, tx).await
}
