//! What a host offers to instances: CPU count × `capacity.cpu_overcommit` vCPUs and MemTotal ×
//! `capacity.memory_overcommit` of guest memory, shared by every instance on it that is not
//! Stopped (its node registers this; placement.rs shares it out).

pub use hearth_store::instances::Resources;

use crate::config::Capacity;
use crate::Error;

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

pub fn no_stock(what: &str) -> Error {
    Error::forbidden(
        "OperationDenied.NoStock",
        format!("The requested resource is sold out in the specified zone: {what}; try a smaller instance type or stop other instances."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_of_this_host() {
        let limits = host_limits(&Capacity::default());
        assert!(limits.vcpus >= 4 && limits.memory_mib > 0);
    }
}
