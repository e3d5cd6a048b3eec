//! hearth's own VMM booting real Linux: inside the nested test host (real KVM
//! with SVM), `hearth vmm` boots hearth's kernel with the tiny image as root
//! disk, 2 vCPUs, 512 MiB, a data disk, a seed volume and a NIC on a TAP (and
//! once more from the same kernel as a bzImage). The
//! guest's user-data reports what it sees; tests/guest/vmm-e2e.sh drives the
//! VMM and prints what the host side saw.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::artifacts::repo_root;
use common::testhost::{run_once, Options};

const NETWORK_CONFIG: &str = "\
version: 2
ethernets:
  eth0:
    match:
      macaddress: \"52:54:00:12:34:56\"
    addresses: [192.168.77.2/24]
";

/// Reports from inside the guest, then reboots it. The data disk gets a marker
/// 1 MiB in, which the host reads from the file after the VM ended.
const USER_DATA: &str = r#"#!/bin/sh
echo "E2E-GUEST cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "E2E-GUEST tsc_deadline=$(grep -c 'flags.* tsc_deadline_timer' /proc/cpuinfo)"
echo "E2E-GUEST memtotal_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
echo "E2E-GUEST ram_kb=$(dmesg | sed -n 's/.*Memory: [0-9]*K\/\([0-9]*\)K available.*/\1/p')"
for d in vda vdb; do echo "E2E-GUEST size_$d=$(cat /sys/block/$d/size) serial_$d=$(cat /sys/block/$d/serial)"; done
ping -c 3 -W 5 192.168.77.1 >/dev/null && echo "E2E-GUEST ping=ok" || echo "E2E-GUEST ping=failed"
printf 'hearth-e2e-data!' | dd of=/dev/vdb bs=512 seek=2048 conv=fsync 2>/dev/null
echo "E2E-GUEST done"
reboot
"#;

const MIB: u64 = 1024;

#[test]
fn linux_boots_on_hearth_vmm_with_disks_network_and_lifecycle() {
    let work = tempfile::tempdir().unwrap();
    let seed = common::seed::make_seed(
        work.path(),
        "instance-id: i-vmm-e2e\nlocal-hostname: vmm-e2e\n",
        NETWORK_CONFIG,
        USER_DATA,
    );
    // scripts/build-kernel puts the same kernel as a bzImage next to the vmlinux.
    let bzimage = common::artifacts::kernel().with_file_name("bzImage");
    assert!(bzimage.exists(), "{} is missing", bzimage.display());
    let options = Options {
        hearth: true,
        files: vec![
            (seed, "/hearth/files/seed.img".into()),
            (bzimage, "/hearth/files/bzImage".into()),
        ],
        ..Options::default()
    };
    let driver = fs::read_to_string(repo_root().join("tests/guest/vmm-e2e.sh")).unwrap();
    let script = format!("set -- /hearth/files/seed.img /hearth/files/bzImage\n{driver}");
    let started = Instant::now();
    let out = run_once(&options, &script, Duration::from_secs(900)).expect("scripts/testhost");
    eprintln!(
        "vmm e2e: {:.0}s wall in the test host",
        started.elapsed().as_secs_f64()
    );
    let log = &out.output;
    // "E2E-HOST key=rest of the line" (JSON answers contain spaces).
    let host = |key: &str| -> String {
        log.lines()
            .find_map(|l| l.strip_prefix(&format!("E2E-HOST {key}=")))
            .unwrap_or_else(|| panic!("no E2E-HOST {key}= in the output:\n{log}"))
            .to_string()
    };
    let value = |key: &str| -> String {
        log.lines()
            .flat_map(|l| l.split_whitespace())
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key}= in the output:\n{log}"))
            .to_string()
    };
    let number = |key: &str| -> u64 {
        value(key)
            .parse()
            .unwrap_or_else(|_| panic!("{key} is not a number:\n{log}"))
    };

    // Inside the guest.
    assert_eq!(number("cpus"), 2, "both vCPUs online:\n{log}");
    // KVM emulates it on every x86 host; without it Linux calibrates the APIC timer against
    // the PIT, which a busy host can make fail (the guest then runs on the PIT tick).
    assert_eq!(
        number("tsc_deadline"),
        2,
        "both vCPUs have the TSC-deadline timer:\n{log}"
    );
    let ram_kb = number("ram_kb");
    assert!(
        (512 * MIB - 1024..=512 * MIB).contains(&ram_kb),
        "the kernel sees 512 MiB of RAM (less the legacy hole), not {ram_kb} KiB"
    );
    let memtotal = number("memtotal_kb");
    assert!(
        memtotal as f64 >= 0.95 * (512 * MIB) as f64 && memtotal <= ram_kb,
        "MemTotal {memtotal} KiB is not within 5% of 512 MiB"
    );
    assert_eq!(number("size_vda"), 192 * 2048, "root disk sectors");
    assert_eq!(number("size_vdb"), 80 * 2048, "data disk sectors");
    assert_eq!(
        value("serial_vdb"),
        "data-disk-1",
        "the disk id is its serial"
    );
    assert_eq!(
        value("ping"),
        "ok",
        "the guest pings the TAP's host end:\n{log}"
    );

    // On the host: the reboot reported by `wait`, the data on the file.
    assert!(log.contains("E2E-GUEST done"), "{log}");
    let wait = host("wait");
    assert!(
        wait.contains("\"exit_code\":3") && wait.contains("rebooted"),
        "the control socket reports the guest's reboot: {wait}"
    );
    assert_eq!(number("boot1_exit"), 3, "exit code 3 after a reboot");
    assert_eq!(
        host("data"),
        "hearth-e2e-data!",
        "data disk written through"
    );

    // Second boot: status, pause/resume, graceful shutdown through Ctrl-Alt-Del.
    assert!(host("status").contains("\"state\":\"running\""), "{log}");
    assert!(host("paused").contains("\"state\":\"paused\""), "{log}");
    assert!(host("resume").contains("\"ok\":true"), "{log}");
    assert_eq!(number("boot2_exit"), 0, "graceful shutdown exits 0:\n{log}");
    // Third boot, from the bzImage: Linux ran to init, and the guest's own poweroff.
    let boot3 = log
        .split("----- boot3 console -----")
        .nth(1)
        .unwrap_or_default();
    assert!(
        boot3.contains("Linux version"),
        "the bzImage booted Linux:\n{log}"
    );
    assert_eq!(number("boot3_exit"), 0, "poweroff exits 0:\n{log}");
    assert!(log.contains("guest powered off"), "{log}");
}
