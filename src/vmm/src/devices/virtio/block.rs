//! virtio-blk over a raw image file: read, write, flush and GET_ID (the disk's id, which udev
//! turns into /dev/disk/by-id/virtio-<id>).

use std::fs::File;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use virtio_queue::Queue;
use vm_memory::{Address, Bytes, GuestMemoryBackend};

use super::queue::{self, QueueError, Request};
use super::{DeviceError, VirtioDevice, TYPE_BLOCK};
use crate::config::{MAX_DISK_ID_LEN, SECTOR_SIZE};
use crate::devices::rate_limit::{RateLimiter, Throttle};
use crate::memory::GuestMemory;

/// seg_max in the config space: without it Linux sends one segment per request.
const F_SEG_MAX: u64 = 1 << 2;
const F_RO: u64 = 1 << 5;
const F_FLUSH: u64 = 1 << 9;

const REQ_IN: u32 = 0;
const REQ_OUT: u32 = 1;
const REQ_FLUSH: u32 = 4;
const REQ_GET_ID: u32 = 8;

const STATUS_OK: u8 = 0;
const STATUS_IOERR: u8 = 1;
const STATUS_UNSUPP: u8 = 2;

/// type (u32), reserved (u32), sector (u64).
const HEADER_LEN: u32 = 16;
const QUEUE_SIZES: [u16; 1] = [256];
/// Data segments per request: the queue's descriptors less the header and the status byte.
const SEG_MAX: u32 = QUEUE_SIZES[0] as u32 - 2;
/// Enough iovecs for one request's data on the stack (Linux's IOV_MAX is 1024).
const MAX_IOVECS: usize = SEG_MAX as usize;
/// The one request queue.
const REQUESTS: usize = 0;

pub struct Block {
    file: File,
    read_only: bool,
    sectors: u64,
    id: [u8; MAX_DISK_ID_LEN],
    /// capacity (le64), size_max (le32, unused), seg_max (le32).
    config: [u8; 16],
    /// The disk's IOPS and bytes-a-second limit; None (no cost at all) when unlimited.
    throttle: Option<Throttle>,
}

