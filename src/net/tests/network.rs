//! Real bridges, veths and nftables in throwaway namespaces (see common/mod.rs): guests are
//! namespaces on VSwitch bridges with their NIC's MAC and address. Needs root.

mod common;

use common::*;
use hearth_cloud::security_group::Direction::{Egress, Ingress};
use hearth_net::Plan;

#[test]
fn same_vswitch_members_of_a_group_reach_each_other() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let (n1, n2) = (
        nic(1, &v, "10.1.0.10", &["sg-a"]),
        nic(2, &v, "10.1.0.11", &["sg-a"]),
    );
    let (g1, g2) = (host.guest(&n1, &v), host.guest(&n2, &v));
    let mut plan = Plan {
        vswitches: vec![v.clone()],
        nics: vec![n1.clone(), n2.clone()],
        groups: vec![group("sg-a", &[])],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    assert!(g1.ping(v.gateway()), "guest pings its gateway");
    assert!(g1.ping(n2.ip), "same group, same VSwitch");
    assert!(g2.ping(n1.ip));
    let _l = g2.listen_tcp(2222);
    assert!(g1.tcp(n2.ip, 2222));

    // Enterprise-style group (no inner access): the members are strangers without a rule.
    plan.groups[0].inner_accept = false;
    host.apply(&plan).unwrap();
    assert!(!g1.ping(n2.ip), "no inner access, no rule: denied");
    assert!(!g1.tcp(n2.ip, 2222));
}

