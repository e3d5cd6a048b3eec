//! Bridges and TAPs over real netlink and /dev/net/tun, in a throwaway namespace. Needs root.

mod common;

use common::*;
use hearth_net::{names, Plan};

fn link_text(host: &Host, args: &[&str]) -> Option<String> {
    let out = host.ns.cmd(args[0], &args[1..]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn bridges_follow_the_plan() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-bridges", "vpc-a", "172.16.4.0/22");
    // Someone else's bridge: hearth must leave it alone.
    host.ns.ip(&["link", "add", "br-other", "type", "bridge"]);
    let plan = Plan {
        vswitches: vec![v.clone()],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    let addr = link_text(&host, &["ip", "-br", "addr", "show", &v.bridge]).unwrap();
    assert!(addr.contains("172.16.4.1/22"), "gateway address: {addr}");
    assert_eq!(v.bridge, names::bridge_name("vsw-bridges"));

    // Recreated when missing; applying twice changes nothing.
    host.ns.ip(&["link", "del", &v.bridge]);
    host.apply(&plan).unwrap();
    host.apply(&plan).unwrap();
    let addr = link_text(&host, &["ip", "-br", "addr", "show", &v.bridge]).unwrap();
    assert_eq!(addr.matches("172.16.4.1/22").count(), 1, "{addr}");

    // Removed with its VSwitch; the foreign bridge stays.
    host.apply(&Plan::default()).unwrap();
    assert!(link_text(&host, &["ip", "link", "show", &v.bridge]).is_none());
    assert!(link_text(&host, &["ip", "link", "show", "br-other"]).is_some());

    // remove_all leaves nothing of hearth's.
    host.apply(&plan).unwrap();
    host.rt.block_on(host.net.remove_all()).unwrap();
    assert!(link_text(&host, &["ip", "link", "show", &v.bridge]).is_none());
    assert!(!host.ruleset().contains("hearth"));
    assert!(link_text(&host, &["ip", "link", "show", "br-other"]).is_some());
}

/// Attaches to an existing TAP the way `hearth vmm` does (src/vmm/src/devices/virtio/tap.rs).
fn open_like_the_vmm(name: &str) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")?;
    let mut ifreq = [0u8; 40];
    ifreq[..name.len()].copy_from_slice(name.as_bytes());
    let flags: libc::c_short = 0x0002 | 0x1000 | 0x4000; // IFF_TAP | IFF_NO_PI | IFF_VNET_HDR
    ifreq[16..18].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: TUNSETIFF with a 40-byte ifreq buffer on an open /dev/net/tun.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), 0x4004_54ca as _, ifreq.as_mut_ptr()) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

#[test]
fn taps_are_created_attached_and_deleted() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-taps", "vpc-a", "10.9.0.0/24");
    let plan = Plan {
        vswitches: vec![v.clone()],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    let tap = names::tap_name("i-tapped", 0);
    host.rt
        .block_on(host.net.create_tap(&tap, &v.bridge))
        .unwrap();
    let detail = link_text(&host, &["ip", "-d", "link", "show", &tap]).unwrap();
    assert!(detail.contains("tun type tap"), "{detail}");
    assert!(detail.contains("vnet_hdr"), "{detail}");
    assert!(detail.contains(&format!("master {}", v.bridge)), "{detail}");
    let port = link_text(&host, &["bridge", "-d", "link", "show", "dev", &tap]).unwrap();
    assert!(port.contains("isolated on"), "{port}");
    // Persistent: still there with nobody holding it, and the VMM's flags attach to it.
    let t = tap.clone();
    let opened = host
        .rt
        .block_on(
            host.net
                .run_inside(move || open_like_the_vmm(&t).map(|_| ())),
        )
        .unwrap();
    opened.unwrap();
    assert!(link_text(&host, &["ip", "link", "show", &tap]).is_some());
    // Creating again is harmless.
    host.rt
        .block_on(host.net.create_tap(&tap, &v.bridge))
        .unwrap();

    // A TAP on a bridge that was recreated is put back by the next apply.
    host.ns.ip(&["link", "del", &v.bridge]);
    let mut with_nic = plan.clone();
    with_nic.nics.push(hearth_net::NicPlan {
        tap: tap.clone(),
        mac: [0, 0x16, 0x3e, 1, 2, 3],
        ip: "10.9.0.5".parse().unwrap(),
        vswitch_id: v.vswitch_id.clone(),
        groups: vec![],
        public_ip: None,
    });
    host.apply(&with_nic).unwrap();
    let detail = link_text(&host, &["ip", "-d", "link", "show", &tap]).unwrap();
    assert!(detail.contains(&format!("master {}", v.bridge)), "{detail}");

    host.rt.block_on(host.net.delete_tap(&tap)).unwrap();
    assert!(link_text(&host, &["ip", "link", "show", &tap]).is_none());
    host.rt.block_on(host.net.delete_tap(&tap)).unwrap();
    assert!(
        link_text(&host, &["ip", "link", "show", &tap]).is_none(),
        "deleting twice is fine"
    );
    // No bridge, no TAP.
    let err = host
        .rt
        .block_on(
            host.net
                .create_tap(&names::tap_name("i-x", 0), "hbrmissing"),
        )
        .unwrap_err();
    assert!(matches!(err, hearth_net::NetError::Plan(_)), "{err:?}");
    assert!(err.to_string().contains("hbrmissing"), "{err}");
}