impl Block {
    pub fn open(path: &Path, read_only: bool, id: &str) -> Result<Block, String> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)
            .map_err(|e| format!("cannot open the disk image {}: {e}", path.display()))?;
        let size = file
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let sectors = size / SECTOR_SIZE;
        let mut serial = [0u8; MAX_DISK_ID_LEN];
        let n = id.len().min(MAX_DISK_ID_LEN);
        serial[..n].copy_from_slice(&id.as_bytes()[..n]);
        Ok(Block {
            file,
            read_only,
            sectors,
            id: serial,
            config: {
                let mut c = [0u8; 16];
                c[..8].copy_from_slice(&sectors.to_le_bytes());
                c[12..].copy_from_slice(&SEG_MAX.to_le_bytes());
                c
            },
            throttle: None,
        })
    }

    /// Limits the disk's requests (each is one operation) and the bytes they read or write.
    pub fn with_rate_limit(mut self, limiter: Option<RateLimiter>) -> Result<Block, String> {
        self.throttle = limiter
            .map(Throttle::new)
            .transpose()
            .map_err(|e| format!("rate limit timer: {e}"))?;
        Ok(self)
    }

    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Carries out one request and returns (status, bytes written into guest buffers).
    fn execute(&mut self, req: &Request, mem: &GuestMemory) -> Result<(u8, u32), String> {
        let header = req
            .buffers
            .first()
            .filter(|b| !b.writable && b.len >= HEADER_LEN)
            .ok_or("the first buffer is not a readable 16-byte request header")?;
        let kind: u32 = mem.read_obj(header.addr).map_err(|e| e.to_string())?;
        let sector: u64 = mem
            .read_obj(header.addr.unchecked_add(8))
            .map_err(|e| e.to_string())?;
        let data = &req.buffers[1..req.buffers.len().saturating_sub(1)];
        let total: u64 = data.iter().map(|b| u64::from(b.len)).sum();
        let in_range = |total: u64| {
            total.is_multiple_of(SECTOR_SIZE)
                && sector
                    .checked_add(total / SECTOR_SIZE)
                    .is_some_and(|end| end <= self.sectors)
        };
        match kind {
            REQ_IN => {
                if data.iter().any(|b| !b.writable) || !in_range(total) {
                    return Ok((STATUS_IOERR, 0));
                }
                match self.transfer(mem, data, sector * SECTOR_SIZE, Direction::Read) {
                    Ok(()) => Ok((STATUS_OK, total as u32)),
                    Err(_) => Ok((STATUS_IOERR, 0)),
                }
            }
            REQ_OUT => {
                if self.read_only || data.iter().any(|b| b.writable) || !in_range(total) {
                    return Ok((STATUS_IOERR, 0));
                }
                match self.transfer(mem, data, sector * SECTOR_SIZE, Direction::Write) {
                    Ok(()) => Ok((STATUS_OK, 0)),
                    Err(_) => Ok((STATUS_IOERR, 0)),
                }
            }
            REQ_FLUSH => {
                if self.read_only {
                    return Ok((STATUS_OK, 0));
                }
                match self.file.sync_all() {
                    Ok(()) => Ok((STATUS_OK, 0)),
                    Err(_) => Ok((STATUS_IOERR, 0)),
                }
            }
            REQ_GET_ID => {
                let Some(b) = data.first().filter(|b| b.writable) else {
                    return Ok((STATUS_IOERR, 0));
                };
                let n = (b.len as usize).min(MAX_DISK_ID_LEN);
                mem.write_slice(&self.id[..n], b.addr)
                    .map_err(|e| e.to_string())?;
                Ok((STATUS_OK, n as u32))
            }
            _ => Ok((STATUS_UNSUPP, 0)),
        }
    }

    /// The bytes a request moves, for the rate limit: the data of a read or write; flush, GET_ID
    /// and anything unknown move none. A header that cannot be read costs nothing here and
    /// fails in `execute`.
    fn data_bytes(req: &Request, mem: &GuestMemory) -> u64 {
        let kind = req
            .buffers
            .first()
            .and_then(|h| mem.read_obj::<u32>(h.addr).ok());
        if !matches!(kind, Some(REQ_IN | REQ_OUT)) {
            return 0;
        }
        let data = req.buffers.get(1..req.buffers.len().saturating_sub(1));
        data.unwrap_or_default()
            .iter()
            .map(|b| u64::from(b.len))
            .sum()
    }

    /// Moves a request's data between guest buffers and the file at `offset`: one preadv or
    /// pwritev for the whole request (a 1 MiB write is one system call, not 256).
    fn transfer(
        &mut self,
        mem: &GuestMemory,
        data: &[queue::Buffer],
        mut offset: u64,
        dir: Direction,
    ) -> std::io::Result<()> {
        let bad = || std::io::Error::from_raw_os_error(libc::EFAULT);
        let mut iovecs = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_IOVECS];
        if data.len() > MAX_IOVECS {
            return Err(bad());
        }
        for (iov, b) in iovecs.iter_mut().zip(data) {
            // A buffer must lie in one memory region; get_slice checks bounds.
            let slice = mem.get_slice(b.addr, b.len as usize).map_err(|_| bad())?;
            iov.iov_base = slice.ptr_guard_mut().as_ptr().cast();
            iov.iov_len = slice.len();
        }
        let mut iovecs = &mut iovecs[..data.len()];
        let fd = self.file.as_raw_fd();
        while !iovecs.is_empty() {
            let off = libc::off_t::try_from(offset).map_err(|_| bad())?;
            // SAFETY: every iovec points into guest memory that get_slice validated and that
            // stays mapped for the VM's lifetime; the kernel checks the rest.
            let n = unsafe {
                match dir {
                    Direction::Read => libc::preadv(fd, iovecs.as_ptr(), iovecs.len() as i32, off),
                    Direction::Write => {
                        libc::pwritev(fd, iovecs.as_ptr(), iovecs.len() as i32, off)
                    }
                }
            };
            if n < 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            if n == 0 {
                // Reading past the end of the file cannot happen (the range was checked), so
                // the file shrank under us.
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
            }
            offset += n as u64;
            iovecs = advance(iovecs, n as usize);
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Read,
    Write,
}

