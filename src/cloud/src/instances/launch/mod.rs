//! CreateInstance and RunInstances: every parameter checked (seed codes and statuses), then one
//! write transaction that re-checks the state (VSwitch, groups, key pair, addresses, capacity),
//! inserts the records and makes the files. A failure anywhere leaves no rows and no files.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use hearth_store::disks::{self as disk_store, Disk};
use hearth_store::instances::{self as store, Instance};
use hearth_store::{tags as store_tags, vswitches, Conn};

use super::rules;
use super::{
    capacity, files, host_files, membership, seed, user_data, Action, Intent, Policy, Status,
};
use crate::catalog::{self, InstanceType};
use crate::cidr::{self, Cidr};
use crate::disk_rules::{self, Category};
use crate::images::{self, Image};
use crate::tags::Tag;
use crate::{
    choice, client_token, hostname, ids, names, password, placement, Cloud, Error, Result,
};

mod billing;
mod check;
mod create;
mod disks;
mod metadata_options;
mod network;
mod request;

use billing::*;
use check::*;
use create::*;
use disks::*;
pub use metadata_options::check_metadata;
use network::*;
pub use request::*;

/// A parameter with a fixed list of values, worded as ECS refuses it; absent takes `default`.
fn one_of(
    param: &str,
    value: Option<&str>,
    allowed: &[&str],
    code: &str,
    status: u16,
    default: &str,
) -> Result<String> {
    match choice::one_of(value, allowed) {
        Ok(v) => Ok(v.unwrap_or(default).to_string()),
        Err(e) => Err(Error::new(
            status,
            code,
            format!(
                "The specified parameter \"{param}\" {:?} is not valid: use one of {}.",
                e.value, e.listed
            ),
        )),
    }
}

/// NoStock with the instance type named, as ECS words it.
fn with_type(mut e: Error, plan: &Plan) -> Error {
    if e.code == "OperationDenied.NoStock" {
        e.message = e.message.replacen(
            "instance(s) of",
            &format!("instance(s) of {} with", plan.itype.id),
            1,
        );
    }
    e
}

/// Creates instances (CreateInstance: one, Stopped; RunInstances: Amount, Pending + 'start')
/// and returns their IDs.
pub async fn launch(cloud: &Cloud, req: &Launch) -> Result<Vec<String>> {
    let mut plan = check_request(cloud, req)?;
    let action = if req.run { Action::Run } else { Action::Create };
    let mut tx = cloud.store.write().await?;
    let token = req.client_token.as_ref();
    if let Some(t) = token {
        if let Some(done) = client_token::replay::<Vec<String>>(
            &mut tx,
            action.name(),
            Some(&t.token),
            &t.fingerprint,
        )
        .await?
        {
            return Ok(done);
        }
    }
    let net = check_network(&mut tx, req, &mut plan).await?;
    // Only checked here: the seed reads the key from the record's key pair.
    if let Some(name) = &req.key_pair_name {
        if store::key_pair_public_key(&mut tx, name).await?.is_none() {
            return Err(Error::not_found(
                "InvalidKeyPairName.NotFound",
                format!("The specified KeyPairName {name:?} does not exist in our records."),
            ));
        }
    }
    let taken = store::addresses_in_vswitch(&mut tx, &net.vswitch.vswitch_id).await?;
    // RunInstances needs room now; CreateInstance only a home (its Stopped instances hold none).
    let each = if req.run {
        capacity::Resources {
            vcpus: plan.itype.vcpus as i64,
            memory_mib: plan.itype.memory_mib as i64,
        }
    } else {
        capacity::Resources::default()
    };
    let hosts = placement::choose(
        &mut tx,
        cloud,
        &plan.zone_id,
        each,
        plan.min_amount,
        plan.amount,
    )
    .await
    .map_err(|e| with_type(e, &plan))?;
    let mut count = hosts.len() as i64;
    let addresses: Vec<Ipv4Addr> = if req.private_ips.is_empty() {
        free_addresses(&net.block, &taken, count as usize)
    } else {
        req.private_ips
            .iter()
            .map(|ip| ip.parse().map_err(Error::internal))
            .collect::<Result<_>>()?
    };
    if (addresses.len() as i64) < count {
        if (addresses.len() as i64) < plan.min_amount {
            return Err(Error::forbidden(
                "QuotaExceeded.PrivateIpAddress",
                format!(
                    "Don't have enough private IPs in this switch: {} has {} free addresses.",
                    net.vswitch.vswitch_id,
                    addresses.len()
                ),
            ));
        }
        count = addresses.len() as i64;
    }
    if req.dry_run {
        return Err(Error::dry_run_passed());
    }
    let mut made: Vec<PathBuf> = Vec::new();
    let result = create_all(
        cloud,
        &mut tx,
        req,
        &plan,
        &net,
        &addresses[..count as usize],
        &hosts,
        &mut made,
    )
    .await;
    let ids = match result {
        Ok(ids) => ids,
        Err(e) => {
            drop(tx);
            files::remove_all(&made);
            return Err(e);
        }
    };
    if let Some(t) = token {
        if let Err(e) =
            client_token::remember(&mut tx, action.name(), Some(&t.token), &t.fingerprint, &ids)
                .await
        {
            drop(tx);
            files::remove_all(&made);
            return Err(e);
        }
    }
    if let Err(e) = tx.commit().await {
        files::remove_all(&made);
        return Err(e.into());
    }
    if req.run {
        cloud.host.instances_changed();
    }
    Ok(ids)
}
