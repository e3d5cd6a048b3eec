//! virtio-net on a TAP: frames from the guest's transmit queue go to the TAP, frames from the
//! TAP fill the buffers the guest posted on its receive queue.

use std::os::fd::RawFd;

use virtio_queue::{Queue, QueueT};
use vm_memory::Bytes;

use super::queue::{self, QueueError};
use super::tap::{Tap, VNET_HDR_LEN};
use super::{DeviceError, VirtioDevice, TYPE_NET};
use crate::devices::rate_limit::{RateLimiter, Throttle};
use crate::memory::GuestMemory;

const F_MAC: u64 = 1 << 5;
const RX: usize = 0;
const TX: usize = 1;
const QUEUE_SIZES: [u16; 2] = [256, 256];
/// Without offloads a frame is at most 1514 bytes; leave room for jumbo-ish MTUs and the header.
const MAX_FRAME: usize = 65562;

pub struct Net {
    tap: Tap,
    config: [u8; 6],
    frame: Vec<u8>,
    /// A frame read from the TAP that waits for the guest to post receive buffers (or for the
    /// receive budget).
    pending: Option<usize>,
    /// Bytes a second towards the guest; while it waits, frames stay in the TAP's queue so the
    /// host kernel's queueing (and TCP's backpressure) applies, not a buffer of ours.
    rx_throttle: Option<Throttle>,
    /// Bytes a second from the guest; while it waits, frames stay on the transmit queue.
    tx_throttle: Option<Throttle>,
}

/// The bytes of a frame that count against a limit: the Ethernet frame, without the virtio-net
/// header in front of it.
fn frame_bytes(len_with_header: u64) -> u64 {
    len_with_header.saturating_sub(VNET_HDR_LEN as u64)
}

fn parked(throttle: &Option<Throttle>) -> bool {
    throttle.as_ref().is_some_and(Throttle::is_waiting)
}

impl Net {
    pub fn new(tap: Tap, mac: [u8; 6]) -> Net {
        Net {
            tap,
            config: mac,
            frame: vec![0; MAX_FRAME],
            pending: None,
            rx_throttle: None,
            tx_throttle: None,
        }
    }

    /// Limits the bytes a second towards the guest (`rx`) and from it (`tx`).
    pub fn with_rate_limit(
        mut self,
        rx: Option<RateLimiter>,
        tx: Option<RateLimiter>,
    ) -> Result<Net, String> {
        let timer = |l: Option<RateLimiter>| {
            l.map(Throttle::new)
                .transpose()
                .map_err(|e| format!("rate limit timer: {e}"))
        };
        self.rx_throttle = timer(rx)?;
        self.tx_throttle = timer(tx)?;
        Ok(self)
    }

    fn transmit(&mut self, q: &mut Queue, mem: &GuestMemory) -> Result<bool, DeviceError> {
        let qerr = |err: QueueError| DeviceError::Queue { queue: TX, err };
        let mut used = false;
        if parked(&self.tx_throttle) {
            return Ok(false);
        }
        let mut out = Vec::new();
        while let Some(req) = queue::pop(q, mem).map_err(qerr)? {
            if let Some(throttle) = &mut self.tx_throttle {
                let len: u64 = req.readable().map(|b| u64::from(b.len)).sum();
                if !throttle.admit(1, frame_bytes(len)) {
                    queue::unpop(q);
                    break;
                }
            }
            out.clear();
            for b in req.readable() {
                let start = out.len();
                if start + b.len as usize > MAX_FRAME {
                    return Err(DeviceError::Protocol {
                        queue: TX,
                        what: format!(
                            "frame at head {} is larger than {MAX_FRAME} bytes",
                            req.head
                        ),
                    });
                }
                out.resize(start + b.len as usize, 0);
                mem.read_slice(&mut out[start..], b.addr)
                    .map_err(|e| DeviceError::Protocol {
                        queue: TX,
                        what: e.to_string(),
                    })?;
            }
            if out.len() > VNET_HDR_LEN {
                // A full TAP queue drops the frame, as a congested link would.
                if let Err(e) = self.tap.write_frame(&out) {
                    if e.kind() != std::io::ErrorKind::WouldBlock {
                        eprintln!("hearth-vmm: TAP {}: dropped a frame: {e}", self.tap.name());
                    }
                }
            }
            queue::complete(q, mem, req.head, 0).map_err(qerr)?;
            used = true;
        }
        Ok(used)
    }

