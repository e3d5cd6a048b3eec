//! The network worker: one OS thread that owns a network namespace and does every host-network
//! change in it (netlink, TAP ioctls, `nft`), one at a time. A thread of its own because the
//! network namespace is per thread: a private namespace (tests, `--network-namespace private`)
//! is entered here only, and children it spawns (`nft`) inherit it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, RwLock};

use tokio::sync::oneshot;

use crate::overlay::{OverlayPlan, VpcOverlay};
use crate::plan::Plan;
use crate::{link, metadata, names, nft, tap, vxlan, NetError, Result};

/// Metadata-service marks to bridge names, as of the last applied plan.
type Marks = Arc<RwLock<HashMap<u32, String>>>;

/// Where hearth builds its networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// The namespace `hearth serve` runs in: the host's (production).
    Current,
    /// A new, empty namespace that vanishes with the worker: bridges, TAPs and tables made there
    /// can never leak into the host (tests, the SDK test server).
    Private,
    /// An existing namespace file, e.g. `/run/netns/NAME`.
    Path(PathBuf),
}

impl std::str::FromStr for Namespace {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Namespace, String> {
        match s {
            "host" | "" => Ok(Namespace::Current),
            "private" => Ok(Namespace::Private),
            p if p.starts_with('/') => Ok(Namespace::Path(p.into())),
            other => Err(format!(
                "{other:?} is not host, private or an absolute path to a network namespace"
            )),
        }
    }
}

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// A handle to the worker. Cheap to clone; the worker stops when the last handle is dropped.
#[derive(Clone)]
pub struct Network {
    jobs: mpsc::Sender<Job>,
    namespace_path: PathBuf,
    marks: Marks,
}

struct Worker {
    runtime: tokio::runtime::Runtime,
    handle: rtnetlink::Handle,
    marks: Marks,
    /// The overlay devices this worker made, as it made them (a device it did not make, left by
    /// an earlier process, is made again).
    overlay: BTreeMap<String, (Ipv4Addr, VpcOverlay)>,
}

fn enter(namespace: &Namespace) -> Result<()> {
    match namespace {
        Namespace::Current => Ok(()),
        Namespace::Private => {
            // SAFETY: unshare with CLONE_NEWNET only changes this thread's network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(NetError::io(
                    "cannot create a private network namespace",
                    std::io::Error::last_os_error(),
                ));
            }
            // The new namespace's loopback starts down.
            Ok(())
        }
        Namespace::Path(p) => {
            use std::os::fd::AsRawFd;
            let f = std::fs::File::open(p).map_err(|e| {
                NetError::io(&format!("cannot open network namespace {}", p.display()), e)
            })?;
            // SAFETY: setns on a namespace fd we own; affects this thread only.
            if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(NetError::io(
                    &format!("cannot enter network namespace {}", p.display()),
                    std::io::Error::last_os_error(),
                ));
            }
            Ok(())
        }
    }
}

