//! Command-line entry points.

mod credentials;
mod serve;
mod vmm;
mod vmm_ctl;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "A self-hosted cloud with the ECS/CVM API over KVM microVMs"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the control plane: the signed ECS/VPC API over the state store.
    Serve(serve::ServeArgs),
    /// Run one microVM in this process (exit code: 0 shut down, 3 rebooted, 4 crashed, 5 stopped).
    Vmm(vmm::VmmArgs),
    /// Ask a running microVM for its status, or to shut down, stop, pause, resume; `wait` blocks
    /// until it ends and exits with its code.
    VmmCtl(vmm_ctl::VmmCtlArgs),
    /// Say whether this host's /dev/kvm can boot instances: exit 0 if it can, 2 if it cannot
    /// (PVM-only or no /dev/kvm; scripts/setup then runs lab mode).
    HostCheck,
    /// Print the API access key pair (generating it on first use).
    Credentials {
        /// Where hearth keeps its state.
        #[arg(long, default_value = "/var/lib/hearth", env = "HEARTH_DATA_DIR")]
        data_dir: PathBuf,
    },
}

/// Exit code of `hearth host-check` on a host whose guests cannot boot.
pub const CANNOT_BOOT_GUESTS: u8 = 2;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::HostCheck => {
            let kvm = hearth_vmm::kvm_check::detect();
            println!("{}", kvm.summary());
            return Ok(if kvm.can_boot_guests() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(CANNOT_BOOT_GUESTS)
            });
        }
        Command::Serve(a) => serve::run(a),
        Command::Vmm(a) => vmm::run(a),
        Command::VmmCtl(a) => vmm_ctl::run(a),
        Command::Credentials { data_dir } => {
            let (key, _) = credentials::load_or_create(&data_dir)?;
            println!("HEARTH_ACCESS_KEY_ID={}", key.id);
            println!("HEARTH_ACCESS_KEY_SECRET={}", key.secret);
            Ok(())
        }
    }
    .map(|()| ExitCode::SUCCESS)
}