    /// Moves frames from the TAP into receive buffers until one side runs out.
    fn receive(&mut self, q: &mut Queue, mem: &GuestMemory) -> Result<bool, DeviceError> {
        let qerr = |err: QueueError| DeviceError::Queue { queue: RX, err };
        let mut used = false;
        if parked(&self.rx_throttle) {
            return Ok(false);
        }
        loop {
            let len = match self.pending.take() {
                Some(len) => len,
                None => match self.tap.read_frame(&mut self.frame) {
                    Ok(Some(len)) => len,
                    Ok(None) => break,
                    Err(e) => {
                        return Err(DeviceError::Backend(format!(
                            "TAP {}: {e}",
                            self.tap.name()
                        )))
                    }
                },
            };
            if len < VNET_HDR_LEN {
                continue;
            }
            // Without mergeable buffers every frame uses one chain: num_buffers is always 1.
            self.frame[10..12].copy_from_slice(&1u16.to_le_bytes());
            let Some(req) = queue::pop(q, mem).map_err(qerr)? else {
                self.pending = Some(len);
                break;
            };
            if let Some(throttle) = &mut self.rx_throttle {
                // Only the one frame already read waits with us; the rest stay in the TAP.
                if !throttle.admit(1, frame_bytes(len as u64)) {
                    queue::unpop(q);
                    self.pending = Some(len);
                    break;
                }
            }
            let mut written = 0usize;
            for b in req.writable() {
                if written == len {
                    break;
                }
                let n = (b.len as usize).min(len - written);
                mem.write_slice(&self.frame[written..written + n], b.addr)
                    .map_err(|e| DeviceError::Protocol {
                        queue: RX,
                        what: e.to_string(),
                    })?;
                written += n;
            }
            // A chain too small for the frame gets a truncated frame; the guest drops it.
            queue::complete(q, mem, req.head, written as u32).map_err(qerr)?;
            used = true;
        }
        Ok(used)
    }
}

impl VirtioDevice for Net {
    fn device_type(&self) -> u32 {
        TYPE_NET
    }

    fn features(&self) -> u64 {
        F_MAC
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &QUEUE_SIZES
    }

    fn config_space(&self) -> &[u8] {
        &self.config
    }

    fn process_queue(
        &mut self,
        index: usize,
        queues: &mut [Queue],
        mem: &GuestMemory,
    ) -> Result<bool, DeviceError> {
        match index {
            RX => self.receive(&mut queues[RX], mem),
            TX => self.transmit(&mut queues[TX], mem),
            _ => Ok(false),
        }
    }

    fn backend_fd(&self) -> Option<RawFd> {
        Some(self.tap.fd())
    }

    fn process_backend(
        &mut self,
        queues: &mut [Queue],
        mem: &GuestMemory,
    ) -> Result<bool, DeviceError> {
        if !queues[RX].ready() {
            return Ok(false);
        }
        self.receive(&mut queues[RX], mem)
    }

    fn throttle_timers(&self) -> Vec<(usize, RawFd)> {
        let rx = self.rx_throttle.iter().map(|t| (RX, t.fd()));
        let tx = self.tx_throttle.iter().map(|t| (TX, t.fd()));
        rx.chain(tx).collect()
    }

    fn throttle_timer_fired(&mut self, queue: usize) {
        let throttle = match queue {
            RX => &mut self.rx_throttle,
            TX => &mut self.tx_throttle,
            _ => return,
        };
        if let Some(t) = throttle {
            t.timer_fired();
        }
    }

