//! virtio-mmio devices. The transport (mmio.rs) owns the registers and queues; a device
//! (block.rs, net.rs, rng.rs) only turns descriptor chains into I/O. A guest that breaks the
//! queue rules makes the device fail (DEVICE_NEEDS_RESET), never the VMM.

pub mod block;
pub mod mmio;
pub mod net;
pub mod queue;
pub mod rng;
pub mod tap;

use std::os::fd::RawFd;

use virtio_queue::Queue;

use crate::memory::GuestMemory;

pub const TYPE_NET: u32 = 1;
pub const TYPE_BLOCK: u32 = 2;
pub const TYPE_RNG: u32 = 4;

/// Every device speaks virtio 1.x (no legacy layout).
pub const F_VERSION_1: u64 = 1 << 32;

/// What went wrong while serving a queue.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("queue {queue}: {err}")]
    Queue {
        queue: usize,
        err: queue::QueueError,
    },
    #[error("queue {queue}: {what}")]
    Protocol { queue: usize, what: String },
    #[error("{0}")]
    Backend(String),
}

/// One virtio device type behind the mmio transport.
pub trait VirtioDevice: Send {
    fn device_type(&self) -> u32;
    /// Feature bits offered to the driver (F_VERSION_1 is added by the transport).
    fn features(&self) -> u64;
    fn queue_max_sizes(&self) -> &[u16];
    /// The device-specific configuration space as bytes; empty for a device that has none.
    fn config_space(&self) -> &[u8] {
        &[]
    }
    /// Reads the configuration space at `offset`.
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        read_config_bytes(self.config_space(), offset, data);
    }
    /// Serves what the guest made available on queue `index`. Returns whether any buffer was
    /// used (so the guest should be interrupted).
    fn process_queue(
        &mut self,
        index: usize,
        queues: &mut [Queue],
        mem: &GuestMemory,
    ) -> Result<bool, DeviceError>;
    /// A host-side file descriptor whose readiness should call `process_backend` (a TAP).
    fn backend_fd(&self) -> Option<RawFd> {
        None
    }
    fn process_backend(
        &mut self,
        _queues: &mut [Queue],
        _mem: &GuestMemory,
    ) -> Result<bool, DeviceError> {
        Ok(false)
    }
    /// The timers of the device's rate limits, each with the queue it resumes. A limited queue
    /// that runs out of budget parks (leaving its next request in place) and arms its timer.
    fn throttle_timers(&self) -> Vec<(usize, RawFd)> {
        Vec::new()
    }
    /// The timer of `queue` fired: consume it and unpark the queue. The transport then serves
    /// the queue if the device is running.
    fn throttle_timer_fired(&mut self, _queue: usize) {}
    /// The driver reset the device: forget any in-flight state.
    fn reset(&mut self) {}
}

/// Reads `data.len()` bytes at `offset` of a config space given as bytes; out of range reads
/// as zero, as the spec leaves it undefined and a zero is harmless.
pub fn read_config_bytes(config: &[u8], offset: u64, data: &mut [u8]) {
    data.fill(0);
    let Ok(start) = usize::try_from(offset) else {
        return;
    };
    if start >= config.len() {
        return;
    }
    let end = (start + data.len()).min(config.len());
    data[..end - start].copy_from_slice(&config[start..end]);
}
