//! Link names hearth gives its bridges and TAPs. Linux allows 15 bytes; every name starts with a
//! hearth prefix so hearth only ever touches (and removes) links it made, and the rest is a hash
//! of the owning resource's ID so the name is the same on every start.

/// Bridges: `hbr` + 12 hex digits of the VSwitch ID's hash.
pub const BRIDGE_PREFIX: &str = "hbr";
/// TAPs (and, in tests, the host ends of veth pairs standing in for guests).
pub const TAP_PREFIX: &str = "htap";
/// VXLAN devices of the VPC overlay: `hvx` + 12 hex digits of the VPC ID's hash.
pub const VXLAN_PREFIX: &str = "hvx";

/// FNV-1a, 64 bits: stable across releases and platforms (unlike std's hasher), no dependency.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The bridge of a VSwitch, e.g. `hbr3f9a0c12d4e7`.
pub fn bridge_name(vswitch_id: &str) -> String {
    format!("{BRIDGE_PREFIX}{:012x}", fnv1a(vswitch_id) >> 16)
}

/// The TAP of an instance's NIC (`index` 0 is the primary NIC), e.g. `htap1a2b3c4d50`.
/// Nine hex digits of the instance ID's hash plus the decimal index (up to 99).
pub fn tap_name(instance_id: &str, index: u8) -> String {
    format!(
        "{TAP_PREFIX}{:09x}{}",
        fnv1a(instance_id) >> 28,
        index.min(99)
    )
}

/// The VXLAN device of a VPC's overlay, e.g. `hvx3f9a0c12d4e7`: the same name on every host.
pub fn vxlan_name(vpc_id: &str) -> String {
    format!("{VXLAN_PREFIX}{:012x}", fnv1a(vpc_id) >> 16)
}

/// The MAC of a host's VXLAN device for a VPC: locally administered, unicast, from the hash of
/// both, so every other host can name it without asking.
pub fn overlay_mac(host_id: &str, vpc_id: &str) -> [u8; 6] {
    let h = fnv1a(&format!("{host_id}\n{vpc_id}")).to_be_bytes();
    [0x02, h[0], h[1], h[2], h[3], h[4]]
}

/// The firewall mark of connections to the metadata service that came in on `bridge`: how the
/// service learns which bridge asked (with `tcp_fwmark_accept`, an accepted socket carries the
/// mark of its SYN). Never zero.
pub fn bridge_mark(bridge: &str) -> u32 {
    ((fnv1a(bridge) >> 32) as u32) | 1
}

/// Whether `name` is a link hearth owns.
pub fn is_hearth_bridge(name: &str) -> bool {
    name.starts_with(BRIDGE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_are_stable() {
        let b = bridge_name("vsw-2ze8k3q0x1m4v7c9d2f5");
        assert_eq!(b, bridge_name("vsw-2ze8k3q0x1m4v7c9d2f5"));
        assert_eq!(b.len(), 15);
        assert!(is_hearth_bridge(&b));
        assert_ne!(b, bridge_name("vsw-2ze8k3q0x1m4v7c9d2f6"));
        for i in [0u8, 9, 10, 99, 200] {
            let t = tap_name("i-2ze8k3q0x1m4v7c9d2f5", i);
            assert!(t.len() <= 15 && t.starts_with(TAP_PREFIX), "{t}");
            assert!(t.bytes().all(|c| c.is_ascii_alphanumeric()));
        }
        assert_ne!(tap_name("i-a", 0), tap_name("i-a", 1));
        assert_ne!(tap_name("i-a", 0), tap_name("i-b", 0));
        // Pinned: a name that changes between releases would orphan running instances' TAPs.
        assert_eq!(bridge_name(""), "hbrcbf29ce48422");
        let v = vxlan_name("vpc-2ze8k3q0x1m4v7c9d2f5");
        assert!(v.len() == 15 && v.starts_with(VXLAN_PREFIX), "{v}");
        let m = overlay_mac("h1", "vpc-a");
        assert_eq!(m[0] & 0x03, 0x02, "locally administered and unicast");
        assert_ne!(m, overlay_mac("h2", "vpc-a"));
        assert_ne!(m, overlay_mac("h1", "vpc-b"));
    }
}
