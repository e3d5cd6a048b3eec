//! What the VMM's threads share: the VM's lifecycle state, pause/resume, and the first reason
//! the VM ended (later ones are consequences and ignored).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use serde::Serialize;
use vmm_sys_util::eventfd::EventFd;

use crate::exit::Exit;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum VmState {
    Created,
    Running,
    Paused,
    Exited { reason: String, exit_code: i32 },
}

pub struct Shared {
    state: Mutex<VmState>,
    exit: Mutex<Option<Exit>>,
    /// Written when `exit` is set, so the event loop wakes up.
    pub exit_evt: EventFd,
    pause: Mutex<bool>,
    resumed: Condvar,
    paused_vcpus: AtomicUsize,
    pub shutdown_requested: AtomicBool,
    pub guest_said: Arc<crate::devices::serial::GuestSaid>,
}

impl Shared {
    pub fn new() -> std::io::Result<Arc<Shared>> {
        Ok(Arc::new(Shared {
            state: Mutex::new(VmState::Created),
            exit: Mutex::new(None),
            exit_evt: EventFd::new(libc::EFD_NONBLOCK)?,
            pause: Mutex::new(false),
            resumed: Condvar::new(),
            paused_vcpus: AtomicUsize::new(0),
            shutdown_requested: AtomicBool::new(false),
            guest_said: Arc::new(crate::devices::serial::GuestSaid::new()?),
        }))
    }

    pub fn state(&self) -> VmState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_state(&self, state: VmState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// Records why the VM ends; the first caller wins.
    pub fn end(&self, exit: Exit) {
        let mut slot = self.exit.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(exit);
            let _ = self.exit_evt.write(1);
        }
        // Paused vCPUs must wake up to notice.
        self.resumed.notify_all();
    }

    /// What a guest reset means right now.
    pub fn reset_context(&self) -> crate::exit::ResetContext {
        crate::exit::ResetContext {
            shutdown_requested: self.shutdown_requested.load(Ordering::SeqCst),
            panicked: self.guest_said.panicked.load(Ordering::SeqCst),
        }
    }

    pub fn exit(&self) -> Option<Exit> {
        self.exit.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn ending(&self) -> bool {
        self.exit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    pub fn request_pause(&self, pause: bool) {
        *self.pause.lock().unwrap_or_else(|p| p.into_inner()) = pause;
        if !pause {
            self.resumed.notify_all();
        }
    }

    pub fn pause_requested(&self) -> bool {
        *self.pause.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn paused_vcpus(&self) -> usize {
        self.paused_vcpus.load(Ordering::SeqCst)
    }

    /// Called by a vCPU thread outside KVM_RUN: blocks while a pause is requested.
    pub fn wait_while_paused(&self) {
        let mut pause = self.pause.lock().unwrap_or_else(|p| p.into_inner());
        if !*pause {
            return;
        }
        self.paused_vcpus.fetch_add(1, Ordering::SeqCst);
        while *pause && !self.ending() {
            // A timeout, because `end` notifies without holding this lock.
            pause = self
                .resumed
                .wait_timeout(pause, std::time::Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        self.paused_vcpus.fetch_sub(1, Ordering::SeqCst);
    }
}
