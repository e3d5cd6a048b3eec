//! Start, stop, reboot and delete: each is a status/intent change in one write transaction,
//! then a wake-up for the supervisor (`cloud.host.instances_changed()`), which acts, moves the
//! status on and clears the intent. A Stopped instance is deleted here at once by
//! [`finish_delete`], which the supervisor also calls after a forced delete's VMM has ended.

use hearth_store::disks as disk_store;
use hearth_store::instances::{self as store, Instance};
use hearth_store::Conn;

use super::{capacity, files, not_found, Intent, Status};
use crate::{ids, placement, Cloud, Error, Result};

async fn find(conn: &mut Conn, region_id: &str, id: &str) -> Result<Instance> {
    match store::get(conn, id).await? {
        Some(i) if i.region_id == region_id => Ok(i),
        _ => Err(not_found(id)),
    }
}

fn incorrect(i: &Instance, action: &str, needs: &str) -> Error {
    Error::forbidden(
        "IncorrectInstanceStatus",
        format!("The current status of the resource does not support this operation: {action} needs the instance {} to be {needs}, it is {}{}.", i.id, i.status, i.intent.map(|t| format!(" (pending {t})")).unwrap_or_default()),
    )
}

/// What one instance went from and to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub instance_id: String,
    pub previous: Status,
    pub current: Status,
}

/// The change an action asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Start,
    Stop { force: bool },
    Reboot { force: bool },
}

/// Starts, stops or reboots instances, all or nothing: every instance is checked first, then
/// all change in one transaction. `stopped_mode` is recorded by Stop (KeepCharging or
/// StopCharging).
pub async fn change(
    cloud: &Cloud,
    region_id: &str,
    ids: &[String],
    change: Change,
    stopped_mode: Option<&str>,
    dry_run: bool,
) -> Result<Vec<Transition>> {
    cloud.check_region(region_id)?;
    if let Some(m) = stopped_mode {
        if m != "KeepCharging" && m != "StopCharging" {
            return Err(Error::invalid_parameter(
                "StoppedMode",
                format!("{m:?} is not KeepCharging or StopCharging"),
            ));
        }
    }
    let mut tx = cloud.store.write().await?;
    let mut plan = Vec::new();
    // What starting adds to each host: (zone, host, resources).
    let mut extra: Vec<(String, String, capacity::Resources)> = Vec::new();
    for id in ids {
        let i = find(&mut tx, region_id, id).await?;
        let (status, intent) = match change {
            Change::Start => {
                if i.status != Status::Stopped || i.intent.is_some() {
                    return Err(incorrect(&i, "StartInstance", "Stopped"));
                }
                match extra.iter_mut().find(|(_, h, _)| *h == i.host_id) {
                    Some((_, _, r)) => {
                        r.vcpus += i.vcpus;
                        r.memory_mib += i.memory_mib;
                    }
                    None => extra.push((
                        i.zone_id.clone(),
                        i.host_id.clone(),
                        capacity::Resources {
                            vcpus: i.vcpus,
                            memory_mib: i.memory_mib,
                        },
                    )),
                }
                (Status::Starting, Intent::Start)
            }
            Change::Stop { force } => {
                let settled_running = i.status == Status::Running && i.intent.is_none();
                if !(settled_running || i.status == Status::Starting) {
                    return Err(incorrect(&i, "StopInstance", "Running or Starting"));
                }
                let intent = if force {
                    Intent::ForceStop
                } else {
                    Intent::Stop
                };
                (Status::Stopping, intent)
            }
            Change::Reboot { force } => {
                if i.status != Status::Running || i.intent.is_some() {
                    return Err(incorrect(&i, "RebootInstance", "Running"));
                }
                let intent = if force {
                    Intent::ForceReboot
                } else {
                    Intent::Reboot
                };
                (Status::Stopping, intent)
            }
        };
        plan.push((i, status, intent));
    }
    if change == Change::Start {
        placement::check_room(&mut tx, cloud, &extra).await?;
    }
    if dry_run {
        return Err(Error::dry_run_passed());
    }
    let mut out = Vec::new();
    for (i, status, intent) in plan {
        store::set_state(&mut tx, &i.id, status, Some(intent)).await?;
        if matches!(change, Change::Stop { .. }) {
            store::set_stopped_mode(&mut tx, &i.id, stopped_mode.unwrap_or("KeepCharging")).await?;
        }
        out.push(Transition {
            instance_id: i.id,
            previous: i.status,
            current: status,
        });
    }
    tx.commit().await?;
    cloud.host.instances_changed();
    Ok(out)
}