impl Network {
    /// Starts the worker in `namespace`.
    pub fn start(namespace: Namespace) -> Result<Network> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let marks = Marks::default();
        let worker_marks = marks.clone();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<PathBuf>>();
        std::thread::Builder::new()
            .name("hearth-net".into())
            .spawn(move || {
                let setup = (|| {
                    enter(&namespace)?;
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| NetError::io("cannot start the network runtime", e))?;
                    // The socket belongs to the namespace of the thread that opens it: this one.
                    let handle = runtime.block_on(async {
                        let (conn, handle, _) = rtnetlink::new_connection()
                            .map_err(|e| NetError::io("cannot open a netlink socket", e))?;
                        tokio::spawn(conn);
                        Ok::<_, NetError>(handle)
                    })?;
                    if namespace == Namespace::Private {
                        let lo = runtime.block_on(link::by_name(&handle, "lo"))?;
                        if let Some(lo) = lo {
                            runtime
                                .block_on(handle.link().set(lo.index).up().execute())
                                .map_err(|e| NetError::netlink("bringing lo up", e))?;
                        }
                    }
                    // SAFETY: gettid has no preconditions.
                    let tid = unsafe { libc::gettid() };
                    let path =
                        PathBuf::from(format!("/proc/{}/task/{tid}/ns/net", std::process::id()));
                    Ok((
                        Worker {
                            runtime,
                            handle,
                            marks: worker_marks,
                            overlay: BTreeMap::new(),
                        },
                        path,
                    ))
                })();
                let mut worker = match setup {
                    Ok((w, path)) => {
                        let _ = ready_tx.send(Ok(path));
                        w
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut worker);
                }
            })
            .map_err(|e| NetError::io("cannot start the network thread", e))?;
        let namespace_path = ready_rx.recv().map_err(|_| NetError::Stopped)??;
        Ok(Network {
            jobs,
            namespace_path,
            marks,
        })
    }

    /// The worker's namespace as a file others can `setns` into (valid while the worker runs):
    /// a VMM must run in it to open the TAPs made here.
    pub fn namespace_path(&self) -> &PathBuf {
        &self.namespace_path
    }

    async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Worker) -> R + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |w| {
                let _ = tx.send(f(w));
            }))
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// Makes the host match `plan`: bridges exist, are up and hold their gateway, known TAPs are
    /// on their bridges, the nftables ruleset is the plan's, and hearth bridges not in the plan
    /// are gone. If the ruleset cannot be applied, the previous one stays in force and bridges
    /// this call created are removed again.
    pub async fn apply(&self, plan: Plan) -> Result<()> {
        self.run(move |w| w.apply(&plan)).await?
    }

    /// Creates the persistent TAP `name` and puts it on `bridge` (which must exist: apply the
    /// plan with the NIC's VSwitch first).
    pub async fn create_tap(&self, name: &str, bridge: &str) -> Result<()> {
        let (name, bridge) = (name.to_string(), bridge.to_string());
        self.run(move |w| w.create_tap(&name, &bridge)).await?
    }

    /// Deletes the TAP `name` (no error if it does not exist).
    pub async fn delete_tap(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.run(move |_| {
            tap::delete(&name).map_err(|e| NetError::io(&format!("deleting TAP {name}"), e))
        })
        .await?
    }

    /// Removes everything hearth made: its bridges and both tables (TAPs stay; their owners
    /// delete them).
    pub async fn remove_all(&self) -> Result<()> {
        self.run(|w| w.remove_all()).await?
    }

    /// Starts the metadata service on 100.100.100.200:80 in the worker's namespace, answering
    /// from `table`, as a task on the caller's tokio runtime.
    pub async fn serve_metadata(
        &self,
        table: metadata::MetadataTable,
    ) -> Result<tokio::task::JoinHandle<()>> {
        let listener = self
            .run(|_| {
                // Accepted sockets carry their SYN's mark: how the service knows the bridge.
                crate::sysctl("ipv4/tcp_fwmark_accept", "1")?;
                metadata::listener().map_err(|e| {
                    NetError::io(
                        &format!(
                            "cannot listen on {}:80 for the metadata service",
                            nft::METADATA_ADDRESS
                        ),
                        e,
                    )
                })
            })
            .await??;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| NetError::io("cannot serve the metadata service", e))?;
        Ok(tokio::spawn(metadata::serve(
            listener,
            table,
            self.marks.clone(),
        )))
    }

    /// Runs `f` on the worker thread, inside its namespace (tests use it to spawn commands there).
    pub async fn run_inside<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R> {
        self.run(move |_| f()).await
    }
}

