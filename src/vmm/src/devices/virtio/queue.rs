//! Taking requests off a virtqueue with every guest-controlled value checked: the available
//! index, the head index, chain length (loops), and that each buffer lies in guest RAM.
//!
//! virtio-queue's iterators stop silently on most of these; a device needs to know *why*, so it
//! can fail loudly instead of serving half a chain.

use std::num::Wrapping;
use std::sync::atomic::Ordering;

use virtio_queue::{Queue, QueueOwnedT, QueueT};
use vm_memory::{GuestAddress, GuestMemoryBackend};

use crate::memory::GuestMemory;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the queue's rings are not in guest memory or misaligned")]
    InvalidRings,
    #[error("the available index {avail} is more than the queue size {size} ahead of {next}")]
    AvailIndexTooFar { avail: u16, next: u16, size: u16 },
    #[error("cannot read the available ring")]
    UnreadableRing,
    #[error("descriptor chain at head {head} is empty or its head index is out of range")]
    BadHead { head: u16 },
    #[error("descriptor chain at head {head} loops or links past the descriptor table")]
    ChainLoops { head: u16 },
    #[error("descriptor chain at head {head}: buffer {addr:#x}+{len} is outside guest memory")]
    OutOfRange { head: u16, addr: u64, len: u32 },
    #[error("cannot write the used ring: {0}")]
    UsedRing(String),
}

/// One guest buffer of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    pub addr: GuestAddress,
    pub len: u32,
    pub writable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub head: u16,
    pub buffers: Vec<Buffer>,
}

impl Request {
    pub fn readable(&self) -> impl Iterator<Item = &Buffer> {
        self.buffers.iter().filter(|b| !b.writable)
    }

    pub fn writable(&self) -> impl Iterator<Item = &Buffer> {
        self.buffers.iter().filter(|b| b.writable)
    }
}

/// Checks the rings once when the driver marks the queue ready.
pub fn check_rings(queue: &Queue, mem: &GuestMemory) -> Result<(), QueueError> {
    if queue.is_valid(mem) {
        Ok(())
    } else {
        Err(QueueError::InvalidRings)
    }
}

/// The next request, `None` when the guest has made nothing more available.
pub fn pop(queue: &mut Queue, mem: &GuestMemory) -> Result<Option<Request>, QueueError> {
    let avail = queue
        .avail_idx(mem, Ordering::Acquire)
        .map_err(|_| QueueError::UnreadableRing)?;
    let next = Wrapping(queue.next_avail());
    if avail == next {
        return Ok(None);
    }
    let size = queue.size();
    if (avail - next).0 > size {
        return Err(QueueError::AvailIndexTooFar {
            avail: avail.0,
            next: next.0,
            size,
        });
    }
    let chain = queue
        .iter(mem)
        .map_err(|_| QueueError::UnreadableRing)?
        .next()
        .ok_or(QueueError::UnreadableRing)?;
    let head = chain.head_index();
    if head >= size {
        return Err(QueueError::BadHead { head });
    }
    let mut buffers = Vec::new();
    let mut ends_with_next = false;
    for desc in chain {
        ends_with_next = desc.has_next();
        if !GuestMemoryBackend::check_range(mem, desc.addr(), desc.len() as usize) {
            return Err(QueueError::OutOfRange {
                head,
                addr: desc.addr().0,
                len: desc.len(),
            });
        }
        buffers.push(Buffer {
            addr: desc.addr(),
            len: desc.len(),
            writable: desc.is_write_only(),
        });
    }
    if buffers.is_empty() {
        return Err(QueueError::BadHead { head });
    }
    // virtio-queue stops after `size` descriptors or at an out-of-table link; either way the last
    // one it gave us still says "more follows", which a well-formed chain never does.
    if ends_with_next {
        return Err(QueueError::ChainLoops { head });
    }
    Ok(Some(Request { head, buffers }))
}

/// Puts the request `pop` just returned back at the head of the queue, for a device that cannot
/// serve it yet (over its rate limit): it is served later, in the same order, not lost.
pub fn unpop(queue: &mut Queue) {
    queue.go_to_previous_position();
}

