//! Loading the kernel image (ELF vmlinux or bzImage) and the initrd into guest memory.

use std::fs::File;
use std::path::Path;

use linux_loader::loader::bootparam::setup_header;
use linux_loader::loader::elf::{Elf, PvhBootCapability};
use linux_loader::loader::{bzimage::BzImage, KernelLoader};
use vm_memory::{Address, Bytes, GuestAddress, GuestMemoryBackend};

use super::BootError;
use crate::layout::HIMEM_START;
use crate::memory::GuestMemory;

/// How the first vCPU enters the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMode {
    /// 32-bit protected mode, paging off, %ebx = hvm_start_info (the ELF's PVH note).
    Pvh,
    /// 64-bit long mode with identity paging, %rsi = boot_params.
    Linux64,
}

#[derive(Debug, Clone)]
pub struct LoadedKernel {
    pub mode: EntryMode,
    pub entry: GuestAddress,
    /// The first byte after the kernel image; the initrd must not go below it.
    pub end: u64,
    /// A bzImage's own header, which boot_params must start from.
    pub setup_header: Option<setup_header>,
}

/// Offset of `startup_64` from where a bzImage's protected-mode code is loaded (boot protocol).
const BZIMAGE_64BIT_ENTRY_OFFSET: u64 = 0x200;

pub fn load_kernel(mem: &GuestMemory, path: &Path) -> Result<LoadedKernel, BootError> {
    let mut file = File::open(path).map_err(|e| BootError::OpenKernel(path.to_path_buf(), e))?;
    let highmem = Some(GuestAddress(HIMEM_START));
    match Elf::load(mem, None, &mut file, highmem) {
        Ok(r) => {
            let (mode, entry) = match r.pvh_boot_cap {
                PvhBootCapability::PvhEntryPresent(addr) => (EntryMode::Pvh, addr),
                _ => (EntryMode::Linux64, r.kernel_load),
            };
            Ok(LoadedKernel {
                mode,
                entry,
                end: r.kernel_end,
                setup_header: None,
            })
        }
        Err(linux_loader::loader::Error::Elf(
            linux_loader::loader::elf::Error::InvalidElfMagicNumber,
        )) => {
            let r = BzImage::load(mem, None, &mut file, highmem)
                .map_err(|e| BootError::NotAKernel(path.to_path_buf(), e.to_string()))?;
            Ok(LoadedKernel {
                mode: EntryMode::Linux64,
                entry: r.kernel_load.unchecked_add(BZIMAGE_64BIT_ENTRY_OFFSET),
                end: r.kernel_end,
                setup_header: r.setup_header,
            })
        }
        Err(e) => Err(BootError::LoadKernel(path.to_path_buf(), e.to_string())),
    }
}

/// Where an initrd went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadedInitrd {
    pub addr: u64,
    pub size: u64,
}

/// Places the initrd as high as possible in the first RAM region (below `limit`, the kernel's
/// initrd_addr_max), page aligned, and above the kernel, as boot loaders traditionally do.
pub fn load_initrd(
    mem: &GuestMemory,
    path: &Path,
    kernel_end: u64,
    limit: u64,
) -> Result<LoadedInitrd, BootError> {
    let mut file = File::open(path).map_err(|e| BootError::OpenInitrd(path.to_path_buf(), e))?;
    let size = file
        .metadata()
        .map_err(|e| BootError::OpenInitrd(path.to_path_buf(), e))?
        .len();
    let first_region_end = mem
        .iter()
        .next()
        .map(vm_memory::GuestMemoryRegion::len)
        .unwrap_or(0);
    let top = first_region_end.min(limit.saturating_add(1));
    let addr = top
        .checked_sub(size)
        .map(|a| a & !0xfff)
        .filter(|a| *a >= kernel_end)
        .ok_or(BootError::InitrdTooLarge { size, limit: top })?;
    let len = usize::try_from(size).map_err(|_| BootError::InitrdTooLarge { size, limit: top })?;
    mem.read_exact_volatile_from(GuestAddress(addr), &mut file, len)
        .map_err(super::guest_write("the initrd"))?;
    Ok(LoadedInitrd { addr, size })
}