impl Worker {
    fn apply(&mut self, plan: &Plan) -> Result<()> {
        let script = nft::render(plan)?;
        crate::sysctl("ipv4/ip_forward", "1")?;
        let h = self.handle.clone();
        let links = self.runtime.block_on(link::all(&h))?;
        let mut created = Vec::new();
        let result = self.runtime.block_on(async {
            for v in &plan.vswitches {
                if link::ensure_bridge(&h, &v.bridge, v.gateway(), v.cidr.prefix()).await? {
                    created.push(v.bridge.clone());
                }
            }
            for nic in &plan.nics {
                let Some(bridge) = plan
                    .vswitches
                    .iter()
                    .find(|v| v.vswitch_id == nic.vswitch_id)
                else {
                    continue;
                };
                // A TAP the supervisor has not made yet is attached when it is created.
                if let Some(port) = link::by_name(&h, &nic.tap).await? {
                    let bridge = link::by_name(&h, &bridge.bridge).await?.ok_or_else(|| {
                        NetError::Host(format!("bridge {} is missing", bridge.bridge))
                    })?;
                    link::attach(&h, &port, &bridge).await?;
                }
            }
            Ok::<_, NetError>(())
        });
        let result = result.and_then(|()| nft::apply_script(&script));
        if let Err(e) = result {
            self.runtime.block_on(async {
                for name in &created {
                    if let Ok(Some(l)) = link::by_name(&h, name).await {
                        let _ = link::delete(&h, &l).await;
                    }
                }
            });
            return Err(e);
        }
        if let Ok(mut marks) = self.marks.write() {
            *marks = plan
                .vswitches
                .iter()
                .map(|v| (names::bridge_mark(&v.bridge), v.bridge.clone()))
                .collect();
        }
        let wanted: BTreeSet<&str> = plan.vswitches.iter().map(|v| v.bridge.as_str()).collect();
        self.runtime.block_on(async {
            for l in links
                .iter()
                .filter(|l| names::is_hearth_bridge(&l.name) && !wanted.contains(l.name.as_str()))
            {
                link::delete(&h, l).await?;
            }
            Ok::<_, NetError>(())
        })?;
        self.apply_overlay(plan.overlay.as_ref())
    }

    /// Makes each overlay device whose entries changed anew, and removes the ones not wanted.
    fn apply_overlay(&mut self, overlay: Option<&OverlayPlan>) -> Result<()> {
        let h = self.handle.clone();
        let wanted: BTreeMap<&str, &VpcOverlay> = overlay
            .map(|o| o.vpcs.iter().map(|v| (v.device.as_str(), v)).collect())
            .unwrap_or_default();
        let made = &mut self.overlay;
        self.runtime.block_on(async {
            for l in vxlan::devices(&h).await? {
                if !wanted.contains_key(l.name.as_str()) {
                    link::delete(&h, &l).await?;
                    made.remove(&l.name);
                }
            }
            let Some(o) = overlay else {
                return Ok(());
            };
            for v in &o.vpcs {
                let current = made.get(&v.device) == Some(&(o.local, v.clone()));
                if current && link::by_name(&h, &v.device).await?.is_some() {
                    continue;
                }
                made.remove(&v.device);
                vxlan::make(&h, v, o.local).await?;
                made.insert(v.device.clone(), (o.local, v.clone()));
            }
            Ok(())
        })
    }

    fn create_tap(&mut self, name: &str, bridge: &str) -> Result<()> {
        let h = self.handle.clone();
        let bridge_link = self
            .runtime
            .block_on(link::by_name(&h, bridge))?
            .ok_or_else(|| NetError::Plan(format!("bridge {bridge} does not exist")))?;
        tap::create(name).map_err(|e| NetError::io(&format!("creating TAP {name}"), e))?;
        let attached = self.runtime.block_on(async {
            let port = link::by_name(&h, name)
                .await?
                .ok_or_else(|| NetError::Host(format!("TAP {name} vanished after creation")))?;
            link::attach(&h, &port, &bridge_link).await
        });
        if attached.is_err() {
            let _ = tap::delete(name);
        }
        attached
    }

    fn remove_all(&mut self) -> Result<()> {
        nft::apply_script(&nft::remove_script())?;
        let h = self.handle.clone();
        self.overlay.clear();
        self.runtime.block_on(async {
            for l in link::all(&h).await? {
                if names::is_hearth_bridge(&l.name) || l.name.starts_with(names::VXLAN_PREFIX) {
                    link::delete(&h, &l).await?;
                }
            }
            Ok(())
        })
    }
}
