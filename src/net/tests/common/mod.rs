//! Test fixtures: throwaway network namespaces. Every test builds its "host" (a hearth
//! [`Network`] worker in a private namespace), its guests and its "internet" in namespaces of its
//! own that hold nothing but what the test made, so nothing can leak into the real host: the
//! kernel deletes a namespace with all its links and nftables tables when the last reference
//! (our file handles, the worker thread) goes away, even if the test panics.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use hearth_cloud::cidr::Cidr;
use hearth_cloud::security_group::{Direction, RuleInput};
use hearth_net::{GroupPlan, Namespace, Network, NicPlan, Plan, VSwitchPlan};

/// Skips (passes) a test when not root: namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN.
pub fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let is_root = unsafe { libc::geteuid() } == 0;
    if !is_root {
        eprintln!("skipped: needs root (network namespaces)");
    }
    is_root
}

/// A network namespace, alive while this handle (or anything running in it) is.
pub struct Ns {
    file: File,
}

impl Ns {
    /// A new, empty namespace with loopback up.
    pub fn new() -> Ns {
        let file = std::thread::spawn(|| {
            // SAFETY: unshare(CLONE_NEWNET) changes only this short-lived thread's namespace.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare");
            File::open("/proc/thread-self/ns/net").expect("open netns")
        })
        .join()
        .expect("netns thread");
        let ns = Ns { file };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn open(path: &Path) -> Ns {
        Ns {
            file: File::open(path).expect("open netns path"),
        }
    }

    /// A path other processes can open to reach this namespace.
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.file.as_raw_fd())
    }

    /// Runs a program inside the namespace.
    pub fn cmd(&self, program: &str, args: &[&str]) -> Output {
        let fd = self.file.as_raw_fd();
        let mut c = Command::new(program);
        c.args(args);
        // SAFETY: setns is async-signal-safe; the child only calls it before exec.
        unsafe {
            c.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        c.output().unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    /// `ip ARGS` inside the namespace; panics with ip's message on failure.
    pub fn ip(&self, args: &[&str]) {
        let out = self.cmd("ip", args);
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `f` on a thread inside the namespace (sockets it opens stay in the namespace).
    pub fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        let file = self.file.try_clone().expect("dup netns fd");
        std::thread::spawn(move || {
            // SAFETY: setns on a namespace fd we own; affects this thread only.
            assert_eq!(
                unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
                0,
                "setns"
            );
            f()
        })
        .join()
        .expect("thread in netns")
    }

    /// One ping (retried once, as the first may wait for ARP).
    pub fn ping(&self, ip: Ipv4Addr) -> bool {
        let ip = ip.to_string();
        (0..2).any(|_| {
            self.cmd("ping", &["-c1", "-W1", "-q", &ip])
                .status
                .success()
        })
    }

    /// A TCP listener inside the namespace.
    pub fn listen_tcp(&self, port: u16) -> TcpListener {
        self.run(move || {
            let l = TcpListener::bind(("0.0.0.0", port)).expect("bind tcp");
            l.set_nonblocking(true).expect("nonblocking");
            l
        })
    }

    /// Whether a TCP connection to `ip:port` from this namespace completes within a second.
    pub fn tcp(&self, ip: Ipv4Addr, port: u16) -> bool {
        self.run(move || {
            TcpStream::connect_timeout(&SocketAddr::from((ip, port)), Duration::from_millis(1000))
                .is_ok()
        })
    }

    /// Whether a UDP datagram from this namespace reaches `receiver` (a socket bound to `ip:port`).
    pub fn udp(&self, receiver: &UdpSocket, ip: Ipv4Addr, port: u16) -> bool {
        self.udp_from(Ipv4Addr::UNSPECIFIED, receiver, ip, port)
    }

    /// Like [`Ns::udp`], sent from the local address `from` (which may be one the guest added
    /// to impersonate another).
    pub fn udp_from(&self, from: Ipv4Addr, receiver: &UdpSocket, ip: Ipv4Addr, port: u16) -> bool {
        let r = receiver.try_clone().expect("clone udp");
        r.set_read_timeout(Some(Duration::from_millis(800)))
            .expect("timeout");
        let token: [u8; 8] = rand_token();
        self.run(move || {
            let s = UdpSocket::bind((from, 0)).expect("bind udp");
            s.send_to(&token, (ip, port)).expect("send");
        });
        let mut buf = [0u8; 64];
        match r.recv_from(&mut buf) {
            Ok((n, _)) => buf[..n] == token,
            Err(_) => false,
        }
    }

    pub fn bind_udp(&self, port: u16) -> UdpSocket {
        self.run(move || UdpSocket::bind(("0.0.0.0", port)).expect("bind udp"))
    }
}

fn rand_token() -> [u8; 8] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    (N.fetch_add(1, Ordering::Relaxed) ^ (std::process::id() as u64) << 32).to_le_bytes()
}

