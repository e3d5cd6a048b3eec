//! hearth's own seed volume in real guests: the FAT12 `CIDATA` volume that
//! `hearth_cloud::instances::seed` writes (no mkfs, no mtools) is attached to
//! an image in the nested test host, and the guest must find it by label,
//! mount it with Linux's vfat driver and apply it: hostname (meta-data),
//! static address by MAC (network-config v2), the key pair's public key
//! (meta-data public-keys) and the user-data script.

mod common;

use std::fs;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::artifacts::repo_root;
use common::testhost::{run_once, Options};
use hearth_cloud::instances::seed::{volume, Seed};

const USER_DATA: &str = "#!/bin/sh
echo \"USERDATA-RAN uid=$(id -u) host=$(hostname) addr=$(ip -4 -o addr show dev eth0 | awk '{print $4}')\"
";

fn seed() -> Seed {
    Seed {
        instance_id: "i-hearthseedtest".into(),
        hostname: "hearth-seed".into(),
        // The MAC boot-guest.sh gives the guest's NIC.
        mac: "52:54:00:12:34:56".into(),
        address: Ipv4Addr::new(10, 0, 0, 5),
        prefix: 24,
        gateway: Ipv4Addr::new(10, 0, 0, 1),
        user_data: USER_DATA.as_bytes().to_vec(),
        public_key: Some(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
                .into(),
        ),
        password_hash: Some(hearth_cloud::password::hash("TestEcs123!")),
    }
}

/// Boots with boot-guest.sh's `args` and hearth's seed volume; returns the console.
fn boot(args: &str, timeout_secs: u64) -> String {
    let work = tempfile::tempdir().unwrap();
    let img = work.path().join("seed.img");
    fs::write(&img, volume(&seed()).unwrap()).unwrap();
    let options = Options {
        files: vec![(img, "/hearth/files/seed.img".into())],
        ..Options::default()
    };
    let script = fs::read_to_string(repo_root().join("tests/guest/boot-guest.sh")).unwrap();
    let script = format!("set -- {args}\n{script}");
    let out = run_once(&options, &script, Duration::from_secs(timeout_secs + 60))
        .expect("scripts/testhost failed to run");
    assert!(out.success(), "the guest did not boot:\n{}", out.output);
    out.output
}

#[test]
fn tiny_applies_hearths_own_seed_volume() {
    let console = boot(
        "tiny-x64.raw /hearth/files/seed.img 'hearth tiny: up as' 300 1G",
        300,
    );
    for expected in [
        "hearth-init: seed volume",
        "hearth-init: first boot of instance i-hearthseedtest",
        "hearth-init: hostname set to hearth-seed",
        "hearth-init: eth0: 10.0.0.5/24 gw 10.0.0.1",
        "hearth-init: installed 1 ssh key(s) for root",
        "USERDATA-RAN uid=0 host=hearth-seed addr=10.0.0.5/24",
    ] {
        assert!(
            console.contains(expected),
            "guest console lacks {expected:?}:\n{console}"
        );
    }
}

/// Real cloud-init (NoCloud) reads the same volume: meta-data, network-config v2 matched by
/// MAC, and the user-data script next to hearth's vendor-data.
#[test]
fn debian_cloud_init_applies_hearths_own_seed_volume() {
    let console = boot(
        "debian-12-x64.raw /hearth/files/seed.img USERDATA-RAN 1500",
        1500,
    );
    assert!(
        console.contains("USERDATA-RAN uid=0 host=hearth-seed addr=10.0.0.5/24"),
        "cloud-init did not apply hearth's seed:\n{console}"
    );
}
