//! Command-line entry points.

mod credentials;
mod serve;
mod vmm;
mod vmm_ctl;

use std::path::PathBuf;

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
    /// Print the API access key pair (generating it on first use).
    Credentials {
        /// Where hearth keeps its state.
        #[arg(long, default_value = "/var/lib/hearth", env = "HEARTH_DATA_DIR")]
        data_dir: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
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
}