/// Drops the first `n` bytes from a list of iovecs (after a short read or write).
fn advance(iovecs: &mut [libc::iovec], mut n: usize) -> &mut [libc::iovec] {
    let mut skip = 0;
    for iov in iovecs.iter_mut() {
        if n < iov.iov_len {
            // SAFETY: stays within the same buffer.
            iov.iov_base = unsafe { iov.iov_base.cast::<u8>().add(n).cast() };
            iov.iov_len -= n;
            break;
        }
        n -= iov.iov_len;
        skip += 1;
    }
    &mut iovecs[skip..]
}

impl VirtioDevice for Block {
    fn device_type(&self) -> u32 {
        TYPE_BLOCK
    }

    fn features(&self) -> u64 {
        F_FLUSH | F_SEG_MAX | if self.read_only { F_RO } else { 0 }
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
        let qerr = |err: QueueError| DeviceError::Queue { queue: index, err };
        if index != REQUESTS || self.throttle.as_ref().is_some_and(Throttle::is_waiting) {
            return Ok(false);
        }
        let mut used = false;
        while let Some(req) = queue::pop(&mut queues[index], mem).map_err(qerr)? {
            if let Some(throttle) = &mut self.throttle {
                if !throttle.admit(1, Self::data_bytes(&req, mem)) {
                    // Over budget: the request stays first in line for when the timer fires.
                    queue::unpop(&mut queues[index]);
                    break;
                }
            }
            let status_buf = *req
                .buffers
                .last()
                .filter(|b| b.writable && b.len >= 1 && req.buffers.len() >= 2)
                .ok_or_else(|| DeviceError::Protocol {
                    queue: index,
                    what: format!("request at head {} has no writable status byte", req.head),
                })?;
            let (status, written) =
                self.execute(&req, mem)
                    .map_err(|what| DeviceError::Protocol {
                        queue: index,
                        what: format!("request at head {}: {what}", req.head),
                    })?;
            mem.write_obj(status, status_buf.addr)
                .map_err(|e| DeviceError::Protocol {
                    queue: index,
                    what: format!("writing the status: {e}"),
                })?;
            queue::complete(&mut queues[index], mem, req.head, written + 1).map_err(qerr)?;
            used = true;
        }
        Ok(used)
    }

    fn throttle_timers(&self) -> Vec<(usize, RawFd)> {
        self.throttle.iter().map(|t| (REQUESTS, t.fd())).collect()
    }

    fn throttle_timer_fired(&mut self, _queue: usize) {
        if let Some(t) = &mut self.throttle {
            t.timer_fired();
        }
    }

