//! How a microVM ends, and the process exit code that tells hearth's node agent which way.
//!
//! | code | meaning |
//! |------|---------|
//! | 0    | the guest shut down: it reset after a graceful `shutdown` request, or it powered off (`poweroff`/`halt`: every vCPU halted with interrupts off, see vcpu/halt.rs) |
//! | 1    | the VMM could not build or run the VM (bad config, KVM error); the guest may never have started |
//! | 3    | the guest rebooted on its own (`reboot`) |
//! | 4    | the guest crashed: kernel panic, triple fault, or KVM could not run it |
//! | 5    | stopped by force through the control socket |
//!
//! (2 is left to the command-line parser's usage errors.)

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitKind {
    Shutdown,
    Error,
    Reboot,
    Crash,
    Stopped,
}

impl ExitKind {
    pub fn code(self) -> i32 {
        match self {
            ExitKind::Shutdown => 0,
            ExitKind::Error => 1,
            ExitKind::Reboot => 3,
            ExitKind::Crash => 4,
            ExitKind::Stopped => 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exit {
    pub kind: ExitKind,
    /// In words, for the log and the control socket: "guest reset through the i8042", ...
    pub reason: String,
}

impl Exit {
    pub fn new(kind: ExitKind, reason: impl Into<String>) -> Exit {
        Exit {
            kind,
            reason: reason.into(),
        }
    }

    pub fn code(&self) -> i32 {
        self.kind.code()
    }
}

/// What led up to a guest reset.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResetContext {
    /// We sent Ctrl-Alt-Del for a graceful shutdown.
    pub shutdown_requested: bool,
    pub panicked: bool,
}

/// What a guest-initiated reset means depends on what led to it: our Ctrl-Alt-Del (shutdown), a
/// kernel panic with panic=N (crash), or the guest's own reboot. (A guest's own poweroff is not a
/// reset: see vcpu/halt.rs.)
pub fn classify_reset(ctx: ResetContext, how: &str) -> Exit {
    if ctx.panicked {
        Exit::new(
            ExitKind::Crash,
            format!("guest kernel panicked, then {how}"),
        )
    } else if ctx.shutdown_requested {
        Exit::new(
            ExitKind::Shutdown,
            format!("guest shut down on request ({how})"),
        )
    } else {
        Exit::new(ExitKind::Reboot, format!("guest rebooted ({how})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_meanings() {
        let ctx = |shutdown_requested, panicked| ResetContext {
            shutdown_requested,
            panicked,
        };
        assert_eq!(
            classify_reset(ctx(true, false), "x").kind,
            ExitKind::Shutdown
        );
        assert_eq!(
            classify_reset(ctx(false, false), "x").kind,
            ExitKind::Reboot
        );
        assert_eq!(classify_reset(ctx(true, true), "x").kind, ExitKind::Crash);
        assert_eq!(
            [
                ExitKind::Shutdown,
                ExitKind::Error,
                ExitKind::Reboot,
                ExitKind::Crash,
                ExitKind::Stopped
            ]
            .map(ExitKind::code),
            [0, 1, 3, 4, 5]
        );
    }
}
