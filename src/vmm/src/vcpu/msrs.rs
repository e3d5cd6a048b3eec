//! Model-specific registers a freshly reset x86 CPU would have, which KVM leaves to the VMM.

use kvm_bindings::{kvm_msr_entry, Msrs};
use kvm_ioctls::VcpuFd;

use super::VcpuSetupError;

const MSR_IA32_TSC: u32 = 0x10;
const MSR_IA32_SYSENTER_CS: u32 = 0x174;
const MSR_IA32_SYSENTER_ESP: u32 = 0x175;
const MSR_IA32_SYSENTER_EIP: u32 = 0x176;
const MSR_IA32_MISC_ENABLE: u32 = 0x1a0;
const MSR_MTRR_DEF_TYPE: u32 = 0x2ff;
const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_SYSCALL_MASK: u32 = 0xc000_0084;
const MSR_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// "Fast string" enable: Linux expects firmware to have set it.
const MISC_ENABLE_FAST_STRING: u64 = 1;
/// MTRRs on, default memory type write-back: without this the guest would run uncached.
const MTRR_ENABLE_WRITEBACK: u64 = (1 << 11) | 6;

pub fn boot_msrs() -> Vec<kvm_msr_entry> {
    let entry = |index, data| kvm_msr_entry {
        index,
        data,
        ..Default::default()
    };
    vec![
        entry(MSR_IA32_SYSENTER_CS, 0),
        entry(MSR_IA32_SYSENTER_ESP, 0),
        entry(MSR_IA32_SYSENTER_EIP, 0),
        entry(MSR_STAR, 0),
        entry(MSR_CSTAR, 0),
        entry(MSR_KERNEL_GS_BASE, 0),
        entry(MSR_SYSCALL_MASK, 0),
        entry(MSR_LSTAR, 0),
        entry(MSR_IA32_TSC, 0),
        entry(MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING),
        entry(MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WRITEBACK),
    ]
}

pub fn set_boot_msrs(vcpu: &VcpuFd, index: u8) -> Result<(), VcpuSetupError> {
    let entries = boot_msrs();
    let msrs = Msrs::from_entries(&entries).map_err(|_| VcpuSetupError::Msrs {
        index,
        set: 0,
        wanted: entries.len(),
    })?;
    let set = vcpu.set_msrs(&msrs).map_err(|err| VcpuSetupError::Kvm {
        index,
        what: "setting MSRs",
        err,
    })?;
    if set != entries.len() {
        return Err(VcpuSetupError::Msrs {
            index,
            set,
            wanted: entries.len(),
        });
    }
    Ok(())
}
