//! CVM instance states over hearth's one status/intent record: Pending is PENDING, Starting
//! STARTING, Running RUNNING; Stopped is LAUNCH_FAILED when its launch failed before it ever ran,
//! else STOPPED; Stopping is REBOOTING when a reboot is pending, TERMINATING when a delete is,
//! else STOPPING. SHUTDOWN (a prepaid instance past its term) never happens here.

use crate::instances::{
    STATUS_PENDING, STATUS_RUNNING, STATUS_STARTING, STATUS_STOPPED, STATUS_STOPPING,
};
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
    match (i.status.as_str(), i.intent.as_deref()) {
        (STATUS_PENDING, _) => "PENDING",
        (STATUS_STARTING, _) => "STARTING",
        (STATUS_RUNNING, _) => "RUNNING",
        (STATUS_STOPPED, _) if i.launch_failed => "LAUNCH_FAILED",
        (STATUS_STOPPED, _) => "STOPPED",
        (STATUS_STOPPING, Some("reboot" | "force_reboot")) => "REBOOTING",
        (STATUS_STOPPING, Some("delete")) => "TERMINATING",
        _ => "STOPPING",
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
    let on = |status, intents: Option<&[&str]>, launch_failed| {
        Some(Condition {
            status,
            intents: intents.map(|l| l.iter().map(|s| s.to_string()).collect()),
            launch_failed,
        })
    };
    match state {
        "PENDING" => on(STATUS_PENDING, None, None),
        "STARTING" => on(STATUS_STARTING, None, None),
        "RUNNING" => on(STATUS_RUNNING, None, None),
        "STOPPED" => on(STATUS_STOPPED, None, Some(false)),
        "LAUNCH_FAILED" => on(STATUS_STOPPED, None, Some(true)),
        "STOPPING" => on(STATUS_STOPPING, Some(&["", "stop", "force_stop"]), None),
        "REBOOTING" => on(STATUS_STOPPING, Some(&["reboot", "force_reboot"]), None),
        "TERMINATING" => on(STATUS_STOPPING, Some(&["delete"]), None),
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
            status: status.to_string(),
            intent: intent.map(str::to_string),
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
