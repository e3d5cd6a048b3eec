//! CVM names for the host's instance types. Every ECS type `ecs.<family><gen>.<size>` has one
//! CVM name `<FAMILY><gen>.<SIZE><GiB>`: the family g is S (standard), c is C (compute), r is M
//! (memory), any other family its letters in upper case (t6 is T6); the size follows CVM's
//! by vCPUs (1 SMALL, 2 MEDIUM, 4 LARGE, 4N NXLARGE) and the suffix is the memory in GiB.
//! So ecs.g7.large (2 vCPUs, 8 GiB) is S7.MEDIUM8 and ecs.c7.large (2, 4 GiB) is C7.MEDIUM4.
//! Types whose memory is not a whole number of GiB have no CVM name.

use crate::catalog::{self, InstanceType};
use crate::config::Config;

#[derive(Debug, Clone, PartialEq)]
pub struct CvmType {
    /// `S7.MEDIUM8`
    pub name: String,
    /// `S7`
    pub family: String,
    pub cpu: u32,
    pub memory_gib: u64,
    /// The catalog type it is.
    pub ecs: InstanceType,
}

fn family_letters(ecs_family: &str) -> String {
    match ecs_family {
        "g" => "S".into(),
        "c" => "C".into(),
        "r" => "M".into(),
        other => other.to_ascii_uppercase(),
    }
}

fn size(vcpus: u32) -> Option<String> {
    match vcpus {
        1 => Some("SMALL".into()),
        2 => Some("MEDIUM".into()),
        4 => Some("LARGE".into()),
        n if n.is_multiple_of(4) && n >= 8 => Some(format!("{}XLARGE", n / 4)),
        _ => None,
    }
}

/// The CVM name of a catalog type, if it has one.
pub fn of(t: &InstanceType) -> Option<CvmType> {
    let generation = t.generation.strip_prefix("ecs-")?;
    let letters = t.family.strip_prefix("ecs.")?.strip_suffix(generation)?;
    if !t.memory_mib.is_multiple_of(1024) {
        return None;
    }
    let family = format!("{}{generation}", family_letters(letters));
    let memory_gib = t.memory_mib / 1024;
    Some(CvmType {
        name: format!("{family}.{}{memory_gib}", size(t.vcpus)?),
        family,
        cpu: t.vcpus,
        memory_gib,
        ecs: t.clone(),
    })
}

/// Every type with a CVM name, in catalog order.
pub fn all(config: &Config) -> Vec<CvmType> {
    catalog::instance_types(config)
        .iter()
        .filter_map(of)
        .collect()
}

/// The type named `name` (`S7.MEDIUM8`; case as CVM writes it).
pub fn find(config: &Config, name: &str) -> Option<CvmType> {
    all(config).into_iter().find(|t| t.name == name)
}

/// The CVM name of the catalog type `ecs_id`, or the ECS ID itself when it has none.
pub fn name_of(config: &Config, ecs_id: &str) -> String {
    catalog::instance_type(config, ecs_id)
        .and_then(|t| of(&t))
        .map(|t| t.name)
        .unwrap_or_else(|| ecs_id.to_string())
}

/// The type RunInstances uses without InstanceType: the smallest (fewest vCPUs, then least
/// memory, then catalog order).
pub fn default_type(config: &Config) -> Option<CvmType> {
    all(config)
        .into_iter()
        .min_by_key(|t| (t.cpu, t.memory_gib))
}

/// Whether `name` has CVM's form `FAMILY.SIZE<n>` (else `InvalidInstanceType.Malformed`).
pub fn well_formed(name: &str) -> bool {
    let Some((family, size)) = name.split_once('.') else {
        return false;
    };
    !family.is_empty()
        && family.chars().all(|c| c.is_ascii_alphanumeric())
        && !size.is_empty()
        && size.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_names() {
        let c = Config::default();
        let shape = |n: &str| find(&c, n).map(|t| (t.ecs.id, t.cpu, t.memory_gib));
        assert_eq!(shape("S7.MEDIUM8"), Some(("ecs.g7.large".into(), 2, 8)));
        assert_eq!(shape("C7.MEDIUM4"), Some(("ecs.c7.large".into(), 2, 4)));
        assert_eq!(shape("S7.SMALL2"), Some(("ecs.g7.small".into(), 1, 2)));
        assert_eq!(shape("S7.SMALL4"), Some(("ecs.g7.medium".into(), 1, 4)));
        assert_eq!(
            shape("M7.2XLARGE64"),
            Some(("ecs.r7.2xlarge".into(), 8, 64))
        );
        assert_eq!(shape("T6.SMALL1"), Some(("ecs.t6.small".into(), 1, 1)));
        assert_eq!(shape("S5.MEDIUM4"), None);
        assert_eq!(name_of(&c, "ecs.g7.xlarge"), "S7.LARGE16");
        assert_eq!(default_type(&c).map(|t| t.name), Some("C7.SMALL1".into()));
        // Names are unique.
        let mut names: Vec<String> = all(&c).into_iter().map(|t| t.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(n, catalog::instance_types(&c).len());
        assert!(well_formed("S5.MEDIUM4") && !well_formed("S5") && !well_formed("a b.c"));
    }
}
