//! This node in the hosts table: it registers what it offers, then beats. A process from
//! another data dir (another machine) with the id of a host that is still beating is refused;
//! the next process of the same data dir (a restart after a crash) takes the row over.

use std::ffi::CString;
use std::path::Path;
use std::time::Duration;

use hearth_cloud::config::Config;
use hearth_cloud::instances::capacity;
use hearth_cloud::{ids, Store};
use hearth_store::hosts::{self, Host};
use hearth_vmm::kvm_check::Kvm;

/// Who this node is and what it offers, as given on its command line and found on the host.
pub struct Identity {
    pub host_id: String,
    pub address: String,
    pub kvm: Kvm,
    /// `--instances off`: records instances, launches nothing.
    pub records_only: bool,
    /// The operator accepts a PVM-only /dev/kvm for guests (payloads that need no more).
    pub accept_pvm: bool,
}

impl Identity {
    /// Instances may be placed here: guests can boot, or none ever will be launched.
    pub fn accepts(&self) -> bool {
        self.records_only
            || self.kvm.can_boot_guests()
            || (self.kvm == Kvm::PvmOnly && self.accept_pvm)
    }
}

pub fn kvm_name(k: Kvm) -> &'static str {
    match k {
        Kvm::Hardware => "hardware",
        Kvm::PvmOnly => "pvm",
        Kvm::Missing => "none",
    }
}

/// The host id kept in `<data-dir>/host-id`, written on first start from the machine's host
/// name: the id stays when the host name changes, so its instances stay its own.
pub fn default_host_id(data_dir: &Path) -> std::io::Result<String> {
    kept(data_dir, "host-id", || {
        machine_hostname().unwrap_or_else(|| "hearth-host".into())
    })
}

/// The one line kept in `<data-dir>/<name>`, written by `make` on first use.
fn kept(data_dir: &Path, name: &str, make: impl FnOnce() -> String) -> std::io::Result<String> {
    let path = data_dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let value = make();
    std::fs::write(&path, format!("{value}\n"))?;
    Ok(value)
}

fn machine_hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// Free GiB of the filesystem holding `dir` (0 when it cannot be read).
pub fn free_disk_gib(dir: &Path) -> i64 {
    let Ok(path) = CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs only writes into the struct we pass.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut s) } != 0 {
        return 0;
    }
    (s.f_bavail as u128 * s.f_frsize as u128 / (1u128 << 30)) as i64
}

/// A host id: what hostnames allow, so it reads the same in logs, docs and the API.
pub fn check_host_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "host id {id:?} is not valid: use 1 to 63 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// The random key of this data dir, kept in `<data-dir>/node-key`: what tells a restart of
/// this node from another machine given the same host id.
pub fn node_key(data_dir: &Path) -> std::io::Result<String> {
    kept(data_dir, "node-key", || ids::new_id("node"))
}

/// The data dir a session was started from.
fn owner(session: &str) -> &str {
    session.split('/').next().unwrap_or_default()
}

/// The row this node writes, with a fresh session of this data dir.
pub fn host_row(me: &Identity, config: &Config, data_dir: &Path) -> std::io::Result<Host> {
    let offered = capacity::host_limits(&config.capacity);
    let session = format!("{}/{}", node_key(data_dir)?, ids::new_id("session"));
    Ok(Host {
        host_id: me.host_id.clone(),
        zone_id: config.zone_of_host(&me.host_id).to_string(),
        address: me.address.clone(),
        kvm: kvm_name(me.kvm).into(),
        accepts: me.accepts(),
        vcpus: offered.vcpus,
        memory_mib: offered.memory_mib,
        disk_gib: free_disk_gib(data_dir),
        session,
        started_at: ids::now_utc(),
    })
}

/// Registers `host`; refused while another process of the same id still beats. Instances
/// recorded before hosts existed become this host's.
pub async fn register(store: &Store, host: &Host, config: &Config) -> anyhow::Result<()> {
    let mut tx = store.write().await?;
    if let Some(old) = hosts::get(&mut tx, &host.host_id).await? {
        let alive = old.silent_secs < config.cluster.host_timeout_secs as i64;
        if alive && owner(&old.host.session) != owner(&host.session) {
            anyhow::bail!(
                "host id {:?} is already in use by another node, which beat {} s ago (started {}, address {:?}): give this node another --host-id, or stop that one and wait {} s",
                host.host_id,
                old.silent_secs,
                old.host.started_at,
                old.host.address,
                config.cluster.host_timeout_secs
            );
        }
    }
    hosts::upsert(&mut tx, host).await?;
    let claimed = hosts::claim_unplaced(&mut tx, &host.host_id).await?;
    tx.commit().await?;
    if claimed > 0 {
        tracing::info!(host = %host.host_id, claimed, "instances recorded before hosts existed now live on this host");
    }
    tracing::info!(host = %host.host_id, zone = %host.zone_id, kvm = %host.kvm, accepts = host.accepts, vcpus = host.vcpus, memory_mib = host.memory_mib, "registered this host");
    Ok(())
}

/// Beats every `every` until the row is lost to another process of this id (then returns, and
/// the node must stop: that process owns the host now). A database that is away is retried.
pub async fn beat(store: Store, host: Host, data_dir: std::path::PathBuf, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let disk = free_disk_gib(&data_dir);
        let beat = async {
            let mut w = store.own_row_write().await?;
            let owned = hosts::heartbeat(&mut w, &host.host_id, &host.session, disk).await?;
            w.finish().await?;
            hearth_store::Result::Ok(owned)
        };
        match beat.await {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(host = %host.host_id, "another node took over this host id");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(kvm: Kvm, records_only: bool, accept_pvm: bool) -> Identity {
        Identity {
            host_id: "h".into(),
            address: String::new(),
            kvm,
            records_only,
            accept_pvm,
        }
    }

    #[test]
    fn only_hosts_that_can_boot_guests_accept_instances() {
        assert!(me(Kvm::Hardware, false, false).accepts());
        assert!(!me(Kvm::PvmOnly, false, false).accepts());
        assert!(me(Kvm::PvmOnly, false, true).accepts());
        assert!(!me(Kvm::Missing, false, true).accepts());
        assert!(me(Kvm::Missing, true, false).accepts());
    }

    #[test]
    fn host_ids() {
        assert!(check_host_id("node-1.lab").is_ok());
        assert!(check_host_id("").is_err());
        assert!(check_host_id("a b").is_err());
        assert!(check_host_id(&"x".repeat(64)).is_err());
    }

    #[test]
    fn the_default_host_id_is_kept() {
        let dir = std::env::temp_dir().join(ids::new_id("hearth-host-id"));
        std::fs::create_dir_all(&dir).unwrap();
        let first = default_host_id(&dir).unwrap();
        std::fs::write(dir.join("host-id"), "renamed\n").unwrap();
        assert_eq!(default_host_id(&dir).unwrap(), "renamed");
        assert!(!first.is_empty());
        assert!(free_disk_gib(&dir) >= 0);
        let key = node_key(&dir).unwrap();
        assert_eq!(node_key(&dir).unwrap(), key, "kept");
        assert_eq!(owner(&format!("{key}/session-x")), key);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
