//! Telling a guest that powered off from one that merely idles.
//!
//! Without ACPI, Linux's `poweroff` and `halt` end with every CPU executing HLT with interrupts
//! disabled: nothing can wake them, but with the in-kernel irqchip KVM keeps such a vCPU blocked
//! inside KVM_RUN instead of telling us. When the console says the kernel powered down, the event
//! loop asks every vCPU, in rounds, to look at itself: kicked out of KVM_RUN, a vCPU thread reads
//! its MP state and RFLAGS. Only when all of them answer "halted with IF=0" in the same round is
//! the guest off. Console text alone proves nothing (a user can print it), the vCPU state does.

use std::sync::atomic::{AtomicU64, Ordering};

use kvm_bindings::KVM_MP_STATE_HALTED;
use kvm_ioctls::VcpuFd;

/// RFLAGS.IF: maskable interrupts enabled.
const RFLAGS_IF: u64 = 1 << 9;

pub struct HaltProbe {
    round: AtomicU64,
    /// Per vCPU: the last round in which it answered "halted for good" (0: not halted).
    answers: Vec<AtomicU64>,
}

impl HaltProbe {
    pub fn new(vcpus: usize) -> HaltProbe {
        HaltProbe {
            round: AtomicU64::new(0),
            answers: (0..vcpus).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Starts a new round; the caller then kicks every vCPU.
    pub fn start_round(&self) -> u64 {
        self.round.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The round a vCPU that last answered `answered` should answer now, if any.
    pub fn asked(&self, answered: u64) -> Option<u64> {
        let round = self.round.load(Ordering::SeqCst);
        (round > answered).then_some(round)
    }

    pub fn answer(&self, vcpu: usize, round: u64, halted: bool) {
        if let Some(slot) = self.answers.get(vcpu) {
            slot.store(if halted { round } else { 0 }, Ordering::SeqCst);
        }
    }

    /// Whether every vCPU answered "halted for good" in `round`.
    pub fn all_halted(&self, round: u64) -> bool {
        round > 0
            && self
                .answers
                .iter()
                .all(|a| a.load(Ordering::SeqCst) == round)
    }
}

/// Whether this vCPU (out of KVM_RUN, on its own thread) sits in HLT with interrupts off.
pub fn halted_for_good(fd: &VcpuFd) -> bool {
    let halted = fd
        .get_mp_state()
        .is_ok_and(|s| s.mp_state == KVM_MP_STATE_HALTED);
    halted && fd.get_regs().is_ok_and(|r| r.rflags & RFLAGS_IF == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_only_when_every_vcpu_answers_halted_in_the_same_round() {
        let probe = HaltProbe::new(2);
        assert!(!probe.all_halted(0));
        let r1 = probe.start_round();
        assert_eq!(probe.asked(0), Some(r1));
        probe.answer(0, r1, true);
        assert!(!probe.all_halted(r1), "vCPU 1 has not answered");
        probe.answer(1, r1, false);
        assert!(!probe.all_halted(r1));
        let r2 = probe.start_round();
        assert_eq!(probe.asked(r1), Some(r2));
        assert_eq!(probe.asked(r2), None);
        probe.answer(1, r2, true);
        assert!(
            !probe.all_halted(r2),
            "vCPU 0's answer is from the last round"
        );
        probe.answer(0, r2, true);
        assert!(probe.all_halted(r2));
    }
}
