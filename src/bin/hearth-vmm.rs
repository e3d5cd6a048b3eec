//! `hearth-vmm --config FILE [--attach]`: runs one microVM in this process and exits with a
//! code that says how the guest ended (see hearth_vmm::exit: 0 shut down, 1 VMM error,
//! 3 rebooted, 4 crashed, 5 stopped by force).
//!
//! A binary of its own, linking only the VMM: every running instance has one of these, and the
//! control plane's binary (HTTP, SQL, netlink, 20 MiB) cost each of them 3 MiB of resident pages
//! and 2 ms of exec and dynamic loading. `hearth vmm` execs this binary.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use hearth_vmm::config::VmConfig;
use hearth_vmm::exit::ExitKind;
use hearth_vmm::{kvm_check, BuildOptions, Vmm};

const USAGE: &str = "usage: hearth-vmm --config FILE [--attach]

Runs one microVM in this process. FILE is the VM's JSON config (vcpus, memory_mib, kernel,
initrd, cmdline, disks, nics, rng, console_log, control_socket).
  --attach   attach this terminal to the guest's serial console; Ctrl-] stops the VM
Exit code: 0 shut down, 1 VMM error, 3 rebooted, 4 crashed, 5 stopped.";

/// As with the control plane's command-line parser (see hearth_vmm::exit).
const USAGE_ERROR: u8 = 2;

struct Args {
    config: PathBuf,
    attach: bool,
}

fn parse(mut args: impl Iterator<Item = OsString>) -> Result<Args, String> {
    let mut config = None;
    let mut attach = false;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--config") => {
                let path = args.next().ok_or("--config needs a FILE")?;
                config = Some(PathBuf::from(path));
            }
            Some("--attach") => attach = true,
            Some("-h" | "--help") => return Err(String::new()),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let config = config.ok_or("--config FILE is required")?;
    Ok(Args { config, attach })
}

fn main() -> ExitCode {
    let report = std::env::var_os("HEARTH_VMM_REPORT_FIRST_RUN").is_some();
    if report {
        let ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        eprintln!("hearth-vmm: main unix_ns={ns}");
    }
    let args = match parse(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(problem) if problem.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("hearth-vmm: {problem}\n{USAGE}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    match run(&args, report) {
        Ok(code) => ExitCode::from(code),
        Err(problem) => {
            eprintln!("hearth-vmm: {problem}");
            ExitCode::from(ExitKind::Error.code() as u8)
        }
    }
}

fn run(args: &Args, report: bool) -> Result<u8, String> {
    let config = VmConfig::load(&args.config).map_err(|e| e.to_string())?;
    if let Some(warning) = kvm_check::warning() {
        eprintln!("hearth-vmm: warning: {warning}");
    }
    let options = BuildOptions {
        attach: args.attach,
        report_first_run: report,
        handle_signals: true,
    };
    let vmm = Vmm::build(&config, options)
        .map_err(|e| format!("cannot start the VM of {}: {e}", args.config.display()))?;
    let exit = vmm.run();
    eprintln!("hearth-vmm: {} (exit code {})", exit.reason, exit.code());
    Ok(exit.code() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Result<Args, String> {
        parse(words.iter().map(OsString::from))
    }

    #[test]
    fn config_and_attach_are_read() {
        let a = args(&["--config", "/x/vm.json", "--attach"]).unwrap();
        assert_eq!(a.config, PathBuf::from("/x/vm.json"));
        assert!(a.attach);
        assert!(!args(&["--config", "vm.json"]).unwrap().attach);
    }

    #[test]
    fn missing_or_unknown_arguments_are_named() {
        assert_eq!(args(&[]).err().unwrap(), "--config FILE is required");
        assert_eq!(args(&["--config"]).err().unwrap(), "--config needs a FILE");
        assert!(args(&["--confg", "x"]).err().unwrap().contains("--confg"));
        assert_eq!(args(&["--help"]).err().unwrap(), "");
    }
}
