//! A nested test host: hearth's kernel booted as an emulated KVM host (qemu
//! TCG with SVM) by scripts/testhost, driven over its serial console.
//!
//! ```ignore
//! let mut host = TestHost::start(Options::default())?;
//! let out = host.run("ls /dev/kvm", Duration::from_secs(30))?;
//! ```
//! Commands travel as shell text on the console (a heredoc), so they must not
//! contain terminal control characters or lines longer than ~4000 bytes.
//! Dropping the TestHost stops qemu.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use super::artifacts;

/// How long the emulated host may take to reach its command prompt.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct Options {
    /// Memory of the emulated host in MiB.
    pub memory_mib: u32,
    /// Files to carry into the host: (path here, path inside).
    pub files: Vec<(PathBuf, String)>,
    /// Carry the hearth binary under test as /usr/bin/hearth.
    pub hearth: bool,
    /// Carry the image store (HEARTH_TEST_IMAGES or a fresh build) as /hearth/images.
    pub images: bool,
    /// Ports inside the host to reach from here; see `TestHost::port`.
    pub forward: Vec<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // Room for a 1 GiB guest, its page cache and a copy-on-write overlay in RAM.
            memory_mib: 3072,
            files: Vec::new(),
            hearth: false,
            images: true,
            forward: Vec::new(),
        }
    }
}

/// What a command printed (stdout and stderr interleaved) and its exit status.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: i32,
    pub output: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

pub struct TestHost {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    console: PathBuf,
    ports: Vec<(u16, u16)>,
    commands_run: u32,
}

impl TestHost {
    /// Boots the test host and waits until it accepts commands.
    pub fn start(options: Options) -> io::Result<TestHost> {
        // Kept after the test (in the temp dir) for post-mortems.
        let console = tempfile::Builder::new()
            .prefix("hearth-testhost-")
            .suffix(".log")
            .tempfile()?
            .into_temp_path()
            .keep()?;
        let (mut cmd, ports) = testhost_command(&options, &console)?;
        cmd.arg("--stdio");
        // Own process group, so Drop can stop the script and qemu together.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let lines = read_lines(child.stdout.take().expect("piped stdout"));
        let mut host = TestHost {
            child,
            stdin,
            lines,
            console,
            ports,
            commands_run: 0,
        };
        let started = Instant::now();
        host.wait_for(|line| line == "@@HEARTH-READY", BOOT_TIMEOUT)?;
        eprintln!(
            "test host ready after {:.1}s",
            started.elapsed().as_secs_f64()
        );
        Ok(host)
    }

    /// Runs `script` with sh inside the host; Err on timeout or if the host died.
    pub fn run(&mut self, script: &str, timeout: Duration) -> io::Result<Output> {
        self.commands_run += 1;
        let n = self.commands_run;
        let file = format!("/tmp/hearth-cmd-{n}");
        // stdin from /dev/null: the console is the command channel.
        let wire = format!(
            "cat >{file} <<'@@HEARTH-EOF-{n}'\n{}\n@@HEARTH-EOF-{n}\n\
             echo '@@HEARTH-BEGIN {n}'; sh {file} </dev/null 2>&1; rc=$?; echo; echo \"@@HEARTH-END {n} $rc\"\n",
            script.trim_end_matches('\n')
        );
        self.stdin.write_all(wire.as_bytes())?;
        self.stdin.flush()?;
        let deadline = Instant::now() + timeout;
        let begin = format!("@@HEARTH-BEGIN {n}");
        self.wait_for(|line| line.ends_with(&begin), timeout)?;
        let end = format!("@@HEARTH-END {n} ");
        let mut output = String::new();
        loop {
            let line = self.next_line(deadline)?;
            if let Some(status) = line.strip_prefix(&end) {
                let status = status.trim().parse().unwrap_or(-1);
                // Drop the newline the framing adds before the end marker.
                output.truncate(output.strip_suffix('\n').map_or(output.len(), str::len));
                return Ok(Output { status, output });
            }
            output.push_str(&line);
            output.push('\n');
        }
    }

    /// The emulated host's console log (left in the temp dir for post-mortems).
    pub fn console_log(&self) -> &Path {
        &self.console
    }

    /// The local port that reaches `guest_port` inside the host.
    pub fn port(&self, guest_port: u16) -> u16 {
        self.ports
            .iter()
            .find(|(g, _)| *g == guest_port)
            .map(|(_, h)| *h)
            .expect("port not forwarded")
    }

