//! Placement: the host each new instance goes to, and whether a host can start the instances
//! it holds. Runs inside the write transaction that records the result, whose lock (an
//! advisory lock on PostgreSQL) serializes every API server: two racing for a host's last
//! room cannot both get it.

use std::collections::HashMap;

use hearth_store::hosts::{self, Listed, Usage};
use hearth_store::instances::Resources;
use hearth_store::Conn;

use crate::config::Config;
use crate::instances::capacity::no_stock;
use crate::{Cloud, Result};

/// A host that may take instances, with what is still free on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub host_id: String,
    pub offered: Resources,
    pub free: Resources,
}

/// Why each host of the zone that is not a candidate is not, for the NoStock message.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Field {
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<String>,
}

/// The hosts of `zone` that may take instances: heard from within the timeout, accepting
/// instances, with the configured free disk.
pub fn field(hosts: &[Listed], usage: &[Usage], zone: &str, config: &Config) -> Field {
    let used: HashMap<&str, &Usage> = usage.iter().map(|u| (u.host_id.as_str(), u)).collect();
    let mut f = Field::default();
    for Listed {
        host: h,
        silent_secs,
    } in hosts.iter().filter(|l| l.host.zone_id == zone)
    {
        let why = if *silent_secs >= config.cluster.host_timeout_secs as i64 {
            Some(format!("silent for {silent_secs} s"))
        } else if !h.accepts {
            Some(format!("its /dev/kvm ({}) cannot boot guests", h.kvm))
        } else if h.disk_gib < config.capacity.min_free_disk_gib {
            Some(format!("{} GiB of disk free", h.disk_gib))
        } else {
            None
        };
        if let Some(why) = why {
            f.excluded.push(format!("{}: {why}", h.host_id));
            continue;
        }
        let u = used.get(h.host_id.as_str());
        let offered = Resources {
            vcpus: h.vcpus,
            memory_mib: h.memory_mib,
        };
        f.candidates.push(Candidate {
            host_id: h.host_id.clone(),
            offered,
            free: Resources {
                vcpus: h.vcpus - u.map_or(0, |u| u.vcpus),
                memory_mib: h.memory_mib - u.map_or(0, |u| u.memory_mib),
            },
        });
    }
    f
}

fn fits(free: Resources, need: Resources) -> bool {
    need.vcpus <= free.vcpus && need.memory_mib <= free.memory_mib
}

/// Places up to `wanted` instances of `each`, one at a time on the candidate with the largest
/// share of its vCPUs free (so a request spreads over hosts), and returns their hosts.
pub fn place(candidates: &mut [Candidate], each: Resources, wanted: i64) -> Vec<String> {
    let mut out = Vec::new();
    while (out.len() as i64) < wanted {
        let share = |c: &Candidate| c.free.vcpus as f64 / c.offered.vcpus.max(1) as f64;
        let best = candidates
            .iter_mut()
            .filter(|c| fits(c.free, each))
            .max_by(|a, b| {
                share(a)
                    .total_cmp(&share(b))
                    .then(b.host_id.cmp(&a.host_id))
            });
        let Some(c) = best else { break };
        c.free.vcpus -= each.vcpus;
        c.free.memory_mib -= each.memory_mib;
        out.push(c.host_id.clone());
    }
    out
}

/// What the zone has, in words, for an `OperationDenied.NoStock` message.
pub fn describe(f: &Field, zone: &str) -> String {
    if f.candidates.is_empty() && f.excluded.is_empty() {
        return format!("no host serves zone {zone}");
    }
    let mut parts: Vec<String> = f
        .candidates
        .iter()
        .map(|c| {
            format!(
                "{}: {} of {} vCPUs and {} of {} MiB free",
                c.host_id, c.free.vcpus, c.offered.vcpus, c.free.memory_mib, c.offered.memory_mib
            )
        })
        .collect();
    parts.extend(f.excluded.iter().cloned());
    format!("hosts of zone {zone}: {}", parts.join("; "))
}

/// The hosts as the store has them now. The host this process is the node of is never silent:
/// its heartbeat may wait behind a long write, but the process answering is the proof of life.
async fn read_hosts(conn: &mut Conn, cloud: &Cloud) -> Result<(Vec<Listed>, Vec<Usage>)> {
    let mut listed = hosts::list(conn).await?;
    if let Some(me) = &cloud.local_host {
        for l in listed.iter_mut().filter(|l| &l.host.host_id == me) {
            l.silent_secs = 0;
        }
    }
    Ok((listed, hosts::usage(conn).await?))
}