    fn reset(&mut self) {
        if let Some(t) = &mut self.throttle {
            t.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::virtio::mmio::tests::{bring_up, r, w};
    use crate::devices::virtio::mmio::{MmioTransport, REG_CONFIG, REG_STATUS, STATUS_NEEDS_RESET};
    use crate::devices::virtio::queue::tests::{mem, raw, WRITE};
    use crate::devices::IrqLine;
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::GuestAddress;

    #[test]
    fn a_short_transfer_resumes_where_it_stopped() {
        let mut a = [1u8; 8];
        let mut b = [2u8; 8];
        let mut iovecs = [
            libc::iovec {
                iov_base: a.as_mut_ptr().cast(),
                iov_len: 8,
            },
            libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: 8,
            },
        ];
        let rest = advance(&mut iovecs, 11);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].iov_len, 5);
        assert_eq!(rest[0].iov_base as usize, b.as_ptr() as usize + 3);
        assert!(advance(rest, 5).is_empty());
    }

    const HDR: u64 = 0x10_0000;
    const DATA: u64 = 0x10_1000;
    const STATUS: u64 = 0x10_3000;

    fn disk(
        sectors: u64,
        ro: bool,
    ) -> (
        tempfile::TempDir,
        std::path::PathBuf,
        MmioTransport,
        GuestMemory,
    ) {
        limited_disk(sectors, ro, None)
    }

    fn limited_disk(
        sectors: u64,
        ro: bool,
        limit: Option<RateLimiter>,
    ) -> (
        tempfile::TempDir,
        std::path::PathBuf,
        MmioTransport,
        GuestMemory,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.img");
        std::fs::write(&path, vec![0u8; (sectors * SECTOR_SIZE) as usize]).unwrap();
        let m = mem();
        let t = MmioTransport::new(
            "disk".into(),
            Box::new(
                Block::open(&path, ro, "data-1")
                    .unwrap()
                    .with_rate_limit(limit)
                    .unwrap(),
            ),
            m.clone(),
            IrqLine::new().unwrap(),
        )
        .unwrap();
        (dir, path, t, m)
    }

    fn request(
        m: &GuestMemory,
        vq: &MockSplitQueue<GuestMemory>,
        kind: u32,
        sector: u64,
        len: u32,
        offset: u16,
    ) {
        m.write_obj(kind, GuestAddress(HDR)).unwrap();
        m.write_obj(sector, GuestAddress(HDR + 8)).unwrap();
        m.write_obj(0xffu8, GuestAddress(STATUS)).unwrap();
        let data_flags = if kind == REQ_OUT { 0 } else { WRITE };
        vq.add_desc_chains(
            &[
                raw(HDR, 16, 1, offset + 1),
                raw(DATA, len, data_flags | 1, offset + 2),
                raw(STATUS, 1, WRITE, 0),
            ],
            offset,
        )
        .unwrap();
    }

    fn status(m: &GuestMemory) -> u8 {
        m.read_obj(GuestAddress(STATUS)).unwrap()
    }

    #[test]
    fn capacity_write_read_flush_and_id() {
        let (_dir, path, mut t, m) = disk(8, false);
        assert_eq!(r(&mut t, REG_CONFIG), 8);
        let vq = MockSplitQueue::new(&m, 16);
        bring_up(&mut t, &vq, 16);

        m.write_slice(&[0xab; 1024], GuestAddress(DATA)).unwrap();
        request(&m, &vq, REQ_OUT, 2, 1024, 0);
        t.notify(0);
        assert_eq!(status(&m), STATUS_OK);
        let host = std::fs::read(&path).unwrap();
        assert!(host[1024..2048].iter().all(|b| *b == 0xab));
        assert!(host[..1024].iter().all(|b| *b == 0));

        m.write_slice(&[0; 1024], GuestAddress(DATA)).unwrap();
        request(&m, &vq, REQ_IN, 2, 512, 3);
        t.notify(0);
        assert_eq!(status(&m), STATUS_OK);
        assert_eq!(m.read_obj::<u8>(GuestAddress(DATA)).unwrap(), 0xab);

        request(&m, &vq, REQ_FLUSH, 0, 0, 6);
        t.notify(0);
        assert_eq!(status(&m), STATUS_OK);

        request(&m, &vq, REQ_GET_ID, 0, 20, 9);
        t.notify(0);
        let mut id = [0u8; 6];
        m.read_slice(&mut id, GuestAddress(DATA)).unwrap();
        assert_eq!(&id, b"data-1");
        assert!(t.failure().is_none());
    }

    #[test]
    fn past_the_end_and_read_only_are_io_errors() {
        let (_dir, _path, mut t, m) = disk(4, true);
        let vq = MockSplitQueue::new(&m, 16);
        bring_up(&mut t, &vq, 16);
        request(&m, &vq, REQ_IN, 3, 1024, 0);
        t.notify(0);
        assert_eq!(status(&m), STATUS_IOERR);
        request(&m, &vq, REQ_OUT, 0, 512, 3);
        t.notify(0);
        assert_eq!(status(&m), STATUS_IOERR);
        request(&m, &vq, REQ_IN, u64::MAX, 512, 6);
        t.notify(0);
        assert_eq!(status(&m), STATUS_IOERR);
        assert!(t.failure().is_none());
    }

    #[test]
    fn missing_status_byte_fails_the_device() {
        let (_dir, _path, mut t, m) = disk(4, false);
        let vq = MockSplitQueue::new(&m, 16);
        bring_up(&mut t, &vq, 16);
        vq.add_desc_chains(&[raw(HDR, 16, 0, 0)], 0).unwrap();
        t.notify(0);
        assert!(t.failure().unwrap().contains("status"));
        assert_ne!(r(&mut t, REG_STATUS) & STATUS_NEEDS_RESET, 0);
        w(&mut t, REG_STATUS, 0);
    }

    /// Waits (up to far longer than needed) for the disk's rate-limit timer, as the device
    /// thread's epoll would, and hands the expiry to the transport.
    fn fire_timer_when_due(t: &mut MmioTransport) {
        let timers = t.throttle_timers();
        assert_eq!(timers.len(), 1);
        let (queue, fd) = timers[0];
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(
            unsafe { libc::poll(&mut p, 1, 10_000) },
            1,
            "the timer never fired"
        );
        t.throttle_timer_fired(queue);
    }

    #[test]
    fn a_throttled_queue_waits_in_order_and_resumes_when_the_timer_fires() {
        use crate::devices::rate_limit::TokenBucket;
        use std::time::Instant;
        // One operation at a time, a hundred a second: every request after the first waits
        // 10 ms.
        let ops = TokenBucket::new(1, 100, Instant::now());
        let (_dir, _path, mut t, m) =
            limited_disk(8, false, Some(RateLimiter::new(Some(ops), None)));
        let vq = MockSplitQueue::new(&m, 16);
        bring_up(&mut t, &vq, 16);
        let heads = [0u16, 3, 6];
        for head in heads {
            request(&m, &vq, REQ_FLUSH, 0, 0, head);
        }
        t.notify(0);
        assert_eq!(vq.used().idx().load(), 1, "only the first fits the budget");
        // A kick while parked does not look at the queue (no busy retry on guest kicks).
        t.notify(0);
        assert_eq!(vq.used().idx().load(), 1);
        // Each firing serves at least one more (more only if this thread was held up meanwhile).
        for _ in 0..2 {
            if vq.used().idx().load() < 3 {
                fire_timer_when_due(&mut t);
            }
        }
        assert_eq!(vq.used().idx().load(), 3);
        // Served in the order the guest queued them, none dropped.
        for (i, head) in heads.iter().enumerate() {
            let used = vq.used().ring().ref_at(i).unwrap().load();
            assert_eq!(used.id(), u32::from(*head));
        }
        assert_eq!(status(&m), STATUS_OK);
        assert!(t.failure().is_none());
    }

    #[test]
    fn bytes_are_limited_and_a_big_request_still_passes() {
        use crate::devices::rate_limit::TokenBucket;
        use std::time::Instant;
        // A 512-byte bucket refilled at 51.2 kB/s; the first request is twice the bucket, and
        // the debt it leaves takes 20 ms to repay.
        let bytes = TokenBucket::new(512, 51_200, Instant::now());
        let (_dir, path, mut t, m) =
            limited_disk(8, false, Some(RateLimiter::new(None, Some(bytes))));
        let vq = MockSplitQueue::new(&m, 16);
        bring_up(&mut t, &vq, 16);
        m.write_slice(&[0xcd; 1024], GuestAddress(DATA)).unwrap();
        request(&m, &vq, REQ_OUT, 0, 1024, 0);
        t.notify(0);
        assert_eq!(vq.used().idx().load(), 1);
        assert!(std::fs::read(&path).unwrap()[..1024]
            .iter()
            .all(|b| *b == 0xcd));
        // The 1024 bytes left the bucket in debt: the next read waits for the timer.
        request(&m, &vq, REQ_IN, 0, 512, 3);
        t.notify(0);
        assert_eq!(vq.used().idx().load(), 1);
        fire_timer_when_due(&mut t);
        assert_eq!(vq.used().idx().load(), 2);
        assert_eq!(status(&m), STATUS_OK);
    }

    #[test]
    fn reset_forgets_a_parked_queue() {
        use crate::devices::rate_limit::TokenBucket;
        use std::time::Instant;
        let ops = TokenBucket::new(1, 1, Instant::now());
        let (_dir, _path, mut t, m) =
            limited_disk(8, false, Some(RateLimiter::new(Some(ops), None)));
        let vq = MockSplitQueue::new(&m, 16);
        bring_up(&mut t, &vq, 16);
        request(&m, &vq, REQ_FLUSH, 0, 0, 0);
        request(&m, &vq, REQ_FLUSH, 0, 0, 3);
        t.notify(0);
        assert_eq!(vq.used().idx().load(), 1);
        w(&mut t, REG_STATUS, 0);
        let (_, fd) = t.throttle_timers()[0];
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(
            unsafe { libc::poll(&mut p, 1, 0) },
            0,
            "the timer was disarmed"
        );
    }
}
