//! The virtio-mmio (version 2) register window of one device, and the glue between the guest's
//! queue notifications and the device.
//!
//! vCPU threads touch only registers here (short, non-blocking); queue work happens when the
//! event loop sees the queue's ioeventfd fire and calls `notify`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use virtio_queue::{Queue, QueueT};
use vm_superio::Trigger;

use super::queue;
use super::{DeviceError, VirtioDevice, F_VERSION_1};
use crate::devices::bus::BusDevice;
use crate::devices::IrqLine;
use crate::memory::GuestMemory;

const MAGIC: u32 = 0x7472_6976; // "virt"
const VERSION: u32 = 2;
const VENDOR_ID: u32 = 0x4854_4852; // "RHTH": ours, no registered vendor needed for mmio

pub const REG_MAGIC: u64 = 0x000;
pub const REG_VERSION: u64 = 0x004;
pub const REG_DEVICE_ID: u64 = 0x008;
pub const REG_VENDOR_ID: u64 = 0x00c;
pub const REG_DEVICE_FEATURES: u64 = 0x010;
pub const REG_DEVICE_FEATURES_SEL: u64 = 0x014;
pub const REG_DRIVER_FEATURES: u64 = 0x020;
pub const REG_DRIVER_FEATURES_SEL: u64 = 0x024;
pub const REG_QUEUE_SEL: u64 = 0x030;
pub const REG_QUEUE_NUM_MAX: u64 = 0x034;
pub const REG_QUEUE_NUM: u64 = 0x038;
pub const REG_QUEUE_READY: u64 = 0x044;
pub const REG_QUEUE_NOTIFY: u64 = 0x050;
pub const REG_INTERRUPT_STATUS: u64 = 0x060;
pub const REG_INTERRUPT_ACK: u64 = 0x064;
pub const REG_STATUS: u64 = 0x070;
pub const REG_QUEUE_DESC_LOW: u64 = 0x080;
pub const REG_QUEUE_DESC_HIGH: u64 = 0x084;
pub const REG_QUEUE_DRIVER_LOW: u64 = 0x090;
pub const REG_QUEUE_DRIVER_HIGH: u64 = 0x094;
pub const REG_QUEUE_DEVICE_LOW: u64 = 0x0a0;
pub const REG_QUEUE_DEVICE_HIGH: u64 = 0x0a4;
pub const REG_CONFIG_GENERATION: u64 = 0x0fc;
pub const REG_CONFIG: u64 = 0x100;

pub const STATUS_ACKNOWLEDGE: u32 = 1;
pub const STATUS_DRIVER: u32 = 2;
pub const STATUS_DRIVER_OK: u32 = 4;
pub const STATUS_FEATURES_OK: u32 = 8;
pub const STATUS_NEEDS_RESET: u32 = 0x40;
pub const STATUS_FAILED: u32 = 0x80;

pub const INTERRUPT_USED_RING: u32 = 1;
pub const INTERRUPT_CONFIG: u32 = 2;

pub struct MmioTransport {
    name: String,
    device: Box<dyn VirtioDevice>,
    mem: GuestMemory,
    queues: Vec<Queue>,
    status: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    interrupt_status: Arc<AtomicU32>,
    irq: IrqLine,
    /// Why the device stopped serving the guest, if it did.
    failure: Option<String>,
}

