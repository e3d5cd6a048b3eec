//! Devices the guest can see: legacy ones on I/O ports (serial, i8042) handled on the vCPU
//! thread that exits, and virtio-mmio devices whose queues are served by the event loop.

pub mod bus;
pub mod i8042;
pub mod rate_limit;
pub mod serial;
pub mod virtio;

use vm_superio::Trigger;
use vmm_sys_util::eventfd::EventFd;

/// An interrupt line: an eventfd registered with KVM as an irqfd, so raising it is one write and
/// never a trip through a vCPU thread.
pub struct IrqLine(pub EventFd);

impl IrqLine {
    pub fn new() -> std::io::Result<IrqLine> {
        Ok(IrqLine(EventFd::new(libc::EFD_NONBLOCK)?))
    }

    pub fn try_clone(&self) -> std::io::Result<IrqLine> {
        Ok(IrqLine(self.0.try_clone()?))
    }
}

impl Trigger for IrqLine {
    type E = std::io::Error;

    fn trigger(&self) -> std::io::Result<()> {
        self.0.write(1)
    }
}
