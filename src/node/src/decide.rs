//! What the supervisor does, as pure functions of what it knows: the stored intent and status,
//! whether it watches a VMM for the instance and in which phase, and how a VMM ended. The async
//! supervisor only gathers these facts and carries out the answer, so every rule here is tested
//! without KVM.

use hearth_store::{Intent, Status};

/// Where an instance's VMM is in its life, as far as the supervisor is concerned. Only a
/// `Running` one is acted on by a rescan; the others belong to the task handling them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    Launching,
    Running,
    Exiting,
}

/// What follows when a watched VMM ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AfterExit {
    /// Stopped (or, for a guest that rebooted itself, started again).
    Settle,
    /// RebootInstance: start it again.
    Restart,
    /// DeleteInstance with Force on a running instance.
    Delete,
}

/// A VMM the supervisor watches: its phase and the intent it already acted on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Watching {
    pub phase: Phase,
    pub handled: Option<Intent>,
}

/// What one pass does for an instance with an intent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Another task owns the instance now, or this intent was already acted on.
    Skip,
    /// Start a VMM; the intent is settled once it runs the guest.
    Launch,
    /// The VMM already runs: Running, intent done.
    SettleRunning,
    /// Ask the running VMM to end (the guest first when `graceful`), then `after`.
    End { graceful: bool, after: AfterExit },
    /// No VMM: remove the instance now.
    FinishDelete,
    /// No VMM: the instance is Stopped, intent done.
    SettleStopped,
}

/// The pass's rule for one instance with `intent`.
pub fn on_intent(intent: Intent, watching: Option<Watching>) -> Action {
    let live = match watching {
        Some(Watching {
            phase: Phase::Launching | Phase::Exiting,
            ..
        }) => return Action::Skip,
        Some(Watching {
            phase: Phase::Running,
            handled,
        }) if handled == Some(intent) => return Action::Skip,
        Some(_) => true,
        None => false,
    };
    match (intent, live) {
        (Intent::Start | Intent::Reboot | Intent::ForceReboot, false) => Action::Launch,
        (Intent::Start, true) => Action::SettleRunning,
        (Intent::Delete, false) => Action::FinishDelete,
        (_, false) => Action::SettleStopped,
        (_, true) => Action::End {
            graceful: intent.is_graceful(),
            after: match intent {
                Intent::Reboot | Intent::ForceReboot => AfterExit::Restart,
                Intent::Delete => AfterExit::Delete,
                _ => AfterExit::Settle,
            },
        },
    }
}

/// What a restarted supervisor does with an instance of its host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Adopt {
    /// Its VMM still answers: watch it again; settle Running if a start was still pending, or
    /// if the instance was marked Stopped only because its host fell silent.
    Watch { settle_running: bool },
    /// Its VMM is gone: record the end, as for a VMM that ended while watched.
    Ended,
    /// Nothing to do now: a Stopped instance without a VMM, or a pending start the next pass
    /// launches.
    Leave,
}

pub fn on_restart(status: Status, intent: Option<Intent>, vmm_alive: bool) -> Adopt {
    let starting = intent == Some(Intent::Start);
    let marked_lost = status == Status::Stopped && intent.is_none();
    match (vmm_alive, starting) {
        (true, _) => Adopt::Watch {
            settle_running: status != Status::Running && (starting || marked_lost),
        },
        (false, true) => Adopt::Leave,
        (false, false) if marked_lost => Adopt::Leave,
        (false, false) => Adopt::Ended,
    }
}

/// A watched, running VMM whose instance the store shows Stopped with nothing asked: it was
/// marked so while its host was silent, and is Running again.
pub fn shown_stopped_but_running(status: Status, intent: Option<Intent>) -> bool {
    status == Status::Stopped && intent.is_none()
}

/// What follows the end of a VMM.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Next {
    /// Start a VMM again, settling `acted_on` once it runs.
    Launch { acted_on: Option<Intent> },
    /// Remove the instance.
    Delete,
    /// Stopped, `acted_on` done.
    SettleStopped { acted_on: Option<Intent> },
}