impl MmioTransport {
    pub fn new(
        name: String,
        device: Box<dyn VirtioDevice>,
        mem: GuestMemory,
        irq: IrqLine,
    ) -> Result<MmioTransport, String> {
        let queues = device
            .queue_max_sizes()
            .iter()
            .map(|&max| Queue::new(max).map_err(|e| format!("{name}: queue of {max}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MmioTransport {
            name,
            device,
            mem,
            queues,
            status: 0,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            interrupt_status: Arc::new(AtomicU32::new(0)),
            irq,
            failure: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn queue_count(&self) -> usize {
        self.queues.len()
    }

    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The interrupt status register, shared with the lock-free register path (`MmioSlot`).
    pub fn interrupt_status(&self) -> Arc<AtomicU32> {
        self.interrupt_status.clone()
    }

    pub fn backend_fd(&self) -> Option<std::os::fd::RawFd> {
        self.device.backend_fd()
    }

    /// The device's rate-limit timers, each with the queue it resumes.
    pub fn throttle_timers(&self) -> Vec<(usize, std::os::fd::RawFd)> {
        self.device.throttle_timers()
    }

    fn offered_features(&self) -> u64 {
        self.device.features() | F_VERSION_1
    }

    fn is_running(&self) -> bool {
        self.status & STATUS_DRIVER_OK != 0 && self.failure.is_none()
    }

    fn selected_queue(&mut self) -> Option<&mut Queue> {
        // Before DRIVER_OK only; the spec forbids changing a live queue.
        if self.status & STATUS_DRIVER_OK != 0 {
            return None;
        }
        self.queues.get_mut(self.queue_sel as usize)
    }

    fn interrupt(&self, why: u32) {
        self.interrupt_status.fetch_or(why, Ordering::SeqCst);
        if let Err(e) = self.irq.trigger() {
            eprintln!("hearth-vmm: {}: cannot raise the interrupt: {e}", self.name);
        }
    }

    /// Stops serving the guest: logs why, sets DEVICE_NEEDS_RESET and tells the driver.
    fn fail(&mut self, err: DeviceError) {
        let reason = err.to_string();
        eprintln!("hearth-vmm: {}: device failed: {reason}", self.name);
        self.failure = Some(reason);
        self.status |= STATUS_NEEDS_RESET;
        self.interrupt(INTERRUPT_CONFIG);
    }

    fn after(&mut self, result: Result<bool, DeviceError>) {
        match result {
            Ok(true) => self.interrupt(INTERRUPT_USED_RING),
            Ok(false) => {}
            Err(e) => self.fail(e),
        }
    }

    /// The guest kicked queue `index` (its ioeventfd fired).
    pub fn notify(&mut self, index: usize) {
        if !self.is_running() || !self.queues.get(index).is_some_and(|q| q.ready()) {
            return;
        }
        let result = self
            .device
            .process_queue(index, &mut self.queues, &self.mem);
        self.after(result);
    }

    /// The rate-limit timer of queue `index` fired: its budget is back, serve what waited.
    pub fn throttle_timer_fired(&mut self, index: usize) {
        // Always consumed, even when the device is not running: an unread timer would keep the
        // (level-triggered) event loop spinning.
        self.device.throttle_timer_fired(index);
        self.notify(index);
    }

    /// The device's host side (a TAP) has something for the guest.
    pub fn backend_ready(&mut self) {
        if !self.is_running() {
            return;
        }
        let result = self.device.process_backend(&mut self.queues, &self.mem);
        self.after(result);
    }

    fn set_status(&mut self, value: u32) {
        if value == 0 {
            self.reset();
            return;
        }
        let newly_ok = value & STATUS_DRIVER_OK != 0 && self.status & STATUS_DRIVER_OK == 0;
        self.status = value;
        if newly_ok {
            for (i, q) in self.queues.iter().enumerate() {
                if q.ready() {
                    if let Err(err) = queue::check_rings(q, &self.mem) {
                        self.fail(DeviceError::Queue { queue: i, err });
                        return;
                    }
                }
            }
        }
    }

    fn reset(&mut self) {
        self.status = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.failure = None;
        self.interrupt_status.store(0, Ordering::SeqCst);
        for q in &mut self.queues {
            q.reset();
        }
        self.device.reset();
    }

    fn read_register(&mut self, offset: u64) -> u32 {
        match offset {
            REG_MAGIC => MAGIC,
            REG_VERSION => VERSION,
            REG_DEVICE_ID => self.device.device_type(),
            REG_VENDOR_ID => VENDOR_ID,
            REG_DEVICE_FEATURES => match self.device_features_sel {
                0 => self.offered_features() as u32,
                1 => (self.offered_features() >> 32) as u32,
                _ => 0,
            },
            REG_QUEUE_NUM_MAX => self
                .queues
                .get(self.queue_sel as usize)
                .map_or(0, |q| u32::from(q.max_size())),
            REG_QUEUE_READY => self
                .queues
                .get(self.queue_sel as usize)
                .map_or(0, |q| u32::from(q.ready())),
            REG_INTERRUPT_STATUS => self.interrupt_status.load(Ordering::SeqCst),
            REG_STATUS => self.status,
            REG_CONFIG_GENERATION => 0,
            _ => 0,
        }
    }

    fn write_register(&mut self, offset: u64, value: u32) {
        let set_half = |old: u64, high: bool, v: u32| {
            if high {
                (old & 0xffff_ffff) | (u64::from(v) << 32)
            } else {
                (old & !0xffff_ffff) | u64::from(v)
            }
        };
        match offset {
            REG_DEVICE_FEATURES_SEL => self.device_features_sel = value,
            REG_DRIVER_FEATURES_SEL => self.driver_features_sel = value,
            REG_DRIVER_FEATURES
                if self.status & STATUS_FEATURES_OK == 0 && self.driver_features_sel < 2 =>
            {
                let high = self.driver_features_sel == 1;
                // The driver may only accept what we offered.
                let offered = self.offered_features();
                self.driver_features = set_half(self.driver_features, high, value) & offered;
            }
            REG_QUEUE_SEL => self.queue_sel = value,
            REG_QUEUE_NUM => {
                if let Some(q) = self.selected_queue() {
                    q.set_size(value as u16);
                }
            }
            REG_QUEUE_READY => {
                if let Some(q) = self.selected_queue() {
                    q.set_ready(value == 1);
                }
            }
            REG_QUEUE_NOTIFY => {
                // Normally caught by the ioeventfd and never seen here; served inline otherwise.
                self.notify(value as usize);
            }
            REG_INTERRUPT_ACK => {
                self.interrupt_status.fetch_and(!value, Ordering::SeqCst);
            }
            REG_STATUS => self.set_status(value),
            REG_QUEUE_DESC_LOW | REG_QUEUE_DESC_HIGH => {
                let high = offset == REG_QUEUE_DESC_HIGH;
                if let Some(q) = self.selected_queue() {
                    if high {
                        q.set_desc_table_address(None, Some(value));
                    } else {
                        q.set_desc_table_address(Some(value), None);
                    }
                }
            }
            REG_QUEUE_DRIVER_LOW | REG_QUEUE_DRIVER_HIGH => {
                let high = offset == REG_QUEUE_DRIVER_HIGH;
                if let Some(q) = self.selected_queue() {
                    if high {
                        q.set_avail_ring_address(None, Some(value));
                    } else {
                        q.set_avail_ring_address(Some(value), None);
                    }
                }
            }
            REG_QUEUE_DEVICE_LOW | REG_QUEUE_DEVICE_HIGH => {
                let high = offset == REG_QUEUE_DEVICE_HIGH;
                if let Some(q) = self.selected_queue() {
                    if high {
                        q.set_used_ring_address(None, Some(value));
                    } else {
                        q.set_used_ring_address(Some(value), None);
                    }
                }
            }
            _ => {}
        }
    }
}

impl BusDevice for MmioTransport {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        if offset >= REG_CONFIG {
            self.device.read_config(offset - REG_CONFIG, data);
            return;
        }
        data.fill(0);
        if data.len() == 4 && offset.is_multiple_of(4) {
            data.copy_from_slice(&self.read_register(offset).to_le_bytes());
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if offset >= REG_CONFIG {
            return; // none of our devices has writable config
        }
        if let Ok(bytes) = <[u8; 4]>::try_from(data) {
            if offset.is_multiple_of(4) {
                self.write_register(offset, u32::from_le_bytes(bytes));
            }
        }
    }
}

/// What a vCPU sees at a virtio-mmio window. The interrupt handler's registers (status and
/// acknowledge) are served from an atomic, so a vCPU taking a virtio interrupt never waits for
/// the event loop, which holds the transport while it does a device's I/O. Everything else
/// (probe, configuration, reset) goes to the transport under its lock.
pub struct MmioSlot {
    interrupt_status: Arc<AtomicU32>,
    transport: Arc<std::sync::Mutex<MmioTransport>>,
}

impl MmioSlot {
    pub fn new(transport: Arc<std::sync::Mutex<MmioTransport>>) -> MmioSlot {
        let interrupt_status = transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .interrupt_status();
        MmioSlot {
            interrupt_status,
            transport,
        }
    }
}

impl BusDevice for MmioSlot {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        if offset == REG_INTERRUPT_STATUS && data.len() == 4 {
            let v = self.interrupt_status.load(Ordering::SeqCst);
            data.copy_from_slice(&v.to_le_bytes());
            return;
        }
        let mut t = self.transport.lock().unwrap_or_else(|p| p.into_inner());
        t.read(offset, data);
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if offset == REG_INTERRUPT_ACK {
            if let Ok(bytes) = <[u8; 4]>::try_from(data) {
                self.interrupt_status
                    .fetch_and(!u32::from_le_bytes(bytes), Ordering::SeqCst);
            }
            return;
        }
        let mut t = self.transport.lock().unwrap_or_else(|p| p.into_inner());
        t.write(offset, data);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::devices::virtio::queue::tests::{mem, raw, NEXT, WRITE};
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::GuestAddress;

    pub fn w(t: &mut MmioTransport, off: u64, v: u32) {
        t.write(off, &v.to_le_bytes());
    }

    pub fn r(t: &mut MmioTransport, off: u64) -> u32 {
        let mut d = [0u8; 4];
        t.read(off, &mut d);
        u32::from_le_bytes(d)
    }

    /// Plays the driver's side of initialisation for queue 0 laid out by `vq`.
    pub fn bring_up(t: &mut MmioTransport, vq: &MockSplitQueue<GuestMemory>, size: u32) {
        w(t, REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
        w(t, REG_DRIVER_FEATURES_SEL, 1);
        w(t, REG_DRIVER_FEATURES, 1);
        w(
            t,
            REG_STATUS,
            STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK,
        );
        w(t, REG_QUEUE_SEL, 0);
        w(t, REG_QUEUE_NUM, size);
        w(t, REG_QUEUE_DESC_LOW, vq.desc_table_addr().0 as u32);
        w(t, REG_QUEUE_DRIVER_LOW, vq.avail_addr().0 as u32);
        w(t, REG_QUEUE_DEVICE_LOW, vq.used_addr().0 as u32);
        w(t, REG_QUEUE_READY, 1);
        w(
            t,
            REG_STATUS,
            STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK,
        );
    }

    pub fn rng_transport(m: &GuestMemory) -> MmioTransport {
        MmioTransport::new(
            "rng".into(),
            Box::new(crate::devices::virtio::rng::Rng::new()),
            m.clone(),
            IrqLine::new().unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn interrupt_registers_do_not_wait_for_the_device() {
        let m = mem();
        let t = Arc::new(std::sync::Mutex::new(rng_transport(&m)));
        let mut slot = MmioSlot::new(t.clone());
        let held = t.lock().unwrap(); // the event loop busy with I/O
        held.interrupt(INTERRUPT_USED_RING);
        let mut d = [0u8; 4];
        slot.read(REG_INTERRUPT_STATUS, &mut d);
        assert_eq!(u32::from_le_bytes(d), INTERRUPT_USED_RING);
        slot.write(REG_INTERRUPT_ACK, &INTERRUPT_USED_RING.to_le_bytes());
        slot.read(REG_INTERRUPT_STATUS, &mut d);
        assert_eq!(u32::from_le_bytes(d), 0);
        drop(held);
    }

    #[test]
    fn identification_registers() {
        let m = mem();
        let mut t = rng_transport(&m);
        assert_eq!(r(&mut t, REG_MAGIC), MAGIC);
        assert_eq!(r(&mut t, REG_VERSION), 2);
        assert_eq!(r(&mut t, REG_DEVICE_ID), super::super::TYPE_RNG);
        w(&mut t, REG_DEVICE_FEATURES_SEL, 1);
        assert_eq!(r(&mut t, REG_DEVICE_FEATURES), 1); // VERSION_1
    }

    #[test]
    fn serves_a_request_and_interrupts() {
        let m = mem();
        let vq = MockSplitQueue::new(&m, 16);
        let mut t = rng_transport(&m);
        bring_up(&mut t, &vq, 16);
        vq.add_desc_chains(&[raw(0x10_0000, 64, WRITE, 0)], 0)
            .unwrap();
        t.notify(0);
        assert!(t.failure().is_none());
        assert_eq!(r(&mut t, REG_INTERRUPT_STATUS), INTERRUPT_USED_RING);
        assert_eq!(vq.used().idx().load(), 1);
        w(&mut t, REG_INTERRUPT_ACK, INTERRUPT_USED_RING);
        assert_eq!(r(&mut t, REG_INTERRUPT_STATUS), 0);
    }

    #[test]
    fn a_looping_chain_fails_the_device_not_the_vmm() {
        let m = mem();
        let vq = MockSplitQueue::new(&m, 4);
        let mut t = rng_transport(&m);
        bring_up(&mut t, &vq, 4);
        vq.desc_table()
            .store(0, raw(0x10_0000, 8, NEXT | WRITE, 1))
            .unwrap();
        vq.desc_table()
            .store(1, raw(0x10_0000, 8, NEXT | WRITE, 0))
            .unwrap();
        vq.avail().ring().ref_at(0).unwrap().store(0);
        vq.avail().idx().store(1);
        t.notify(0);
        assert!(t.failure().unwrap().contains("loops"));
        assert_ne!(r(&mut t, REG_STATUS) & STATUS_NEEDS_RESET, 0);
        assert_ne!(r(&mut t, REG_INTERRUPT_STATUS) & INTERRUPT_CONFIG, 0);
        // Later kicks are ignored, and a reset brings the device back.
        t.notify(0);
        w(&mut t, REG_STATUS, 0);
        assert!(t.failure().is_none());
    }

    #[test]
    fn rings_outside_memory_fail_at_driver_ok() {
        let m = mem();
        let vq = MockSplitQueue::create(&m, GuestAddress(0x1000), 4);
        let mut t = rng_transport(&m);
        w(&mut t, REG_QUEUE_SEL, 0);
        w(&mut t, REG_QUEUE_NUM, 4);
        w(&mut t, REG_QUEUE_DESC_LOW, 0x1000);
        w(&mut t, REG_QUEUE_DESC_HIGH, 0x10); // far beyond 2 MiB of RAM
        w(&mut t, REG_QUEUE_DRIVER_LOW, vq.avail_addr().0 as u32);
        w(&mut t, REG_QUEUE_DEVICE_LOW, vq.used_addr().0 as u32);
        w(&mut t, REG_QUEUE_READY, 1);
        w(&mut t, REG_STATUS, STATUS_DRIVER_OK);
        assert!(t.failure().unwrap().contains("not in guest memory"));
    }
}
