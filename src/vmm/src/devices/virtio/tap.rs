//! An existing TAP interface opened for frames with a virtio-net header in front of each.
//!
//! We refuse to open a TAP that does not exist: TUNSETIFF would quietly create one, and a VMM
//! that fails later would then leave it behind.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETVNETHDRSZ: libc::c_ulong = 0x4004_54d8;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;

/// The virtio 1.x net header (with num_buffers), which is what the guest puts before each frame.
pub const VNET_HDR_LEN: usize = 12;

pub struct Tap {
    file: File,
    name: String,
}

impl Tap {
    pub fn open(name: &str) -> Result<Tap, String> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(format!("{name:?} is not a valid interface name"));
        }
        if !crate::config::interface_exists(name) {
            return Err(format!("the TAP interface {name:?} does not exist"));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(|e| format!("cannot open /dev/net/tun for TAP {name:?}: {e}"))?;
        // struct ifreq: the name, then (at offset 16) the flags.
        let mut ifreq = [0u8; 40];
        ifreq[..name.len()].copy_from_slice(name.as_bytes());
        let flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        ifreq[16..18].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: TUNSETIFF reads and writes a struct ifreq, for which the 40-byte buffer is large
        // enough; the fd is ours and open.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, ifreq.as_mut_ptr()) };
        if rc < 0 {
            return Err(format!(
                "cannot attach to TAP {name:?}: {} (is it a TAP, and owned by this user?)",
                std::io::Error::last_os_error()
            ));
        }
        let hdr_len = VNET_HDR_LEN as libc::c_int;
        // SAFETY: TUNSETVNETHDRSZ reads one int from the pointer.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETVNETHDRSZ as _, &hdr_len) };
        if rc < 0 {
            return Err(format!(
                "TAP {name:?}: cannot set the virtio-net header size: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Tap {
            file,
            name: name.to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// One frame (header included), or None when nothing is waiting.
    pub fn read_frame(&mut self, buf: &mut [u8]) -> std::io::Result<Option<usize>> {
        match self.file.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn write_frame(&mut self, frame: &[u8]) -> std::io::Result<()> {
        self.file.write(frame).map(|_| ())
    }
}

use std::os::unix::fs::OpenOptionsExt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tap_is_refused_without_creating_one() {
        let e = Tap::open("hearthnotap1").err().unwrap();
        assert!(e.contains("does not exist"), "{e}");
        assert!(!crate::config::interface_exists("hearthnotap1"));
    }
}
