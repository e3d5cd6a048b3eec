//! `hearth serve`: opens the store, loads the catalog, and runs this process's roles until
//! SIGINT/SIGTERM: the API, this host's node agent (registration, heartbeat, networks and the
//! instance supervisor), or both (the default: one host on its own).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use hearth_api::auth::{Authenticator, KeyRing};
use hearth_api::{router, ApiState};
use hearth_cloud::config::Config;
use hearth_cloud::{Cloud, Store};
use hearth_node::registry;

#[derive(Args)]
pub struct ServeArgs {
    /// Address the API listens on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "HEARTH_LISTEN")]
    listen: SocketAddr,
    /// Where hearth keeps its state (database, credentials, disks).
    #[arg(long, default_value = "/var/lib/hearth", env = "HEARTH_DATA_DIR")]
    data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default: SQLite in the data dir.
    #[arg(long, env = "HEARTH_DATABASE_URL")]
    database_url: Option<String>,
    /// Catalog configuration (region, zones, instance types). Default: <data-dir>/hearth.toml;
    /// a missing file means the documented defaults.
    #[arg(long, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    /// Where instance networks (bridges, TAPs, nftables) are built: `host` (this machine's
    /// network namespace), `private` (a new namespace that disappears with the process; for
    /// tests), a path to a network namespace (e.g. /run/netns/NAME), or `off` (API only).
    #[arg(long, default_value = "host", env = "HEARTH_HOST_NETWORK")]
    host_network: String,
    /// `run`: supervise instances (start, stop and watch one `hearth vmm` per running
    /// instance; the kernel is <data-dir>/vmlinux). `off`: record instances only, launch
    /// nothing (an API-only node, as the API-level tests use).
    #[arg(long, default_value = "run", env = "HEARTH_INSTANCES", value_parser = ["run", "off"])]
    instances: String,
    /// `all`: the API and this host's node agent (one host on its own). `api`: the signed API
    /// only, placing instances on the hosts registered in the database. `node`: this host's
    /// node agent only (no API listener). Several hosts share one PostgreSQL database.
    #[arg(long, default_value = "all", env = "HEARTH_ROLE", value_parser = ["all", "api", "node"])]
    role: String,
    /// This host's id in the cluster. Default: kept in <data-dir>/host-id, written on first
    /// start from the machine's host name.
    #[arg(long, env = "HEARTH_HOST_ID")]
    host_id: Option<String>,
    /// The address other hosts reach this one on (the VPC overlay's underlay).
    #[arg(long, default_value = "", env = "HEARTH_ADVERTISE_ADDRESS")]
    advertise_address: String,
    /// Place instances here even though /dev/kvm is PVM-only (for guests that need no more
    /// than PVM runs, such as test payloads; stock Linux kernels do not boot there).
    #[arg(long, env = "HEARTH_ACCEPT_PVM", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    accept_pvm: bool,
}

impl ServeArgs {
    fn runs_api(&self) -> bool {
        self.role != "node"
    }

