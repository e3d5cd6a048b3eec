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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hearth_cloud::instances::{self, files, Intent, Status};
use hearth_cloud::Cloud;
use hearth_net::{names, Network};
use hearth_store::disks as disk_store;
use hearth_store::instances as instance_store;
use tokio::sync::Notify;

use hearth_vmm::control::{Command as Control, State};

use crate::decide::{self, Action, Adopt, AfterExit, Failed, Next, Phase, Watching};
use crate::vm_config::{self, HostSide};
use crate::vmm_process;

/// How long a graceful stop (Ctrl-Alt-Del) may take before the VMM is stopped by force.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// How long a fresh VMM may take to answer on its control socket.
const VMM_READY: Duration = Duration::from_secs(10);
/// Rescan even without a wake-up: AutoReleaseTime, and anything a lost wake-up left behind.
const RESCAN: Duration = Duration::from_secs(2);
/// A node that is not also the API removes deleted instances' files every this many passes.
const SWEEP_EVERY: u64 = 15;

pub struct Supervisor {
    cloud: Cloud,
    network: Option<Network>,
    /// The host whose instances this supervisor runs.
    host_id: String,
    /// Instances whose VMM we watch, and what to do when it ends.
    vms: Mutex<HashMap<String, Watched>>,
    /// Reconcile passes so far.
    passes: AtomicU64,
    /// A hash of each console tail last sent to the store (a node that is not also the API).
    consoles_sent: Mutex<HashMap<String, u64>>,
}

