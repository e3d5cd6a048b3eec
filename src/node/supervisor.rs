//! The instance supervisor: makes each instance's VMM process match what the API asked for.
//!
//! The API records an intent (start, stop, force_stop, reboot, force_reboot, delete) with a
//! transitional status and wakes us. We act, watch every VMM through its control socket
//! (`wait`), and settle an instance's status only when the host got there: Running once the VMM
//! runs the guest, Stopped once the process has ended. What we know lives in the store and in
//! the VMMs themselves, so a restarted `hearth serve` adopts the VMMs it finds still running.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_cloud::instances::{self, files, STATUS_RUNNING, STATUS_STOPPED};
use hearth_cloud::Cloud;
use hearth_net::{names, Network};
use hearth_store::disks as disk_store;
use hearth_store::instances as instance_store;
use hearth_vmm::config::{DiskConfig, NicConfig, VmConfig};
use tokio::sync::Notify;

use super::vmm_process;

/// How long a graceful stop (Ctrl-Alt-Del) may take before the VMM is stopped by force.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// How long a fresh VMM may take to answer on its control socket.
const VMM_READY: Duration = Duration::from_secs(10);
/// Rescan even without a wake-up: AutoReleaseTime, and anything a lost wake-up left behind.
const RESCAN: Duration = Duration::from_secs(2);
/// Linux on our VMM: serial console, i8042 reset, no PCI, the system disk as root.
const CMDLINE: &str = "console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw";

