//! `hearth vmm-ctl --socket PATH COMMAND`: talks to a running `hearth vmm` through its control
//! socket and prints the answer (one JSON line). `wait` blocks until the VM ends; the exit code
//! is then the VM's own, so scripts can branch on how the guest ended. Every other command gives
//! up after `--timeout` seconds: a VMM that accepts and never answers fails the caller instead
//! of hanging it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};

#[derive(Args)]
pub struct VmmCtlArgs {
    /// The VM's control socket (control_socket in its config).
    #[arg(long)]
    socket: PathBuf,
    /// Seconds to wait for the answer (not for `wait`, which lasts as long as the VM).
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    command: CtlCommand,
}

#[derive(Clone, Copy, ValueEnum)]
enum CtlCommand {
    Status,
    Shutdown,
    Stop,
    Pause,
    Resume,
    Wait,
}

pub fn run(args: VmmCtlArgs) -> anyhow::Result<()> {
    let name = args
        .command
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let mut stream = UnixStream::connect(&args.socket)
        .with_context(|| format!("cannot reach the VMM at {}", args.socket.display()))?;
    let secs = args.timeout.max(1);
    if !matches!(args.command, CtlCommand::Wait) {
        let limit = Duration::from_secs(secs);
        stream.set_read_timeout(Some(limit))?;
        stream.set_write_timeout(Some(limit))?;
    }
    writeln!(stream, "{{\"command\":\"{name}\"}}")?;
    let mut line = String::new();
    let read = BufReader::new(&stream).read_line(&mut line);
    match read {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            anyhow::bail!(
                "the VMM at {} accepted the request but did not answer within {secs} s",
                args.socket.display()
            )
        }
        Err(e) => return Err(e).context("cannot read the VMM's answer"),
        Ok(0) => anyhow::bail!("the VMM closed the socket without answering"),
        Ok(_) => {}
    }
    print!("{line}");
    let reply: serde_json::Value =
        serde_json::from_str(line.trim()).context("the VMM's answer is not JSON")?;
    if reply["ok"] != serde_json::Value::Bool(true) {
        std::process::exit(1);
    }
    if let (CtlCommand::Wait, Some(code)) = (args.command, reply["exit_code"].as_i64()) {
        std::process::exit(code as i32);
    }
    Ok(())
}
