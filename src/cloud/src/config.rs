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
        }
    }
}

impl Config {
    /// Reads `path` if it exists, else the defaults. A file that exists but does not parse is an
    /// error naming the file and the problem.
    pub fn load(path: &Path) -> Result<Config, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn images_dir(&self, data_dir: &Path) -> PathBuf {
        self.images_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("images"))
    }
}
