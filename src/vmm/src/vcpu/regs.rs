//! The boot CPU's registers at the kernel's entry point, and the GDT and identity page tables
//! those registers point at.

use kvm_bindings::{kvm_fpu, kvm_regs, kvm_segment, kvm_sregs};
use kvm_ioctls::VcpuFd;
use vm_memory::{Bytes, GuestAddress};

use crate::boot::{BootError, EntryMode};
use crate::layout::{BOOT_GDT, BOOT_IDT, BOOT_STACK, PD, PDPT, PML4, PVH_START_INFO, ZERO_PAGE};
use crate::memory::GuestMemory;

const X86_CR0_PE: u64 = 1;
const X86_CR0_ET: u64 = 1 << 4;
const X86_CR0_PG: u64 = 1 << 31;
const X86_CR4_PAE: u64 = 1 << 5;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;
/// Bit 1 of RFLAGS is reserved and always reads as one.
const RFLAGS_RESERVED: u64 = 2;

/// GDT entries as (flags, base, limit); flags hold the access byte and the G/DB/L nibble.
const GDT_NULL: u64 = 0;
const fn gdt_entry(flags: u16, base: u32, limit: u32) -> u64 {
    ((base as u64 & 0xff00_0000) << 32)
        | ((base as u64 & 0x00ff_ffff) << 16)
        | (limit as u64 & 0x0000_ffff)
        | ((limit as u64 & 0x000f_0000) << 32)
        | ((flags as u64 & 0xf0ff) << 40)
}
const CODE64: u64 = gdt_entry(0xa09b, 0, 0xfffff);
const CODE32: u64 = gdt_entry(0xc09b, 0, 0xfffff);
const DATA: u64 = gdt_entry(0xc093, 0, 0xfffff);
const TSS: u64 = gdt_entry(0x808b, 0, 0xfffff);

/// The selectors: index * 8.
const CODE_SELECTOR: u16 = 1 << 3;
const DATA_SELECTOR: u16 = 2 << 3;
const TSS_SELECTOR: u16 = 3 << 3;

fn gdt(mode: EntryMode) -> [u64; 4] {
    let code = match mode {
        EntryMode::Linux64 => CODE64,
        EntryMode::Pvh => CODE32,
    };
    [GDT_NULL, code, DATA, TSS]
}

/// The hidden part of a segment register, as the CPU would load it from descriptor `entry`.
fn segment(entry: u64, selector: u16) -> kvm_segment {
    let base = ((entry >> 16) & 0x00ff_ffff) | ((entry >> 32) & 0xff00_0000);
    let raw_limit = ((entry & 0xffff) | ((entry >> 32) & 0x000f_0000)) as u32;
    let g = ((entry >> 55) & 1) as u8;
    kvm_segment {
        base,
        limit: if g == 1 {
            (raw_limit << 12) | 0xfff
        } else {
            raw_limit
        },
        selector,
        type_: ((entry >> 40) & 0xf) as u8,
        present: ((entry >> 47) & 1) as u8,
        dpl: ((entry >> 45) & 3) as u8,
        db: ((entry >> 54) & 1) as u8,
        s: ((entry >> 44) & 1) as u8,
        l: ((entry >> 53) & 1) as u8,
        g,
        avl: ((entry >> 52) & 1) as u8,
        unusable: 0,
        padding: 0,
    }
}

/// Writes the GDT, an empty IDT and (for the 64-bit entry) page tables mapping the first GiB
/// one-to-one with 2 MiB pages, which is all the kernel's early code touches.
pub fn write_boot_tables(mem: &GuestMemory, mode: EntryMode) -> Result<(), BootError> {
    let w = crate::boot::guest_write("the boot page tables");
    for (i, entry) in gdt(mode).iter().enumerate() {
        mem.write_obj(*entry, GuestAddress(BOOT_GDT + i as u64 * 8))
            .map_err(&w)?;
    }
    mem.write_obj(0u64, GuestAddress(BOOT_IDT)).map_err(&w)?;
    if mode == EntryMode::Linux64 {
        const PRESENT_WRITABLE: u64 = 0x3;
        const HUGE_PAGE: u64 = 0x80;
        mem.write_obj(PDPT | PRESENT_WRITABLE, GuestAddress(PML4))
            .map_err(&w)?;
        mem.write_obj(PD | PRESENT_WRITABLE, GuestAddress(PDPT))
            .map_err(&w)?;
        for i in 0..512u64 {
            mem.write_obj(
                (i << 21) | PRESENT_WRITABLE | HUGE_PAGE,
                GuestAddress(PD + i * 8),
            )
            .map_err(&w)?;
        }
    }
    Ok(())
}

