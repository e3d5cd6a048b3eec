//! The 8250 UART at 0x3f8 (IRQ 4): the guest's console, written to the console log.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use vm_superio::serial::NoEvents;
use vm_superio::Serial;
use vmm_sys_util::eventfd::EventFd;

use super::bus::BusDevice;
use super::IrqLine;

/// What the kernel said on the console that changes what happens next.
pub struct GuestSaid {
    /// "Kernel panic - not syncing": the reset `panic=1` causes next is a crash.
    pub panicked: AtomicBool,
    /// "reboot: Power down" / "reboot: System halted": without ACPI the kernel cannot switch the
    /// machine off, so it halts every CPU with interrupts off. Anyone on the console could print
    /// these words, so they only make the VMM look: see vcpu/halt.rs.
    pub powered_off: AtomicBool,
    /// Written once, when `powered_off` is first seen, to wake the event loop.
    pub power_off_evt: EventFd,
}

impl GuestSaid {
    pub fn new() -> std::io::Result<GuestSaid> {
        Ok(GuestSaid {
            panicked: AtomicBool::new(false),
            powered_off: AtomicBool::new(false),
            power_off_evt: EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)?,
        })
    }
}

const PANIC_BANNER: &[u8] = b"Kernel panic - not syncing";
const POWER_DOWN: &[u8] = b"reboot: Power down";
const HALTED: &[u8] = b"reboot: System halted";
const LONGEST: usize = PANIC_BANNER.len();

/// Where console output goes: the log file, and stdout when attached interactively; on the way
/// it watches for the kernel messages in [`GuestSaid`].
pub struct ConsoleOutput {
    log: Option<File>,
    echo: bool,
    tail: Vec<u8>,
    said: Arc<GuestSaid>,
}

impl ConsoleOutput {
    pub fn new(log: Option<File>, echo: bool, said: Arc<GuestSaid>) -> ConsoleOutput {
        ConsoleOutput {
            log,
            echo,
            tail: Vec::with_capacity(2 * LONGEST),
            said,
        }
    }

    fn watch(&mut self, buf: &[u8]) {
        self.tail.extend_from_slice(buf);
        let seen = |p: &[u8]| self.tail.windows(p.len()).any(|w| w == p);
        if seen(PANIC_BANNER) {
            self.said.panicked.store(true, Ordering::SeqCst);
        }
        if (seen(POWER_DOWN) || seen(HALTED)) && !self.said.powered_off.swap(true, Ordering::SeqCst)
        {
            let _ = self.said.power_off_evt.write(1);
        }
        let keep = LONGEST - 1;
        if self.tail.len() > keep {
            self.tail.drain(..self.tail.len() - keep);
        }
    }
}

impl Write for ConsoleOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.watch(buf);
        // A full disk or closed terminal must not stop the guest: console output is best effort.
        if let Some(log) = self.log.as_mut() {
            let _ = log.write_all(buf);
        }
        if self.echo {
            let _ = std::io::stdout().write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.echo {
            let _ = std::io::stdout().flush();
        }
        Ok(())
    }
}

pub struct SerialPort(pub Serial<IrqLine, NoEvents, ConsoleOutput>);

impl SerialPort {
    pub fn new(irq: IrqLine, out: ConsoleOutput) -> SerialPort {
        SerialPort(Serial::new(irq, out))
    }

    /// Bytes typed by an attached user; returns how many the FIFO took.
    pub fn input(&mut self, bytes: &[u8]) -> usize {
        self.0.enqueue_raw_bytes(bytes).unwrap_or(0)
    }
}

impl BusDevice for SerialPort {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        if data.len() == 1 {
            data[0] = self.0.read(offset as u8);
        } else {
            data.fill(0xff);
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        if data.len() == 1 {
            // The only error is failing to raise the interrupt; the byte itself went out.
            let _ = self.0.write(offset as u8, data[0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_reaches_the_log_and_panics_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.log");
        let said = Arc::new(GuestSaid::new().unwrap());
        let out = ConsoleOutput::new(Some(File::create(&path).unwrap()), false, said.clone());
        let mut port = SerialPort::new(IrqLine::new().unwrap(), out);
        for b in b"hello\nKernel pan" {
            port.write(0, &[*b]);
        }
        assert!(!said.panicked.load(Ordering::SeqCst));
        for b in b"ic - not syncing: boom\n[ 1.0] reboot: Power down\n" {
            port.write(0, &[*b]);
        }
        assert!(said.panicked.load(Ordering::SeqCst));
        assert!(said.powered_off.load(Ordering::SeqCst));
        assert_eq!(said.power_off_evt.read().unwrap(), 1);
        let log = std::fs::read_to_string(&path).unwrap();
        assert!(log.starts_with("hello\n"));
    }
}
