//! `hearth vmm --config FILE`: runs one microVM in this process, by exec'ing `hearth-vmm` (the
//! small VMM-only binary installed next to `hearth`), so the process that runs the guest carries
//! none of the control plane's code. Exit codes are hearth-vmm's (see hearth_vmm::exit: 0 shut
//! down, 1 VMM error, 3 rebooted, 4 crashed, 5 stopped by force).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct VmmArgs {
    /// The VM's JSON config (vcpus, memory_mib, kernel, initrd, cmdline, disks, nics,
    /// console_log, control_socket).
    #[arg(long)]
    config: PathBuf,
    /// Attach this terminal to the guest's serial console (output echoed, input typed in, raw
    /// mode); Ctrl-] stops the VM.
    #[arg(long)]
    attach: bool,
}

pub fn run(args: VmmArgs) -> anyhow::Result<()> {
    let vmm = hearth_node::vmm_process::vmm_binary()?;
    let mut cmd = Command::new(&vmm);
    cmd.arg("--config").arg(&args.config);
    if args.attach {
        cmd.arg("--attach");
    }
    // exec only returns on failure.
    let err = cmd.exec();
    Err(err).with_context(|| format!("cannot run {}", vmm.display()))
}