/// DeleteInstance(s): Stopped instances go at once; Running/Starting ones only with Force,
/// which asks the supervisor to end the VMM first ('delete' intent). DeletionProtection refuses.
pub async fn delete(
    cloud: &Cloud,
    region_id: &str,
    ids: &[String],
    force: bool,
    dry_run: bool,
) -> Result<()> {
    cloud.check_region(region_id)?;
    let mut tx = cloud.store.write().await?;
    let mut now_gone = Vec::new();
    let mut later = Vec::new();
    for id in ids {
        let i = find(&mut tx, region_id, id).await?;
        if i.deletion_protection {
            return Err(Error::forbidden(
                "InvalidOperation.DeletionProtection",
                format!("The instance {id} cannot be released because deletion protection is enabled: turn it off with ModifyInstanceAttribute DeletionProtection=false first."),
            ));
        }
        match (i.status, i.intent) {
            (Status::Stopped, None) => now_gone.push(i),
            (_, Some(Intent::Delete)) => {} // already on its way out
            _ if force => later.push(i),
            _ => return Err(incorrect(&i, "DeleteInstance without Force", "Stopped")),
        }
    }
    if dry_run {
        return Err(Error::dry_run_passed());
    }
    for i in &later {
        store::set_state(&mut tx, &i.id, Status::Stopping, Some(Intent::Delete)).await?;
    }
    let mut paths = Vec::new();
    for i in &now_gone {
        paths.extend(remove_records(&mut tx, cloud, i).await?);
    }
    if now_gone.is_empty() {
        tx.commit().await?;
    } else {
        // Their NICs and public-IP DNATs leave the host network with the records (no VMM is
        // left to end, so the supervisor will not sync for them): a released public IP stops
        // reaching the old address before it can be given to another instance.
        crate::host::commit_with_network(cloud, tx).await?;
    }
    files::remove_all(&paths);
    if !later.is_empty() {
        cloud.host.instances_changed();
    }
    Ok(())
}

/// Deletes an instance's records in `tx` and returns the files to remove after commit: the
/// instance directory and the files of disks released with it. Other disks stay, available.
async fn remove_records(
    conn: &mut Conn,
    cloud: &Cloud,
    i: &Instance,
) -> Result<Vec<std::path::PathBuf>> {
    let mut paths = vec![files::instance_dir(&cloud.data_dir, &i.id)];
    let now = ids::now_utc();
    for d in disk_store::of_instance(conn, &i.id).await? {
        if d.delete_with_instance {
            disk_store::delete(conn, &d.id).await?;
            paths.push(files::disk_path(&cloud.data_dir, &d.id));
        } else {
            disk_store::detach(conn, &d.id, &now).await?;
        }
    }
    store::delete(conn, &i.id).await?;
    store::adjust_vswitch_free(conn, &i.vswitch_id, 1).await?;
    Ok(paths)
}

/// Removes an instance for good: rows, tags, security-group membership, its directory, and
/// the disk files with DeleteWithInstance (the others stay as available disks). The supervisor
/// calls this once the VMM of an instance with intent 'delete' has ended; a missing instance
/// is not an error (it is already gone).
pub async fn finish_delete(cloud: &Cloud, id: &str) -> Result<()> {
    let mut tx = cloud.store.write().await?;
    let Some(i) = store::get(&mut tx, id).await? else {
        return Ok(());
    };
    let paths = remove_records(&mut tx, cloud, &i).await?;
    tx.commit().await?;
    files::remove_all(&paths);
    Ok(())
}

/// For the supervisor: an instance reached `status` (Running, Stopped, ...) and the intent it
/// acted on (`acted_on`) is done. Reaching Running records the start time. If the API recorded
/// another intent meanwhile, nothing changes and this returns false: the supervisor acts on the
/// new one next. A missing instance is not an error (false).
pub async fn settle(
    cloud: &Cloud,
    id: &str,
    status: Status,
    acted_on: Option<Intent>,
) -> Result<bool> {
    let now = ids::now_utc();
    let start_time = (status == Status::Running).then_some(now.as_str());
    let mut tx = cloud.store.write().await?;
    let settled = store::settle(&mut tx, id, status, start_time, acted_on).await?;
    tx.commit().await?;
    Ok(settled)
}

/// For the supervisor: a launch failed, so the instance is Stopped and, if it never ran, marked
/// as a failed launch (CVM's LAUNCH_FAILED). As [`settle`], nothing changes unless `acted_on`
/// is still the instance's intent.
pub async fn settle_launch_failed(
    cloud: &Cloud,
    id: &str,
    acted_on: Option<Intent>,
) -> Result<bool> {
    let mut tx = cloud.store.write().await?;
    let settled = store::settle(&mut tx, id, Status::Stopped, None, acted_on).await?;
    if settled {
        store::mark_launch_failed(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok(settled)
}

/// For the supervisor: every instance with an intent, in creation order.
pub async fn pending_intents(cloud: &Cloud, host_id: &str) -> Result<Vec<store::State>> {
    let mut conn = cloud.store.pool().acquire().await?;
    Ok(store::with_intent(&mut conn, host_id).await?)
}

/// For the supervisor's AutoReleaseTime sweep: instances whose release time has come. Release
/// them with [`delete`] (force, since they may be running), which honours DeletionProtection.
pub async fn due_for_release(cloud: &Cloud, host_id: &str) -> Result<Vec<String>> {
    let mut conn = cloud.store.pool().acquire().await?;
    Ok(store::due_for_release(&mut conn, host_id, &ids::now_utc()).await?)
}