#[test]
fn vpcs_are_isolated_but_vswitches_of_one_vpc_route() {
    if !root() {
        return;
    }
    let host = Host::new();
    let (a1, a2, b) = (
        vswitch("vsw-a1", "vpc-a", "10.1.0.0/24"),
        vswitch("vsw-a2", "vpc-a", "10.1.1.0/24"),
        vswitch("vsw-b", "vpc-b", "10.2.0.0/24"),
    );
    let open = group(
        "sg-open",
        &[(Ingress, "all", "-1/-1", "0.0.0.0/0", "accept", 1)],
    );
    let n1 = nic(1, &a1, "10.1.0.10", &["sg-open"]);
    let n2 = nic(2, &a2, "10.1.1.10", &["sg-open"]);
    let n3 = nic(3, &b, "10.2.0.10", &["sg-open"]);
    let (g1, g2, g3) = (
        host.guest(&n1, &a1),
        host.guest(&n2, &a2),
        host.guest(&n3, &b),
    );
    let plan = Plan {
        vswitches: vec![a1, a2, b],
        nics: vec![n1.clone(), n2.clone(), n3.clone()],
        groups: vec![open],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    assert!(g1.ping(n2.ip), "two VSwitches of one VPC");
    assert!(g2.ping(n1.ip));
    assert!(!g1.ping(n3.ip), "VPC a to VPC b");
    assert!(!g3.ping(n1.ip), "VPC b to VPC a");
    let _l = g3.listen_tcp(80);
    assert!(!g1.tcp(n3.ip, 80));
    // The host answers pings to a guest's own gateway only, not to other VPCs' gateways.
    assert!(g1.ping("10.1.0.1".parse().unwrap()));
    assert!(!g1.ping("10.2.0.1".parse().unwrap()));
}

#[test]
fn security_group_ports_and_protocols() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let server = group(
        "sg-server",
        &[
            (Ingress, "tcp", "8000/8010", "0.0.0.0/0", "accept", 1),
            (Ingress, "udp", "5000/5000", "0.0.0.0/0", "accept", 1),
        ],
    );
    let s = nic(1, &v, "10.1.0.10", &["sg-server"]);
    let c = nic(2, &v, "10.1.0.20", &["sg-client"]);
    let (gs, gc) = (host.guest(&s, &v), host.guest(&c, &v));
    let mut plan = Plan {
        vswitches: vec![v.clone()],
        nics: vec![s.clone(), c.clone()],
        groups: vec![server, group("sg-client", &[])],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    let (_a, _b, _c) = (
        gs.listen_tcp(8000),
        gs.listen_tcp(8010),
        gs.listen_tcp(8011),
    );
    assert!(gc.tcp(s.ip, 8000), "tcp range start");
    assert!(gc.tcp(s.ip, 8010), "tcp range end");
    assert!(!gc.tcp(s.ip, 8011), "tcp past the range");
    let (u1, u2) = (gs.bind_udp(5000), gs.bind_udp(5001));
    assert!(gc.udp(&u1, s.ip, 5000), "udp in range");
    assert!(!gc.udp(&u2, s.ip, 5001), "udp outside");
    assert!(!gc.ping(s.ip), "no icmp rule");
    // Replies of allowed flows pass although the client's group has no ingress rules.
    assert!(gc.tcp(s.ip, 8000));

    // icmp, then all.
    plan.groups[0] = group(
        "sg-server",
        &[(Ingress, "icmp", "-1/-1", "0.0.0.0/0", "accept", 1)],
    );
    host.apply(&plan).unwrap();
    assert!(gc.ping(s.ip), "icmp allowed");
    assert!(!gc.tcp(s.ip, 8000), "tcp no longer allowed");
    plan.groups[0] = group(
        "sg-server",
        &[(Ingress, "all", "-1/-1", "10.1.0.20/32", "accept", 1)],
    );
    host.apply(&plan).unwrap();
    assert!(gc.ping(s.ip));
    assert!(gc.tcp(s.ip, 8011), "all: any port");
    assert!(gc.udp(&u2, s.ip, 5001), "all: udp too");
}

#[test]
fn security_group_sources_cidr_and_group() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let server = group(
        "sg-server",
        &[
            (Ingress, "tcp", "22/22", "10.1.0.20/32", "accept", 1),
            (Ingress, "tcp", "80/80", "sg-web", "accept", 1),
        ],
    );
    let s = nic(1, &v, "10.1.0.10", &["sg-server"]);
    let admin = nic(2, &v, "10.1.0.20", &["sg-admin"]);
    let web = nic(3, &v, "10.1.0.30", &["sg-web"]);
    let (gs, ga, gw) = (
        host.guest(&s, &v),
        host.guest(&admin, &v),
        host.guest(&web, &v),
    );
    let plan = Plan {
        vswitches: vec![v.clone()],
        nics: vec![s.clone(), admin.clone(), web.clone()],
        groups: vec![server, group("sg-admin", &[]), group("sg-web", &[])],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    let (_ssh, _http) = (gs.listen_tcp(22), gs.listen_tcp(80));
    assert!(ga.tcp(s.ip, 22), "source CIDR matches");
    assert!(!gw.tcp(s.ip, 22), "source CIDR does not match");
    assert!(gw.tcp(s.ip, 80), "source group member");
    assert!(!ga.tcp(s.ip, 80), "not a member of the source group");
}

#[test]
fn security_group_priorities_accept_and_drop() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let server = group(
        "sg-server",
        &[
            // 6000: a specific drop (1) beats a general accept (2).
            (Ingress, "tcp", "6000/6000", "0.0.0.0/0", "accept", 2),
            (Ingress, "tcp", "6000/6000", "10.1.0.20/32", "drop", 1),
            // 6001: an accept (1) beats a drop (2).
            (Ingress, "tcp", "6001/6001", "0.0.0.0/0", "drop", 2),
            (Ingress, "tcp", "6001/6001", "10.1.0.20/32", "accept", 1),
            // 6002: at equal priority drop wins.
            (Ingress, "tcp", "6002/6002", "0.0.0.0/0", "accept", 5),
            (Ingress, "tcp", "6002/6002", "10.1.0.20/32", "drop", 5),
        ],
    );
    let s = nic(1, &v, "10.1.0.10", &["sg-server"]);
    let c1 = nic(2, &v, "10.1.0.20", &["sg-c"]);
    let c2 = nic(3, &v, "10.1.0.30", &["sg-c2"]);
    let (gs, g1, g2) = (host.guest(&s, &v), host.guest(&c1, &v), host.guest(&c2, &v));
    let plan = Plan {
        vswitches: vec![v.clone()],
        nics: vec![s.clone(), c1, c2],
        groups: vec![server, group("sg-c", &[]), group("sg-c2", &[])],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    let _l: Vec<_> = [6000, 6001, 6002].map(|p| gs.listen_tcp(p)).into();
    assert!(
        !g1.tcp(s.ip, 6000),
        "priority 1 drop before priority 2 accept"
    );
    assert!(g2.tcp(s.ip, 6000), "others fall through to the accept");
    assert!(
        g1.tcp(s.ip, 6001),
        "priority 1 accept before priority 2 drop"
    );
    assert!(!g2.tcp(s.ip, 6001));
    assert!(!g1.tcp(s.ip, 6002), "equal priority: drop wins");
    assert!(g2.tcp(s.ip, 6002));
}

#[test]
fn security_group_egress() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let open = group(
        "sg-open",
        &[(Ingress, "all", "-1/-1", "0.0.0.0/0", "accept", 1)],
    );
    let locked = group(
        "sg-locked",
        &[
            (Egress, "tcp", "7000/7010", "0.0.0.0/0", "drop", 2),
            (Egress, "tcp", "7005/7005", "10.1.0.10/32", "accept", 1),
            (Egress, "icmp", "-1/-1", "0.0.0.0/0", "drop", 1),
        ],
    );
    let s = nic(1, &v, "10.1.0.10", &["sg-open"]);
    let c = nic(2, &v, "10.1.0.20", &["sg-locked"]);
    let other = nic(3, &v, "10.1.0.30", &["sg-open"]);
    let (gs, gc, go) = (
        host.guest(&s, &v),
        host.guest(&c, &v),
        host.guest(&other, &v),
    );
    let plan = Plan {
        vswitches: vec![v.clone()],
        nics: vec![s.clone(), c.clone(), other],
        groups: vec![open, locked],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    let _l: Vec<_> = [7000, 7005, 7011].map(|p| gs.listen_tcp(p)).into();
    assert!(!gc.tcp(s.ip, 7000), "egress drop");
    assert!(gc.tcp(s.ip, 7005), "a higher-priority egress accept");
    assert!(gc.tcp(s.ip, 7011), "egress allowed by default");
    assert!(!gc.ping(s.ip), "egress icmp drop");
    assert!(go.tcp(s.ip, 7000), "other senders unaffected");
    assert!(!go.ping(c.ip), "ingress to the locked NIC: default deny");
}

#[test]
fn masquerade_out_and_public_ip_in() {
    if !root() {
        return;
    }
    let host = Host::new();
    let inet = host.internet(Some("203.0.113.0/28"));
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let web = group(
        "sg-web",
        &[(Ingress, "tcp", "80/80", "0.0.0.0/0", "accept", 1)],
    );
    let private = nic(1, &v, "10.1.0.10", &["sg-web"]);
    let mut public = nic(2, &v, "10.1.0.11", &["sg-web"]);
    public.public_ip = Some("203.0.113.5".parse().unwrap());
    let (gp, gq) = (host.guest(&private, &v), host.guest(&public, &v));
    let mut plan = Plan {
        vswitches: vec![v.clone()],
        nics: vec![private.clone(), public.clone()],
        groups: vec![web],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    let l = inet.listen_tcp(443);

    // Out: a private instance appears as the host's uplink address.
    assert!(gp.tcp(INTERNET, 443));
    assert_eq!(
        accept_from(&l).map(|a| a.ip().to_string()),
        Some("192.0.2.1".into())
    );
    // An instance with a public IP appears as that address.
    assert!(gq.tcp(INTERNET, 443));
    assert_eq!(
        accept_from(&l).map(|a| a.ip().to_string()),
        Some("203.0.113.5".into())
    );

    // In: the public IP reaches the instance on the ports its group allows.
    let l80 = gq.listen_tcp(80);
    let _l81 = gq.listen_tcp(81);
    let public_ip = public.public_ip.unwrap();
    assert!(inet.tcp(public_ip, 80), "DNAT to the instance");
    assert_eq!(
        accept_from(&l80).map(|a| a.ip().to_string()),
        Some("192.0.2.2".into()),
        "the instance sees the client's real address"
    );
    assert!(!inet.tcp(public_ip, 81), "the security group still applies");
    // Private addresses are not reachable from outside, even when routed to the host.
    inet.ip(&["route", "add", "10.1.0.0/24", "via", "192.0.2.1"]);
    let _lp = gp.listen_tcp(80);
    assert!(!inet.tcp(private.ip, 80), "no DNAT, no entry");

    // Masquerade off: private instances no longer get out (the internet cannot answer 10.x).
    plan.nat.masquerade = false;
    inet.ip(&["route", "del", "10.1.0.0/24"]);
    host.apply(&plan).unwrap();
    assert!(!gp.tcp(INTERNET, 443));
    assert!(gq.tcp(INTERNET, 443), "public IPs still SNAT");
}

#[test]
fn spoofed_addresses_are_dropped() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let open = group(
        "sg-open",
        &[(Ingress, "all", "-1/-1", "0.0.0.0/0", "accept", 1)],
    );
    let a = nic(1, &v, "10.1.0.10", &["sg-open"]);
    let b = nic(2, &v, "10.1.0.11", &["sg-open"]);
    let (ga, gb) = (host.guest(&a, &v), host.guest(&b, &v));
    let plan = Plan {
        vswitches: vec![v.clone()],
        nics: vec![a.clone(), b.clone()],
        groups: vec![open],
        ..Plan::default()
    };
    host.apply(&plan).unwrap();
    // UDP, with the gateway's MAC pinned in the guests: a spoofer needs neither replies nor
    // ARP, so only the anti-spoofing rules stand in its way.
    let gw_mac = host.mac_of(&v.bridge);
    // Peers on the VSwitch are reached through the bridge too (proxy ARP), so pin them as well.
    let pin = |g: &common::Ns| {
        for peer in ["10.1.0.1", "10.1.0.11"] {
            g.ip(&[
                "neigh",
                "replace",
                peer,
                "lladdr",
                &gw_mac,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ]);
        }
    };
    pin(&ga);
    let rx = gb.bind_udp(9999);
    assert!(ga.udp(&rx, b.ip, 9999), "own address and MAC");

    // Another source address: a free one, and b's own.
    ga.ip(&["addr", "add", "10.1.0.99/32", "dev", "eth0"]);
    assert!(
        !ga.udp_from("10.1.0.99".parse().unwrap(), &rx, b.ip, 9999),
        "spoofed source address"
    );
    // Another MAC with its own address.
    ga.ip(&["link", "set", "eth0", "address", "00:16:3e:00:00:63"]);
    pin(&ga); // a new MAC flushes the neighbour table
    assert!(!ga.udp(&rx, b.ip, 9999), "spoofed MAC");
    ga.ip(&[
        "link",
        "set",
        "eth0",
        "address",
        &hearth_net::plan::format_mac(&a.mac),
    ]);
    assert!(ga.udp(&rx, b.ip, 9999), "own MAC again");

    // A port hearth does not know is dropped whatever it claims.
    let stranger = nic(9, &v, "10.1.0.50", &["sg-open"]);
    let gs = host.guest(&stranger, &v);
    host.ns
        .ip(&["link", "set", &stranger.tap, "master", &v.bridge, "up"]);
    pin(&gs);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert!(!gs.udp(&rx, b.ip, 9999), "unknown port");
    assert!(!gs.ping(b.ip));
}

#[test]
fn a_refused_ruleset_leaves_the_previous_one() {
    if !root() {
        return;
    }
    let host = Host::new();
    let v = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let a = nic(1, &v, "10.1.0.10", &["sg-a"]);
    let b = nic(2, &v, "10.1.0.11", &["sg-a"]);
    let (ga, _gb) = (host.guest(&a, &v), host.guest(&b, &v));
    let good = Plan {
        vswitches: vec![v.clone()],
        nics: vec![a.clone(), b.clone()],
        groups: vec![group("sg-a", &[])],
        ..Plan::default()
    };
    host.apply(&good).unwrap();
    let before = host.ruleset();
    assert!(before.contains("table inet hearth") && before.contains("table bridge hearth"));

    // Refused before anything is touched: a 16-byte interface name.
    let w = vswitch("vsw-new", "vpc-a", "10.1.1.0/24");
    let mut bad = good.clone();
    bad.vswitches.push(w.clone());
    bad.nat.uplink = Some("x".repeat(16));
    assert!(host.apply(&bad).is_err());
    assert_eq!(host.ruleset(), before);
    // Refused by the kernel inside nft's transaction, after the new VSwitch's bridge was made:
    // two NICs claim one public IP. The bridge is removed again and the old rules stay.
    let mut bad = good.clone();
    bad.vswitches.push(w.clone());
    for n in &mut bad.nics {
        n.public_ip = Some("203.0.113.5".parse().unwrap());
    }
    let err = host.apply(&bad).unwrap_err();
    assert!(matches!(err, hearth_net::NetError::Nft(_)), "{err:?}");
    assert!(err.to_string().contains("nft refused"), "{err}");
    assert_eq!(
        host.ruleset(),
        before,
        "a failed transaction changes nothing"
    );
    assert!(
        !host
            .ns
            .cmd("ip", &["link", "show", &w.bridge])
            .status
            .success(),
        "no bridge left behind"
    );
    // A script that fails on its last line changes nothing either.
    let script = hearth_net::nft::render(&Plan::default()).unwrap() + "\nbogus\n";
    let refused = host
        .rt
        .block_on(
            host.net
                .run_inside(move || hearth_net::nft::apply_script(&script)),
        )
        .unwrap();
    assert!(refused.is_err());
    assert_eq!(host.ruleset(), before);
    let err = host.apply(&duplicate_nic(&good)).unwrap_err();
    assert!(matches!(err, hearth_net::NetError::Plan(_)), "{err:?}");
    assert!(err.to_string().contains("10.1.0.10"), "{err}");
    assert_eq!(host.ruleset(), before);
    assert!(ga.ping(b.ip), "the old rules still work");
}

fn duplicate_nic(good: &Plan) -> Plan {
    let mut p = good.clone();
    let mut twin = p.nics[0].clone();
    twin.tap = hearth_net::names::tap_name("i-twin", 0);
    p.nics.push(twin);
    p
}
