//! What this host's /dev/kvm can do, said in plain words: at start-up, and by `hearth
//! host-check`, which scripts/setup asks to choose between running hearth here and lab mode.

use std::path::Path;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kvm {
    /// Hardware virtualization (VMX/SVM) behind /dev/kvm: microVMs run here.
    Hardware,
    /// PVM (pagetable-based virtual machine): the KVM API works, but a stock guest kernel is run
    /// by an instruction emulator and cannot boot.
    PvmOnly,
    Missing,
}

/// What the host shows, read once so the verdict can be worked out (and tested) apart from it.
#[derive(Clone, Debug, Default)]
pub struct HostFacts {
    pub dev_kvm: bool,
    pub pvm_loaded: bool,
    /// The `flags` lines of /proc/cpuinfo.
    pub cpuinfo: String,
}

impl HostFacts {
    pub fn read() -> HostFacts {
        HostFacts {
            dev_kvm: Path::new("/dev/kvm").exists(),
            pvm_loaded: Path::new("/sys/module/kvm_pvm").exists(),
            cpuinfo: std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(),
        }
    }

    fn cpu_has_vmx_or_svm(&self) -> bool {
        self.cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
    }

    /// A PVM module beside a CPU with VMX/SVM still leaves kvm_intel/kvm_amd able to run guests.
    pub fn kvm(&self) -> Kvm {
        if !self.dev_kvm {
            Kvm::Missing
        } else if self.pvm_loaded && !self.cpu_has_vmx_or_svm() {
            Kvm::PvmOnly
        } else {
            Kvm::Hardware
        }
    }
}

pub fn detect() -> Kvm {
    HostFacts::read().kvm()
}

impl Kvm {
    pub fn can_boot_guests(self) -> bool {
        self == Kvm::Hardware
    }

    /// One line for `hearth host-check`.
    pub fn summary(self) -> &'static str {
        match self {
            Kvm::Hardware => "/dev/kvm has hardware virtualization: instances run on this host",
            Kvm::PvmOnly => {
                "/dev/kvm is PVM-only (kvm_pvm, no vmx/svm): guests cannot boot on this host"
            }
            Kvm::Missing => "no /dev/kvm: guests cannot boot on this host",
        }
    }

    /// A warning for hosts where instances cannot boot, or None where they can.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Kvm::Hardware => None,
            Kvm::PvmOnly => Some(
                "/dev/kvm on this host is PVM (kvm_pvm is loaded, the CPU shows neither vmx nor svm). \
                 The KVM API works, but a normal guest kernel runs in an instruction emulator and \
                 cannot boot, so instances will not start here. Use lab mode (scripts/lab, which \
                 scripts/setup picks on such hosts; see README): hearth inside an emulated host with \
                 real KVM, or a host with hardware virtualization.",
            ),
            Kvm::Missing => Some(
                "/dev/kvm does not exist: the API works, but instances cannot start on this host. \
                 Load kvm_intel or kvm_amd, or use lab mode (scripts/lab; see README).",
            ),
        }
    }
}

/// A warning for this host if instances cannot boot here.
pub fn warning() -> Option<&'static str> {
    detect().warning()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(dev_kvm: bool, pvm_loaded: bool, flags: &str) -> HostFacts {
        HostFacts {
            dev_kvm,
            pvm_loaded,
            cpuinfo: format!(
                "processor\t: 0\nflags\t\t: fpu {flags} sse2\n\nprocessor\t: 1\nflags\t\t: fpu {flags}\n"
            ),
        }
    }

    #[test]
    fn hardware_virtualization_boots_guests() {
        for flags in ["vmx", "svm"] {
            assert_eq!(facts(true, false, flags).kvm(), Kvm::Hardware);
            // kvm_pvm loaded next to kvm_intel/kvm_amd: the hardware module runs the guests.
            assert_eq!(facts(true, true, flags).kvm(), Kvm::Hardware);
        }
        assert!(Kvm::Hardware.can_boot_guests());
        assert_eq!(Kvm::Hardware.warning(), None);
    }

    #[test]
    fn pvm_without_vmx_or_svm_cannot() {
        let kvm = facts(true, true, "pse tsc").kvm();
        assert_eq!(kvm, Kvm::PvmOnly);
        assert!(!kvm.can_boot_guests());
        assert!(kvm.warning().unwrap().contains("lab mode"));
        // A flag only names a whole word: "svm_lock"-like names do not count.
        assert_eq!(facts(true, true, "svm_lock vmxon").kvm(), Kvm::PvmOnly);
        // Flags are read from the flags lines only.
        let mut other = facts(true, true, "pse");
        other.cpuinfo.push_str("model name\t: vmx svm\n");
        assert_eq!(other.kvm(), Kvm::PvmOnly);
    }

    #[test]
    fn no_dev_kvm_cannot() {
        for flags in ["vmx", "pse"] {
            assert_eq!(facts(false, false, flags).kvm(), Kvm::Missing);
            assert_eq!(facts(false, true, flags).kvm(), Kvm::Missing);
        }
        assert!(!Kvm::Missing.can_boot_guests());
        assert!(Kvm::Missing.warning().is_some());
    }
}
