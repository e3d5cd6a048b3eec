//! What this host can run: CPU count × `capacity.cpu_overcommit` vCPUs and MemTotal ×
//! `capacity.memory_overcommit` of guest memory, shared by every instance that is not Stopped.

use crate::config::Capacity;
use crate::{Error, Result};

/// (vCPUs, MiB) this host offers to instances.
pub fn host_limits(c: &Capacity) -> (i64, i64) {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let mem_mib = mem_total_kib().unwrap_or(0) as f64 / 1024.0;
    (
        (cpus * c.cpu_overcommit).floor() as i64,
        (mem_mib * c.memory_overcommit).floor() as i64,
    )
}

fn mem_total_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// How many more instances of (vcpus, mib) fit next to `used`, at most `wanted`.
pub fn how_many_fit(limits: (i64, i64), used: (i64, i64), each: (i64, i64), wanted: i64) -> i64 {
    let mut n = 0;
    while n < wanted
        && used.0 + (n + 1) * each.0 <= limits.0
        && used.1 + (n + 1) * each.1 <= limits.1
    {
        n += 1;
    }
    n
}

pub fn no_stock(what: &str) -> Error {
    Error::forbidden(
        "OperationDenied.NoStock",
        format!("The requested resource is sold out in the specified zone: {what}; try a smaller instance type or stop other instances."),
    )
}

/// `OperationDenied.NoStock` unless one more instance of `each` fits.
pub fn check_fits(limits: (i64, i64), used: (i64, i64), each: (i64, i64)) -> Result<()> {
    if how_many_fit(limits, used, each, 1) == 1 {
        Ok(())
    } else {
        Err(no_stock(&format!(
            "{} vCPUs and {} MiB are in use of {} vCPUs and {} MiB, and the instance needs {} vCPUs and {} MiB",
            used.0, used.1, limits.0, limits.1, each.0, each.1
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting() {
        assert_eq!(how_many_fit((8, 8192), (0, 0), (2, 2048), 10), 4);
        assert_eq!(how_many_fit((8, 8192), (6, 0), (2, 2048), 10), 1);
        assert_eq!(how_many_fit((8, 8192), (0, 7000), (1, 2048), 10), 0);
        assert!(check_fits((8, 8192), (8, 0), (1, 1)).is_err());
        let (cpus, mem) = host_limits(&Capacity::default());
        assert!(cpus >= 4 && mem > 0);
    }
}
