//! PVH boot: hvm_start_info and its memory map, for an ELF kernel that carries the PVH note.

use linux_loader::loader::elf::start_info::{hvm_memmap_table_entry, hvm_start_info};
use vm_memory::{Bytes, GuestAddress};

use super::kernel::LoadedInitrd;
use super::{guest_write, BootError};
use crate::layout::{CMDLINE, PVH_MEMMAP, PVH_START_INFO, ZERO_PAGE};
use crate::memory::{E820Entry, GuestMemory};

/// "xEn3" with the 0x80 bit: the value the PVH ABI requires in hvm_start_info.magic.
const XEN_HVM_START_MAGIC: u32 = 0x336e_c578;
/// Version 1 has the memory map fields.
const START_INFO_VERSION: u32 = 1;

pub fn write(
    mem: &GuestMemory,
    e820: &[E820Entry],
    initrd: Option<LoadedInitrd>,
) -> Result<(), BootError> {
    let memmap_bytes = (e820.len() * std::mem::size_of::<hvm_memmap_table_entry>()) as u64;
    if PVH_MEMMAP + memmap_bytes > ZERO_PAGE {
        return Err(BootError::GuestWrite {
            what: "the PVH memory map",
            err: format!("{} entries do not fit", e820.len()),
        });
    }
    for (i, entry) in e820.iter().enumerate() {
        let addr = PVH_MEMMAP + (i * std::mem::size_of::<hvm_memmap_table_entry>()) as u64;
        let item = hvm_memmap_table_entry {
            addr: entry.addr,
            size: entry.size,
            type_: entry.kind,
            reserved: 0,
        };
        mem.write_obj(item, GuestAddress(addr))
            .map_err(guest_write("the PVH memory map"))?;
    }
    let mut info = hvm_start_info {
        magic: XEN_HVM_START_MAGIC,
        version: START_INFO_VERSION,
        cmdline_paddr: CMDLINE,
        memmap_paddr: PVH_MEMMAP,
        memmap_entries: e820.len() as u32,
        ..Default::default()
    };
    if let Some(initrd) = initrd {
        // The module list goes right after the memory map.
        let modlist = PVH_MEMMAP + memmap_bytes;
        let module = linux_loader::loader::elf::start_info::hvm_modlist_entry {
            paddr: initrd.addr,
            size: initrd.size,
            ..Default::default()
        };
        mem.write_obj(module, GuestAddress(modlist))
            .map_err(guest_write("the PVH module list"))?;
        info.nr_modules = 1;
        info.modlist_paddr = modlist;
    }
    mem.write_obj(info, GuestAddress(PVH_START_INFO))
        .map_err(guest_write("hvm_start_info"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory;

    #[test]
    fn start_info_points_at_the_map() {
        let mem = memory::create(32).unwrap();
        let e820 = memory::e820_map(32 * memory::MIB);
        write(&mem, &e820, None).unwrap();
        let info: hvm_start_info = mem.read_obj(GuestAddress(PVH_START_INFO)).unwrap();
        assert_eq!(info.magic, XEN_HVM_START_MAGIC);
        assert_eq!(info.memmap_entries, 3);
        let last: hvm_memmap_table_entry = mem.read_obj(GuestAddress(PVH_MEMMAP + 2 * 24)).unwrap();
        assert_eq!(last.addr + last.size, 32 * memory::MIB);
    }
}
