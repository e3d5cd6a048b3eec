//! One `hearth-vmm` process per running instance. It is started in a session of its own, so it
//! outlives `hearth serve` (a restart or a kill -9 of the control plane leaves guests running),
//! and it is reached only through its control socket, so a restarted serve can adopt it.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use hearth_vmm::control::{Command as Control, Reply};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// `hearth-vmm` in the directory of the running `hearth`: the two are built and installed
/// together, and a VMM of another build could misread the config this one writes.
pub fn vmm_binary() -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let exe = std::env::current_exe().context("cannot find the running hearth binary")?;
    let vmm = exe.with_file_name("hearth-vmm");
    if !vmm.is_file() {
        anyhow::bail!(
            "{} is missing: hearth-vmm is built and installed next to hearth \
             (cargo build --release --bins builds both)",
            vmm.display()
        );
    }
    Ok(vmm)
}

/// Starts `hearth-vmm --config CONFIG` detached, its stdout and stderr appended to `log`, in
/// the network namespace `netns` when given (where the instance's TAP lives). Returns its pid.
/// A thread reaps it when it ends, so no zombie stays behind.
pub fn spawn(config: &Path, log: &Path, netns: Option<&Path>) -> io::Result<u32> {
    let exe =
        vmm_binary().map_err(|e| io::Error::new(io::ErrorKind::NotFound, format!("{e:#}")))?;
    let netns = netns.map(std::fs::File::open).transpose()?;
    let out = OpenOptions::new().create(true).append(true).open(log)?;
    let mut cmd = Command::new(exe);
    cmd.arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let netns_fd = netns.as_ref().map(|f| f.as_raw_fd());
    // SAFETY: setsid and setns are async-signal-safe system calls on a descriptor that stays
    // open until spawn returns; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(fd) = netns_fd {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let pid = child.id();
    std::thread::Builder::new()
        .name(format!("reap vmm {pid}"))
        .spawn(move || {
            let _ = child.wait();
        })?;
    Ok(pid)
}

/// Sends one control command and returns the VMM's answer.
pub async fn request(socket: &Path, command: Control) -> io::Result<Reply> {
    let stream = UnixStream::connect(socket).await?;
    exchange(stream, command).await
}

/// Blocks until the VMM ends and returns its final status (state "exited", reason, exit_code).
pub async fn wait(socket: &Path) -> io::Result<Reply> {
    request(socket, Control::Wait).await
}

/// `wait` on a connection already made (to be sure which VMM is waited for).
pub async fn wait_on(stream: UnixStream) -> io::Result<Reply> {
    exchange(stream, Control::Wait).await
}

/// SIGKILL to a VMM that must not live on (its reaper thread collects it).
pub fn kill(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill has no memory effects. Called right after the VMM failed to answer, so
        // the pid is still ours (or already gone: then ESRCH, ignored).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

async fn exchange(mut stream: UnixStream, command: Control) -> io::Result<Reply> {
    stream
        .write_all(format!("{}\n", command.request_line()).as_bytes())
        .await?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).await?;
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the VMM closed its control socket without answering",
        ));
    }
    Reply::parse(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Waits until the control socket answers `status`, or process `pid` is gone, or `timeout`
/// passes.
pub async fn wait_for_socket(socket: &Path, timeout: Duration, pid: u32) -> io::Result<Reply> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match request(socket, Control::Status).await {
            Ok(v) => return Ok(v),
            Err(e) if tokio::time::Instant::now() >= deadline || !alive(pid) => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Whether the process still exists (and is not a zombie waiting to be reaped).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Waits (up to a few seconds) until process `pid` has exited, after its `wait` answer: only then
/// are its disks and TAP free, and only then may the instance be called Stopped.
pub async fn wait_gone(pid: u32) {
    for _ in 0..200 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
