//! What this host's /dev/kvm can do, said in plain words at start-up.

use std::path::Path;

pub enum Kvm {
    /// Hardware virtualization (VMX/SVM) behind /dev/kvm: microVMs run here.
    Hardware,
    /// PVM (pagetable-based virtual machine): the KVM API works, but a stock guest kernel is run
    /// by an instruction emulator and cannot boot.
    PvmOnly,
    Missing,
}

pub fn detect() -> Kvm {
    if !Path::new("/dev/kvm").exists() {
        Kvm::Missing
    } else if Path::new("/sys/module/kvm_pvm").exists() && !cpu_has_vmx_or_svm() {
        Kvm::PvmOnly
    } else {
        Kvm::Hardware
    }
}

fn cpu_has_vmx_or_svm() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| {
            s.lines()
                .filter(|l| l.starts_with("flags"))
                .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
        })
        .unwrap_or(false)
}

/// A warning for hosts where instances cannot boot, or None where they can.
pub fn warning() -> Option<&'static str> {
    match detect() {
        Kvm::Hardware => None,
        Kvm::PvmOnly => Some(
            "/dev/kvm on this host is PVM (kvm_pvm is loaded, the CPU shows neither vmx nor svm). \
             The KVM API works, but a normal guest kernel runs in an instruction emulator and cannot \
             boot, so instances will not start here. Use lab mode (scripts/testhost, see README), which \
             runs hearth inside an emulated host with real KVM, or a host with hardware virtualization.",
        ),
        Kvm::Missing => Some(
            "/dev/kvm does not exist: the API works, but instances cannot start on this host. Load \
             kvm_intel or kvm_amd, or use lab mode (scripts/testhost, see README).",
        ),
    }
}
