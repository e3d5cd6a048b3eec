//! The host's catalog configuration (`hearth.toml`): region, zones and instance-type families.
//! Every field has a documented default, so a missing file means "use the defaults".

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The one region this host serves. Default `hearth-local`.
    pub region: Region,
    /// Zones of the region. Default: one zone, `hearth-local-a`.
    pub zones: Vec<Zone>,
    /// Instance-type families. Default: g (1 vCPU : 4 GiB), c (1:2), r (1:8) of generation 7
    /// and t6 (burstable).
    pub families: Vec<Family>,
    /// Where images live (manifest.json + raw files). Default: `<data-dir>/images`.
    pub images_dir: Option<PathBuf>,
    /// Instance networking on this host (`[network]`).
    pub network: Network,
    /// How much of this host instances may use (`[capacity]`).
    pub capacity: Capacity,
    /// Hosts sharing one database (`[cluster]`).
    pub cluster: Cluster,
}

/// `[cluster]`: how hosts that share one database keep track of each other.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cluster {
    /// Seconds between a node's heartbeats. Default 2.
    pub heartbeat_secs: u64,
    /// A host silent this many seconds is unavailable: nothing is placed there and its
    /// instances are shown Stopped. Default 10.
    pub host_timeout_secs: u64,
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            heartbeat_secs: 2,
            host_timeout_secs: 10,
        }
    }
}

/// `[network]`: how instances reach the world.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// Masquerade (source-NAT to the uplink's address) traffic from VPCs that leaves the host,
    /// so instances reach the outside without public IPs. Default `true`.
    pub masquerade: bool,
    /// The interface that counts as the uplink for masquerade and public IPs, e.g. `"eth0"`.
    /// Default: none, meaning any interface that is not a hearth bridge.
    pub uplink: Option<String>,
    /// Public IPs for instances, as a CIDR block routed to this host (e.g. `"203.0.113.0/28"`);
    /// each instance given one is DNATed from it and SNATed to it. Default: none.
    pub public_ip_pool: Option<String>,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            masquerade: true,
            uplink: None,
            public_ip_pool: None,
        }
    }
}

/// The host's capacity for instances: RunInstances and StartInstance refuse with
/// `OperationDenied.NoStock` when the vCPUs or memory of the instances that are not Stopped,
/// plus the request, would exceed CPU count × `cpu_overcommit` or MemTotal × `memory_overcommit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capacity {
    /// vCPUs per host CPU. Default 4.0.
    pub cpu_overcommit: f64,
    /// Guest memory per byte of host memory. Default 1.0 (no overcommit).
    pub memory_overcommit: f64,
    /// Free GiB a host must have where its disks live to take a new instance (disks are sparse
    /// or reflinked, so what counts is the space still free). Default 1.
    pub min_free_disk_gib: i64,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            cpu_overcommit: 4.0,
            memory_overcommit: 1.0,
            min_free_disk_gib: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub id: String,
    #[serde(default)]
    pub local_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub id: String,
    #[serde(default)]
    pub local_name: String,
    /// The host ids of this zone. A host no zone lists belongs to the first zone.
    #[serde(default)]
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    /// The family letter(s): `g`, `c`, `r`, `t`.
    pub name: String,
    /// Generations offered: `[7]` gives `ecs.g7.*`.
    pub generations: Vec<u32>,
    /// GiB of memory per vCPU for the `large` and bigger sizes.
    pub memory_per_vcpu_gib: f64,
    /// Burstable families (t) offer only small shapes.
    #[serde(default)]
    pub burstable: bool,
    /// Sizes offered: `small`, `medium`, `large`, `xlarge`, `Nxlarge`.
    pub sizes: Vec<String>,
}