    fn wait_for(&mut self, done: impl Fn(&str) -> bool, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.next_line(deadline)?) {
                return Ok(());
            }
        }
    }

    fn next_line(&mut self, deadline: Instant) -> io::Result<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "test host timed out; console log: {}",
                    self.console.display()
                ),
            )),
            Err(RecvTimeoutError::Disconnected) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("test host stopped; console log: {}", self.console.display()),
            )),
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        // SIGTERM lets scripts/testhost stop qemu and remove its temp files;
        // the group SIGKILL afterwards catches anything left.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// scripts/testhost with everything `options` asks for; returns the port map.
fn testhost_command(options: &Options, console: &Path) -> io::Result<(Command, Vec<(u16, u16)>)> {
    let mut cmd = Command::new(artifacts::repo_root().join("scripts/testhost"));
    cmd.arg("--memory").arg(options.memory_mib.to_string());
    cmd.arg("--kernel").arg(artifacts::kernel());
    cmd.arg("--console").arg(console);
    if options.images {
        cmd.arg("--images").arg(artifacts::images());
    }
    if options.hearth {
        cmd.arg("--hearth").arg(env!("CARGO_BIN_EXE_hearth"));
    }
    for (from, to) in &options.files {
        cmd.arg("--file").arg(format!("{}:{to}", from.display()));
    }
    let mut ports = Vec::new();
    for &guest in &options.forward {
        let host = free_port()?;
        cmd.arg("--forward").arg(format!("{host}:{guest}"));
        ports.push((guest, host));
    }
    Ok((cmd, ports))
}

/// Boots a test host just to run `script` and stops it (scripts/testhost's
/// one-shot mode). No console channel to keep in step, so this is the most
/// robust choice for one long command such as booting a guest.
///
/// A test host that dies long before the timeout without finishing the command
/// is tried once more: qemu TCG's emulation of SVM sometimes corrupts the test
/// host's own kernel (seen: oopses in svm_vcpu_run and conntrack) or leaves one
/// of its CPUs halted for good (scripts/testhost's watchdog then stops it), which
/// says nothing about hearth. A command that runs into the timeout is not retried.
///
/// One test host at a time per test binary: two emulated hosts on a small
/// machine slow each other down until timeouts and emulator faults get likely,
/// and in turn they take about as long as side by side.
pub fn run_once(options: &Options, script: &str, timeout: Duration) -> io::Result<Output> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    // A test that panicked while holding it says nothing about the next one.
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let first = run_once_attempt(options, script, timeout)?;
    if first.finished || first.elapsed + Duration::from_secs(60) >= timeout {
        return Ok(first.output);
    }
    eprintln!(
        "the test host died after {:.0}s without finishing the command (an emulator fault, see \
         tests/common/testhost.rs): trying once more",
        first.elapsed.as_secs_f64()
    );
    Ok(run_once_attempt(options, script, timeout)?.output)
}

struct Attempt {
    output: Output,
    finished: bool,
    elapsed: Duration,
}

fn run_once_attempt(options: &Options, script: &str, timeout: Duration) -> io::Result<Attempt> {
    let dir = tempfile::tempdir()?;
    let script_file = dir.path().join("cmd.sh");
    std::fs::write(&script_file, script)?;
    let console = dir.path().join("console.log");
    let (mut cmd, _) = testhost_command(options, &console)?;
    cmd.arg("--file")
        .arg(format!("{}:/hearth/files/cmd.sh", script_file.display()))
        .arg("--timeout")
        .arg(timeout.as_secs().to_string())
        .args(["--", "sh /hearth/files/cmd.sh"]);
    let started = std::time::Instant::now();
    let out = cmd.stderr(Stdio::inherit()).output()?;
    let finished = std::fs::read_to_string(&console)
        .map(|c| c.contains("@@HEARTH-END 0 "))
        .unwrap_or(false);
    Ok(Attempt {
        output: Output {
            status: out.status.code().unwrap_or(-1),
            output: String::from_utf8_lossy(&out.stdout).into_owned(),
        },
        finished,
        elapsed: started.elapsed(),
    })
}

/// Console lines, without the serial line's carriage returns.
fn read_lines(stdout: impl io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            if tx.send(line).is_err() {
                break;
            }
            buf.clear();
        }
    });
    rx
}

/// A currently free local port (the small race is acceptable in tests).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
