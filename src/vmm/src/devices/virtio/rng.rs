//! virtio-rng: fills every buffer the guest offers with bytes from the host's getrandom(2).

use virtio_queue::Queue;
use vm_memory::Bytes;

use super::queue::{self, QueueError};
use super::{DeviceError, VirtioDevice, TYPE_RNG};
use crate::memory::GuestMemory;

const QUEUE_SIZES: [u16; 1] = [256];
/// Per request; a guest asking for more gets this much and asks again.
const MAX_BYTES_PER_REQUEST: u32 = 64 * 1024;

#[derive(Default)]
pub struct Rng {
    buf: Vec<u8>,
}

impl Rng {
    pub fn new() -> Rng {
        Rng::default()
    }
}

fn fill_random(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`, which we own.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        } else {
            done += n as usize;
        }
    }
    Ok(())
}

impl VirtioDevice for Rng {
    fn device_type(&self) -> u32 {
        TYPE_RNG
    }

    fn features(&self) -> u64 {
        0
    }

    fn queue_max_sizes(&self) -> &[u16] {
        &QUEUE_SIZES
    }

    fn process_queue(
        &mut self,
        index: usize,
        queues: &mut [Queue],
        mem: &GuestMemory,
    ) -> Result<bool, DeviceError> {
        let qerr = |err: QueueError| DeviceError::Queue { queue: index, err };
        let q = &mut queues[index];
        let mut used = false;
        while let Some(req) = queue::pop(q, mem).map_err(qerr)? {
            let mut written: u32 = 0;
            for b in req.writable() {
                let len = b.len.min(MAX_BYTES_PER_REQUEST - written);
                if len == 0 {
                    break;
                }
                self.buf.resize(len as usize, 0);
                fill_random(&mut self.buf)
                    .map_err(|e| DeviceError::Backend(format!("getrandom: {e}")))?;
                mem.write_slice(&self.buf, b.addr)
                    .map_err(|e| DeviceError::Protocol {
                        queue: index,
                        what: format!("writing random bytes: {e}"),
                    })?;
                written += len;
            }
            queue::complete(q, mem, req.head, written).map_err(qerr)?;
            used = true;
        }
        Ok(used)
    }
}
