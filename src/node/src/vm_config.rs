//! An instance's records as the VM its VMM runs: vCPUs and memory from the instance type, its
//! disks with the IOPS and throughput ECS gives their category and size, the NoCloud seed
//! volume, and its NIC with the public bandwidth as TAP limits. Pure, so what a guest gets is
//! tested without starting one.

use std::path::PathBuf;

use hearth_cloud::{disk_performance, internet_bandwidth};
use hearth_store::disks::Disk;
use hearth_store::instances::Instance;
use hearth_vmm::config::{DiskConfig, DiskRateLimit, NicConfig, NicRateLimit, VmConfig};

/// Linux on our VMM: serial console, i8042 reset, no PCI, the system disk as root.
pub const CMDLINE: &str = "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw";

/// The host-side places a VM uses, besides its disks.
#[derive(Debug, Clone)]
pub struct HostSide {
    pub kernel: PathBuf,
    /// The NoCloud seed volume (cidata) of the instance.
    pub seed: PathBuf,
    /// The instance's TAP; None when hearth runs without host networking.
    pub tap: Option<String>,
    pub console: PathBuf,
    pub control_socket: PathBuf,
}

/// The VM for `instance` with its `disks` (system disk first, in their stored order).
pub fn build(instance: &Instance, disks: &[Disk], host: &HostSide) -> Result<VmConfig, String> {
    let mut vm_disks: Vec<DiskConfig> = disks.iter().map(disk).collect();
    vm_disks.push(DiskConfig {
        path: host.seed.clone(),
        read_only: true,
        id: "cidata".into(),
        // Read once at boot by cloud-init: not the user's disk, so not the user's budget.
        rate_limit: None,
    });
    Ok(VmConfig {
        vcpus: u8::try_from(instance.vcpus).map_err(|_| "too many vCPUs for one VM")?,
        memory_mib: u64::try_from(instance.memory_mib).map_err(|_| "bad memory size")?,
        kernel: host.kernel.clone(),
        initrd: None,
        cmdline: CMDLINE.into(),
        disks: vm_disks,
        nics: host.tap.iter().map(|tap| nic(instance, tap)).collect(),
        rng: true,
        console_log: Some(host.console.clone()),
        control_socket: Some(host.control_socket.clone()),
    })
}

fn disk(d: &Disk) -> DiskConfig {
    DiskConfig {
        path: PathBuf::from(&d.path),
        read_only: false,
        // As on ECS, the guest sees the disk ID without "d-" as the serial
        // (/dev/disk/by-id/virtio-<that>); virtio-blk serials hold 20 bytes.
        id: d.id.strip_prefix("d-").unwrap_or(&d.id).to_string(),
        // The IOPS and throughput ECS gives this category, size and level.
        rate_limit: disk_performance::of(&d.category, d.size_gib, &d.performance_level).map(|p| {
            DiskRateLimit {
                iops: Some(p.iops),
                bytes_per_sec: Some(p.bytes_per_sec),
            }
        }),
    }
}

fn nic(instance: &Instance, tap: &str) -> NicConfig {
    NicConfig {
        tap: tap.to_string(),
        mac: instance.mac.clone(),
        // None without public bandwidth: see internet_bandwidth for why.
        rate_limit: internet_bandwidth::tap_limits(
            instance.internet_max_bandwidth_out,
            instance.internet_max_bandwidth_in,
        )
        .map(|l| NicRateLimit {
            rx_bytes_per_sec: Some(l.rx_bytes_per_sec),
            tx_bytes_per_sec: Some(l.tx_bytes_per_sec),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(tap: Option<&str>) -> HostSide {
        HostSide {
            kernel: "/data/vmlinux".into(),
            seed: "/data/instances/i-1/seed.img".into(),
            tap: tap.map(str::to_string),
            console: "/data/instances/i-1/console.log".into(),
            control_socket: "/data/instances/i-1/vmm.sock".into(),
        }
    }

    fn instance() -> Instance {
        Instance {
            id: "i-1".into(),
            vcpus: 2,
            memory_mib: 4096,
            mac: "00:16:3e:00:00:01".into(),
            internet_max_bandwidth_out: 10,
            internet_max_bandwidth_in: 0,
            ..Instance::default()
        }
    }

    fn stored_disk(id: &str, category: &str, size_gib: i64, level: &str) -> Disk {
        Disk {
            id: id.into(),
            category: category.into(),
            size_gib,
            performance_level: level.into(),
            path: format!("/data/disks/{id}.raw"),
            ..Disk::default()
        }
    }

    #[test]
    fn a_typical_instance_gets_its_shape_disks_seed_and_limited_nic() {
        let disks = [
            stored_disk("d-system1", "cloud_essd", 40, "PL0"),
            stored_disk("d-data1", "unknown_category", 20, ""),
        ];
        let vm = build(&instance(), &disks, &host(Some("hvi-1"))).unwrap();
        assert_eq!((vm.vcpus, vm.memory_mib), (2, 4096));
        assert_eq!(vm.kernel, PathBuf::from("/data/vmlinux"));
        assert_eq!(vm.cmdline, CMDLINE);
        let ids: Vec<_> = vm.disks.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["system1", "data1", "cidata"]);
        assert_eq!(
            vm.disks[0].rate_limit,
            Some(DiskRateLimit {
                iops: Some(2280),
                bytes_per_sec: Some(110_000_000),
            })
        );
        assert_eq!(vm.disks[1].rate_limit, None, "no published limit");
        assert!(vm.disks[2].read_only && !vm.disks[0].read_only);
        assert_eq!(vm.nics.len(), 1);
        assert_eq!(vm.nics[0].tap, "hvi-1");
        assert_eq!(vm.nics[0].mac, "00:16:3e:00:00:01");
        // In 0 is taken as Out (10 Mbit/s) both ways.
        assert_eq!(
            vm.nics[0].rate_limit,
            Some(NicRateLimit {
                rx_bytes_per_sec: Some(1_250_000),
                tx_bytes_per_sec: Some(1_250_000),
            })
        );
        assert!(vm.rng);
        assert_eq!(
            vm.control_socket,
            Some(PathBuf::from("/data/instances/i-1/vmm.sock"))
        );
    }

    #[test]
    fn without_host_networking_or_public_bandwidth() {
        let vm = build(&instance(), &[], &host(None)).unwrap();
        assert!(vm.nics.is_empty());
        assert_eq!(vm.disks.len(), 1, "only the seed volume");
        let private = Instance {
            internet_max_bandwidth_out: 0,
            ..instance()
        };
        let vm = build(&private, &[], &host(Some("hvi-1"))).unwrap();
        assert_eq!(vm.nics[0].rate_limit, None);
    }

    #[test]
    fn a_shape_the_vmm_cannot_hold_is_refused() {
        let big = Instance {
            vcpus: 300,
            ..instance()
        };
        assert_eq!(
            build(&big, &[], &host(None)).unwrap_err(),
            "too many vCPUs for one VM"
        );
        let negative = Instance {
            memory_mib: -1,
            ..instance()
        };
        assert!(build(&negative, &[], &host(None)).is_err());
    }
}
