//! The IOPS and throughput ECS publishes for a disk of a category, size and performance level,
//! which hearth enforces with the VMM's rate limiter so a disk behaves like its ECS namesake.
//!
//! Source: Alibaba Cloud ECS documentation, "Block storage performance" (help topic 25382,
//! alibabacloud.com/help/en/ecs/user-guide/block-storage-performance) and "ESSDs" (topic 122389);
//! ESSD AutoPL from "ESSD AutoPL disks". Per disk, capacity in GiB, throughput in MB/s:
//!
//! | category          | IOPS                              | throughput                           |
//! |-------------------|-----------------------------------|--------------------------------------|
//! | cloud_essd PL0    | min(1800 + 12 × GiB, 10 000)      | min(100 + 0.25 × GiB, 180)           |
//! | cloud_essd PL1    | min(1800 + 50 × GiB, 50 000)      | min(120 + 0.5 × GiB, 350)            |
//! | cloud_essd PL2    | min(1800 + 50 × GiB, 100 000)     | min(120 + 0.5 × GiB, 750)            |
//! | cloud_essd PL3    | min(1800 + 50 × GiB, 1 000 000)   | min(120 + 0.5 × GiB, 4000)           |
//! | cloud_auto        | max(min(1800 + 50 × GiB, 50 000), 3000) | max(min(120 + 0.5 × GiB, 350), 125) |
//! | cloud_ssd         | min(1800 + 30 × GiB, 25 000)      | min(120 + 0.5 × GiB, 300)            |
//! | cloud_efficiency  | min(1800 + 8 × GiB, 5000)         | min(100 + 0.15 × GiB, 140)           |
//! | cloud (basic)     | "several hundred": 300            | "30–40": 30                          |
//!
//! Choices of ours, where the documents leave room:
//! - cloud_auto is held to its baseline (which equals PL1 with floors); its provisioned and burst
//!   performance are not modelled, as hearth has no API to provision them.
//! - cloud has no formula, only ranges; we take their low ends.
//! - Local and ephemeral disks (ephemeral_ssd, elastic_ephemeral_disk_*) are bounded by the host's
//!   hardware on ECS, not by a published per-disk formula: no limit. Neither is cloud_essd_entry
//!   (hearth cannot create it) nor any category we do not know.
//! - MB is 10^6 bytes, as the documents write MB/s (and GiB, in binary units, for capacity).

/// What a disk may do, for the VMM's rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskPerformance {
    pub iops: u64,
    pub bytes_per_sec: u64,
}

/// One row of the table: `base + per_gib × GiB`, held between `floor` and `max`.
struct Formula {
    base_iops: u64,
    iops_per_gib: u64,
    max_iops: u64,
    floor_iops: u64,
    base_mb: u64,
    /// Thousandths of a MB/s per GiB, so 0.25 and 0.15 stay exact.
    milli_mb_per_gib: u64,
    max_mb: u64,
    floor_mb: u64,
}

const fn linear(
    base_iops: u64,
    iops_per_gib: u64,
    max_iops: u64,
    base_mb: u64,
    milli_mb_per_gib: u64,
    max_mb: u64,
) -> Formula {
    Formula {
        base_iops,
        iops_per_gib,
        max_iops,
        floor_iops: 0,
        base_mb,
        milli_mb_per_gib,
        max_mb,
        floor_mb: 0,
    }
}

const ESSD_PL0: Formula = linear(1800, 12, 10_000, 100, 250, 180);
const ESSD_PL1: Formula = linear(1800, 50, 50_000, 120, 500, 350);
const ESSD_PL2: Formula = linear(1800, 50, 100_000, 120, 500, 750);
const ESSD_PL3: Formula = linear(1800, 50, 1_000_000, 120, 500, 4000);
const AUTO_BASELINE: Formula = Formula {
    floor_iops: 3000,
    floor_mb: 125,
    ..ESSD_PL1
};
const STANDARD_SSD: Formula = linear(1800, 30, 25_000, 120, 500, 300);
const ULTRA: Formula = linear(1800, 8, 5000, 100, 150, 140);
/// No growth with size: the documents give a flat range.
const BASIC: Formula = linear(300, 0, 300, 30, 0, 30);

const BYTES_PER_MB: u64 = 1_000_000;

