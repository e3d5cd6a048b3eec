//! The host's instance-type catalog, derived from the configured families: for every family,
//! generation and size there is one type `ecs.<family><generation>.<size>`.
//!
//! Shapes: `small` and `medium` have 1 vCPU, `large` 2, `xlarge` 4 and `Nxlarge` 4×N. Memory is
//! vCPUs × the family's GiB per vCPU, except `small`, which has half of `medium`'s memory
//! (g: small 1c2g, medium 1c4g, large 2c8g; t: small 1c1g, medium 1c2g, large 2c4g).

use crate::config::{Config, Family};

#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    /// `ecs.g7.large`
    pub id: String,
    /// `ecs.g7`
    pub family: String,
    /// `ecs-7`, as ECS names generations.
    pub generation: String,
    pub vcpus: u32,
    pub memory_mib: u64,
    /// Burstable (t) types run on CPU credits in ECS; hearth does not meter credits.
    pub burstable: bool,
    /// ECS' category: `General-purpose`, `Compute-optimized`, `Memory-optimized`, `Burstable`,
    /// or empty for families hearth cannot classify.
    pub category: &'static str,
}

impl InstanceType {
    pub fn memory_gib(&self) -> f64 {
        self.memory_mib as f64 / 1024.0
    }
}

/// An instance-type family as DescribeInstanceTypeFamilies lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeFamily {
    /// `ecs.g7`
    pub id: String,
    /// `ecs-7`
    pub generation: String,
}

/// vCPUs of a size name, or `None` when the name is not a size.
pub fn size_vcpus(size: &str) -> Option<u32> {
    match size {
        "small" | "medium" => Some(1),
        "large" => Some(2),
        "xlarge" => Some(4),
        _ => {
            let n: u32 = size.strip_suffix("xlarge")?.parse().ok()?;
            // `1xlarge` is spelled `xlarge`; leading zeros and absurd sizes are not sizes.
            if !(2..=64).contains(&n) || size.starts_with('0') {
                return None;
            }
            Some(4 * n)
        }
    }
}

fn memory_mib(family: &Family, size: &str, vcpus: u32) -> u64 {
    let gib = if size == "small" {
        family.memory_per_vcpu_gib / 2.0
    } else {
        family.memory_per_vcpu_gib * vcpus as f64
    };
    (gib * 1024.0).round() as u64
}

fn category(family: &Family) -> &'static str {
    if family.burstable {
        return "Burstable";
    }
    match family.name.as_str() {
        "g" => "General-purpose",
        "c" => "Compute-optimized",
        "r" => "Memory-optimized",
        _ => "",
    }
}

/// Every instance type of the configuration, in configuration order. Sizes that are not size
/// names are skipped (`Config::load` refuses them, so only a hand-built `Config` has any).
pub fn instance_types(config: &Config) -> Vec<InstanceType> {
    let mut out = Vec::new();
    for family in &config.families {
        for generation in &family.generations {
            for size in &family.sizes {
                let Some(vcpus) = size_vcpus(size) else {
                    continue;
                };
                out.push(InstanceType {
                    id: format!("ecs.{}{}.{}", family.name, generation, size),
                    family: format!("ecs.{}{}", family.name, generation),
                    generation: format!("ecs-{generation}"),
                    vcpus,
                    memory_mib: memory_mib(family, size, vcpus),
                    burstable: family.burstable,
                    category: category(family),
                });
            }
        }
    }
    out
}

/// The instance type `id` (e.g. `ecs.g7.large`) if this host offers it.
pub fn instance_type(config: &Config, id: &str) -> Option<InstanceType> {
    instance_types(config).into_iter().find(|t| t.id == id)
}

/// Every family (`ecs.g7`) with its generation, in configuration order.
pub fn families(config: &Config) -> Vec<TypeFamily> {
    let mut out = Vec::new();
    for family in &config.families {
        for generation in &family.generations {
            out.push(TypeFamily {
                id: format!("ecs.{}{}", family.name, generation),
                generation: format!("ecs-{generation}"),
            });
        }
    }
    out
}

/// A disk category with the sizes (GiB) it can be created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskCategory {
    pub name: &'static str,
    pub min_gib: u32,
    pub max_gib: u32,
}

const fn disk(name: &'static str, min_gib: u32, max_gib: u32) -> DiskCategory {
    DiskCategory {
        name,
        min_gib,
        max_gib,
    }
}

/// System disk categories and sizes, as ECS offers them.
pub const SYSTEM_DISKS: &[DiskCategory] = &[
    disk("cloud", 20, 500),
    disk("cloud_efficiency", 20, 2048),
    disk("cloud_ssd", 20, 2048),
    disk("cloud_essd", 20, 2048),
];

/// Data disk categories and sizes, as ECS offers them.
pub const DATA_DISKS: &[DiskCategory] = &[
    disk("cloud", 5, 2000),
    disk("cloud_efficiency", 20, 32768),
    disk("cloud_ssd", 20, 32768),
    disk("cloud_essd", 20, 32768),
];

/// The CPU architecture ECS reports for this host's instance types: `X86` or `ARM`.
pub fn cpu_architecture() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "ARM"
    } else {
        "X86"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(c: &Config, id: &str) -> (u32, u64) {
        let t = instance_type(c, id).unwrap_or_else(|| panic!("{id} missing"));
        (t.vcpus, t.memory_mib)
    }

    #[test]
    fn default_shapes() {
        let c = Config::default();
        assert_eq!(shape(&c, "ecs.g7.small"), (1, 2048));
        assert_eq!(shape(&c, "ecs.g7.medium"), (1, 4096));
        assert_eq!(shape(&c, "ecs.g7.large"), (2, 8192));
        assert_eq!(shape(&c, "ecs.g7.xlarge"), (4, 16384));
        assert_eq!(shape(&c, "ecs.g7.8xlarge"), (32, 131072));
        assert_eq!(shape(&c, "ecs.c7.large"), (2, 4096));
        assert_eq!(shape(&c, "ecs.r7.2xlarge"), (8, 65536));
        assert_eq!(shape(&c, "ecs.t6.small"), (1, 1024));
        assert_eq!(shape(&c, "ecs.t6.medium"), (1, 2048));
        assert_eq!(shape(&c, "ecs.t6.large"), (2, 4096));
        assert!(instance_type(&c, "ecs.t6.2xlarge").is_none());
        assert!(instance_type(&c, "ecs.g6.large").is_none());
        let t = instance_type(&c, "ecs.t6.large").unwrap();
        assert!(t.burstable);
        assert_eq!(
            (t.family.as_str(), t.generation.as_str()),
            ("ecs.t6", "ecs-6")
        );
        assert_eq!(instance_types(&c).len(), 3 * 7 + 4);
        assert_eq!(
            families(&c)
                .iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>(),
            ["ecs.g7", "ecs.c7", "ecs.r7", "ecs.t6"]
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(size_vcpus("3xlarge"), Some(12));
        for bad in [
            "huge",
            "1xlarge",
            "0xlarge",
            "02xlarge",
            "xxlarge",
            "-2xlarge",
            "100xlarge",
        ] {
            assert_eq!(size_vcpus(bad), None, "{bad}");
        }
    }
}