/// The peer address of the next connection on `l`, waiting up to two seconds.
pub fn accept_from(l: &TcpListener) -> Option<SocketAddr> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        match l.accept() {
            Ok((mut s, peer)) => {
                let _ = s.write_all(b"x");
                let mut b = [0u8; 1];
                let _ = s.read(&mut b);
                return Some(peer);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

/// A test host: a hearth network worker in a private namespace, plus a handle to that namespace.
pub struct Host {
    pub net: Network,
    pub ns: Ns,
    pub rt: tokio::runtime::Runtime,
}

impl Host {
    pub fn new() -> Host {
        let net = Network::start(Namespace::Private).expect("network worker");
        let ns = Ns::open(net.namespace_path());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Host { net, ns, rt }
    }

    /// Applies `plan`, then waits until the NICs' ports forward (the kernel enables a new
    /// bridge port only after its carrier event, up to a second later).
    pub fn apply(&self, plan: &Plan) -> hearth_net::Result<()> {
        self.rt.block_on(self.net.apply(plan.clone()))?;
        let deadline = Instant::now() + Duration::from_secs(3);
        for nic in &plan.nics {
            while Instant::now() < deadline {
                let out = self.ns.cmd("bridge", &["link", "show", "dev", &nic.tap]);
                let text = String::from_utf8_lossy(&out.stdout);
                if text.contains("state forwarding") && !text.contains("NO-CARRIER") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// The MAC of a link in the host namespace.
    pub fn mac_of(&self, link: &str) -> String {
        let out = self.ns.cmd("ip", &["-br", "link", "show", link]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().nth(2).expect("mac").to_string()
    }

    pub fn ruleset(&self) -> String {
        let out = self.ns.cmd("nft", &["list", "ruleset"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A veth `host_end` here whose peer is `eth0` inside `other`.
    fn veth_into(&self, host_end: &str, other: &Ns) {
        let path = other.path();
        self.ns.ip(&[
            "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", &path,
        ]);
    }

    /// A guest: a namespace whose `eth0` is a veth to the host end `tap` (put on its bridge by
    /// the next apply), with the NIC's MAC and address and a default route via the gateway.
    pub fn guest(&self, nic: &NicPlan, vswitch: &VSwitchPlan) -> Ns {
        let g = Ns::new();
        self.veth_into(&nic.tap, &g);
        let mac = hearth_net::plan::format_mac(&nic.mac);
        g.ip(&["link", "set", "eth0", "address", &mac]);
        g.ip(&[
            "addr",
            "add",
            &format!("{}/{}", nic.ip, vswitch.cidr.prefix()),
            "dev",
            "eth0",
        ]);
        g.ip(&["link", "set", "eth0", "up"]);
        g.ip(&[
            "route",
            "add",
            "default",
            "via",
            &vswitch.gateway().to_string(),
        ]);
        g
    }

    /// "The internet": a namespace behind the uplink veth `uplink0` (host 192.0.2.1, internet
    /// 192.0.2.2) that routes `public_pool` to the host and nothing else.
    pub fn internet(&self, public_pool: Option<&str>) -> Ns {
        let inet = Ns::new();
        self.veth_into("uplink0", &inet);
        self.ns
            .ip(&["addr", "add", "192.0.2.1/24", "dev", "uplink0"]);
        self.ns.ip(&["link", "set", "uplink0", "up"]);
        inet.ip(&["addr", "add", "192.0.2.2/24", "dev", "eth0"]);
        inet.ip(&["link", "set", "eth0", "up"]);
        if let Some(pool) = public_pool {
            inet.ip(&["route", "add", pool, "via", "192.0.2.1"]);
        }
        inet
    }
}

pub const INTERNET: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

pub fn vswitch(id: &str, vpc: &str, cidr: &str) -> VSwitchPlan {
    VSwitchPlan::new(id, vpc, Cidr::parse(cidr).expect("cidr"))
}

pub fn nic(n: u8, vswitch: &VSwitchPlan, ip: &str, groups: &[&str]) -> NicPlan {
    NicPlan {
        tap: hearth_net::names::tap_name(&format!("i-test{n}"), 0),
        mac: [0x00, 0x16, 0x3e, 0, 0, n],
        ip: ip.parse().expect("ip"),
        vswitch_id: vswitch.vswitch_id.clone(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        public_ip: None,
    }
}

/// A group; `rules` as (direction, protocol, ports, peer, policy, priority) where the peer is a
/// CIDR or a group ID (starting `sg-`).
pub fn group(id: &str, rules: &[(Direction, &str, &str, &str, &str, u8)]) -> GroupPlan {
    GroupPlan {
        group_id: id.into(),
        inner_accept: true,
        rules: rules
            .iter()
            .map(|(dir, proto, ports, peer, policy, prio)| {
                let mut i = RuleInput {
                    ip_protocol: Some(proto.to_string()),
                    port_range: Some(ports.to_string()),
                    policy: Some(policy.to_string()),
                    priority: Some(prio.to_string()),
                    ..Default::default()
                };
                let is_group = peer.starts_with("sg-");
                match (dir, is_group) {
                    (Direction::Ingress, false) => i.source_cidr_ip = Some(peer.to_string()),
                    (Direction::Ingress, true) => i.source_group_id = Some(peer.to_string()),
                    (Direction::Egress, false) => i.dest_cidr_ip = Some(peer.to_string()),
                    (Direction::Egress, true) => i.dest_group_id = Some(peer.to_string()),
                }
                i.parse(*dir).expect("rule")
            })
            .collect(),
    }
}