impl Formula {
    fn at(&self, gib: u64) -> DiskPerformance {
        let iops = self
            .base_iops
            .saturating_add(self.iops_per_gib.saturating_mul(gib))
            .min(self.max_iops)
            .max(self.floor_iops);
        let milli_mb = (self.base_mb * 1000)
            .saturating_add(self.milli_mb_per_gib.saturating_mul(gib))
            .min(self.max_mb * 1000)
            .max(self.floor_mb * 1000);
        DiskPerformance {
            iops,
            bytes_per_sec: milli_mb * (BYTES_PER_MB / 1000),
        }
    }
}

/// The performance ECS gives a disk, or None when it publishes no per-disk limit for it. An
/// empty performance level on cloud_essd means PL1, ECS's default.
pub fn of(category: &str, size_gib: i64, performance_level: &str) -> Option<DiskPerformance> {
    let formula = match (category, performance_level) {
        ("cloud_essd", "PL0") => &ESSD_PL0,
        ("cloud_essd", "PL1" | "") => &ESSD_PL1,
        ("cloud_essd", "PL2") => &ESSD_PL2,
        ("cloud_essd", "PL3") => &ESSD_PL3,
        ("cloud_auto", _) => &AUTO_BASELINE,
        ("cloud_ssd", _) => &STANDARD_SSD,
        ("cloud_efficiency", _) => &ULTRA,
        ("cloud", _) => &BASIC,
        _ => return None,
    };
    Some(formula.at(u64::try_from(size_gib).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perf(iops: u64, mb_per_sec: f64) -> Option<DiskPerformance> {
        Some(DiskPerformance {
            iops,
            bytes_per_sec: (mb_per_sec * 1e6) as u64,
        })
    }

    #[test]
    fn essd_levels_grow_with_size_up_to_their_caps() {
        assert_eq!(of("cloud_essd", 40, "PL0"), perf(2280, 110.0));
        assert_eq!(of("cloud_essd", 1, "PL0"), perf(1812, 100.25));
        assert_eq!(of("cloud_essd", 10_000, "PL0"), perf(10_000, 180.0));
        assert_eq!(of("cloud_essd", 20, "PL1"), perf(2800, 130.0));
        assert_eq!(of("cloud_essd", 40, "PL1"), perf(3800, 140.0));
        assert_eq!(of("cloud_essd", 32_768, "PL1"), perf(50_000, 350.0));
        assert_eq!(of("cloud_essd", 461, "PL2"), perf(24_850, 350.5));
        assert_eq!(of("cloud_essd", 32_768, "PL2"), perf(100_000, 750.0));
        assert_eq!(of("cloud_essd", 1261, "PL3"), perf(64_850, 750.5));
        assert_eq!(of("cloud_essd", 32_768, "PL3"), perf(1_000_000, 4000.0));
        // ECS's default level.
        assert_eq!(of("cloud_essd", 40, ""), of("cloud_essd", 40, "PL1"));
        assert_eq!(of("cloud_essd", 40, "PL9"), None);
    }

    #[test]
    fn the_older_categories() {
        assert_eq!(of("cloud_ssd", 40, ""), perf(3000, 140.0));
        assert_eq!(of("cloud_ssd", 2048, ""), perf(25_000, 300.0));
        assert_eq!(of("cloud_efficiency", 40, ""), perf(2120, 106.0));
        assert_eq!(of("cloud_efficiency", 20, ""), perf(1960, 103.0));
        assert_eq!(of("cloud_efficiency", 32_768, ""), perf(5000, 140.0));
        assert_eq!(of("cloud", 5, ""), perf(300, 30.0));
        assert_eq!(of("cloud", 2000, ""), perf(300, 30.0));
    }

    #[test]
    fn auto_pl_is_held_to_its_baseline_with_floors() {
        assert_eq!(of("cloud_auto", 1, ""), perf(3000, 125.0));
        assert_eq!(of("cloud_auto", 100, ""), perf(6800, 170.0));
        assert_eq!(of("cloud_auto", 65_536, ""), perf(50_000, 350.0));
    }

    #[test]
    fn local_and_unknown_disks_are_not_limited() {
        assert_eq!(of("ephemeral_ssd", 100, ""), None);
        assert_eq!(of("elastic_ephemeral_disk_premium", 100, ""), None);
        assert_eq!(of("cloud_essd_entry", 100, ""), None);
        assert_eq!(of("floppy", 1, ""), None);
    }

    #[test]
    fn a_nonsense_size_is_the_smallest_disk_not_a_panic() {
        assert_eq!(of("cloud_ssd", -5, ""), perf(1800, 120.0));
        assert_eq!(of("cloud_essd", i64::MAX, "PL3"), perf(1_000_000, 4000.0));
    }
}