pub struct Supervisor {
    cloud: Cloud,
    network: Option<Network>,
    /// Instances whose VMM we watch, and what to do when it ends.
    vms: Mutex<HashMap<String, Watched>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AfterExit {
    /// Stopped (or, for a guest that rebooted itself, started again).
    Settle,
    /// RebootInstance: start it again.
    Restart,
    /// DeleteInstance with Force on a running instance.
    Delete,
}

struct Watched {
    after_exit: AfterExit,
    /// The intent already acted on, so a rescan does not send it twice.
    handled: Option<String>,
}

/// Where an instance's VMM keeps its files.
struct Paths {
    dir: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    console: PathBuf,
}

impl Paths {
    fn of(data_dir: &Path, id: &str) -> Paths {
        let dir = files::instance_dir(data_dir, id);
        Paths {
            config: dir.join("vmm.json"),
            socket: dir.join("vmm.sock"),
            log: dir.join("vmm.log"),
            console: files::console_path(data_dir, id),
            dir,
        }
    }
}

impl Supervisor {
    pub fn new(cloud: Cloud, network: Option<Network>) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            cloud,
            network,
            vms: Mutex::new(HashMap::new()),
        })
    }

    /// Adopts the VMMs still running from before, then acts on every wake-up and rescan.
    pub async fn run(self: Arc<Self>, wake: Arc<Notify>) {
        if let Err(e) = self.adopt().await {
            tracing::error!(error = %e, "could not adopt running instances");
        }
        loop {
            if let Err(e) = self.reconcile().await {
                tracing::warn!(error = %e, "instance supervisor pass failed; retrying");
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(RESCAN) => {}
            }
        }
    }

    fn watched(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Watched>> {
        self.vms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After a restart of `hearth serve`: every instance the store thinks is up either has a VMM
    /// that still answers (watched again, guest untouched) or is marked Stopped with the reason.
    async fn adopt(self: &Arc<Self>) -> hearth_cloud::Result<()> {
        let mut conn = self.cloud.store.pool().acquire().await?;
        let up = instance_store::not_stopped(&mut conn).await?;
        drop(conn);
        for (id, status, intent) in up {
            let paths = Paths::of(&self.cloud.data_dir, &id);
            let alive = vmm_process::request(&paths.socket, "status")
                .await
                .is_ok_and(|s| s["state"] != "exited");
            if alive {
                tracing::info!(instance = %id, "adopted its running VMM");
                self.watch(&id, AfterExit::Settle);
                if status != STATUS_RUNNING && intent.is_none() {
                    instances::settle(&self.cloud, &id, STATUS_RUNNING).await?;
                }
            } else if intent.as_deref() != Some("start") {
                note(&paths.console, "the VMM was gone when hearth restarted");
                self.after_exit(&id, AfterExit::Settle, None).await;
            }
        }
        Ok(())
    }

    /// One pass over the instances with an intent, plus the AutoReleaseTime sweep.
    async fn reconcile(self: &Arc<Self>) -> hearth_cloud::Result<()> {
        for id in instances::due_for_release(&self.cloud).await? {
            tracing::info!(instance = %id, "AutoReleaseTime reached: releasing");
            let region = self.cloud.config.region.id.clone();
            if let Err(e) =
                instances::delete(&self.cloud, &region, std::slice::from_ref(&id), true, false)
                    .await
            {
                tracing::warn!(instance = %id, error = %e.message, "cannot release");
            }
        }
        for (id, _status, intent) in instances::pending_intents(&self.cloud).await? {
            let already = self.lock().get(&id).and_then(|w| w.handled.clone());
            if already.as_deref() == Some(intent.as_str()) {
                continue;
            }
            let paths = Paths::of(&self.cloud.data_dir, &id);
            let live = self.watched(&id);
            match (intent.as_str(), live) {
                ("start", false) => self.launch(&id).await,
                ("start", true) => instances::settle(&self.cloud, &id, STATUS_RUNNING).await?,
                ("stop" | "force_stop" | "reboot" | "force_reboot" | "delete", true) => {
                    let after = match intent.as_str() {
                        "reboot" | "force_reboot" => AfterExit::Restart,
                        "delete" => AfterExit::Delete,
                        _ => AfterExit::Settle,
                    };
                    let graceful = intent == "stop" || intent == "reboot";
                    if let Some(w) = self.lock().get_mut(&id) {
                        w.after_exit = after;
                        w.handled = Some(intent.clone());
                    }
                    self.ask_to_end(&id, &paths.socket, graceful);
                }
                ("reboot" | "force_reboot", false) => self.launch(&id).await,
                ("delete", false) => instances::finish_delete(&self.cloud, &id).await?,
                (_, false) => instances::settle(&self.cloud, &id, STATUS_STOPPED).await?,
                (other, true) => {
                    tracing::warn!(instance = %id, intent = other, "unknown intent ignored")
                }
            }
        }
        Ok(())
    }

    fn watch(self: &Arc<Self>, id: &str, after_exit: AfterExit) {
        self.lock().insert(
            id.to_string(),
            Watched {
                after_exit,
                handled: None,
            },
        );
        let me = self.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let socket = Paths::of(&me.cloud.data_dir, &id).socket;
            let end = vmm_process::wait(&socket).await;
            let (reason, code) = match &end {
                Ok(v) => (
                    v["reason"].as_str().unwrap_or("unknown").to_string(),
                    v["exit_code"].as_i64(),
                ),
                Err(e) => (format!("the VMM process died ({e})"), None),
            };
            let after = me
                .lock()
                .remove(&id)
                .map_or(AfterExit::Settle, |w| w.after_exit);
            let console = Paths::of(&me.cloud.data_dir, &id).console;
            note(
                &console,
                &format!(
                    "the VM ended: {reason}{}",
                    code.map(|c| format!(" (exit code {c})"))
                        .unwrap_or_default()
                ),
            );
            tracing::info!(instance = %id, %reason, "VMM ended");
            me.after_exit(&id, after, code).await;
        });
    }

    /// What follows the end of a VMM.
    async fn after_exit(self: &Arc<Self>, id: &str, after: AfterExit, code: Option<i64>) {
        self.remove_tap(id).await;
        let done = match after {
            AfterExit::Restart => {
                self.launch(id).await;
                Ok(())
            }
            AfterExit::Delete => instances::finish_delete(&self.cloud, id).await,
            AfterExit::Settle => {
                // A guest that rebooted itself stays Running on a fresh VMM, as on ECS, unless
                // the API meanwhile asked for something else.
                let wanted = self.intent_of(id).await;
                if code == Some(hearth_vmm::exit::ExitKind::Reboot.code().into())
                    && wanted.is_none()
                {
                    self.launch(id).await;
                    Ok(())
                } else if wanted.as_deref() == Some("delete") {
                    instances::finish_delete(&self.cloud, id).await
                } else {
                    instances::settle(&self.cloud, id, STATUS_STOPPED).await
                }
            }
        };
        if let Err(e) = done {
            tracing::error!(instance = %id, error = %e.message, "cannot record the end of its VMM");
        }
        let _ = self.sync_network().await;
    }

    async fn intent_of(&self, id: &str) -> Option<String> {
        let mut conn = self.cloud.store.pool().acquire().await.ok()?;
        instance_store::get(&mut conn, id).await.ok()??.intent
    }

    /// Shutdown (Ctrl-Alt-Del, then force after STOP_GRACE) or stop at once.
    fn ask_to_end(&self, id: &str, socket: &Path, graceful: bool) {
        let socket = socket.to_path_buf();
        let id = id.to_string();
        tokio::spawn(async move {
            let first = if graceful { "shutdown" } else { "stop" };
            if let Err(e) = vmm_process::request(&socket, first).await {
                tracing::warn!(instance = %id, error = %e, "cannot reach the VMM to {first}");
            }
            if graceful {
                tokio::time::sleep(STOP_GRACE).await;
                if vmm_process::request(&socket, "status").await.is_ok() {
                    tracing::warn!(instance = %id, "the guest ignored the shutdown: stopping it");
                    let _ = vmm_process::request(&socket, "stop").await;
                }
            }
        });
    }

    /// Starts the instance's VMM and settles it Running once the VMM runs the guest; a launch
    /// that fails ends Stopped with the reason in its console output.
    async fn launch(self: &Arc<Self>, id: &str) {
        let paths = Paths::of(&self.cloud.data_dir, id);
        match self.try_launch(id, &paths).await {
            Ok(()) => {
                if let Err(e) = instances::settle(&self.cloud, id, STATUS_RUNNING).await {
                    tracing::error!(instance = %id, error = %e.message, "cannot record Running");
                }
            }
            Err(reason) => {
                tracing::warn!(instance = %id, %reason, "launch failed");
                note(
                    &paths.console,
                    &format!("the instance could not start: {reason}"),
                );
                let _ = vmm_process::request(&paths.socket, "stop").await;
                self.lock().remove(id);
                self.remove_tap(id).await;
                if let Err(e) = instances::settle(&self.cloud, id, STATUS_STOPPED).await {
                    tracing::error!(instance = %id, error = %e.message, "cannot record Stopped");
                }
            }
        }
    }

    async fn try_launch(self: &Arc<Self>, id: &str, paths: &Paths) -> Result<(), String> {
        let mut conn = self
            .cloud
            .store
            .pool()
            .acquire()
            .await
            .map_err(|e| e.to_string())?;
        let instance = instance_store::get(&mut conn, id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the instance is gone")?;
        let disks = disk_store::of_instance(&mut conn, id)
            .await
            .map_err(|e| e.to_string())?;
        drop(conn);
        let tap = names::tap_name(id, 0);
        if let Some(network) = &self.network {
            network
                .create_tap(&tap, &names::bridge_name(&instance.vswitch_id))
                .await?;
            self.sync_network().await?;
        }
        let mut vm_disks: Vec<DiskConfig> = disks
            .iter()
            .map(|d| DiskConfig {
                path: PathBuf::from(&d.path),
                read_only: false,
                // As on ECS, the guest sees the disk ID without "d-" as the serial
                // (/dev/disk/by-id/virtio-<that>); virtio-blk serials hold 20 bytes.
                id: d.id.strip_prefix("d-").unwrap_or(&d.id).to_string(),
            })
            .collect();
        vm_disks.push(DiskConfig {
            path: files::seed_path(&self.cloud.data_dir, id),
            read_only: true,
            id: "cidata".into(),
        });
        let config = VmConfig {
            vcpus: u8::try_from(instance.vcpus).map_err(|_| "too many vCPUs for one VM")?,
            memory_mib: u64::try_from(instance.memory_mib).map_err(|_| "bad memory size")?,
            kernel: self.kernel(),
            initrd: None,
            cmdline: CMDLINE.into(),
            disks: vm_disks,
            nics: match self.network {
                Some(_) => vec![NicConfig {
                    tap,
                    mac: instance.mac.clone(),
                }],
                None => Vec::new(),
            },
            rng: true,
            console_log: Some(paths.console.clone()),
            control_socket: Some(paths.socket.clone()),
        };
        std::fs::create_dir_all(&paths.dir).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
        std::fs::write(&paths.config, json).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&paths.socket);
        let netns = self.network.as_ref().map(|n| n.namespace_path().as_path());
        let pid = vmm_process::spawn(&paths.config, &paths.log, netns)
            .map_err(|e| format!("cannot start hearth vmm: {e}"))?;
        match vmm_process::wait_for_socket(&paths.socket, VMM_READY, pid).await {
            Ok(status) if status["state"] == "running" => {
                self.watch(id, AfterExit::Settle);
                Ok(())
            }
            Ok(status) => Err(format!(
                "the VMM did not run the guest: {}",
                status["reason"].as_str().unwrap_or("no reason given")
            )),
            Err(_) => Err(format!(
                "the VMM did not start: {}",
                last_lines(&paths.log, 5)
            )),
        }
    }

    fn kernel(&self) -> PathBuf {
        self.cloud.data_dir.join("vmlinux")
    }

    async fn remove_tap(&self, id: &str) {
        if let Some(network) = &self.network {
            if let Err(e) = network.delete_tap(&names::tap_name(id, 0)).await {
                tracing::debug!(instance = %id, error = %e, "no TAP to remove");
            }
        }
    }

    async fn sync_network(&self) -> Result<(), String> {
        self.cloud.host.sync_network().await.map_err(|e| e.message)
    }
}

/// Appends a line of hearth's own to the instance's console output (what
/// GetInstanceConsoleOutput shows), so its user sees why it stopped.
fn note(console: &Path, text: &str) {
    if let Some(dir) = console.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(console)
    {
        let _ = writeln!(f, "\r\n[hearth] {text}\r");
    }
}

fn last_lines(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}
