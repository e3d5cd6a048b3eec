//! Where things live in guest-physical memory (x86_64). One table, so nothing overlaps by accident.
//!
//! Low memory (below 1 MiB) holds the boot structures; the kernel goes at 1 MiB; RAM stops at
//! MMIO_GAP_START and continues at 4 GiB, leaving the 32-bit hole for virtio-mmio, the I/O APIC
//! and the local APIC.

/// GDT used for the first instructions of the guest (64-bit or PVH 32-bit entry).
pub const BOOT_GDT: u64 = 0x500;
/// An empty IDT: the kernel installs its own before enabling interrupts.
pub const BOOT_IDT: u64 = 0x520;
/// PVH: hvm_start_info and, right after it, the memory map it points to.
pub const PVH_START_INFO: u64 = 0x6000;
pub const PVH_MEMMAP: u64 = 0x6040;
/// Linux boot protocol: the "zero page" (struct boot_params).
pub const ZERO_PAGE: u64 = 0x7000;
/// Initial stack for the 64-bit entry (the kernel switches to its own at once).
pub const BOOT_STACK: u64 = 0x8ff0;
/// Identity page tables for the 64-bit entry: PML4, PDPT, one PD of 2 MiB pages (first 1 GiB).
pub const PML4: u64 = 0x9000;
pub const PDPT: u64 = 0xa000;
pub const PD: u64 = 0xb000;
/// The kernel command line (Linux's COMMAND_LINE_SIZE on x86 is 2048).
pub const CMDLINE: u64 = 0x20000;
pub const CMDLINE_MAX: usize = 2048;
/// Start of the Extended BIOS Data Area: usable RAM below 1 MiB ends here; the MP table lives here.
pub const EBDA_START: u64 = 0x9fc00;
/// Where the kernel is loaded, and where RAM above the legacy hole starts in the e820 map.
pub const HIMEM_START: u64 = 0x10_0000;

/// The 32-bit MMIO hole: 768 MiB below 4 GiB (also where the APICs sit).
pub const MMIO_GAP_START: u64 = 0xd000_0000;
pub const MMIO_GAP_END: u64 = 0x1_0000_0000;
/// virtio-mmio devices: one 4 KiB window each, from the start of the hole.
pub const VIRTIO_MMIO_BASE: u64 = MMIO_GAP_START;
pub const VIRTIO_MMIO_SIZE: u64 = 0x1000;
/// GSIs for virtio-mmio devices (5 upwards; 4 is the serial port, 1 the keyboard).
pub const VIRTIO_IRQ_BASE: u32 = 5;
/// The I/O APIC has 24 pins; KVM's in-kernel one is wired as GSI 0-23.
pub const IOAPIC_PINS: u32 = 24;
pub const IOAPIC_ADDR: u64 = 0xfec0_0000;
pub const LAPIC_ADDR: u64 = 0xfee0_0000;
/// KVM needs three pages for the TSS (on Intel) somewhere the guest does not use.
pub const KVM_TSS_ADDR: u64 = 0xfffb_d000;

pub const SERIAL_PORT: u16 = 0x3f8;
pub const SERIAL_IRQ: u32 = 4;
pub const I8042_DATA_PORT: u16 = 0x60;
pub const I8042_COMMAND_PORT: u16 = 0x64;
pub const KEYBOARD_IRQ: u32 = 1;

/// The most virtio-mmio devices we can give interrupts to (GSI 5..=23).
pub const MAX_VIRTIO_DEVICES: usize = (IOAPIC_PINS - VIRTIO_IRQ_BASE) as usize;

/// The window and interrupt of the n-th virtio-mmio device.
pub fn virtio_slot(index: usize) -> (u64, u32) {
    (
        VIRTIO_MMIO_BASE + index as u64 * VIRTIO_MMIO_SIZE,
        VIRTIO_IRQ_BASE + index as u32,
    )
}
