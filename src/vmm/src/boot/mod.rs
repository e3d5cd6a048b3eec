//! Putting a kernel into guest memory and describing the machine to it.
//!
//! An ELF vmlinux with a PVH note is entered in 32-bit protected mode with `hvm_start_info`
//! (pvh.rs); any other ELF, and a bzImage, through the Linux 64-bit boot protocol with
//! `boot_params` (linux.rs). Either way the MP table (mptable.rs) lists the CPUs and the I/O APIC.

pub mod cmdline;
pub mod kernel;
pub mod linux;
pub mod mptable;
pub mod pvh;

pub use kernel::{load_initrd, load_kernel, EntryMode, LoadedKernel};

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("cannot open the kernel {0}: {1}")]
    OpenKernel(std::path::PathBuf, std::io::Error),
    #[error("{0} is neither an ELF vmlinux nor a bzImage: {1}")]
    NotAKernel(std::path::PathBuf, String),
    #[error("cannot load the kernel {0}: {1}")]
    LoadKernel(std::path::PathBuf, String),
    #[error("cannot open the initrd {0}: {1}")]
    OpenInitrd(std::path::PathBuf, std::io::Error),
    #[error(
        "the initrd ({size} bytes) does not fit in guest memory below {limit:#x} above the kernel"
    )]
    InitrdTooLarge { size: u64, limit: u64 },
    #[error("kernel command line: {0}")]
    Cmdline(String),
    #[error("cannot write {what} into guest memory: {err}")]
    GuestWrite { what: &'static str, err: String },
    #[error("MP table: {0}")]
    MpTable(String),
}

pub(crate) fn guest_write(what: &'static str) -> impl Fn(vm_memory::GuestMemoryError) -> BootError {
    move |e| BootError::GuestWrite {
        what,
        err: e.to_string(),
    }
}
