//! The loop each vCPU thread runs: KVM_RUN, then hand the exit to the device it concerns.
//!
//! Port and MMIO accesses are served right here (register reads and writes, never I/O that
//! waits); queue work is done by the event loop after an ioeventfd, so a slow disk never holds
//! a vCPU.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use kvm_ioctls::{VcpuExit, VcpuFd};

use crate::devices::bus::Bus;
use crate::exit::{Exit, ExitKind};
use crate::state::Shared;
use crate::vcpu::halt::{self, HaltProbe};

/// The signal used to kick a vCPU out of KVM_RUN (its handler does nothing; the interrupted
/// ioctl returning EINTR is the point).
pub fn kick_signal() -> i32 {
    vmm_sys_util::signal::SIGRTMIN()
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

pub fn install_kick_handler() -> Result<(), String> {
    vmm_sys_util::signal::register_signal_handler(kick_signal(), on_kick)
        .map_err(|e| format!("cannot install the vCPU kick signal handler: {e}"))
}

pub struct VcpuRunner {
    pub index: u8,
    pub fd: VcpuFd,
    pub pio: Arc<Bus>,
    pub mmio: Arc<Bus>,
    pub shared: Arc<Shared>,
    pub halt_probe: Arc<HaltProbe>,
    /// Print the wall-clock time of the first KVM_RUN (for scripts/bench-vmm).
    pub report_first_run: bool,
}

impl VcpuRunner {
    pub fn run(mut self) {
        let mut first = true;
        let mut answered = 0;
        loop {
            self.shared.wait_while_paused();
            if self.shared.ending() {
                return;
            }
            if first && self.report_first_run {
                let ns = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                eprintln!("hearth-vmm: first KVM_RUN unix_ns={ns}");
            }
            first = false;
            let exit = match self.fd.run() {
                Ok(VcpuExit::IoIn(port, data)) => {
                    // Ports nothing claims (POST codes, CMOS, PCI probes) read as all ones.
                    self.pio.read(u64::from(port), data);
                    None
                }
                Ok(VcpuExit::IoOut(port, data)) => {
                    self.pio.write(u64::from(port), data);
                    None
                }
                Ok(VcpuExit::MmioRead(addr, data)) => {
                    self.mmio.read(addr, data);
                    None
                }
                Ok(VcpuExit::MmioWrite(addr, data)) => {
                    self.mmio.write(addr, data);
                    None
                }
                Ok(VcpuExit::Shutdown) => Some(crate::exit::classify_reset(
                    self.shared.reset_context(),
                    "triple fault",
                )),
                Ok(VcpuExit::SystemEvent(kind, _)) => Some(crate::exit::classify_reset(
                    self.shared.reset_context(),
                    &format!("system event {kind}"),
                )),
                // With the in-kernel irqchip, HLT never reaches us unless the guest halted with
                // nothing left to wake it.
                Ok(VcpuExit::Hlt) => Some(Exit::new(
                    ExitKind::Crash,
                    format!("vCPU {} halted for good", self.index),
                )),
                Ok(VcpuExit::FailEntry(reason, cpu)) => Some(Exit::new(
                    ExitKind::Crash,
                    format!("KVM could not enter vCPU {} (cpu {cpu}, reason {reason:#x})", self.index),
                )),
                Ok(VcpuExit::InternalError) => Some(Exit::new(
                    ExitKind::Crash,
                    format!(
                        "KVM internal error on vCPU {} (on a PVM host this means the guest kernel cannot run here)",
                        self.index
                    ),
                )),
                Ok(other) => Some(Exit::new(
                    ExitKind::Crash,
                    format!("vCPU {}: unexpected exit {other:?}", self.index),
                )),
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                    if let Some(round) = self.halt_probe.asked(answered) {
                        let halted = halt::halted_for_good(&self.fd);
                        self.halt_probe.answer(usize::from(self.index), round, halted);
                        answered = round;
                    }
                    None
                }
                Err(e) => Some(Exit::new(
                    ExitKind::Error,
                    format!("KVM_RUN failed on vCPU {}: {e}", self.index),
                )),
            };
            if let Some(exit) = exit {
                self.shared.end(exit);
                return;
            }
        }
    }
}