impl Default for Region {
    fn default() -> Self {
        Region {
            id: "hearth-local".into(),
            local_name: "hearth local region".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let standard = |name: &str, ratio: f64| Family {
            name: name.into(),
            generations: vec![7],
            memory_per_vcpu_gib: ratio,
            burstable: false,
            sizes: [
                "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
            ]
            .map(String::from)
            .to_vec(),
        };
        Config {
            region: Region::default(),
            zones: vec![Zone {
                id: "hearth-local-a".into(),
                local_name: "hearth local zone A".into(),
                hosts: Vec::new(),
            }],
            families: vec![
                standard("g", 4.0),
                standard("c", 2.0),
                standard("r", 8.0),
                Family {
                    name: "t".into(),
                    generations: vec![6],
                    memory_per_vcpu_gib: 2.0,
                    burstable: true,
                    sizes: ["small", "medium", "large", "xlarge"]
                        .map(String::from)
                        .to_vec(),
                },
            ],
            images_dir: None,
            network: Network::default(),
            capacity: Capacity::default(),
            cluster: Cluster::default(),
        }
    }
}

impl Config {
    /// Reads `path` if it exists, else the defaults. A file that exists but does not parse is an
    /// error naming the file and the problem.
    pub fn load(path: &Path) -> Result<Config, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str::<Config>(&text)
                .map_err(|e| e.to_string())
                .and_then(|c| c.check().map(|()| c))
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Rules serde cannot express: every family has a name, generations and known sizes.
    fn check(&self) -> Result<(), String> {
        if let Some(pool) = &self.network.public_ip_pool {
            crate::cidr::Cidr::parse(pool).map_err(|e| format!("network.public_ip_pool: {e}"))?;
        }
        if let Some(u) = &self.network.uplink {
            let ok = !u.is_empty()
                && u.len() <= 15
                && u.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if !ok {
                return Err(format!("network.uplink {u:?} is not an interface name"));
            }
        }
        let c = &self.capacity;
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(c.cpu_overcommit) || !positive(c.memory_overcommit) {
            return Err("capacity: cpu_overcommit and memory_overcommit must be positive".into());
        }
        if c.min_free_disk_gib < 0 {
            return Err("capacity: min_free_disk_gib must not be negative".into());
        }
        let k = &self.cluster;
        if k.heartbeat_secs == 0 || k.host_timeout_secs < 2 * k.heartbeat_secs {
            return Err(format!("cluster: heartbeat_secs must be at least 1 and host_timeout_secs at least twice it (got {} and {})", k.heartbeat_secs, k.host_timeout_secs));
        }
        let mut listed = std::collections::HashSet::new();
        for h in self.zones.iter().flat_map(|z| &z.hosts) {
            if !listed.insert(h) {
                return Err(format!("zones: host {h:?} is listed in more than one zone"));
            }
        }
        for f in &self.families {
            if f.name.is_empty() || !f.name.chars().all(|c| c.is_ascii_lowercase()) {
                return Err(format!(
                    "family name {:?} must be lower-case letters",
                    f.name
                ));
            }
            if f.generations.is_empty()
                || !f.memory_per_vcpu_gib.is_finite()
                || f.memory_per_vcpu_gib <= 0.0
            {
                return Err(format!(
                    "family {:?} needs generations and a positive memory_per_vcpu_gib",
                    f.name
                ));
            }
            if let Some(bad) = f
                .sizes
                .iter()
                .find(|s| crate::catalog::size_vcpus(s).is_none())
            {
                return Err(format!("family {:?}: size {bad:?} is not small, medium, large, xlarge or Nxlarge (N from 2 to 64)", f.name));
            }
        }
        Ok(())
    }

    /// The zone `host_id` belongs to: the zone listing it, else the first zone.
    pub fn zone_of_host(&self, host_id: &str) -> &str {
        self.zones
            .iter()
            .find(|z| z.hosts.iter().any(|h| h == host_id))
            .or(self.zones.first())
            .map(|z| z.id.as_str())
            .unwrap_or_default()
    }

    pub fn images_dir(&self, data_dir: &Path) -> PathBuf {
        self.images_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("images"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Config, String> {
        let path =
            std::env::temp_dir().join(format!("{}.toml", crate::ids::new_id("hearth-config")));
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let got = Config::load(&path);
        let _ = std::fs::remove_file(&path);
        got
    }

    #[test]
    fn families_are_checked() {
        let family = |size: &str, ratio: f64| {
            format!("[[families]]\nname = \"g\"\ngenerations = [8]\nmemory_per_vcpu_gib = {ratio:?}\nsizes = [\"{size}\"]\n")
        };
        let ok = load_text(&family("4xlarge", 4.0)).unwrap();
        assert_eq!(ok.families[0].generations, [8]);
        assert!(load_text(&family("huge", 4.0))
            .unwrap_err()
            .contains("\"huge\""));
        assert!(load_text(&family("large", 0.0)).is_err());
        assert!(Config::load(Path::new("/nonexistent/hearth.toml")).is_ok());
        let c = load_text("[capacity]\ncpu_overcommit = 2.0\n").unwrap();
        assert_eq!(
            (c.capacity.cpu_overcommit, c.capacity.memory_overcommit),
            (2.0, 1.0)
        );
        assert!(load_text("[capacity]\nmemory_overcommit = 0.0\n").is_err());
    }

    #[test]
    fn network_section() {
        let d = Config::default();
        assert!(d.network.masquerade && d.network.public_ip_pool.is_none());
        let c = load_text("[network]\nmasquerade = false\nuplink = \"eth0\"\npublic_ip_pool = \"203.0.113.0/28\"\n").unwrap();
        assert!(!c.network.masquerade);
        assert_eq!(c.network.uplink.as_deref(), Some("eth0"));
        assert!(
            load_text("[network]\npublic_ip_pool = \"203.0.113.1/28\"\n")
                .unwrap_err()
                .contains("public_ip_pool")
        );
        assert!(load_text("[network]\nuplink = \"a b\"\n").is_err());
        assert!(load_text("[network]\nbogus = 1\n").is_err());
    }
}
