//! The PS/2 controller (i8042) at ports 0x60/0x64, just enough of it for two things: the guest's
//! `reboot=k` reset (command 0xFE), and Ctrl-Alt-Del typed by the VMM to ask the guest to shut
//! down gracefully. vm-superio's I8042Device only does the former, so this one is ours.
//!
//! The keyboard behind it acknowledges every command and sends scancode set 2, which is what
//! Linux's atkbd driver expects when the controller does not translate (CTR bit 6 clear).

use std::collections::VecDeque;

use vm_superio::Trigger;

use super::bus::BusDevice;
use super::IrqLine;

const STATUS_OUTPUT_FULL: u8 = 0x01;
const STATUS_SYSTEM_FLAG: u8 = 0x04;
const STATUS_COMMAND: u8 = 0x08;
/// Controller configuration byte bits.
const CTR_KBD_INTERRUPT: u8 = 0x01;
const CTR_POST_PASSED: u8 = 0x04;

const CMD_READ_CTR: u8 = 0x20;
const CMD_WRITE_CTR: u8 = 0x60;
const CMD_SELF_TEST: u8 = 0xaa;
const CMD_KBD_INTERFACE_TEST: u8 = 0xab;
const CMD_KBD_DISABLE: u8 = 0xad;
const CMD_KBD_ENABLE: u8 = 0xae;
const CMD_READ_OUTPUT_PORT: u8 = 0xd0;
const CMD_WRITE_OUTPUT_PORT: u8 = 0xd1;
const CMD_PULSE_RESET: u8 = 0xfe;

const SELF_TEST_OK: u8 = 0x55;
const KBD_ACK: u8 = 0xfa;

/// Scancode set 2: make codes, and 0xF0 before a code to release it.
const KEY_CTRL: &[u8] = &[0x14];
const KEY_ALT: &[u8] = &[0x11];
const KEY_DEL: &[u8] = &[0xe0, 0x71];

/// The guest asked to reset the machine (what `reboot=k` and our Ctrl-Alt-Del end in).
pub struct ResetRequest(pub vmm_sys_util::eventfd::EventFd);

pub struct I8042 {
    status: u8,
    control: u8,
    /// A command written to 0x64 that waits for its argument on 0x60.
    pending: Option<u8>,
    output: VecDeque<u8>,
    irq: IrqLine,
    reset: ResetRequest,
}

impl I8042 {
    pub fn new(irq: IrqLine, reset: ResetRequest) -> I8042 {
        I8042 {
            status: STATUS_SYSTEM_FLAG,
            control: CTR_POST_PASSED | CTR_KBD_INTERRUPT,
            pending: None,
            output: VecDeque::new(),
            irq,
            reset,
        }
    }

    fn push(&mut self, byte: u8) {
        // The guest drains this a byte per interrupt; a stuck guest must not grow it forever.
        if self.output.len() < 64 {
            self.output.push_back(byte);
        }
        self.status |= STATUS_OUTPUT_FULL;
        if self.control & CTR_KBD_INTERRUPT != 0 {
            let _ = self.irq.trigger();
        }
    }

    /// Presses and releases Ctrl-Alt-Del, which Linux turns into SIGINT for init (ctrl_alt_del).
    pub fn send_ctrl_alt_del(&mut self) {
        for key in [KEY_CTRL, KEY_ALT, KEY_DEL] {
            for b in key {
                self.push(*b);
            }
        }
        for key in [KEY_DEL, KEY_ALT, KEY_CTRL] {
            let (prefix, code) = key.split_at(key.len() - 1);
            for b in prefix {
                self.push(*b);
            }
            self.push(0xf0);
            self.push(code[0]);
        }
    }

    fn read_data(&mut self) -> u8 {
        let byte = self.output.pop_front().unwrap_or(0);
        if self.output.is_empty() {
            self.status &= !STATUS_OUTPUT_FULL;
        } else if self.control & CTR_KBD_INTERRUPT != 0 {
            // More bytes queued (a key sequence): one interrupt per byte, as a real keyboard.
            let _ = self.irq.trigger();
        }
        byte
    }

    fn command(&mut self, cmd: u8) {
        self.status |= STATUS_COMMAND;
        match cmd {
            CMD_READ_CTR => self.push(self.control),
            CMD_WRITE_CTR | CMD_WRITE_OUTPUT_PORT => self.pending = Some(cmd),
            CMD_SELF_TEST => self.push(SELF_TEST_OK),
            CMD_KBD_INTERFACE_TEST => self.push(0),
            CMD_READ_OUTPUT_PORT => self.push(0x01),
            CMD_KBD_DISABLE | CMD_KBD_ENABLE => {}
            CMD_PULSE_RESET => {
                let _ = self.reset.0.write(1);
            }
            _ => {}
        }
    }

    fn data(&mut self, byte: u8) {
        self.status &= !STATUS_COMMAND;
        match self.pending.take() {
            Some(CMD_WRITE_CTR) => self.control = byte,
            Some(_) => {}
            // A command for the keyboard itself (reset, LEDs, scancode set, ...): acknowledge it.
            None => self.push(KBD_ACK),
        }
    }
}

impl BusDevice for I8042 {
    fn read(&mut self, offset: u64, data: &mut [u8]) {
        let value = match offset {
            0 => self.read_data(),
            4 => self.status,
            _ => 0xff,
        };
        data.fill(0);
        if let Some(first) = data.first_mut() {
            *first = value;
        }
    }

    fn write(&mut self, offset: u64, data: &[u8]) {
        let Some(&byte) = data.first() else { return };
        match offset {
            0 => self.data(byte),
            4 => self.command(byte),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmm_sys_util::eventfd::EventFd;

    fn device() -> (I8042, EventFd) {
        let reset = EventFd::new(libc::EFD_NONBLOCK).unwrap();
        let dev = I8042::new(
            IrqLine::new().unwrap(),
            ResetRequest(reset.try_clone().unwrap()),
        );
        (dev, reset)
    }

    fn read(dev: &mut I8042, offset: u64) -> u8 {
        let mut d = [0u8];
        dev.read(offset, &mut d);
        d[0]
    }

    #[test]
    fn reset_command_signals_the_vmm() {
        let (mut dev, reset) = device();
        assert!(reset.read().is_err());
        dev.write(4, &[CMD_PULSE_RESET]);
        assert_eq!(reset.read().unwrap(), 1);
    }

    #[test]
    fn ctrl_alt_del_scancodes() {
        let (mut dev, _) = device();
        dev.send_ctrl_alt_del();
        let mut got = vec![];
        while read(&mut dev, 4) & STATUS_OUTPUT_FULL != 0 {
            got.push(read(&mut dev, 0));
        }
        assert_eq!(
            got,
            vec![0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14]
        );
    }

    #[test]
    fn controller_probe_sequence() {
        let (mut dev, _) = device();
        dev.write(4, &[CMD_SELF_TEST]);
        assert_eq!(read(&mut dev, 0), SELF_TEST_OK);
        dev.write(4, &[CMD_WRITE_CTR]);
        dev.write(0, &[0x45]);
        dev.write(4, &[CMD_READ_CTR]);
        assert_eq!(read(&mut dev, 0), 0x45);
        dev.write(0, &[0xff]); // keyboard reset
        assert_eq!(read(&mut dev, 0), KBD_ACK);
    }
}
