//! An Intel MultiProcessor Specification 1.4 table, so the guest finds every vCPU, the I/O APIC
//! and how the ISA interrupts are wired, without ACPI.
//!
//! The table is built as bytes (all fields little-endian, no padding per the spec) rather than as
//! packed structs: it is written once and only its checksums need care.

use vm_memory::{Bytes, GuestAddress};

use super::{guest_write, BootError};
use crate::layout::{EBDA_START, HIMEM_START, IOAPIC_ADDR, IOAPIC_PINS, LAPIC_ADDR};
use crate::memory::GuestMemory;

const SPEC_REV_1_4: u8 = 4;
const LAPIC_VERSION: u8 = 0x14;
const IOAPIC_VERSION: u8 = 0x11;
const ENTRY_PROCESSOR: u8 = 0;
const ENTRY_BUS: u8 = 1;
const ENTRY_IOAPIC: u8 = 2;
const ENTRY_IO_INTERRUPT: u8 = 3;
const ENTRY_LOCAL_INTERRUPT: u8 = 4;
const CPU_ENABLED: u8 = 1;
const CPU_BOOTSTRAP: u8 = 2;
const INT_VECTORED: u8 = 0;
const INT_NMI: u8 = 1;
const INT_EXTINT: u8 = 3;
/// Family 6 in the CPU signature; the guest reads the real one from CPUID anyway.
const CPU_SIGNATURE: u32 = 0x600;
/// FPU and on-chip APIC, the feature bits the spec says to report.
const CPU_FEATURES: u32 = (1 << 0) | (1 << 9);
const FLOATING_POINTER_LEN: usize = 16;
const HEADER_LEN: usize = 44;

/// The I/O APIC's ID: the first one after the CPUs' APIC IDs (0..vcpus).
pub fn ioapic_id(vcpus: u8) -> u8 {
    vcpus
}

/// The MP floating pointer followed by the configuration table, as the guest will see them at
/// `base`.
pub fn build(vcpus: u8, base: u64) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut count: u16 = 0;
    for cpu in 0..vcpus {
        let flags = CPU_ENABLED | if cpu == 0 { CPU_BOOTSTRAP } else { 0 };
        entries.extend_from_slice(&[ENTRY_PROCESSOR, cpu, LAPIC_VERSION, flags]);
        entries.extend_from_slice(&CPU_SIGNATURE.to_le_bytes());
        entries.extend_from_slice(&CPU_FEATURES.to_le_bytes());
        entries.extend_from_slice(&[0u8; 8]);
        count += 1;
    }
    entries.extend_from_slice(&[ENTRY_BUS, 0]);
    entries.extend_from_slice(b"ISA   ");
    count += 1;
    let ioapic = ioapic_id(vcpus);
    entries.extend_from_slice(&[ENTRY_IOAPIC, ioapic, IOAPIC_VERSION, 1]);
    entries.extend_from_slice(&(IOAPIC_ADDR as u32).to_le_bytes());
    count += 1;
    // ISA IRQ n arrives on I/O APIC pin n: that is how KVM's in-kernel irqchip routes GSIs.
    for pin in 0..IOAPIC_PINS as u8 {
        entries.extend_from_slice(&[ENTRY_IO_INTERRUPT, INT_VECTORED, 0, 0, 0, pin, ioapic, pin]);
        count += 1;
    }
    // LINT0 carries the 8259's ExtINT, LINT1 NMIs, on every CPU (destination 0xff).
    entries.extend_from_slice(&[ENTRY_LOCAL_INTERRUPT, INT_EXTINT, 0, 0, 0, 0, 0xff, 0]);
    entries.extend_from_slice(&[ENTRY_LOCAL_INTERRUPT, INT_NMI, 0, 0, 0, 0, 0xff, 1]);
    count += 2;

    let table_addr = base + FLOATING_POINTER_LEN as u64;
    let table_len = HEADER_LEN + entries.len();
    let mut table = Vec::with_capacity(table_len);
    table.extend_from_slice(b"PCMP");
    table.extend_from_slice(&(table_len as u16).to_le_bytes());
    table.push(SPEC_REV_1_4);
    table.push(0); // checksum, below
    table.extend_from_slice(b"HEARTH  ");
    table.extend_from_slice(b"MICROVM     ");
    table.extend_from_slice(&0u32.to_le_bytes()); // no OEM table
    table.extend_from_slice(&0u16.to_le_bytes());
    table.extend_from_slice(&count.to_le_bytes());
    table.extend_from_slice(&(LAPIC_ADDR as u32).to_le_bytes());
    table.extend_from_slice(&0u32.to_le_bytes()); // no extended table
    table.extend_from_slice(&entries);
    table[7] = checksum(&table);

    let mut out = Vec::with_capacity(FLOATING_POINTER_LEN + table_len);
    out.extend_from_slice(b"_MP_");
    out.extend_from_slice(&(table_addr as u32).to_le_bytes());
    out.push(1); // length in 16-byte units
    out.push(SPEC_REV_1_4);
    out.push(0); // checksum, below
    out.extend_from_slice(&[0u8; 5]); // feature bytes: 0 = a configuration table is present
    out[10] = checksum(&out);
    out.extend_from_slice(&table);
    out
}

/// The byte that makes the sum of all bytes zero.
fn checksum(bytes: &[u8]) -> u8 {
    0u8.wrapping_sub(bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)))
}

/// Writes the MP table into the EBDA, where the guest's MP scan looks first.
pub fn write(mem: &GuestMemory, vcpus: u8) -> Result<(), BootError> {
    let bytes = build(vcpus, EBDA_START);
    if EBDA_START + bytes.len() as u64 > HIMEM_START {
        return Err(BootError::MpTable(format!(
            "{} bytes for {vcpus} vCPUs do not fit below 1 MiB",
            bytes.len()
        )));
    }
    mem.write_slice(&bytes, GuestAddress(EBDA_START))
        .map_err(guest_write("the MP table"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, x| a.wrapping_add(*x))
    }

    #[test]
    fn checksums_and_counts() {
        for vcpus in [1u8, 2, 8, 254] {
            let b = build(vcpus, EBDA_START);
            assert_eq!(&b[0..4], b"_MP_");
            assert_eq!(sum(&b[..16]), 0);
            let table = &b[16..];
            assert_eq!(&table[0..4], b"PCMP");
            let len = u16::from_le_bytes([table[4], table[5]]) as usize;
            assert_eq!(len, table.len());
            assert_eq!(sum(table), 0);
            let count = u16::from_le_bytes([table[34], table[35]]);
            assert_eq!(count, vcpus as u16 + 2 + 24 + 2);
            let cpus = table[HEADER_LEN..]
                .chunks(20)
                .take(vcpus as usize)
                .filter(|e| e[0] == ENTRY_PROCESSOR && e[3] & CPU_ENABLED != 0)
                .count();
            assert_eq!(cpus, vcpus as usize);
            let pointer = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as u64;
            assert_eq!(pointer, EBDA_START + 16);
        }
    }

    #[test]
    fn fits_below_one_mib_for_the_most_vcpus() {
        let mem = crate::memory::create(16).unwrap();
        write(&mem, crate::config::MAX_VCPUS).unwrap();
    }
}