    fn runs_node(&self) -> bool {
        self.role != "api"
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
                // netlink-packet-route warns about every link attribute newer than itself.
                .unwrap_or_else(|_| "info,netlink_packet_route=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create data dir {}", args.data_dir.display()))?;
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| args.data_dir.join("hearth.toml"));
    let config = Config::load(&config_path)
        .map_err(anyhow::Error::msg)
        .context("invalid catalog configuration")?;
    let key = if args.runs_api() {
        let (key, generated) = super::credentials::load_or_create(&args.data_dir)?;
        if generated {
            println!(
                "Generated API credentials (kept in {}/credentials, shown once):",
                args.data_dir.display()
            );
            println!("  AccessKeyId:     {}", key.id);
            println!("  AccessKeySecret: {}", key.secret);
        }
        Some(key)
    } else {
        None
    };
    let kvm = hearth_vmm::kvm_check::detect();
    if let Some(warning) = kvm.warning().filter(|_| args.runs_node()) {
        tracing::warn!("{warning}");
    }
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| Store::default_url(&args.data_dir));
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&url)))?;
    let me = if args.runs_node() {
        let host_id = match &args.host_id {
            Some(id) => id.clone(),
            None => registry::default_host_id(&args.data_dir)
                .context("cannot keep this host's id in the data dir")?,
        };
        registry::check_host_id(&host_id).map_err(anyhow::Error::msg)?;
        let me = registry::Identity {
            host_id,
            address: args.advertise_address.clone(),
            kvm,
            records_only: args.instances == "off",
            accept_pvm: args.accept_pvm,
        };
        let row = registry::host_row(&me, &config, &args.data_dir)
            .context("cannot keep this node's key in the data dir")?;
        registry::register(&store, &row, &config).await?;
        Some(row)
    } else {
        None
    };
    let network = match (args.runs_node(), args.host_network.as_str()) {
        (false, _) | (_, "off") => None,
        (true, mode) => {
            let namespace = mode
                .parse::<hearth_net::Namespace>()
                .map_err(anyhow::Error::msg)?;
            Some(
                hearth_net::Network::start(namespace)
                    .map_err(anyhow::Error::msg)
                    .context("cannot start host networking (use --host-network off to serve the API only)")?,
            )
        }
    };
    let node = Arc::new(hearth_node::Node::new(
        store.clone(),
        config.network.clone(),
        network,
        me.as_ref().map(|h| h.host_id.clone()),
    ));
    // Bridges and rules as the store says, before the first request: recreates what a reboot
    // or a crash lost, and removes what was deleted while hearth was down.
    hearth_cloud::host::Host::sync_network(&*node)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))
        .context("cannot set up the host network (it needs root and nftables; --host-network off serves the API only)")?;
    node.serve_metadata().await;
    let wake = node.instances_changed.clone();
    let vm_network = node.network.clone();
    let mut cloud = Cloud::new(store.clone(), config, args.data_dir.clone(), node.clone());
    cloud.makes_files = args.role == "all";
    cloud.local_host = me
        .as_ref()
        .filter(|_| args.role == "all")
        .map(|h| h.host_id.clone());
    let mut lost = None;
    if let Some(row) = &me {
        let every = Duration::from_secs(cloud.config.cluster.heartbeat_secs);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let beat = registry::beat(store.clone(), row.clone(), args.data_dir.clone(), every);
        tokio::spawn(async move {
            beat.await;
            let _ = tx.send(());
        });
        lost = Some(rx);
        if args.role == "node" {
            tokio::spawn(node.clone().follow_store(every));
        }
        tokio::spawn(node.clone().listen_for_changes());
        if args.instances == "run" {
            let supervisor = hearth_node::supervisor::Supervisor::new(
                cloud.clone(),
                vm_network,
                row.host_id.clone(),
            );
            tokio::spawn(supervisor.run(wake));
        }
    }
    let host_lost = async move {
        match lost {
            Some(rx) => {
                let _ = rx.await;
            }
            None => std::future::pending().await,
        }
    };
    let Some(key) = key else {
        println!(
            "hearth node agent for host {} running",
            me.as_ref().map(|h| h.host_id.as_str()).unwrap_or_default()
        );
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = host_lost => anyhow::bail!("another node took over this host id"),
        }
        store.close().await;
        return Ok(());
    };
    tokio::spawn(hearth_cloud::cluster::watch_hosts(cloud.clone()));
    let state = ApiState {
        cloud,
        auth: Arc::new(Authenticator::new(KeyRing::new([key]))),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(listen = %listener.local_addr()?, region = %state.cloud.config.region.id, "hearth API ready");
    println!(
        "hearth serving the ECS API on http://{}",
        listener.local_addr()?
    );
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = host_lost => { let _ = lost_tx.send(()); }
        }
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(stop)
        .await?;
    store.close().await;
    if lost_rx.await.is_ok() {
        anyhow::bail!("another node took over this host id");
    }
    Ok(())
}

/// The URL without a password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
