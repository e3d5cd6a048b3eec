//! The Linux x86 boot protocol's "zero page" (struct boot_params) for the 64-bit entry.

use linux_loader::loader::bootparam::{boot_e820_entry, boot_params, setup_header};
use vm_memory::{ByteValued, Bytes, GuestAddress};

use super::kernel::LoadedInitrd;
use super::{guest_write, BootError};
use crate::layout::{CMDLINE, ZERO_PAGE};
use crate::memory::{E820Entry, GuestMemory};

/// boot_params as a plain byte image we can copy into guest memory.
#[derive(Clone, Copy, Default)]
#[repr(transparent)]
pub struct ZeroPage(pub boot_params);
// SAFETY: boot_params is repr(C, packed) plain data with no padding-sensitive invariants or
// pointers; every byte pattern is a valid value.
unsafe impl ByteValued for ZeroPage {}

const KERNEL_BOOT_FLAG_MAGIC: u16 = 0xaa55;
const KERNEL_HDR_MAGIC: u32 = 0x5372_6448; // "HdrS"
/// "Undefined" boot loader: we are not one of the registered IDs.
const KERNEL_LOADER_OTHER: u8 = 0xff;
const KERNEL_MIN_ALIGNMENT: u32 = 0x0100_0000;

/// Fills a zero page: the bzImage's own header when there is one, the command line, the e820
/// map and the initrd.
pub fn build(
    header: Option<setup_header>,
    cmdline_len: usize,
    e820: &[E820Entry],
    initrd: Option<LoadedInitrd>,
) -> Result<ZeroPage, BootError> {
    let mut params = boot_params::default();
    if let Some(h) = header {
        params.hdr = h;
    }
    params.hdr.type_of_loader = KERNEL_LOADER_OTHER;
    params.hdr.boot_flag = KERNEL_BOOT_FLAG_MAGIC;
    params.hdr.header = KERNEL_HDR_MAGIC;
    params.hdr.cmd_line_ptr = CMDLINE as u32;
    params.hdr.cmdline_size = cmdline_len as u32;
    if header.is_none() {
        params.hdr.kernel_alignment = KERNEL_MIN_ALIGNMENT;
    }
    if let Some(initrd) = initrd {
        params.hdr.ramdisk_image = initrd.addr as u32;
        params.hdr.ramdisk_size = initrd.size as u32;
    }
    if e820.len() > params.e820_table.len() {
        return Err(BootError::GuestWrite {
            what: "the e820 map",
            err: format!(
                "{} entries, the zero page holds {}",
                e820.len(),
                params.e820_table.len()
            ),
        });
    }
    for (slot, entry) in params.e820_table.iter_mut().zip(e820) {
        *slot = boot_e820_entry {
            addr: entry.addr,
            size: entry.size,
            r#type: entry.kind,
        };
    }
    params.e820_entries = e820.len() as u8;
    Ok(ZeroPage(params))
}

pub fn write(mem: &GuestMemory, page: &ZeroPage) -> Result<(), BootError> {
    mem.write_obj(*page, GuestAddress(ZERO_PAGE))
        .map_err(guest_write("the zero page"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory;

    #[test]
    fn zero_page_has_map_cmdline_and_initrd() {
        assert_eq!(std::mem::size_of::<ZeroPage>(), 4096);
        let e820 = memory::e820_map(512 * memory::MIB);
        let page = build(
            None,
            42,
            &e820,
            Some(LoadedInitrd {
                addr: 0x1000_0000,
                size: 0x2000,
            }),
        )
        .unwrap();
        let p = page.0;
        assert_eq!({ p.e820_entries }, 3);
        assert_eq!({ p.hdr.cmd_line_ptr }, CMDLINE as u32);
        assert_eq!({ p.hdr.cmdline_size }, 42);
        assert_eq!({ p.hdr.ramdisk_image }, 0x1000_0000);
        assert_eq!({ p.hdr.boot_flag }, 0xaa55);
        let last = p.e820_table[2];
        assert_eq!({ last.addr } + { last.size }, 512 * memory::MIB);
        let mem = memory::create(32).unwrap();
        write(&mem, &page).unwrap();
        let back: ZeroPage = mem.read_obj(GuestAddress(ZERO_PAGE)).unwrap();
        assert_eq!({ back.0.hdr.header }, KERNEL_HDR_MAGIC);
    }
}
