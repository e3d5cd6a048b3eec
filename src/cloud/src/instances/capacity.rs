//! What this host can run: CPU count × `capacity.cpu_overcommit` vCPUs and MemTotal ×
//! `capacity.memory_overcommit` of guest memory, shared by every instance that is not Stopped.

pub use hearth_store::instances::Resources;

use crate::config::Capacity;
use crate::{Error, Result};

/// What this host offers to instances.
pub fn host_limits(c: &Capacity) -> Resources {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let mem_mib = mem_total_kib().unwrap_or(0) as f64 / 1024.0;
    Resources {
        vcpus: (cpus * c.cpu_overcommit).floor() as i64,
        memory_mib: (mem_mib * c.memory_overcommit).floor() as i64,
    }
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

/// How many more instances of `each` fit next to `used`, at most `wanted`.
pub fn how_many_fit(limits: Resources, used: Resources, each: Resources, wanted: i64) -> i64 {
    let mut n = 0;
    while n < wanted
        && used.vcpus + (n + 1) * each.vcpus <= limits.vcpus
        && used.memory_mib + (n + 1) * each.memory_mib <= limits.memory_mib
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
pub fn check_fits(limits: Resources, used: Resources, each: Resources) -> Result<()> {
    if how_many_fit(limits, used, each, 1) == 1 {
        Ok(())
    } else {
        Err(no_stock(&format!(
            "{} vCPUs and {} MiB are in use of {} vCPUs and {} MiB, and the instance needs {} vCPUs and {} MiB",
            used.vcpus,
            used.memory_mib,
            limits.vcpus,
            limits.memory_mib,
            each.vcpus,
            each.memory_mib
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(vcpus: i64, memory_mib: i64) -> Resources {
        Resources { vcpus, memory_mib }
    }

    #[test]
    fn fitting() {
        assert_eq!(how_many_fit(r(8, 8192), r(0, 0), r(2, 2048), 10), 4);
        assert_eq!(how_many_fit(r(8, 8192), r(6, 0), r(2, 2048), 10), 1);
        assert_eq!(how_many_fit(r(8, 8192), r(0, 7000), r(1, 2048), 10), 0);
        assert!(check_fits(r(8, 8192), r(8, 0), r(1, 1)).is_err());
        let limits = host_limits(&Capacity::default());
        assert!(limits.vcpus >= 4 && limits.memory_mib > 0);
    }
}
