//! The local APIC's LINT pins, wired as on a PC: LINT0 takes the 8259's ExtINT, LINT1 the NMI.

use kvm_ioctls::VcpuFd;

const APIC_LVT_LINT0: usize = 0x350;
const APIC_LVT_LINT1: usize = 0x360;
const DELIVERY_MODE_EXTINT: u32 = 0x7;
const DELIVERY_MODE_NMI: u32 = 0x4;

fn read_reg(regs: &[std::os::raw::c_char], offset: usize) -> u32 {
    let b = |i: usize| regs[offset + i] as u8;
    u32::from_le_bytes([b(0), b(1), b(2), b(3)])
}

fn write_reg(regs: &mut [std::os::raw::c_char], offset: usize, value: u32) {
    for (i, byte) in value.to_le_bytes().iter().enumerate() {
        regs[offset + i] = *byte as std::os::raw::c_char;
    }
}

/// Bits 10:8 of an LVT entry select the delivery mode.
fn with_delivery_mode(reg: u32, mode: u32) -> u32 {
    (reg & !0x700) | (mode << 8)
}

pub fn enable_lint(vcpu: &VcpuFd) -> Result<(), kvm_ioctls::Error> {
    let mut state = vcpu.get_lapic()?;
    let lint0 = read_reg(&state.regs, APIC_LVT_LINT0);
    write_reg(
        &mut state.regs,
        APIC_LVT_LINT0,
        with_delivery_mode(lint0, DELIVERY_MODE_EXTINT),
    );
    let lint1 = read_reg(&state.regs, APIC_LVT_LINT1);
    write_reg(
        &mut state.regs,
        APIC_LVT_LINT1,
        with_delivery_mode(lint1, DELIVERY_MODE_NMI),
    );
    vcpu.set_lapic(&state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_mode_bits() {
        assert_eq!(
            with_delivery_mode(0x0001_0000, DELIVERY_MODE_EXTINT),
            0x0001_0700
        );
        assert_eq!(
            with_delivery_mode(0x0000_0700, DELIVERY_MODE_NMI),
            0x0000_0400
        );
        let mut regs = [0 as std::os::raw::c_char; 1024];
        write_reg(&mut regs, APIC_LVT_LINT1, 0xdead_beef);
        assert_eq!(read_reg(&regs, APIC_LVT_LINT1), 0xdead_beef);
    }
}
