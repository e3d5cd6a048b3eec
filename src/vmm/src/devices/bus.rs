//! Dispatching a vCPU's port or MMIO access to the device that owns the address.

use std::sync::{Arc, Mutex};

/// A device reachable by address. `offset` is relative to the start of the device's range.
pub trait BusDevice: Send {
    fn read(&mut self, offset: u64, data: &mut [u8]);
    fn write(&mut self, offset: u64, data: &[u8]);
}

struct Range {
    base: u64,
    len: u64,
    device: Arc<Mutex<dyn BusDevice>>,
}

#[derive(Default)]
pub struct Bus {
    ranges: Vec<Range>,
}

impl Bus {
    pub fn insert(
        &mut self,
        base: u64,
        len: u64,
        device: Arc<Mutex<dyn BusDevice>>,
    ) -> Result<(), String> {
        if self
            .ranges
            .iter()
            .any(|r| base < r.base + r.len && r.base < base + len)
        {
            return Err(format!(
                "device range {base:#x}+{len:#x} overlaps another device"
            ));
        }
        self.ranges.push(Range { base, len, device });
        Ok(())
    }

    fn find(&self, addr: u64) -> Option<(&Range, u64)> {
        self.ranges
            .iter()
            .find(|r| addr >= r.base && addr - r.base < r.len)
            .map(|r| (r, addr - r.base))
    }

    /// Reads from the device at `addr`; an access nothing claims reads as all ones, as on a PC.
    pub fn read(&self, addr: u64, data: &mut [u8]) -> bool {
        match self.find(addr) {
            Some((r, offset)) => {
                // A device whose lock was poisoned by a panic keeps serving: its state is plain
                // registers, and a wedged vCPU would be worse.
                let mut device = r.device.lock().unwrap_or_else(|p| p.into_inner());
                device.read(offset, data);
                true
            }
            None => {
                data.fill(0xff);
                false
            }
        }
    }

    pub fn write(&self, addr: u64, data: &[u8]) -> bool {
        match self.find(addr) {
            Some((r, offset)) => {
                let mut device = r.device.lock().unwrap_or_else(|p| p.into_inner());
                device.write(offset, data);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo(u8);
    impl BusDevice for Echo {
        fn read(&mut self, offset: u64, data: &mut [u8]) {
            data.fill(self.0 + offset as u8);
        }
        fn write(&mut self, _offset: u64, data: &[u8]) {
            self.0 = data[0];
        }
    }

    #[test]
    fn dispatch_and_overlap() {
        let mut bus = Bus::default();
        bus.insert(0x10, 4, Arc::new(Mutex::new(Echo(1)))).unwrap();
        assert!(bus.insert(0x12, 4, Arc::new(Mutex::new(Echo(1)))).is_err());
        let mut d = [0u8; 1];
        assert!(bus.read(0x12, &mut d));
        assert_eq!(d[0], 3);
        assert!(!bus.read(0x14, &mut d));
        assert_eq!(d[0], 0xff);
        assert!(bus.write(0x10, &[7]));
        bus.read(0x10, &mut d);
        assert_eq!(d[0], 7);
    }
}
