//! An instance's place on the network: AllocatePublicIpAddress, JoinSecurityGroup and
//! LeaveSecurityGroup. The rules live in `hearth_cloud::instances::{public_ip, membership}`.

use hearth_cloud::instances::membership::{self, Member};
use hearth_cloud::instances::public_ip;
use hearth_cloud::{Cloud, Error, Result};
use serde_json::{json, Value};

use super::region;
use crate::params::Params;

/// AllocatePublicIpAddress: InstanceId, optional IpAddress; VlanId is accepted and ignored
/// (hearth has no VLANs). Answers the address.
pub async fn allocate_public_ip(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = region(cloud, p, false)?;
    let id = p.required("InstanceId")?;
    let address = public_ip::allocate(cloud, &region_id, id, p.opt("IpAddress")).await?;
    Ok(json!({"IpAddress": address}))
}

/// InstanceId or NetworkInterfaceId (not both, and one of them), as ECS takes them.
fn member(p: &Params) -> Result<Member> {
    match (p.opt("InstanceId"), p.opt("NetworkInterfaceId")) {
        (Some(_), Some(_)) => Err(Error::forbidden(
            "InvalidParam.EniIdAndInstanceId.Conflict",
            "InstanceId and NetworkInterfaceId cannot both be given: name the instance or the network interface.",
        )),
        (Some(i), None) => Ok(Member::Instance(i.to_string())),
        (None, Some(n)) => Ok(Member::NetworkInterface(n.to_string())),
        (None, None) => Err(Error::missing_parameter("InstanceId")),
    }
}

pub async fn join(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = region(cloud, p, false)?;
    let group = p.required("SecurityGroupId")?;
    membership::join(cloud, &region_id, &member(p)?, group).await?;
    Ok(json!({}))
}

pub async fn leave(cloud: &Cloud, p: &Params) -> Result<Value> {
    let region_id = region(cloud, p, false)?;
    let group = p.required("SecurityGroupId")?;
    membership::leave(cloud, &region_id, &member(p)?, group).await?;
    Ok(json!({}))
}
