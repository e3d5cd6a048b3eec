//! Everything a vCPU needs before its first KVM_RUN: CPUID, registers, MSRs, FPU, local APIC.
//! The thread that runs it and handles its exits is in runner.rs.

pub mod cpuid;
pub mod halt;
pub mod lapic;
pub mod msrs;
pub mod regs;
pub mod runner;

use kvm_bindings::CpuId;
use kvm_ioctls::VcpuFd;

use crate::boot::EntryMode;

#[derive(Debug, thiserror::Error)]
pub enum VcpuSetupError {
    #[error("vCPU {index}: {what}: {err}")]
    Kvm {
        index: u8,
        what: &'static str,
        err: kvm_ioctls::Error,
    },
    #[error("vCPU {index}: KVM accepted only {set} of {wanted} MSRs")]
    Msrs {
        index: u8,
        set: usize,
        wanted: usize,
    },
}

/// Sets up one vCPU for the machine. Only the boot CPU gets registers pointing at the kernel; the
/// others wait for the INIT/SIPI the kernel sends them through the local APIC.
pub fn configure(
    supported_cpuid: &CpuId,
    vcpu: &VcpuFd,
    index: u8,
    vcpus: u8,
    boot: Option<(EntryMode, u64)>,
) -> Result<(), VcpuSetupError> {
    let kvm_err = |what| move |err| VcpuSetupError::Kvm { index, what, err };
    let cpuid = cpuid::for_vcpu(supported_cpuid, index, vcpus);
    vcpu.set_cpuid2(&cpuid).map_err(kvm_err("setting CPUID"))?;
    msrs::set_boot_msrs(vcpu, index)?;
    vcpu.set_fpu(&regs::boot_fpu())
        .map_err(kvm_err("setting the FPU"))?;
    lapic::enable_lint(vcpu).map_err(kvm_err("setting up the local APIC"))?;
    if let Some((mode, entry)) = boot {
        regs::set_boot_registers(vcpu, mode, entry).map_err(kvm_err("setting registers"))?;
    }
    Ok(())
}