/// Control and segment registers for the entry mode.
pub fn boot_sregs(mut sregs: kvm_sregs, mode: EntryMode) -> kvm_sregs {
    let table = gdt(mode);
    let code = segment(table[1], CODE_SELECTOR);
    let data = segment(table[2], DATA_SELECTOR);
    sregs.gdt.base = BOOT_GDT;
    sregs.gdt.limit = (table.len() * 8 - 1) as u16;
    sregs.idt.base = BOOT_IDT;
    sregs.idt.limit = 7;
    sregs.cs = code;
    sregs.ds = data;
    sregs.es = data;
    sregs.fs = data;
    sregs.gs = data;
    sregs.ss = data;
    sregs.tr = segment(table[3], TSS_SELECTOR);
    match mode {
        EntryMode::Linux64 => {
            sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
            sregs.cr3 = PML4;
            sregs.cr4 = X86_CR4_PAE;
            sregs.efer = EFER_LME | EFER_LMA;
        }
        EntryMode::Pvh => {
            // The PVH ABI: protected mode, paging off.
            sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
            sregs.cr3 = 0;
            sregs.cr4 = 0;
            sregs.efer = 0;
        }
    }
    sregs
}

pub fn boot_regs(mode: EntryMode, entry: u64) -> kvm_regs {
    let mut regs = kvm_regs {
        rflags: RFLAGS_RESERVED,
        rip: entry,
        ..Default::default()
    };
    match mode {
        EntryMode::Linux64 => {
            regs.rsp = BOOT_STACK;
            regs.rbp = BOOT_STACK;
            regs.rsi = ZERO_PAGE;
        }
        EntryMode::Pvh => regs.rbx = PVH_START_INFO,
    }
    regs
}

/// x87 control word and MXCSR as after FNINIT / reset (all exceptions masked).
pub fn boot_fpu() -> kvm_fpu {
    kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    }
}

pub fn set_boot_registers(
    vcpu: &VcpuFd,
    mode: EntryMode,
    entry: u64,
) -> Result<(), kvm_ioctls::Error> {
    let sregs = boot_sregs(vcpu.get_sregs()?, mode);
    vcpu.set_sregs(&sregs)?;
    vcpu.set_regs(&boot_regs(mode, entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_decode_as_the_cpu_would() {
        assert_eq!(CODE64, 0x00af_9b00_0000_ffff);
        assert_eq!(DATA, 0x00cf_9300_0000_ffff);
        assert_eq!(CODE32, 0x00cf_9b00_0000_ffff);
        let c = segment(CODE64, CODE_SELECTOR);
        assert_eq!(
            (c.l, c.db, c.g, c.present, c.s, c.type_),
            (1, 0, 1, 1, 1, 0xb)
        );
        assert_eq!(c.limit, 0xffff_ffff);
        let c32 = segment(CODE32, CODE_SELECTOR);
        assert_eq!((c32.l, c32.db), (0, 1));
    }

    #[test]
    fn long_mode_tables_map_the_first_gib() {
        let mem = crate::memory::create(16).unwrap();
        write_boot_tables(&mem, EntryMode::Linux64).unwrap();
        let pd_last: u64 = mem.read_obj(GuestAddress(PD + 511 * 8)).unwrap();
        assert_eq!(pd_last, (511 << 21) | 0x83);
        let s = boot_sregs(kvm_sregs::default(), EntryMode::Linux64);
        assert_eq!(s.efer & EFER_LMA, EFER_LMA);
        let p = boot_sregs(kvm_sregs::default(), EntryMode::Pvh);
        assert_eq!(p.cr0 & X86_CR0_PG, 0);
        assert_eq!(boot_regs(EntryMode::Pvh, 0x100_0000).rbx, PVH_START_INFO);
    }
}
