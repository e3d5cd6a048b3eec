//! vCPU setup checked against this host's KVM: what we set is what KVM now reports.

use hearth_vmm::boot::EntryMode;
use kvm_bindings::KVM_MAX_CPUID_ENTRIES;
use kvm_ioctls::Kvm;

#[test]
fn each_vcpu_reports_its_apic_id_and_the_topology() {
    let Ok(kvm) = Kvm::new() else {
        eprintln!("skipped: /dev/kvm cannot be opened here");
        return;
    };
    let vm = kvm.create_vm().unwrap();
    vm.create_irq_chip().unwrap();
    let supported = hearth_vmm::vcpu::cpuid::supported(&kvm).unwrap();
    for i in 0..3u8 {
        let vcpu = vm.create_vcpu(u64::from(i)).unwrap();
        let boot = (i == 0).then_some((EntryMode::Linux64, 0x100_0000));
        hearth_vmm::vcpu::configure(&supported, &vcpu, i, 3, boot).unwrap();
        let cpuid = vcpu.get_cpuid2(KVM_MAX_CPUID_ENTRIES).unwrap();
        let leaf1 = cpuid.as_slice().iter().find(|e| e.function == 1).unwrap();
        assert_eq!(leaf1.ebx >> 24, u32::from(i), "initial APIC ID");
        assert_eq!((leaf1.ebx >> 16) & 0xff, 3, "logical processors");
        if let Some(core) = cpuid
            .as_slice()
            .iter()
            .find(|e| e.function == 0xb && e.index == 1)
        {
            assert_eq!((core.ebx, core.edx), (3, u32::from(i)));
        }
        let lapic = vcpu.get_lapic().unwrap();
        let lint0 = u32::from_le_bytes([0, 1, 2, 3].map(|k| lapic.regs[0x350 + k] as u8));
        assert_eq!((lint0 >> 8) & 7, 7, "LINT0 is ExtINT");
        if i == 0 {
            let regs = vcpu.get_regs().unwrap();
            assert_eq!(regs.rip, 0x100_0000);
            let sregs = vcpu.get_sregs().unwrap();
            assert_ne!(sregs.efer & (1 << 10), 0, "long mode active");
        }
    }
}
