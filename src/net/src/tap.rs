//! Persistent TAP devices for instance NICs. The supervisor creates one before starting the VMM,
//! which opens it by name (`hearth vmm`, src/vmm/src/devices/virtio/tap.rs) with the same flags,
//! so the kernel accepts the re-attach: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, single queue.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
/// The flags the VMM opens TAPs with; creating with the same ones keeps them compatible.
pub const TAP_FLAGS: libc::c_short = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;

/// Attaches to (creating if missing) the TAP `name`; the device lives while the file is open
/// unless it is made persistent.
fn attach(name: &str) -> io::Result<File> {
    if name.is_empty() || name.len() > 15 || name.bytes().any(|b| b == 0 || b == b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a valid interface name"),
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")?;
    // struct ifreq: the name (16 bytes), then the flags.
    let mut ifreq = [0u8; 40];
    ifreq[..name.len()].copy_from_slice(name.as_bytes());
    ifreq[16..18].copy_from_slice(&TAP_FLAGS.to_ne_bytes());
    // SAFETY: TUNSETIFF reads and writes a struct ifreq, for which the 40-byte buffer is large
    // enough; the fd is a valid open /dev/net/tun.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF as _, ifreq.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(file)
}

fn set_persist(file: &File, on: bool) -> io::Result<()> {
    // SAFETY: TUNSETPERSIST takes an integer argument by value.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETPERSIST as _, on as libc::c_ulong) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Creates the persistent TAP `name` in the calling thread's network namespace (or keeps the
/// existing one). It stays after this returns, down and unattached, until [`delete`].
pub fn create(name: &str) -> io::Result<()> {
    let file = attach(name)?;
    set_persist(&file, true)
}

/// Deletes the TAP `name`: clearing persistence makes it vanish when the last file closes (at
/// once if no VMM holds it). A TAP that does not exist is not an error.
pub fn delete(name: &str) -> io::Result<()> {
    let file = attach(name)?;
    set_persist(&file, false)
}
