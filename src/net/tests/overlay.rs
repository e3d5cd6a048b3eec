//! The VPC overlay between two hosts, for real: each host is a namespace with its own bridges and
//! firewall, joined by a veth pair standing in for the physical network; guests are namespaces
//! on the bridges. Needs root.

mod common;

use common::*;
use hearth_cloud::security_group::Direction::Ingress;
use hearth_net::overlay::{self, HostRow, NicRow};
use hearth_net::{NicPlan, Plan};

const H1: &str = "192.0.2.1";
const H2: &str = "192.0.2.2";

/// host2's namespace joined to host1's by `ul0`, with the underlay addresses.
fn underlay(h1: &Host, h2: &Host) {
    let path = h2.ns.path();
    h1.ns.ip(&[
        "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", &path,
    ]);
    for (h, addr) in [(h1, H1), (h2, H2)] {
        h.ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", "ul0"]);
        h.ns.ip(&["link", "set", "ul0", "up"]);
    }
}

/// The plan of host `me`: every VSwitch and NIC (as the store gives every host), and the
/// overlay to the other host's NICs.
fn plan_of(me: &str, base: &Plan, placed: &[(&NicPlan, &str, &str)]) -> Plan {
    let hosts = [
        HostRow {
            host_id: "h1",
            address: H1,
        },
        HostRow {
            host_id: "h2",
            address: H2,
        },
    ];
    let vpcs = [("vpc-a", 1), ("vpc-b", 2)];
    let nics: Vec<NicRow> = placed
        .iter()
        .map(|(n, vpc, host)| NicRow {
            vpc_id: vpc,
            host_id: host,
            ip: n.ip,
        })
        .collect();
    let (o, unreachable) = overlay::plan(me, &hosts, &vpcs, &nics).unwrap();
    assert!(unreachable.is_empty());
    Plan {
        overlay: o,
        ..base.clone()
    }
}

#[test]
fn instances_of_one_vpc_on_two_hosts_talk_as_their_groups_allow_and_other_vpcs_cannot() {
    if !root() {
        return;
    }
    let (host1, host2) = (Host::new(), Host::new());
    underlay(&host1, &host2);
    let a = vswitch("vsw-a", "vpc-a", "10.1.0.0/24");
    let b = vswitch("vsw-b", "vpc-b", "10.2.0.0/24");
    let n1 = nic(1, &a, "10.1.0.10", &["sg-a"]);
    let n2 = nic(2, &a, "10.1.0.11", &["sg-a"]);
    let n3 = nic(3, &b, "10.2.0.10", &["sg-b"]);
    let open = |id| group(id, &[(Ingress, "all", "-1/-1", "0.0.0.0/0", "accept", 1)]);
    let mut base = Plan {
        vswitches: vec![a.clone(), b.clone()],
        nics: vec![n1.clone(), n2.clone(), n3.clone()],
        groups: vec![group("sg-a", &[]), open("sg-b")],
        ..Plan::default()
    };
    let placed = [
        (&n1, "vpc-a", "h1"),
        (&n2, "vpc-a", "h2"),
        (&n3, "vpc-b", "h2"),
    ];
    let g1 = host1.guest(&n1, &a);
    let g2 = host2.guest(&n2, &a);
    let g3 = host2.guest(&n3, &b);
    host1.apply(&plan_of("h1", &base, &placed)).unwrap();
    host2.apply(&plan_of("h2", &base, &placed)).unwrap();

    // Members of one normal group reach each other across hosts.
    assert!(g1.ping(n2.ip), "same VPC, other host, same group");
    assert!(g2.ping(n1.ip));
    // Another VPC is never reached, even with its ingress open to all.
    assert!(!g1.ping(n3.ip), "VPC isolation across hosts");
    assert!(!g3.ping(n1.ip));

    // Only what the receiver's group allows: TCP 2222 from the VSwitch, nothing else.
    base.groups[0] = group(
        "sg-a",
        &[(Ingress, "tcp", "2222/2222", "10.1.0.0/24", "accept", 1)],
    );
    base.groups[0].inner_accept = false;
    host1.apply(&plan_of("h1", &base, &placed)).unwrap();
    host2.apply(&plan_of("h2", &base, &placed)).unwrap();
    let (_l1, _l2) = (g2.listen_tcp(2222), g2.listen_tcp(3333));
    assert!(g1.tcp(n2.ip, 2222), "the allowed port");
    assert!(!g1.tcp(n2.ip, 3333), "a port no rule allows");
    assert!(!g1.ping(n2.ip), "no rule for ICMP");

    // No flooding: host1's device for vpc-a knows exactly host2, nothing for unknown MACs.
    let dev = hearth_net::names::vxlan_name("vpc-a");
    let out = host1.ns.cmd("bridge", &["fdb", "show", "dev", &dev]);
    let fdb = String::from_utf8_lossy(&out.stdout).into_owned();
    let entries: Vec<&str> = fdb.lines().filter(|l| l.contains("dst")).collect();
    assert_eq!(entries.len(), 1, "{fdb}");
    assert!(
        entries[0].contains(&format!("dst {H2}")) && !fdb.contains("00:00:00:00:00:00"),
        "{fdb}"
    );

    // The instance moves away (deleted here): its route and entries go, the device stays.
    let without: Vec<_> = placed
        .iter()
        .filter(|(n, _, _)| n.ip != n2.ip)
        .cloned()
        .collect();
    host1.apply(&plan_of("h1", &base, &without)).unwrap();
    let out = host1.ns.cmd("ip", &["route", "show", "dev", &dev]);
    assert!(
        String::from_utf8_lossy(&out.stdout).trim().is_empty(),
        "no route left to 10.1.0.11"
    );
    // A host on its own again: no overlay devices at all.
    host1.apply(&base).unwrap();
    let out = host1.ns.cmd("ip", &["-br", "link"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("hvx"),
        "overlay devices removed"
    );
}
