//! CVM instance states over hearth's one status/intent record: Pending is PENDING, Starting
//! STARTING, Running RUNNING, Stopped STOPPED; Stopping is REBOOTING when a reboot is pending,
//! TERMINATING when a delete is, else STOPPING. LAUNCH_FAILED is never reported: a launch that
//! fails on the host leaves the instance Stopped with the reason in its console output.

use crate::instances::{
    STATUS_PENDING, STATUS_RUNNING, STATUS_STARTING, STATUS_STOPPED, STATUS_STOPPING,
};

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
pub fn of(status: &str, intent: Option<&str>) -> &'static str {
    match (status, intent) {
        (STATUS_PENDING, _) => "PENDING",
        (STATUS_STARTING, _) => "STARTING",
        (STATUS_RUNNING, _) => "RUNNING",
        (STATUS_STOPPED, _) => "STOPPED",
        (STATUS_STOPPING, Some("reboot" | "force_reboot")) => "REBOOTING",
        (STATUS_STOPPING, Some("delete")) => "TERMINATING",
        _ => "STOPPING",
    }
}

/// The record condition a CVM state filter selects: (status, intents), intents `""` for none.
/// `None` for states hearth never reports (LAUNCH_FAILED, SHUTDOWN): they match nothing.
pub fn condition(state: &str) -> Option<(&'static str, Option<Vec<String>>)> {
    let intents = |l: &[&str]| Some(l.iter().map(|s| s.to_string()).collect());
    match state {
        "PENDING" => Some((STATUS_PENDING, None)),
        "STARTING" => Some((STATUS_STARTING, None)),
        "RUNNING" => Some((STATUS_RUNNING, None)),
        "STOPPED" => Some((STATUS_STOPPED, None)),
        "STOPPING" => Some((STATUS_STOPPING, intents(&["", "stop", "force_stop"]))),
        "REBOOTING" => Some((STATUS_STOPPING, intents(&["reboot", "force_reboot"]))),
        "TERMINATING" => Some((STATUS_STOPPING, intents(&["delete"]))),
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

    #[test]
    fn states_round_trip() {
        assert_eq!(of("Pending", Some("start")), "PENDING");
        assert_eq!(of("Stopping", Some("force_reboot")), "REBOOTING");
        assert_eq!(of("Stopping", Some("delete")), "TERMINATING");
        assert_eq!(of("Stopping", Some("stop")), "STOPPING");
        assert_eq!(of("Stopped", None), "STOPPED");
        for s in STATES {
            if let Some((status, intents)) = condition(s) {
                let intent = intents.and_then(|l| l.into_iter().find(|i| !i.is_empty()));
                assert_eq!(of(status, intent.as_deref()), *s);
            }
        }
        assert_eq!(condition("LAUNCH_FAILED"), None);
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