struct Watched {
    phase: Phase,
    after_exit: AfterExit,
    /// The intent already acted on, so a rescan does not send it twice.
    handled: Option<Intent>,
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
    pub fn new(cloud: Cloud, network: Option<Network>, host_id: String) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            cloud,
            network,
            host_id,
            vms: Mutex::new(HashMap::new()),
            passes: AtomicU64::new(0),
            consoles_sent: Mutex::new(HashMap::new()),
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Watched>> {
        self.vms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After a restart: every instance of this host the store thinks is up either has a VMM that
    /// still answers (watched again, guest untouched) or is marked Stopped with the reason; one
    /// marked Stopped while the host was silent is Running again if its VMM lived on.
    async fn adopt(self: &Arc<Self>) -> hearth_cloud::Result<()> {
        let mut conn = self.cloud.store.pool().acquire().await?;
        let up = instance_store::on_host(&mut conn, &self.host_id).await?;
        drop(conn);
        for instance_store::State { id, status, intent } in up {
            let paths = Paths::of(&self.cloud.data_dir, &id);
            let alive = vmm_process::request(&paths.socket, Control::Status)
                .await
                .is_ok_and(|s| !s.is_exited());
            match decide::on_restart(status, intent, alive) {
                Adopt::Watch { settle_running } => {
                    tracing::info!(instance = %id, "adopted its running VMM");
                    if settle_running {
                        instances::settle(&self.cloud, &id, Status::Running, intent).await?;
                    }
                    self.watch(&id);
                }
                Adopt::Ended => {
                    note(&paths.console, "the VMM was gone when hearth restarted");
                    self.set_phase(&id, Phase::Exiting, AfterExit::Settle);
                    self.after_exit(&id, AfterExit::Settle, None, intent).await;
                }
                Adopt::Leave => {}
            }
        }
        Ok(())
    }

    /// One pass over the instances with an intent, plus the AutoReleaseTime sweep.
    async fn reconcile(self: &Arc<Self>) -> hearth_cloud::Result<()> {
        if !self.cloud.makes_files
            && self
                .passes
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(SWEEP_EVERY)
        {
            instances::host_files::sweep(&self.cloud).await?;
        }
        self.resettle_lost().await?;
        if !self.cloud.makes_files {
            self.send_consoles().await?;
        }
        for id in instances::due_for_release(&self.cloud, &self.host_id).await? {
            tracing::info!(instance = %id, "AutoReleaseTime reached: releasing");
            let region = self.cloud.config.region.id.clone();
            if let Err(e) =
                instances::delete(&self.cloud, &region, std::slice::from_ref(&id), true, false)
                    .await
            {
                tracing::warn!(instance = %id, error = %e.message, "cannot release");
            }
        }
        for pending in instances::pending_intents(&self.cloud, &self.host_id).await? {
            let (id, Some(intent)) = (pending.id, pending.intent) else {
                continue;
            };
            let watching = self.lock().get(&id).map(|w| Watching {
                phase: w.phase,
                handled: w.handled,
            });
            match decide::on_intent(intent, watching) {
                Action::Skip => {}
                Action::Launch => self.launch(&id, Some(intent)).await,
                Action::SettleRunning => {
                    instances::settle(&self.cloud, &id, Status::Running, Some(intent)).await?;
                }
                Action::End { graceful, after } => {
                    if let Some(w) = self.lock().get_mut(&id) {
                        w.after_exit = after;
                        w.handled = Some(intent);
                    }
                    let socket = Paths::of(&self.cloud.data_dir, &id).socket;
                    self.ask_to_end(&id, &socket, graceful);
                }
                Action::FinishDelete => {
                    instances::finish_delete(&self.cloud, &id).await?;
                    let _ = self.sync_network().await;
                }
                Action::SettleStopped => {
                    instances::settle(&self.cloud, &id, Status::Stopped, Some(intent)).await?;
                }
            }
        }
        Ok(())
    }

    /// Instances shown Stopped while this host was silent (the database away, or the network
    /// to it) whose VMM runs on, watched here: Running again, as the host has it.
    async fn resettle_lost(&self) -> hearth_cloud::Result<()> {
        let mut conn = self.cloud.store.pool().acquire().await?;
        let states = instance_store::on_host(&mut conn, &self.host_id).await?;
        drop(conn);
        for st in states {
            let running_here = self
                .lock()
                .get(&st.id)
                .is_some_and(|w| w.phase == Phase::Running);
            if running_here && decide::shown_stopped_but_running(st.status, st.intent) {
                tracing::info!(instance = %st.id, "its VMM kept running while this host was silent: Running again");
                instances::settle(&self.cloud, &st.id, Status::Running, None).await?;
            }
        }
        Ok(())
    }

    /// Sends the console tail of every instance of this host whose output changed to the
    /// store, where API servers on other hosts read it (GetInstanceConsoleOutput).
    async fn send_consoles(&self) -> hearth_cloud::Result<()> {
        use std::hash::{Hash, Hasher};
        let mut conn = self.cloud.store.pool().acquire().await?;
        let states = instance_store::on_host(&mut conn, &self.host_id).await?;
        drop(conn);
        for st in states {
            let (bytes, when) = instances::view::local_console(&self.cloud, &st.id).await?;
            if bytes.is_empty() {
                continue;
            }
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            let hash = h.finish();
            let sent = self
                .consoles_sent
                .lock()
                .ok()
                .and_then(|m| m.get(&st.id).copied());
            if sent == Some(hash) {
                continue;
            }
            let tail = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let mut w = self.cloud.store.own_row_write().await?;
            hearth_store::consoles::put(&mut w, &st.id, &tail, &when).await?;
            w.finish().await?;
            if let Ok(mut m) = self.consoles_sent.lock() {
                m.insert(st.id.clone(), hash);
            }
        }
        Ok(())
    }

    fn set_phase(&self, id: &str, phase: Phase, after_exit: AfterExit) {
        let mut vms = self.lock();
        let w = vms.entry(id.to_string()).or_insert(Watched {
            phase,
            after_exit,
            handled: None,
        });
        w.phase = phase;
    }

    /// Marks the instance's VMM Running and waits, in a task, for it to end.
    fn watch(self: &Arc<Self>, id: &str) {
        self.set_phase(id, Phase::Running, AfterExit::Settle);
        let me = self.clone();
        let id = id.to_string();
        tokio::spawn(async move {
            let socket = Paths::of(&me.cloud.data_dir, &id).socket;
            let end = vmm_process::wait(&socket).await;
            if let Some(pid) = end.as_ref().ok().and_then(|r| r.pid) {
                vmm_process::wait_gone(pid).await;
            }
            let (reason, code) = match &end {
                Ok(r) => (
                    r.reason.clone().unwrap_or_else(|| "unknown".into()),
                    r.exit_code,
                ),
                Err(e) => (format!("the VMM process died ({e})"), None),
            };
            // Exiting until after_exit is done, so no rescan launches or stops it meanwhile.
            let (after, handled) = match me.lock().get_mut(&id) {
                Some(w) => {
                    w.phase = Phase::Exiting;
                    (w.after_exit, w.handled)
                }
                None => (AfterExit::Settle, None),
            };
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
            me.after_exit(&id, after, code, handled).await;
        });
    }

    /// What follows the end of a VMM; `handled` is the intent that ended it, if any.
    async fn after_exit(
        self: &Arc<Self>,
        id: &str,
        after: AfterExit,
        code: Option<i32>,
        handled: Option<Intent>,
    ) {
        self.remove_tap(id).await;
        // Only a Settle looks at what the store wants now.
        let wanted = match after {
            AfterExit::Settle => self.intent_of(id).await,
            _ => None,
        };
        let rebooted = code == Some(hearth_vmm::exit::ExitKind::Reboot.code());
        let done = match decide::on_exit(after, handled, wanted, rebooted) {
            Next::Launch { acted_on } => {
                self.launch(id, acted_on).await;
                Ok(())
            }
            Next::Delete => self.delete(id).await,
            Next::SettleStopped { acted_on } => {
                self.forget(id, Phase::Exiting);
                instances::settle(&self.cloud, id, Status::Stopped, acted_on)
                    .await
                    .map(|_| ())
            }
        };
        if let Err(e) = done {
            tracing::error!(instance = %id, error = %e.message, "cannot record the end of its VMM");
        }
    }

    async fn delete(&self, id: &str) -> hearth_cloud::Result<()> {
        self.forget(id, Phase::Exiting);
        instances::finish_delete(&self.cloud, id).await?;
        // Its NIC leaves the plan.
        let _ = self.sync_network().await;
        Ok(())
    }

    /// Drops the entry if it is still in `phase` (a relaunch may have replaced it).
    fn forget(&self, id: &str, phase: Phase) {
        let mut vms = self.lock();
        if vms.get(id).is_some_and(|w| w.phase == phase) {
            vms.remove(id);
        }
    }

    async fn intent_of(&self, id: &str) -> Option<Intent> {
        let mut conn = self.cloud.store.pool().acquire().await.ok()?;
        instance_store::get(&mut conn, id).await.ok()??.intent
    }

    /// Shutdown (Ctrl-Alt-Del, then force after STOP_GRACE) or stop at once.
    fn ask_to_end(&self, id: &str, socket: &Path, graceful: bool) {
        let socket = socket.to_path_buf();
        let id = id.to_string();
        tokio::spawn(async move {
            let first = if graceful {
                Control::Shutdown
            } else {
                Control::Stop
            };
            if let Err(e) = vmm_process::request(&socket, first).await {
                tracing::warn!(instance = %id, error = %e, "cannot reach the VMM to {first:?}");
            }
            if graceful {
                // Connected to this VMM now; a later VMM on the same path (after a reboot) is
                // never the one stopped here.
                let Ok(this_vmm) = tokio::net::UnixStream::connect(&socket).await else {
                    return;
                };
                tokio::select! {
                    _ = vmm_process::wait_on(this_vmm) => {}
                    _ = tokio::time::sleep(STOP_GRACE) => {
                        tracing::warn!(instance = %id, "the guest ignored the shutdown: stopping it");
                        let _ = vmm_process::request(&socket, Control::Stop).await;
                    }
                }
            }
        });
    }

    /// Starts the instance's VMM and settles it Running (clearing `acted_on`, the intent that
    /// asked for it) once the VMM runs the guest; a launch that fails ends Stopped with the reason
    /// in its console output.
    async fn launch(self: &Arc<Self>, id: &str, acted_on: Option<Intent>) {
        self.set_phase(id, Phase::Launching, AfterExit::Settle);
        let paths = Paths::of(&self.cloud.data_dir, id);
        match self.try_launch(id, &paths).await {
            Ok(()) => {
                if let Err(e) = instances::settle(&self.cloud, id, Status::Running, acted_on).await
                {
                    tracing::error!(instance = %id, error = %e.message, "cannot record Running");
                }
                // A Stop that came in meanwhile is still recorded; the next pass acts on it.
                self.watch(id);
            }
            Err(reason) => {
                tracing::warn!(instance = %id, %reason, "launch failed");
                note(
                    &paths.console,
                    &format!("the instance could not start: {reason}"),
                );
                self.forget(id, Phase::Launching);
                self.remove_tap(id).await;
                let wanted = self.intent_of(id).await;
                let settled = match decide::on_launch_failed(acted_on, wanted) {
                    Failed::Delete => self.delete(id).await,
                    Failed::Settle { acted_on } => {
                        instances::settle_launch_failed(&self.cloud, id, acted_on)
                            .await
                            .map(|_| ())
                    }
                };
                if let Err(e) = settled {
                    tracing::error!(instance = %id, error = %e.message, "cannot record the failed launch");
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
        let mut disks = disk_store::of_instance(&mut conn, id)
            .await
            .map_err(|e| e.to_string())?;
        drop(conn);
        // This host's files, wherever the API server that recorded the instance runs.
        instances::host_files::ensure(&self.cloud, id)
            .await
            .map_err(|e| e.message)?;
        for d in &mut disks {
            d.path = files::disk_path(&self.cloud.data_dir, &d.id)
                .to_string_lossy()
                .into_owned();
        }
        let tap = names::tap_name(id, 0);
        if let Some(network) = &self.network {
            let bridge = names::bridge_name(&instance.vswitch_id);
            // After a reboot the previous VMM may still be closing its end of the TAP for a
            // moment (EBUSY): wait for it rather than fail the restart.
            let mut tries = 0;
            loop {
                match network.create_tap(&tap, &bridge).await {
                    Ok(()) => break,
                    Err(e) if e.is_busy() && tries < 100 => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            self.sync_network().await?;
        }
        let host = HostSide {
            kernel: self.kernel(),
            seed: files::seed_path(&self.cloud.data_dir, id),
            tap: self.network.as_ref().map(|_| tap),
            console: paths.console.clone(),
            control_socket: paths.socket.clone(),
        };
        let config = vm_config::build(&instance, &disks, &host)?;
        std::fs::create_dir_all(&paths.dir).map_err(|e| e.to_string())?;
        let json = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
        std::fs::write(&paths.config, json).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&paths.socket);
        let netns = self.network.as_ref().map(|n| n.namespace_path().as_path());
        let pid = vmm_process::spawn(&paths.config, &paths.log, netns)
            .map_err(|e| format!("cannot start hearth-vmm: {e}"))?;
        let failed = match vmm_process::wait_for_socket(&paths.socket, VMM_READY, pid).await {
            Ok(status) if status.state == Some(State::Running) => return Ok(()),
            Ok(status) => format!(
                "the VMM did not run the guest: {}",
                status.reason.as_deref().unwrap_or("no reason given")
            ),
            Err(e) => format!("the VMM did not start ({e}): {}", last_lines(&paths.log, 5)),
        };
        // Never leave a VMM we do not watch: it would hold the disks and the TAP.
        vmm_process::kill(pid);
        Err(failed)
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
