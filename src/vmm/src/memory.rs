//! Guest RAM: exactly the configured size, split around the 32-bit MMIO hole, and the e820 map
//! that tells the guest which parts are RAM.

use vm_memory::{GuestAddress, GuestMemoryMmap};

use crate::layout::{EBDA_START, HIMEM_START, MMIO_GAP_END, MMIO_GAP_START};

pub type GuestMemory = GuestMemoryMmap<()>;

pub const MIB: u64 = 1 << 20;

/// The e820 types the guest kernel understands (we only need two).
pub const E820_RAM: u32 = 1;
pub const E820_RESERVED: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct E820Entry {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
}

/// The RAM ranges for `bytes` of guest memory: one below the hole, and the rest above 4 GiB.
pub fn ram_ranges(bytes: u64) -> Vec<(GuestAddress, u64)> {
    if bytes <= MMIO_GAP_START {
        vec![(GuestAddress(0), bytes)]
    } else {
        vec![
            (GuestAddress(0), MMIO_GAP_START),
            (GuestAddress(MMIO_GAP_END), bytes - MMIO_GAP_START),
        ]
    }
}

/// Maps guest RAM in this process. Anonymous, private, not touched until the guest uses it, so the
/// VMM's resident size grows only with what the guest really touches.
pub fn create(memory_mib: u64) -> Result<GuestMemory, String> {
    let bytes = memory_mib
        .checked_mul(MIB)
        .ok_or_else(|| format!("memory_mib {memory_mib} is too large"))?;
    let ranges: Vec<(GuestAddress, usize)> = ram_ranges(bytes)
        .into_iter()
        .map(|(a, s)| (a, s as usize))
        .collect();
    GuestMemoryMmap::from_ranges(&ranges)
        .map_err(|e| format!("cannot reserve {memory_mib} MiB of guest memory on this host: {e}"))
}

/// The map the guest sees: RAM below the EBDA, the EBDA/legacy hole reserved, RAM from 1 MiB up
/// to the MMIO hole, and RAM above 4 GiB when there is more.
pub fn e820_map(bytes: u64) -> Vec<E820Entry> {
    let mut map = vec![
        E820Entry {
            addr: 0,
            size: EBDA_START,
            kind: E820_RAM,
        },
        E820Entry {
            addr: EBDA_START,
            size: HIMEM_START - EBDA_START,
            kind: E820_RESERVED,
        },
    ];
    for (start, size) in ram_ranges(bytes) {
        let start = start.0.max(HIMEM_START);
        let end = if start >= MMIO_GAP_END {
            start + size
        } else {
            size
        };
        if end > start {
            map.push(E820Entry {
                addr: start,
                size: end - start,
                kind: E820_RAM,
            });
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::GuestMemoryBackend;

    #[test]
    fn small_guest_is_one_region_of_exact_size() {
        let mem = create(64).unwrap();
        assert_eq!(mem.num_regions(), 1);
        let total: u64 = mem.iter().map(vm_memory::GuestMemoryRegion::len).sum();
        assert_eq!(total, 64 * MIB);
    }

    #[test]
    fn large_guest_splits_around_the_hole() {
        let r = ram_ranges(4096 * MIB);
        assert_eq!(r[0], (GuestAddress(0), MMIO_GAP_START));
        assert_eq!(
            r[1],
            (GuestAddress(MMIO_GAP_END), 4096 * MIB - MMIO_GAP_START)
        );
        let e = e820_map(4096 * MIB);
        assert_eq!(e.len(), 4);
        assert_eq!(e[2].addr, HIMEM_START);
        assert_eq!(e[2].addr + e[2].size, MMIO_GAP_START);
        assert_eq!(e[3].addr, MMIO_GAP_END);
        let ram: u64 = e
            .iter()
            .filter(|e| e.kind == E820_RAM)
            .map(|e| e.size)
            .sum();
        // Everything but the 384 KiB legacy hole below 1 MiB is RAM to the guest.
        assert_eq!(ram, 4096 * MIB - (HIMEM_START - EBDA_START));
    }

    #[test]
    fn e820_of_512_mib() {
        let e = e820_map(512 * MIB);
        assert_eq!(
            e,
            vec![
                E820Entry {
                    addr: 0,
                    size: EBDA_START,
                    kind: E820_RAM
                },
                E820Entry {
                    addr: EBDA_START,
                    size: HIMEM_START - EBDA_START,
                    kind: E820_RESERVED
                },
                E820Entry {
                    addr: HIMEM_START,
                    size: 512 * MIB - HIMEM_START,
                    kind: E820_RAM
                },
            ]
        );
    }
}