/// Returns a request's buffers to the guest with `len` bytes written into them.
pub fn complete(
    queue: &mut Queue,
    mem: &GuestMemory,
    head: u16,
    len: u32,
) -> Result<(), QueueError> {
    queue
        .add_used(mem, head, len)
        .map_err(|e| QueueError::UsedRing(e.to_string()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use virtio_queue::desc::{split::Descriptor as SplitDescriptor, RawDescriptor};
    use virtio_queue::mock::MockSplitQueue;
    use vm_memory::Bytes;

    pub const NEXT: u16 = 1;
    pub const WRITE: u16 = 2;

    pub fn mem() -> GuestMemory {
        GuestMemory::from_ranges(&[(GuestAddress(0), 0x20_0000)]).unwrap()
    }

    pub fn raw(addr: u64, len: u32, flags: u16, next: u16) -> RawDescriptor {
        RawDescriptor::from(SplitDescriptor::new(addr, len, flags, next))
    }

    #[test]
    fn well_formed_chain() {
        let m = mem();
        let vq = MockSplitQueue::new(&m, 16);
        vq.add_desc_chains(
            &[raw(0x10_0000, 16, NEXT, 1), raw(0x10_1000, 512, WRITE, 0)],
            0,
        )
        .unwrap();
        let mut q: Queue = vq.create_queue().unwrap();
        let r = pop(&mut q, &m).unwrap().unwrap();
        assert_eq!(r.head, 0);
        assert_eq!(r.buffers.len(), 2);
        assert!(r.buffers[1].writable);
        assert_eq!(pop(&mut q, &m).unwrap(), None);
        complete(&mut q, &m, 0, 512).unwrap();
    }

    #[test]
    fn an_unpopped_request_comes_back_first() {
        let m = mem();
        let vq = MockSplitQueue::new(&m, 16);
        vq.add_desc_chains(&[raw(0x10_0000, 16, 0, 0), raw(0x10_1000, 16, 0, 0)], 0)
            .unwrap();
        let mut q: Queue = vq.create_queue().unwrap();
        let first = pop(&mut q, &m).unwrap().unwrap();
        unpop(&mut q);
        assert_eq!(pop(&mut q, &m).unwrap(), Some(first));
        assert_eq!(pop(&mut q, &m).unwrap().unwrap().head, 1);
    }

    /// A 4-entry queue with `descriptors` written in place (no validation, so broken chains
    /// can be built) and one available chain starting at `head`.
    fn offering(m: &GuestMemory, descriptors: &[(u16, RawDescriptor)], head: u16) -> Queue {
        let vq = MockSplitQueue::new(m, 4);
        for (index, d) in descriptors {
            vq.desc_table().store(*index, *d).unwrap();
        }
        vq.avail().ring().ref_at(0).unwrap().store(head);
        vq.avail().idx().store(1);
        vq.create_queue().unwrap()
    }

    #[test]
    fn descriptor_loop_is_detected() {
        let m = mem();
        // 0 -> 1 -> 0 -> ...
        let loops = [
            (0, raw(0x10_0000, 8, NEXT, 1)),
            (1, raw(0x10_0000, 8, NEXT, 0)),
        ];
        let mut q = offering(&m, &loops, 0);
        assert_eq!(pop(&mut q, &m), Err(QueueError::ChainLoops { head: 0 }));
    }

    #[test]
    fn next_past_the_table_is_detected() {
        let m = mem();
        let mut q = offering(&m, &[(0, raw(0x10_0000, 8, NEXT, 200))], 0);
        assert_eq!(pop(&mut q, &m), Err(QueueError::ChainLoops { head: 0 }));
    }

    #[test]
    fn head_index_out_of_range() {
        let m = mem();
        let mut q = offering(&m, &[], 9);
        assert_eq!(pop(&mut q, &m), Err(QueueError::BadHead { head: 9 }));
    }

    #[test]
    fn avail_index_too_far_ahead() {
        let m = mem();
        let vq = MockSplitQueue::new(&m, 4);
        vq.avail().idx().store(100);
        let mut q: Queue = vq.create_queue().unwrap();
        assert!(matches!(
            pop(&mut q, &m),
            Err(QueueError::AvailIndexTooFar { avail: 100, .. })
        ));
    }

    #[test]
    fn buffer_outside_guest_memory() {
        let m = mem();
        let vq = MockSplitQueue::new(&m, 4);
        vq.add_desc_chains(&[raw(0x1f_fff0, 0x100, WRITE, 0)], 0)
            .unwrap();
        let mut q: Queue = vq.create_queue().unwrap();
        assert!(matches!(
            pop(&mut q, &m),
            Err(QueueError::OutOfRange { .. })
        ));
        let vq2 = MockSplitQueue::create(&m, GuestAddress(0x1000), 4);
        vq2.add_desc_chains(&[raw(u64::MAX - 8, 0x100, 0, 0)], 0)
            .unwrap();
        let mut q2: Queue = vq2.create_queue().unwrap();
        assert!(matches!(
            pop(&mut q2, &m),
            Err(QueueError::OutOfRange { .. })
        ));
        let _ = m.read_obj::<u8>(GuestAddress(0));
    }
}
