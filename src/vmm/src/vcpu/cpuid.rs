//! CPUID for each vCPU: what KVM supports on this host, with the topology of a single socket of
//! `vcpus` cores (one thread each) and each vCPU's own APIC ID.

use kvm_bindings::{CpuId, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Cap, Kvm};

const LEAF_FEATURES: u32 = 0x1;
const LEAF_CACHE: u32 = 0x4;
const LEAF_PMU: u32 = 0xa;
const LEAF_TOPOLOGY: u32 = 0xb;
const LEAF_EXT_TOPOLOGY: u32 = 0x1f;
const LEAF_AMD_SIZES: u32 = 0x8000_0008;

/// leaf 1 ECX bit 31: "running under a hypervisor", which makes Linux look for KVM's leaves.
const ECX_HYPERVISOR: u32 = 1 << 31;
/// leaf 1 ECX bit 24: the local APIC timer has TSC-deadline mode.
const ECX_TSC_DEADLINE: u32 = 1 << 24;
/// leaf 1 EDX bit 28: the package has more than one logical processor.
const EDX_HTT: u32 = 1 << 28;
/// leaf 0xb ECX[15:8] level types.
const LEVEL_SMT: u32 = 1;
const LEVEL_CORE: u32 = 2;

/// What KVM supports on this host: asked once per VM (the ioctl costs ~0.4 ms on some hosts).
///
/// KVM reports the TSC-deadline timer as a capability, not in this list. Without it Linux
/// calibrates the APIC timer against the PIT, which fails under a loaded or emulated host
/// ("APIC timer disabled due to verification failure") and leaves the guest on the PIT tick.
pub fn supported(kvm: &Kvm) -> Result<CpuId, kvm_ioctls::Error> {
    let mut cpuid = kvm.get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)?;
    if kvm.check_extension(Cap::TscDeadlineTimer) {
        for e in cpuid.as_mut_slice() {
            if e.function == LEAF_FEATURES {
                e.ecx |= ECX_TSC_DEADLINE;
            }
        }
    }
    Ok(cpuid)
}

pub fn for_vcpu(supported: &CpuId, index: u8, vcpus: u8) -> CpuId {
    let mut cpuid = supported.clone();
    patch(cpuid.as_mut_slice(), index, vcpus);
    cpuid
}

/// Bits needed to number `n` things (ceil(log2 n)), the shift CPUID topology leaves report.
fn bits_for(n: u32) -> u32 {
    if n <= 1 {
        0
    } else {
        32 - (n - 1).leading_zeros()
    }
}

/// Rewrites KVM's supported CPUID for vCPU `index` of `vcpus`.
pub fn patch(entries: &mut [kvm_bindings::kvm_cpuid_entry2], index: u8, vcpus: u8) {
    let apic_id = u32::from(index);
    let count = u32::from(vcpus);
    for e in entries.iter_mut() {
        match e.function {
            LEAF_FEATURES => {
                // EBX: [31:24] initial APIC ID, [23:16] logical processors per package,
                // [15:8] CLFLUSH line size in 8-byte units.
                e.ebx = (apic_id << 24) | (count << 16) | (8 << 8) | (e.ebx & 0xff);
                e.ecx |= ECX_HYPERVISOR;
                if vcpus > 1 {
                    e.edx |= EDX_HTT;
                } else {
                    e.edx &= !EDX_HTT;
                }
            }
            LEAF_CACHE => {
                // EAX[31:26]: cores per package - 1; [25:14]: threads sharing this cache - 1.
                // Caches up to L2 are per core; L3 is shared by the whole package.
                let level = (e.eax >> 5) & 0x7;
                let sharing = if level >= 3 { count - 1 } else { 0 };
                e.eax = (e.eax & 0x3fff) | ((count - 1) << 26) | (sharing << 14);
            }
            LEAF_PMU => {
                // No virtual PMU: the guest must not try to program counters we never set up.
                e.eax = 0;
                e.ebx = 0;
                e.ecx = 0;
                e.edx = 0;
            }
            LEAF_TOPOLOGY | LEAF_EXT_TOPOLOGY => {
                e.edx = apic_id;
                match e.index {
                    0 => {
                        e.eax = 0; // one thread per core: no SMT bits in the APIC ID
                        e.ebx = 1;
                        e.ecx = (LEVEL_SMT << 8) | e.index;
                    }
                    1 => {
                        e.eax = bits_for(count);
                        e.ebx = count;
                        e.ecx = (LEVEL_CORE << 8) | e.index;
                    }
                    _ => {
                        e.eax = 0;
                        e.ebx = 0;
                        e.ecx = e.index;
                    }
                }
            }
            LEAF_AMD_SIZES => {
                // ECX[7:0]: cores per package - 1; [15:12]: APIC ID bits for the core number.
                e.ecx = (e.ecx & !0xf0ff) | (bits_for(count) << 12) | (count - 1);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvm_bindings::kvm_cpuid_entry2;

    fn entry(function: u32, index: u32) -> kvm_cpuid_entry2 {
        kvm_cpuid_entry2 {
            function,
            index,
            ..Default::default()
        }
    }

    #[test]
    fn apic_ids_and_topology() {
        let mut e = vec![
            entry(1, 0),
            entry(0xb, 0),
            entry(0xb, 1),
            entry(0xb, 2),
            entry(4, 0),
        ];
        e[4].eax = 3 << 5; // an L3 cache
        patch(&mut e, 1, 2);
        assert_eq!(e[0].ebx >> 24, 1);
        assert_eq!((e[0].ebx >> 16) & 0xff, 2);
        assert_ne!(e[0].edx & EDX_HTT, 0);
        assert_ne!(e[0].ecx & ECX_HYPERVISOR, 0);
        assert_eq!((e[1].ebx, e[1].ecx >> 8, e[1].edx), (1, LEVEL_SMT, 1));
        assert_eq!((e[2].eax, e[2].ebx, e[2].ecx >> 8), (1, 2, LEVEL_CORE));
        assert_eq!(e[3].ecx, 2);
        assert_eq!(e[4].eax >> 26, 1);
        assert_eq!((e[4].eax >> 14) & 0xfff, 1);
    }

    #[test]
    fn bits() {
        assert_eq!([1, 2, 3, 4, 5, 8, 9].map(bits_for), [0, 1, 2, 2, 3, 3, 4]);
    }
}
