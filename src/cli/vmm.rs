//! `hearth vmm --config FILE`: runs one microVM in this process and exits with a code that says
//! how the guest ended (see hearth_vmm::exit: 0 shut down, 1 VMM error, 3 rebooted, 4 crashed,
//! 5 stopped by force).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use hearth_vmm::config::VmConfig;
use hearth_vmm::{BuildOptions, Vmm};

use super::kvm_check;

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
    let report = std::env::var_os("HEARTH_VMM_REPORT_FIRST_RUN").is_some();
    if report {
        let ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        eprintln!("hearth-vmm: main unix_ns={ns}");
    }
    let config = VmConfig::load(&args.config)?;
    if let Some(warning) = kvm_check::warning() {
        eprintln!("hearth vmm: warning: {warning}");
    }
    let options = BuildOptions {
        attach: args.attach,
        report_first_run: report,
        handle_signals: true,
    };
    let vmm = Vmm::build(&config, options)
        .with_context(|| format!("cannot start the VM of {}", args.config.display()))?;
    let exit = vmm.run();
    eprintln!("hearth vmm: {} (exit code {})", exit.reason, exit.code());
    std::process::exit(exit.code());
}