    fn reset(&mut self) {
        self.pending = None;
        for t in [&mut self.rx_throttle, &mut self.tx_throttle]
            .into_iter()
            .flatten()
        {
            t.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::bus::BusDevice;
    use crate::devices::virtio::mmio::tests::{r, w};
    use crate::devices::virtio::mmio::*;
    use crate::devices::virtio::queue::tests::{mem, raw, WRITE};
    use crate::devices::IrqLine;
    use std::process::Command;
    use std::time::Instant;
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::GuestAddress;

    /// A TAP that exists for the test only (needs CAP_NET_ADMIN; the test is skipped without).
    struct TestTap(String);
    impl TestTap {
        fn create(name: &str, addr: &str) -> Option<TestTap> {
            let ok = |args: &[&str]| {
                Command::new("ip")
                    .args(args)
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !ok(&["tuntap", "add", name, "mode", "tap"]) {
                eprintln!("skipped: cannot create a TAP here");
                return None;
            }
            let tap = TestTap(name.to_string());
            if !(ok(&["addr", "add", addr, "dev", name]) && ok(&["link", "set", name, "up"])) {
                return None;
            }
            Some(tap)
        }
        fn rx_packets(&self) -> u64 {
            std::fs::read_to_string(format!("/sys/class/net/{}/statistics/rx_packets", self.0))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0)
        }
    }
    impl Drop for TestTap {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }

    fn bring_up(
        t: &mut MmioTransport,
        rxq: &MockSplitQueue<GuestMemory>,
        txq: &MockSplitQueue<GuestMemory>,
    ) {
        w(
            t,
            REG_STATUS,
            STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK,
        );
        for (i, q) in [rxq, txq].iter().enumerate() {
            w(t, REG_QUEUE_SEL, i as u32);
            w(t, REG_QUEUE_NUM, 16);
            w(t, REG_QUEUE_DESC_LOW, q.desc_table_addr().0 as u32);
            w(t, REG_QUEUE_DRIVER_LOW, q.avail_addr().0 as u32);
            w(t, REG_QUEUE_DEVICE_LOW, q.used_addr().0 as u32);
            w(t, REG_QUEUE_READY, 1);
        }
        w(
            t,
            REG_STATUS,
            STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK,
        );
    }

    fn transport(net: Net, m: &GuestMemory) -> MmioTransport {
        MmioTransport::new(
            "nic".into(),
            Box::new(net),
            m.clone(),
            IrqLine::new().unwrap(),
        )
        .unwrap()
    }

    /// A 60-byte broadcast frame behind a zeroed virtio-net header.
    fn broadcast_frame(mac: [u8; 6]) -> Vec<u8> {
        let mut frame = vec![0u8; VNET_HDR_LEN];
        frame.extend_from_slice(&[0xff; 6]);
        frame.extend_from_slice(&mac);
        frame.extend_from_slice(&[0x88, 0xb5]); // local experimental ethertype
        frame.extend_from_slice(&[0u8; 46]);
        frame
    }

    #[test]
    fn a_throttled_transmit_queue_sends_in_order_when_its_timer_fires() {
        use crate::devices::rate_limit::{RateLimiter, TokenBucket};
        let name = format!("hvl{}", std::process::id() % 100_000);
        let Some(host_tap) = TestTap::create(&name, "10.213.8.1/24") else {
            return;
        };
        let m = mem();
        let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x57];
        // One 60-byte frame fills the bucket; the next waits 10 ms.
        let tx = RateLimiter::new(None, Some(TokenBucket::new(60, 6000, Instant::now())));
        let net = Net::new(Tap::open(&name).unwrap(), mac)
            .with_rate_limit(None, Some(tx))
            .unwrap();
        let mut t = transport(net, &m);
        let timers = t.throttle_timers();
        assert_eq!(timers.len(), 1);
        let (queue, fd) = timers[0];
        assert_eq!(queue, TX);
        let rxq = MockSplitQueue::create(&m, GuestAddress(0), 16);
        let txq = MockSplitQueue::create(&m, GuestAddress(0x8000), 16);
        bring_up(&mut t, &rxq, &txq);

        let before = host_tap.rx_packets();
        let frame = broadcast_frame(mac);
        for i in 0..3u64 {
            m.write_slice(&frame, GuestAddress(0x10_0000 + i * 0x1000))
                .unwrap();
        }
        let descs: Vec<_> = (0..3u64)
            .map(|i| raw(0x10_0000 + i * 0x1000, frame.len() as u32, 0, 0))
            .collect();
        txq.add_desc_chains(&descs, 0).unwrap();
        t.notify(TX);
        assert_eq!(txq.used().idx().load(), 1);
        assert_eq!(host_tap.rx_packets(), before + 1);
        // Each firing sends at least one more (more only if this thread was held up meanwhile).
        for _ in 0..2 {
            if txq.used().idx().load() == 3 {
                break;
            }
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            assert_eq!(unsafe { libc::poll(&mut p, 1, 10_000) }, 1);
            t.throttle_timer_fired(TX);
        }
        assert_eq!(txq.used().idx().load(), 3);
        assert_eq!(host_tap.rx_packets(), before + 3);
        for i in 0..3 {
            assert_eq!(txq.used().ring().ref_at(i).unwrap().load().id(), i as u32);
        }
        assert!(t.failure().is_none());
    }

    #[test]
    fn frames_flow_both_ways_through_a_real_tap() {
        let name = format!("hvt{}", std::process::id() % 100_000);
        let Some(host_tap) = TestTap::create(&name, "10.213.7.1/24") else {
            return;
        };
        let m = mem();
        let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
        let net = Net::new(Tap::open(&name).unwrap(), mac);
        let mut t = transport(net, &m);
        assert_eq!(r(&mut t, REG_DEVICE_ID), TYPE_NET);
        let mut cfg = [0u8; 6];
        t.read(REG_CONFIG, &mut cfg);
        assert_eq!(cfg, mac);

        let rxq = MockSplitQueue::create(&m, GuestAddress(0), 16);
        let txq = MockSplitQueue::create(&m, GuestAddress(0x8000), 16);
        bring_up(&mut t, &rxq, &txq);

        // Guest -> host: a broadcast frame behind a zeroed virtio-net header.
        let before = host_tap.rx_packets();
        let frame = broadcast_frame(mac);
        m.write_slice(&frame, GuestAddress(0x10_0000)).unwrap();
        txq.add_desc_chains(&[raw(0x10_0000, frame.len() as u32, 0, 0)], 0)
            .unwrap();
        t.notify(TX);
        assert!(t.failure().is_none(), "{:?}", t.failure());
        assert_eq!(txq.used().idx().load(), 1);
        assert_eq!(host_tap.rx_packets(), before + 1);

        // Host -> guest: the host ARPs for a neighbour on the TAP's subnet. Other frames (IPv6
        // neighbour discovery as the link comes up) may arrive first: post several buffers.
        let bufs: Vec<_> = (0..8u64)
            .map(|i| raw(0x11_0000 + i * 0x1000, 2048, WRITE, 0))
            .collect();
        for (i, d) in bufs.iter().enumerate() {
            rxq.add_desc_chains(std::slice::from_ref(d), i as u16)
                .unwrap();
        }
        t.notify(RX);
        let sock = std::net::UdpSocket::bind("10.213.7.1:0").unwrap();
        let _ = sock.send_to(b"x", "10.213.7.2:9");
        let is_arp = |i: u64| {
            let mut eth = [0u8; 14];
            m.read_slice(
                &mut eth,
                GuestAddress(0x11_0000 + i * 0x1000 + VNET_HDR_LEN as u64),
            )
            .unwrap();
            eth[12..14] == [0x08, 0x06]
        };
        let mut arp = None;
        for _ in 0..400 {
            t.backend_ready();
            let used = u64::from(rxq.used().idx().load());
            arp = (0..used).find(|i| is_arp(*i));
            if arp.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let arp = arp.expect("no ARP request reached the guest");
        let num_buffers: u16 = m
            .read_obj(GuestAddress(0x11_0000 + arp * 0x1000 + 10))
            .unwrap();
        assert_eq!(num_buffers, 1);
        assert!(t.failure().is_none());
    }
}
