//! The Tencent Cloud CVM dialect (API 2017-03-12) over the same resources as ECS: the rules
//! where CVM differs from ECS (instance counts, `{R:x}` name patterns, host names, passwords,
//! disk types, charge types), the CVM names of instance types and states, and the translation
//! of the shared (ECS-worded) error codes into CVM's. One ID space serves both dialects
//! (docs/cvm.md).

pub mod errors;
pub mod instance_types;
pub mod launch;
pub mod lifecycle;
pub mod login;
pub mod naming;
pub mod states;

use crate::config::Config;
use crate::instances::Policy;

/// Where CVM's RunInstances differs from ECS's: InstanceCount up to 500, LoginSettings'
/// password rule, and any prepaid Period with DeletionProtection on any charge type.
pub const POLICY: Policy = Policy {
    max_amount: naming::MAX_INSTANCE_COUNT,
    password: login::PASSWORD,
    ecs_billing: false,
};

/// The numeric zone ID CVM's DescribeZones reports next to the zone name: 100001 for the first
/// configured zone, 100002 for the second, …, so it is stable for a given hearth.toml.
pub fn zone_number(config: &Config, zone: &str) -> Option<String> {
    config
        .zones
        .iter()
        .position(|z| z.id == zone)
        .map(|i| (100_001 + i).to_string())
}

/// CVM writes times as `2026-11-22T12:00:00Z` like ECS; VPC writes `2026-11-22 12:00:00`.
pub fn vpc_time(ecs_time: &str) -> String {
    ecs_time.replace('T', " ").trim_end_matches('Z').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_and_times() {
        let c = Config::default();
        assert_eq!(zone_number(&c, "hearth-local-a").as_deref(), Some("100001"));
        assert_eq!(zone_number(&c, "nowhere"), None);
        assert_eq!(vpc_time("2026-11-22T12:00:00Z"), "2026-11-22 12:00:00");
    }
}
