//! CVM instance states over hearth's one status/intent record: Pending is PENDING, Starting
//! STARTING, Running RUNNING; Stopped is LAUNCH_FAILED when its launch failed before it ever ran,
//! else STOPPED; Stopping is REBOOTING when a reboot is pending, TERMINATING when a delete is,
//! else STOPPING. SHUTDOWN (a prepaid instance past its term) never happens here.

use crate::instances::{Intent, Status};
use hearth_store::instances::Instance;

/// Every CVM state, for validating `instance-state` filters.
pub const STATES: &[&str] = &[
    "PENDING",
    "LAUNCH_FAILED",
    "RUNNING",
    "STOPPED",
    "STARTING",
    "STOPPING",
    "REBOOTING",
    "SHUTDOWN",
    "TERMINATING",
];

/// The CVM state of an instance record.
pub fn of(i: &Instance) -> &'static str {
    match (i.status, i.intent) {
        (Status::Pending, _) => "PENDING",
        (Status::Starting, _) => "STARTING",
        (Status::Running, _) => "RUNNING",
        (Status::Stopped, _) if i.launch_failed => "LAUNCH_FAILED",
        (Status::Stopped, _) => "STOPPED",
        (Status::Stopping, Some(Intent::Reboot | Intent::ForceReboot)) => "REBOOTING",
        (Status::Stopping, Some(Intent::Delete)) => "TERMINATING",
        (Status::Stopping, _) => "STOPPING",
    }
}

/// The record condition a CVM state filter selects.
#[derive(Debug, PartialEq, Eq)]
pub struct Condition {
    pub status: &'static str,
    /// Pending intents to match, `""` for none; None for any.
    pub intents: Option<Vec<String>>,
    pub launch_failed: Option<bool>,
}

/// The condition for a CVM state filter; `None` for SHUTDOWN, which matches nothing.
pub fn condition(state: &str) -> Option<Condition> {
    let on = |status: Status, intents: Option<&[&str]>, launch_failed| {
        Some(Condition {
            status: status.as_str(),
            intents: intents.map(|l| l.iter().map(|s| s.to_string()).collect()),
            launch_failed,
        })
    };
    match state {
        "PENDING" => on(Status::Pending, None, None),
        "STARTING" => on(Status::Starting, None, None),
        "RUNNING" => on(Status::Running, None, None),
        "STOPPED" => on(Status::Stopped, None, Some(false)),
        "LAUNCH_FAILED" => on(Status::Stopped, None, Some(true)),
        "STOPPING" => on(
            Status::Stopping,
            Some(&["", Intent::Stop.as_str(), Intent::ForceStop.as_str()]),
            None,
        ),
        "REBOOTING" => on(
            Status::Stopping,
            Some(&[Intent::Reboot.as_str(), Intent::ForceReboot.as_str()]),
            None,
        ),
        "TERMINATING" => on(Status::Stopping, Some(&[Intent::Delete.as_str()]), None),
        _ => None,
    }
}

/// The error code CVM gives an action refused because of the instance's state.
pub fn refused_code(state: &str) -> String {
    let camel: String = state
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_string() + &c.as_str().to_ascii_lowercase())
                .unwrap_or_default()
        })
        .collect();
    format!("UnsupportedOperation.InstanceState{camel}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: &str, intent: Option<&str>, launch_failed: bool) -> Instance {
        Instance {
            status: status.parse().unwrap(),
            intent: intent.map(|t| t.parse().unwrap()),
            launch_failed,
            ..Instance::default()
        }
    }

    #[test]
    fn states_round_trip() {
        assert_eq!(of(&record("Pending", Some("start"), false)), "PENDING");
        assert_eq!(
            of(&record("Stopping", Some("force_reboot"), false)),
            "REBOOTING"
        );
        assert_eq!(
            of(&record("Stopping", Some("delete"), false)),
            "TERMINATING"
        );
        assert_eq!(of(&record("Stopping", Some("stop"), false)), "STOPPING");
        assert_eq!(of(&record("Stopped", None, false)), "STOPPED");
        assert_eq!(of(&record("Stopped", None, true)), "LAUNCH_FAILED");
        // Every state a filter can select is the state of the records it selects.
        for s in STATES {
            if let Some(c) = condition(s) {
                let intent = c
                    .intents
                    .and_then(|l| l.into_iter().find(|i| !i.is_empty()));
                let failed = c.launch_failed.unwrap_or(false);
                assert_eq!(of(&record(c.status, intent.as_deref(), failed)), *s);
            }
        }
        assert_eq!(condition("SHUTDOWN"), None);
        assert_eq!(
            refused_code("RUNNING"),
            "UnsupportedOperation.InstanceStateRunning"
        );
        assert_eq!(
            refused_code("LAUNCH_FAILED"),
            "UnsupportedOperation.InstanceStateLaunchFailed"
        );
    }
}
