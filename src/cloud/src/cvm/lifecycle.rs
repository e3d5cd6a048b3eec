//! CVM StartInstances, StopInstances, RebootInstances and TerminateInstances over the shared
//! lifecycle. CVM names a refusal by the state that caused it
//! (`UnsupportedOperation.InstanceStateRunning`, …), so a wrong-state refusal is answered with
//! the state of the first instance that is in the way. TerminateInstances needs no Force:
//! CVM terminates running instances.

use super::errors::{translate, Service};
use super::states;
use crate::instances::view::{self, Filter, Paging};
use crate::instances::{self, Change};
use crate::paging::Page;
use crate::{Cloud, Error, Result};

/// At most this many InstanceIds per call (CVM's limit).
pub const MAX_IDS: usize = 100;

/// The CVM states an action accepts.
fn accepted(change: Change) -> &'static [&'static str] {
    match change {
        Change::Start => &["STOPPED"],
        Change::Stop { .. } => &["RUNNING", "STARTING"],
        Change::Reboot { .. } => &["RUNNING"],
    }
}

/// The first instance (in `ids` order) whose CVM state the action does not accept, with the
/// refusal naming that state; None when all are acceptable, or one is unknown (hearth's own
/// rules then answer InvalidInstanceId.NotFound first), or they cannot be read.
async fn refusal(cloud: &Cloud, region: &str, ids: &[String], change: Change) -> Option<Error> {
    let filter = Filter {
        region_id: region.to_string(),
        ids: Some(ids.to_vec()),
        ..Default::default()
    };
    let page = Page::window(None, Some(MAX_IDS as i64), 1, MAX_IDS as u32).ok()?;
    let listing = view::describe(cloud, &filter, Paging::Numbered(page), false)
        .await
        .ok()?;
    let mut states = Vec::new();
    for id in ids {
        let l = listing.instances.iter().find(|l| &l.instance.id == id)?;
        states.push((id, states::of(&l.instance)));
    }
    let (id, state) = states
        .into_iter()
        .find(|(_, state)| !accepted(change).contains(state))?;
    // 403, as hearth's own IncorrectInstanceStatus (CVM answers every error with HTTP 200).
    Some(Error::new(
        403,
        states::refused_code(state),
        format!(
            "The instance {id} is {state}, and this action needs it {}.",
            accepted(change).join(" or ")
        ),
    ))
}

fn check_ids(ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::missing_parameter("InstanceIds"));
    }
    if ids.len() > MAX_IDS {
        return Err(Error::bad_request(
            "InvalidParameterValue.LimitExceeded",
            format!(
                "The parameter \"InstanceIds\" has {} IDs: at most {MAX_IDS}.",
                ids.len()
            ),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = ids.iter().find(|i| !seen.insert(*i)) {
        return Err(Error::bad_request(
            "InvalidParameterValue.Duplicate",
            format!("The instance {dup} is given twice in InstanceIds."),
        ));
    }
    Ok(())
}

/// Start, stop or reboot, all or nothing. `stopped_mode` is CVM's StoppedMode.
pub async fn change(
    cloud: &Cloud,
    region: &str,
    ids: &[String],
    change: Change,
    stopped_mode: Option<&str>,
) -> Result<()> {
    check_ids(ids)?;
    let mode = match stopped_mode {
        None => None,
        Some("KEEP_CHARGING") => Some("KeepCharging"),
        Some("STOP_CHARGING") => Some("StopCharging"),
        Some(other) => {
            return Err(Error::bad_request(
                "InvalidParameterValue",
                format!(
                "The parameter \"StoppedMode\" {other:?} is not KEEP_CHARGING or STOP_CHARGING."
            ),
            ))
        }
    };
    // hearth's own rules start a Stopped instance whatever ended it; CVM does not start one
    // whose launch failed (it can only be terminated), so that is refused here first.
    if change == Change::Start {
        if let Some(refused) = refusal(cloud, region, ids, change).await {
            return Err(refused);
        }
    }
    match instances::change(cloud, region, ids, change, mode, false).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == "IncorrectInstanceStatus" => Err(refusal(cloud, region, ids, change)
            .await
            .unwrap_or_else(|| translate(Service::Cvm, e))),
        Err(e) => Err(translate(Service::Cvm, e)),
    }
}

/// TerminateInstances: stopped instances go at once, others once their VMM has ended.
pub async fn terminate(cloud: &Cloud, region: &str, ids: &[String]) -> Result<()> {
    check_ids(ids)?;
    instances::delete(cloud, region, ids, true, false)
        .await
        .map_err(|e| translate(Service::Cvm, e))
}
