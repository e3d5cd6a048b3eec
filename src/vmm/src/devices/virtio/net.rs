//! virtio-net on a TAP: frames from the guest's transmit queue go to the TAP, frames from the
//! TAP fill the buffers the guest posted on its receive queue.

use std::os::fd::RawFd;

use virtio_queue::{Queue, QueueT};
use vm_memory::Bytes;

use super::queue::{self, QueueError};
use super::tap::{Tap, VNET_HDR_LEN};
use super::{read_config_bytes, DeviceError, VirtioDevice, TYPE_NET};
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
    /// A frame read from the TAP that waits for the guest to post receive buffers.
    pending: Option<usize>,
}

impl Net {
    pub fn new(tap: Tap, mac: [u8; 6]) -> Net {
        Net {
            tap,
            config: mac,
            frame: vec![0; MAX_FRAME],
            pending: None,
        }
    }

    fn transmit(&mut self, q: &mut Queue, mem: &GuestMemory) -> Result<bool, DeviceError> {
        let qerr = |err: QueueError| DeviceError::Queue { queue: TX, err };
        let mut used = false;
        let mut out = Vec::new();
        while let Some(req) = queue::pop(q, mem).map_err(qerr)? {
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

    fn read_config(&self, offset: u64, data: &mut [u8]) {
        read_config_bytes(&self.config, offset, data);
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

    fn reset(&mut self) {
        self.pending = None;
    }
}