/// Hosts for between `min` and `wanted` instances of `each` in `zone`, or NoStock.
pub async fn choose(
    conn: &mut Conn,
    cloud: &Cloud,
    zone: &str,
    each: Resources,
    min: i64,
    wanted: i64,
) -> Result<Vec<String>> {
    let (listed, usage) = read_hosts(conn, cloud).await?;
    let mut f = field(&listed, &usage, zone, &cloud.config);
    let before = describe(&f, zone);
    let chosen = place(&mut f.candidates, each, wanted);
    if (chosen.len() as i64) < min {
        return Err(no_stock(&format!(
            "{min} instance(s) of {} vCPUs and {} MiB do not fit ({before})",
            each.vcpus, each.memory_mib
        )));
    }
    Ok(chosen)
}

/// Whether each host in `needs` (host id → what starting its instances adds) can take it;
/// NoStock naming the first that cannot.
pub async fn check_room(
    conn: &mut Conn,
    cloud: &Cloud,
    needs: &[(String, String, Resources)],
) -> Result<()> {
    let (listed, usage) = read_hosts(conn, cloud).await?;
    let config = &cloud.config;
    let mut by_zone: HashMap<&str, Field> = HashMap::new();
    for (zone, host, need) in needs {
        let f = by_zone
            .entry(zone.as_str())
            .or_insert_with(|| field(&listed, &usage, zone, config));
        let ok = match f.candidates.iter_mut().find(|c| &c.host_id == host) {
            Some(c) if fits(c.free, *need) => {
                c.free.vcpus -= need.vcpus;
                c.free.memory_mib -= need.memory_mib;
                true
            }
            _ => false,
        };
        if !ok {
            return Err(no_stock(&format!(
                "host {host} cannot start {} more vCPUs and {} MiB ({})",
                need.vcpus,
                need.memory_mib,
                describe(f, zone)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_store::hosts::Host;

    fn host(id: &str, vcpus: i64, silent: i64, accepts: bool) -> Listed {
        Listed {
            host: Host {
                host_id: id.into(),
                zone_id: "z".into(),
                kvm: "hardware".into(),
                accepts,
                vcpus,
                memory_mib: vcpus * 1024,
                disk_gib: 100,
                ..Host::default()
            },
            silent_secs: silent,
        }
    }

    fn r(vcpus: i64) -> Resources {
        Resources {
            vcpus,
            memory_mib: vcpus * 1024,
        }
    }

    #[test]
    fn spreads_over_hosts_and_stops_when_full() {
        let hosts = [host("a", 4, 0, true), host("b", 4, 0, true)];
        let mut f = field(&hosts, &[], "z", &Config::default());
        let chosen = place(&mut f.candidates, r(1), 4);
        assert_eq!(chosen, ["a", "b", "a", "b"]);
        let more = place(&mut f.candidates, r(2), 3);
        assert_eq!(more, ["a", "b"], "each host had 2 vCPUs left");
    }

    #[test]
    fn prefers_the_emptier_host() {
        let hosts = [host("a", 8, 0, true), host("b", 8, 0, true)];
        let used = [Usage {
            host_id: "a".into(),
            vcpus: 6,
            memory_mib: 6 * 1024,
        }];
        let mut f = field(&hosts, &used, "z", &Config::default());
        assert_eq!(place(&mut f.candidates, r(1), 3), ["b", "b", "b"]);
    }

    #[test]
    fn silent_refusing_and_other_zone_hosts_are_never_chosen() {
        let mut other = host("c", 64, 0, true);
        other.host.zone_id = "y".into();
        let mut full_disk = host("d", 64, 0, true);
        full_disk.host.disk_gib = 0;
        let hosts = [
            host("a", 64, 30, true),
            host("b", 64, 0, false),
            other,
            full_disk,
        ];
        let mut f = field(&hosts, &[], "z", &Config::default());
        assert!(place(&mut f.candidates, r(1), 1).is_empty());
        let text = describe(&f, "z");
        assert!(text.contains("a: silent for 30 s"), "{text}");
        assert!(text.contains("b: its /dev/kvm"), "{text}");
        assert!(text.contains("d: 0 GiB of disk free"), "{text}");
        assert!(!text.contains("c:"), "{text}");
        assert_eq!(describe(&Field::default(), "z"), "no host serves zone z");
    }
}
