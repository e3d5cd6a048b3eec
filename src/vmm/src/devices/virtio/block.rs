//! virtio-blk over a raw image file: read, write, flush and GET_ID (the disk's id, which udev
//! turns into /dev/disk/by-id/virtio-<id>).

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use virtio_queue::Queue;
use vm_memory::{Address, Bytes, GuestAddress};

use super::queue::{self, QueueError, Request};
use super::{read_config_bytes, DeviceError, VirtioDevice, TYPE_BLOCK};
use crate::config::{MAX_DISK_ID_LEN, SECTOR_SIZE};
use crate::memory::GuestMemory;

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

pub struct Block {
    file: File,
    read_only: bool,
    sectors: u64,
    id: [u8; MAX_DISK_ID_LEN],
    /// capacity (le64) is the only config field we offer.
    config: [u8; 8],
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
            config: sectors.to_le_bytes(),
        })
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
                let mut offset = sector * SECTOR_SIZE;
                for b in data {
                    if self.read_into(mem, b.addr, offset, b.len).is_err() {
                        return Ok((STATUS_IOERR, 0));
                    }
                    offset += u64::from(b.len);
                }
                Ok((STATUS_OK, total as u32))
            }
            REQ_OUT => {
                if self.read_only || data.iter().any(|b| b.writable) || !in_range(total) {
                    return Ok((STATUS_IOERR, 0));
                }
                let mut offset = sector * SECTOR_SIZE;
                for b in data {
                    if self.write_from(mem, b.addr, offset, b.len).is_err() {
                        return Ok((STATUS_IOERR, 0));
                    }
                    offset += u64::from(b.len);
                }
                Ok((STATUS_OK, 0))
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

    fn read_into(
        &mut self,
        mem: &GuestMemory,
        addr: GuestAddress,
        offset: u64,
        len: u32,
    ) -> Result<(), String> {
        self.file
            .seek(SeekFrom::Start(offset))
            .map_err(|e| e.to_string())?;
        mem.read_exact_volatile_from(addr, &mut self.file, len as usize)
            .map_err(|e| e.to_string())
    }

    fn write_from(
        &mut self,
        mem: &GuestMemory,
        addr: GuestAddress,
        offset: u64,
        len: u32,
    ) -> Result<(), String> {
        self.file
            .seek(SeekFrom::Start(offset))
            .map_err(|e| e.to_string())?;
        mem.write_all_volatile_to(addr, &mut self.file, len as usize)
            .map_err(|e| e.to_string())
    }
}

impl VirtioDevice for Block {
    fn device_type(&self) -> u32 {
        TYPE_BLOCK
    }

    fn features(&self) -> u64 {
        F_FLUSH | if self.read_only { F_RO } else { 0 }
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &QUEUE_SIZES
    }

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        read_config_bytes(&self.config, offset, data);
    }

    fn process_queue(
        &mut self,
        index: usize,
        queues: &mut [Queue],
        mem: &GuestMemory,
    ) -> Result<bool, DeviceError> {
        let qerr = |err: QueueError| DeviceError::Queue { queue: index, err };
        let mut used = false;
        while let Some(req) = queue::pop(&mut queues[index], mem).map_err(qerr)? {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::virtio::mmio::tests::{bring_up, r, w};
    use crate::devices::virtio::mmio::{MmioTransport, REG_CONFIG, REG_STATUS, STATUS_NEEDS_RESET};
    use crate::devices::virtio::queue::tests::{mem, raw, WRITE};
    use crate::devices::IrqLine;
    use virtio_queue::mock::MockSplitQueue;

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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.img");
        std::fs::write(&path, vec![0u8; (sectors * SECTOR_SIZE) as usize]).unwrap();
        let m = mem();
        let t = MmioTransport::new(
            "disk".into(),
            Box::new(Block::open(&path, ro, "data-1").unwrap()),
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
}