/// What follows a launch that failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Failed {
    /// Remove the instance.
    Delete,
    /// Stopped as a failed launch, `acted_on` done.
    Settle { acted_on: Option<Intent> },
}

/// After a watched VMM ended. `handled` is the intent that ended it, `wanted` the intent the
/// store holds now, `guest_rebooted` whether the guest itself asked for the reset.
pub fn on_exit(
    after: AfterExit,
    handled: Option<Intent>,
    wanted: Option<Intent>,
    guest_rebooted: bool,
) -> Next {
    match after {
        AfterExit::Restart => Next::Launch { acted_on: handled },
        AfterExit::Delete => Next::Delete,
        // A guest that rebooted itself stays Running on a fresh VMM, as on ECS, unless the API
        // meanwhile asked for something else.
        AfterExit::Settle if guest_rebooted && wanted.is_none() => Next::Launch { acted_on: None },
        AfterExit::Settle if wanted == Some(Intent::Delete) => Next::Delete,
        AfterExit::Settle => Next::SettleStopped { acted_on: handled },
    }
}

/// After a launch for `acted_on` failed, with `wanted` the intent the store holds now: a delete
/// or stop asked for meanwhile is what the user wants now (a delete is carried out, a stop is
/// done since no VM runs); any other new intent is left for the next pass.
pub fn on_launch_failed(acted_on: Option<Intent>, wanted: Option<Intent>) -> Failed {
    match wanted {
        Some(Intent::Delete) => Failed::Delete,
        Some(Intent::Stop | Intent::ForceStop) => Failed::Settle { acted_on: wanted },
        _ => Failed::Settle { acted_on },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Intent::*;

    fn running(handled: Option<Intent>) -> Option<Watching> {
        Some(Watching {
            phase: Phase::Running,
            handled,
        })
    }

    #[test]
    fn with_no_vmm_each_intent_is_carried_out_at_once() {
        assert_eq!(on_intent(Start, None), Action::Launch);
        assert_eq!(on_intent(Reboot, None), Action::Launch);
        assert_eq!(on_intent(ForceReboot, None), Action::Launch);
        assert_eq!(on_intent(Delete, None), Action::FinishDelete);
        assert_eq!(on_intent(Stop, None), Action::SettleStopped);
        assert_eq!(on_intent(ForceStop, None), Action::SettleStopped);
    }

    #[test]
    fn with_a_running_vmm_each_intent_ends_it_or_settles() {
        let end = |graceful, after| Action::End { graceful, after };
        assert_eq!(on_intent(Start, running(None)), Action::SettleRunning);
        assert_eq!(on_intent(Stop, running(None)), end(true, AfterExit::Settle));
        assert_eq!(
            on_intent(ForceStop, running(None)),
            end(false, AfterExit::Settle)
        );
        assert_eq!(
            on_intent(Reboot, running(None)),
            end(true, AfterExit::Restart)
        );
        assert_eq!(
            on_intent(ForceReboot, running(None)),
            end(false, AfterExit::Restart)
        );
        assert_eq!(
            on_intent(Delete, running(None)),
            end(false, AfterExit::Delete)
        );
    }

    #[test]
    fn an_intent_is_acted_on_once_and_busy_vmms_are_left_alone() {
        assert_eq!(on_intent(Stop, running(Some(Stop))), Action::Skip);
        // A forced stop after a graceful one is a new intent: acted on.
        assert_eq!(
            on_intent(ForceStop, running(Some(Stop))),
            Action::End {
                graceful: false,
                after: AfterExit::Settle
            }
        );
        for phase in [Phase::Launching, Phase::Exiting] {
            for intent in Intent::ALL {
                let w = Some(Watching {
                    phase,
                    handled: None,
                });
                assert_eq!(on_intent(intent, w), Action::Skip, "{phase:?} {intent:?}");
            }
        }
    }

    #[test]
    fn a_restart_adopts_live_vmms_and_records_dead_ones() {
        assert_eq!(
            on_restart(Status::Running, None, true),
            Adopt::Watch {
                settle_running: false
            }
        );
        assert_eq!(
            on_restart(Status::Starting, Some(Start), true),
            Adopt::Watch {
                settle_running: true
            }
        );
        assert_eq!(
            on_restart(Status::Stopping, Some(Stop), true),
            Adopt::Watch {
                settle_running: false
            }
        );
        assert_eq!(
            on_restart(Status::Starting, Some(Start), false),
            Adopt::Leave
        );
        assert_eq!(on_restart(Status::Running, None, false), Adopt::Ended);
        assert_eq!(
            on_restart(Status::Stopping, Some(Delete), false),
            Adopt::Ended
        );
        // Marked Stopped while its host was silent: a live VMM is Running again, a dead one
        // (or a plain Stopped instance) needs nothing; a delete asked meanwhile completes.
        assert_eq!(
            on_restart(Status::Stopped, None, true),
            Adopt::Watch {
                settle_running: true
            }
        );
        assert_eq!(on_restart(Status::Stopped, None, false), Adopt::Leave);
        assert_eq!(
            on_restart(Status::Stopped, Some(Delete), false),
            Adopt::Ended
        );
    }

    #[test]
    fn a_running_vmm_shown_stopped_is_running_again_unless_asked_otherwise() {
        assert!(shown_stopped_but_running(Status::Stopped, None));
        assert!(!shown_stopped_but_running(Status::Stopped, Some(Delete)));
        assert!(!shown_stopped_but_running(Status::Running, None));
    }

    #[test]
    fn after_a_vmm_ends() {
        assert_eq!(
            on_exit(AfterExit::Restart, Some(Reboot), Some(Reboot), false),
            Next::Launch {
                acted_on: Some(Reboot)
            }
        );
        assert_eq!(
            on_exit(AfterExit::Delete, Some(Delete), Some(Delete), false),
            Next::Delete
        );
        assert_eq!(
            on_exit(AfterExit::Settle, Some(Stop), Some(Stop), false),
            Next::SettleStopped {
                acted_on: Some(Stop)
            }
        );
        // The guest shut itself down: Stopped, nothing pending.
        assert_eq!(
            on_exit(AfterExit::Settle, None, None, false),
            Next::SettleStopped { acted_on: None }
        );
        // A forced delete that came in while the VMM was ending unwatched.
        assert_eq!(
            on_exit(AfterExit::Settle, None, Some(Delete), false),
            Next::Delete
        );
    }

    #[test]
    fn a_guest_that_rebooted_itself_runs_again_unless_asked_otherwise() {
        assert_eq!(
            on_exit(AfterExit::Settle, None, None, true),
            Next::Launch { acted_on: None }
        );
        assert_eq!(
            on_exit(AfterExit::Settle, None, Some(Stop), true),
            Next::SettleStopped { acted_on: None }
        );
        assert_eq!(
            on_exit(AfterExit::Settle, None, Some(Delete), true),
            Next::Delete
        );
    }

    #[test]
    fn a_failed_launch_honours_what_was_asked_meanwhile() {
        assert_eq!(
            on_launch_failed(Some(Start), Some(Start)),
            Failed::Settle {
                acted_on: Some(Start)
            }
        );
        assert_eq!(on_launch_failed(Some(Start), Some(Delete)), Failed::Delete);
        assert_eq!(
            on_launch_failed(Some(Start), Some(ForceStop)),
            Failed::Settle {
                acted_on: Some(ForceStop)
            }
        );
        // A reboot asked meanwhile is left for the next pass: the failed start is settled.
        assert_eq!(
            on_launch_failed(Some(Start), Some(Reboot)),
            Failed::Settle {
                acted_on: Some(Start)
            }
        );
        // A guest's own reboot that failed to start again.
        assert_eq!(
            on_launch_failed(None, None),
            Failed::Settle { acted_on: None }
        );
    }
}
