//! Loading the kernel image (ELF vmlinux or bzImage) and the initrd into guest memory.

use std::fs::File;
use std::io::Read;
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
    let mut magic = [0u8; 4];
    let is_elf = file.read_exact(&mut magic).is_ok() && magic == *b"\x7fELF";
    let highmem = Some(GuestAddress(HIMEM_START));
    if is_elf {
        let r = Elf::load(mem, None, &mut file, highmem)
            .map_err(|e| BootError::LoadKernel(path.to_path_buf(), e.to_string()))?;
        let (mode, entry) = match r.pvh_boot_cap {
            PvhBootCapability::PvhEntryPresent(addr) => (EntryMode::Pvh, addr),
            _ => (EntryMode::Linux64, r.kernel_load),
        };
        return Ok(LoadedKernel {
            mode,
            entry,
            end: r.kernel_end,
            setup_header: None,
        });
    }
    let r = BzImage::load(mem, None, &mut file, highmem)
        .map_err(|e| BootError::NotAKernel(path.to_path_buf(), e.to_string()))?;
    Ok(LoadedKernel {
        mode: EntryMode::Linux64,
        entry: r.kernel_load.unchecked_add(BZIMAGE_64BIT_ENTRY_OFFSET),
        end: r.kernel_end,
        setup_header: r.setup_header,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory;

    /// The smallest image linux-loader accepts as a bzImage: a boot-protocol 2.x header with one
    /// setup sector, then the "protected-mode kernel".
    fn fake_bzimage() -> Vec<u8> {
        let mut img = vec![0u8; 1024];
        img[0x1f1] = 1; // setup_sects
        img[0x202..0x206].copy_from_slice(b"HdrS");
        img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
        img[0x211] = 1; // loadflags: LOADED_HIGH
        img[0x214..0x218].copy_from_slice(&0x10_0000u32.to_le_bytes()); // code32_start
        img.extend_from_slice(&[0x90; 4096]);
        img
    }

    #[test]
    fn bzimage_enters_at_startup_64() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bzImage");
        std::fs::write(&path, fake_bzimage()).unwrap();
        let mem = memory::create(32).unwrap();
        let k = load_kernel(&mem, &path).unwrap();
        assert_eq!(k.mode, EntryMode::Linux64);
        assert_eq!(k.entry, GuestAddress(0x10_0200));
        assert!(k.setup_header.is_some());
        assert_eq!(mem.read_obj::<u8>(GuestAddress(0x10_0000)).unwrap(), 0x90);
    }

    #[test]
    fn tiny_text_file_is_not_a_kernel() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostname");
        std::fs::write(&path, b"box\n").unwrap();
        let mem = memory::create(32).unwrap();
        let e = load_kernel(&mem, &path).unwrap_err().to_string();
        assert!(e.contains("neither an ELF vmlinux nor a bzImage"), "{e}");
    }

    #[test]
    fn neither_elf_nor_bzimage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        std::fs::write(&path, vec![0x11u8; 4096]).unwrap();
        let mem = memory::create(32).unwrap();
        let e = load_kernel(&mem, &path).unwrap_err().to_string();
        assert!(e.contains("neither an ELF vmlinux nor a bzImage"), "{e}");
    }

    #[test]
    fn initrd_goes_high_and_page_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("initrd");
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let mem = memory::create(32).unwrap();
        let r = load_initrd(&mem, &path, 0x20_0000, u64::MAX).unwrap();
        assert_eq!(r.addr % 4096, 0);
        assert!(r.addr + r.size <= 32 << 20 && r.addr + r.size > (32 << 20) - 8192);
        assert_eq!(mem.read_obj::<u8>(GuestAddress(r.addr)).unwrap(), 7);
        let e = load_initrd(&mem, &path, 32 << 20, u64::MAX).unwrap_err();
        assert!(matches!(e, BootError::InitrdTooLarge { .. }));
    }
}
