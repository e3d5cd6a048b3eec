//! The kernel command line: the user's, plus what this VMM's machine needs the kernel to know.

use linux_loader::cmdline::Cmdline;
use vm_memory::GuestAddress;

use super::BootError;
use crate::layout::{self, CMDLINE_MAX};

/// Our machine has an i8042 with a keyboard only (no mouse, no PnP BIOS, no mux), so the driver's
/// probes for those would only waste boot time; `dumbkbd` keeps it from expecting LED commands.
const I8042_PARAMS: [&str; 4] = ["i8042.noaux", "i8042.nomux", "i8042.nopnp", "i8042.dumbkbd"];

/// The user's command line, the i8042 hints (unless given) and one `virtio_mmio.device=` per
/// device, in slot order. Our parameters go before a ` -- `: the kernel hands everything after
/// it to init as arguments.
pub fn build(user: &str, virtio_devices: usize) -> Result<Cmdline, BootError> {
    let err = |e: linux_loader::cmdline::Error| BootError::Cmdline(e.to_string());
    let (kernel_part, init_args) = split_init_args(user);
    let mut cmdline = Cmdline::new(CMDLINE_MAX).map_err(err)?;
    if !kernel_part.is_empty() {
        cmdline.insert_str(kernel_part).map_err(err)?;
    }
    for param in I8042_PARAMS {
        if !kernel_part.split_whitespace().any(|w| w.starts_with(param)) {
            cmdline.insert_str(param).map_err(err)?;
        }
    }
    for index in 0..virtio_devices {
        let (base, irq) = layout::virtio_slot(index);
        cmdline
            .add_virtio_mmio_device(layout::VIRTIO_MMIO_SIZE, GuestAddress(base), irq, None)
            .map_err(err)?;
    }
    if let Some(args) = init_args {
        cmdline.insert_init_args(args).map_err(err)?;
    }
    Ok(cmdline)
}

/// Splits "kernel params -- init args" at the first standalone `--`.
fn split_init_args(user: &str) -> (&str, Option<&str>) {
    let user = user.trim();
    if let Some(rest) = user.strip_prefix("--") {
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            return ("", Some(rest.trim()).filter(|a| !a.is_empty()));
        }
    }
    match user
        .find(" -- ")
        .or_else(|| user.strip_suffix(" --").map(|k| k.len()))
    {
        Some(at) => {
            let args = user[at..].trim_start().trim_start_matches("--").trim();
            (user[..at].trim_end(), Some(args).filter(|a| !a.is_empty()))
        }
        None => (user, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_announced_in_slot_order() {
        let c = build("console=ttyS0 reboot=k", 2).unwrap();
        let s = c.as_cstring().unwrap().into_string().unwrap();
        assert!(s.starts_with("console=ttyS0 reboot=k i8042.noaux"), "{s}");
        assert!(s.contains("virtio_mmio.device=4K@0xd0000000:5"), "{s}");
        assert!(s.contains("virtio_mmio.device=4K@0xd0001000:6"), "{s}");
    }

    #[test]
    fn user_i8042_settings_win() {
        let c = build("i8042.nopnp=0", 0).unwrap();
        let s = c.as_cstring().unwrap().into_string().unwrap();
        assert_eq!(s.matches("i8042.nopnp").count(), 1, "{s}");
    }

    #[test]
    fn init_arguments_stay_after_our_parameters() {
        let c = build("root=/dev/vda init=/bin/sh -- -c \"echo hi\"", 1).unwrap();
        let s = c.as_cstring().unwrap().into_string().unwrap();
        let (kernel, init) = s.split_once(" -- ").expect(&s);
        assert!(kernel.contains("virtio_mmio.device=4K@0xd0000000:5"), "{s}");
        assert!(kernel.contains("i8042.noaux"), "{s}");
        assert_eq!(init, "-c \"echo hi\"");
    }

    #[test]
    fn a_bare_separator_is_dropped() {
        let s = build("quiet --", 0).unwrap().as_cstring().unwrap();
        assert!(!s.to_str().unwrap().contains("--"), "{s:?}");
    }

    #[test]
    fn too_long_is_an_error() {
        let long = "x".repeat(CMDLINE_MAX + 1);
        assert!(build(&long, 0).is_err());
    }
}
