//! `hearth vmm-ctl --socket PATH COMMAND`: talks to a running `hearth vmm` through its control
//! socket and prints the answer (one JSON line). `wait` blocks until the VM ends; the exit code
//! is then the VM's own, so scripts can branch on how the guest ended. Every other command gives
//! up after `--timeout` seconds: a VMM that accepts and never answers fails the caller instead
//! of hanging it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use hearth_vmm::control::{self, Command};

#[derive(Args)]
pub struct VmmCtlArgs {
    /// The VM's control socket (control_socket in its config).
    #[arg(long)]
    socket: PathBuf,
    /// Seconds to wait for the answer (not for `wait`, which lasts as long as the VM).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// status, shutdown, stop, pause, resume or wait.
    #[arg(value_parser = str::parse::<Command>)]
    command: Command,
}

pub fn run(args: VmmCtlArgs) -> anyhow::Result<()> {
    let command = args.command;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let reply = control::request(&args.socket, command, timeout)?;
    println!("{}", reply.line());
    if !reply.ok {
        std::process::exit(1);
    }
    if let (Command::Wait, Some(code)) = (command, reply.exit_code) {
        std::process::exit(code);
    }
    Ok(())
}
