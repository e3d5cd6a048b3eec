//! hearth's virtual machine monitor: one KVM microVM per process.
//!
//! `Vmm::build` turns a [`config::VmConfig`] into a ready machine (memory, kernel, vCPUs,
//! devices) and fails with a message naming the problem before any guest code runs;
//! `Vmm::run` starts the vCPUs and serves devices and the control socket until the guest stops.
//! The process exit codes are in [`exit`] (0 shut down, 1 VMM error, 3 rebooted, 4 crashed,
//! 5 stopped); the control socket protocol in [`control`].
//!
//! A config (unknown keys are refused):
//! ```json
//! {
//!   "vcpus": 2, "memory_mib": 512,
//!   "kernel": "/var/lib/hearth/vmlinux", "initrd": null,
//!   "cmdline": "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw",
//!   "disks": [
//!     {"path": "root.img", "id": "system"},
//!     {"path": "data.img", "id": "data-1", "read_only": false,
//!      "rate_limit": {"iops": 2000, "bytes_per_sec": 20000000}}
//!   ],
//!   "nics": [{"tap": "htap0", "mac": "52:54:00:12:34:56",
//!             "rate_limit": {"rx_bytes_per_sec": 1250000, "tx_bytes_per_sec": 625000}}],
//!   "rng": true,
//!   "console_log": "/run/hearth/i-1/console.log",
//!   "control_socket": "/run/hearth/i-1/control.sock"
//! }
//! ```
//! `rate_limit` is optional everywhere, and so is each figure in it (absent = unlimited, and an
//! unlimited device keeps no limiter at all); 0 is refused. A disk request counts as one
//! operation plus the bytes it reads or writes; a NIC counts frame bytes, rx towards the guest
//! and tx from it. A limited queue that runs out of budget waits on a timer in its device thread
//! (never in a vCPU) with the request that did not fit left first in line; the budget holds a
//! tenth of a second's worth, so a burst is short.
//!
//! Machine layout (x86_64): RAM from 0 (and from 4 GiB past 3.25 GiB), an MP table in the EBDA,
//! 8250 at 0x3f8/IRQ 4, i8042 at 0x60/0x64/IRQ 1, virtio-mmio windows from 0xd000_0000 with
//! GSIs 5.. announced on the kernel command line as `virtio_mmio.device=` (disks first, in
//! config order, so the first disk is /dev/vda, then NICs, then the rng).

pub mod boot;
pub mod builder;
pub mod config;
pub mod control;
pub mod devices;
pub mod exit;
pub mod kvm_check;
pub mod layout;
pub mod memory;
pub mod run;
pub mod state;
pub mod vcpu;
pub mod worker;

pub use builder::{BuildError, BuildOptions, Vmm};
pub use exit::{Exit, ExitKind};
