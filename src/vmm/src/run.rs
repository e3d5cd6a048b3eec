//! Running a built VM: one thread per vCPU, one per virtio device (worker.rs), and this thread's
//! event loop serving the i8042 reset line, the control socket, signals and (when attached)
//! stdin.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::signal::Killable;
use vmm_sys_util::terminal::Terminal;

use crate::builder::Vmm;
use crate::control::{self, Command, Reply, State};
use crate::exit::{classify_reset, Exit, ExitKind};
use crate::state::VmState;
use crate::vcpu::halt::HaltProbe;
use crate::vcpu::runner::{self, VcpuRunner};

const TOKEN_EXIT: u64 = 1;
const TOKEN_RESET: u64 = 2;
const TOKEN_CONTROL: u64 = 3;
const TOKEN_STDIN: u64 = 4;
const TOKEN_TERMINATE: u64 = 5;
const TOKEN_POWER_OFF: u64 = 6;
const TOKEN_CONNECTION_BASE: u64 = 3 << 16;
const MAX_CONTROL_LINE: usize = 4096;
const PAUSE_TIMEOUT: Duration = Duration::from_secs(2);
/// After the kernel says it powers down, how often and for how long to look for halted vCPUs
/// (the other CPUs are stopped by IPI or NMI, which takes the guest a moment).
const HALT_PROBE_EVERY: Duration = Duration::from_millis(20);
const HALT_PROBE_FOR: Duration = Duration::from_secs(10);
/// Ctrl-]
const DETACH_KEY: u8 = 0x1d;

/// The eventfd SIGTERM/SIGINT/SIGHUP write to (a signal handler may only do async-signal-safe
/// things: a write(2) is one), so the event loop ends the VM and cleans up instead of the
/// process dying with its control socket left behind.
static TERMINATE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_terminate(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let fd = TERMINATE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local to an eventfd; async-signal-safe.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

struct Connection {
    stream: UnixStream,
    input: Vec<u8>,
    /// Sent `wait`: answered with the final status when the VM ends.
    waiting: bool,
}

impl Vmm {
    /// Runs the guest until it ends, and says how.
    pub fn run(mut self) -> Exit {
        // SAFETY: isatty only inspects the descriptor.
        let raw_terminal = self.attach && unsafe { libc::isatty(libc::STDIN_FILENO) } == 1;
        if raw_terminal {
            let _ = std::io::stdin().lock().set_raw_mode();
        }
        let exit = match self.run_inner() {
            Ok(()) => self.shared.exit().unwrap_or_else(|| {
                Exit::new(ExitKind::Error, "the event loop ended without a reason")
            }),
            Err(e) => {
                // Also tells the device threads to stop.
                self.shared.end(Exit::new(ExitKind::Error, e));
                self.shared
                    .exit()
                    .unwrap_or_else(|| Exit::new(ExitKind::Error, "unknown error"))
            }
        };
        self.shared.set_state(VmState::Exited {
            reason: exit.reason.clone(),
            exit_code: exit.code(),
        });
        if let Some((_, path)) = self.control.take() {
            let _ = std::fs::remove_file(path);
        }
        if raw_terminal {
            let _ = std::io::stdin().lock().set_canon_mode();
        }
        exit
    }

    fn run_inner(&mut self) -> Result<(), String> {
        runner::install_kick_handler()?;
        let epoll = Epoll::new().map_err(|e| format!("epoll: {e}"))?;
        let add = |fd: i32, token: u64, events: EventSet| {
            epoll
                .ctl(ControlOperation::Add, fd, EpollEvent::new(events, token))
                .map_err(|e| format!("epoll: {e}"))
        };
        add(self.shared.exit_evt.as_raw_fd(), TOKEN_EXIT, EventSet::IN)?;
        add(self.reset_evt.as_raw_fd(), TOKEN_RESET, EventSet::IN)?;
        add(
            self.shared.guest_said.power_off_evt.as_raw_fd(),
            TOKEN_POWER_OFF,
            EventSet::IN,
        )?;
        if let Some((listener, _)) = &self.control {
            add(listener.as_raw_fd(), TOKEN_CONTROL, EventSet::IN)?;
        }
        if self.attach {
            // A regular file or /dev/null as stdin cannot be polled (EPERM): then the console is
            // output-only, which is what a script redirecting stdin wants anyway.
            let stdin = EpollEvent::new(EventSet::IN, TOKEN_STDIN);
            match epoll.ctl(ControlOperation::Add, libc::STDIN_FILENO, stdin) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                Err(e) => return Err(format!("epoll on stdin: {e}")),
            }
        }
        if self.handle_signals {
            let terminate =
                vmm_sys_util::eventfd::EventFd::new(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC)
                    .map_err(|e| format!("eventfd: {e}"))?;
            add(terminate.as_raw_fd(), TOKEN_TERMINATE, EventSet::IN)?;
            TERMINATE_FD.store(terminate.as_raw_fd(), Ordering::SeqCst);
            // Never closed: a signal arriving after this VMM ends must not write into whatever file
            // would get the descriptor number next. One eventfd per VMM, and one VMM per process.
            std::mem::forget(terminate);
            for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                vmm_sys_util::signal::register_signal_handler(signal, on_terminate)
                    .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
            }
        }
        let mut workers = Vec::new();
        for slot in &self.virtio {
            workers.push(crate::worker::start(slot, &self.shared.exit_evt)?);
        }

        let halt_probe = Arc::new(HaltProbe::new(self.vcpus.len()));
        let threads = self.start_vcpus(&halt_probe)?;
        // Some((deadline, round, when it was asked)) while looking for a powered-off guest.
        let mut probing: Option<(Instant, u64, Instant)> = None;
        self.shared.set_state(VmState::Running);

        let mut connections: HashMap<u64, Connection> = HashMap::new();
        let mut next_connection = TOKEN_CONNECTION_BASE;
        let mut events = vec![EpollEvent::default(); 32];
        while !self.shared.ending() {
            if let Some((deadline, round, asked)) = probing {
                if halt_probe.all_halted(round) {
                    self.shared.end(Exit::new(
                        ExitKind::Shutdown,
                        "guest powered off (every vCPU halted with interrupts off)",
                    ));
                    break;
                }
                if Instant::now() > deadline {
                    // Not a real power-off (or the guest is stuck on the way): keep running.
                    eprintln!(
                        "hearth vmm: the guest said it powered down, but its vCPUs still run"
                    );
                    probing = None;
                } else if round == 0 || asked.elapsed() >= HALT_PROBE_EVERY {
                    // A new round only once the last had its time: other events waking this
                    // loop must not restart rounds before the vCPUs could answer.
                    let round = halt_probe.start_round();
                    for t in &threads {
                        let _ = t.kill(runner::kick_signal());
                    }
                    probing = Some((deadline, round, Instant::now()));
                }
            }
            let timeout = match probing {
                Some(_) => HALT_PROBE_EVERY.as_millis() as i32,
                None => -1,
            };
            let n = match epoll.wait(timeout, &mut events) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("epoll: {e}")),
            };
            for event in &events[..n] {
                let token = event.data();
                match token {
                    TOKEN_EXIT => {}
                    TOKEN_RESET => {
                        let _ = self.reset_evt.read();
                        self.shared.end(classify_reset(
                            self.shared.reset_context(),
                            "reset through the i8042",
                        ));
                    }
                    TOKEN_CONTROL => {
                        if let Some((listener, _)) = &self.control {
                            while let Ok((stream, _)) = listener.accept() {
                                let _ = stream.set_nonblocking(true);
                                let token = next_connection;
                                next_connection += 1;
                                if add(
                                    stream.as_raw_fd(),
                                    token,
                                    EventSet::IN | EventSet::READ_HANG_UP,
                                )
                                .is_ok()
                                {
                                    connections.insert(
                                        token,
                                        Connection {
                                            stream,
                                            input: Vec::new(),
                                            waiting: false,
                                        },
                                    );
                                }
                            }
                        }
                    }
                    TOKEN_POWER_OFF => {
                        let _ = self.shared.guest_said.power_off_evt.read();
                        probing = Some((Instant::now() + HALT_PROBE_FOR, 0, Instant::now()));
                    }
                    TOKEN_STDIN => self.forward_stdin(),
                    TOKEN_TERMINATE => {
                        self.shared.end(Exit::new(
                            ExitKind::Stopped,
                            "stopped by a signal to the VMM",
                        ));
                    }
                    t if t >= TOKEN_CONNECTION_BASE => {
                        let keep = match connections.get_mut(&t) {
                            Some(conn) => self.serve_connection(conn, &threads),
                            None => false,
                        };
                        if !keep {
                            if let Some(conn) = connections.remove(&t) {
                                let _ = epoll.ctl(
                                    ControlOperation::Delete,
                                    conn.stream.as_raw_fd(),
                                    EpollEvent::default(),
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(exit) = self.shared.exit() {
            // The pid, so a client can wait for the process itself to be gone.
            let last = Reply {
                reason: Some(exit.reason.clone()),
                exit_code: Some(exit.code()),
                pid: Some(std::process::id()),
                ..Reply::in_state(State::Exited)
            }
            .line();
            for conn in connections.values_mut().filter(|c| c.waiting) {
                let _ = conn.stream.set_nonblocking(false);
                let _ = conn
                    .stream
                    .set_write_timeout(Some(Duration::from_millis(200)));
                let _ = writeln!(conn.stream, "{last}");
            }
        }
        // Get the vCPUs out of KVM_RUN so they see the VM is ending; the process exits right
        // after, so a vCPU that does not answer is not waited for long.
        let deadline = Instant::now() + Duration::from_millis(500);
        for t in &threads {
            while !t.is_finished() && Instant::now() < deadline {
                let _ = t.kill(runner::kick_signal());
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        // Device threads see the exit eventfd; one in the middle of a request finishes it first.
        for w in workers {
            while !w.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    }

    fn start_vcpus(&mut self, halt_probe: &Arc<HaltProbe>) -> Result<Vec<JoinHandle<()>>, String> {
        let mut threads = Vec::new();
        for (i, fd) in std::mem::take(&mut self.vcpus).into_iter().enumerate() {
            let runner = VcpuRunner {
                index: i as u8,
                fd,
                pio: self.pio.clone(),
                mmio: self.mmio.clone(),
                shared: self.shared.clone(),
                halt_probe: halt_probe.clone(),
                report_first_run: self.report_first_run && i == 0,
            };
            let handle = std::thread::Builder::new()
                .name(format!("vcpu{i}"))
                .spawn(move || runner.run())
                .map_err(|e| format!("cannot start the thread for vCPU {i}: {e}"))?;
            threads.push(handle);
        }
        Ok(threads)
    }

    /// Typed input goes to the serial port; Ctrl-] (as in telnet) stops the VM instead, since
    /// in raw mode Ctrl-C belongs to the guest.
    fn forward_stdin(&mut self) {
        let mut buf = [0u8; 64];
        let n = match std::io::stdin().read(&mut buf) {
            Ok(n) => n,
            Err(_) => return,
        };
        let input = &buf[..n];
        if let Some(pos) = input.iter().position(|b| *b == DETACH_KEY) {
            self.shared.end(Exit::new(
                ExitKind::Stopped,
                "stopped from the attached console (Ctrl-])",
            ));
            if let Ok(mut serial) = self.serial.lock() {
                serial.input(&input[..pos]);
            }
            return;
        }
        if let Ok(mut serial) = self.serial.lock() {
            serial.input(input);
        }
    }

    /// Reads what a control client sent and answers each complete line. False: drop it.
    fn serve_connection(&mut self, conn: &mut Connection, threads: &[JoinHandle<()>]) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => return false,
                Ok(n) => conn.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return false,
            }
        }
        let lines = match control::take_lines(&mut conn.input, MAX_CONTROL_LINE) {
            Ok(lines) => lines,
            Err(e) => {
                let _ = writeln!(conn.stream, "{}", Reply::error(&e).line());
                return false;
            }
        };
        for line in lines.iter().filter(|l| !l.is_empty()) {
            let reply = match control::parse(line) {
                Ok(Command::Wait) => {
                    conn.waiting = true;
                    continue;
                }
                Ok(cmd) => self.execute(cmd, threads),
                Err(e) => Reply::error(&e).line(),
            };
            if writeln!(conn.stream, "{reply}").is_err() {
                return false;
            }
        }
        true
    }

    fn status_json(&self) -> String {
        Reply::state(&self.shared.state()).line()
    }

    fn execute(&mut self, cmd: Command, threads: &[JoinHandle<()>]) -> String {
        match cmd {
            Command::Status => self.status_json(),
            Command::Shutdown => {
                if self.shared.state() == VmState::Paused {
                    self.shared.request_pause(false);
                    self.shared.set_state(VmState::Running);
                }
                self.shared.shutdown_requested.store(true, Ordering::SeqCst);
                match self.i8042.lock() {
                    Ok(mut kbd) => kbd.send_ctrl_alt_del(),
                    Err(_) => return Reply::error("the keyboard device is unusable").line(),
                }
                Reply {
                    sent: Some("ctrl-alt-del".into()),
                    ..Reply::in_state(State::Running)
                }
                .line()
            }
            Command::Stop => {
                self.shared.end(Exit::new(
                    ExitKind::Stopped,
                    "stopped through the control socket",
                ));
                Reply {
                    exit_code: Some(ExitKind::Stopped.code()),
                    ..Reply::in_state(State::Exited)
                }
                .line()
            }
            Command::Pause => {
                self.shared.request_pause(true);
                let deadline = Instant::now() + PAUSE_TIMEOUT;
                while self.shared.paused_vcpus() < threads.len() && Instant::now() < deadline {
                    for t in threads {
                        let _ = t.kill(runner::kick_signal());
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                if self.shared.paused_vcpus() < threads.len() {
                    self.shared.request_pause(false);
                    return Reply::error("the vCPUs did not stop within 2 s; still running").line();
                }
                self.shared.set_state(VmState::Paused);
                self.status_json()
            }
            Command::Resume => {
                self.shared.request_pause(false);
                self.shared.set_state(VmState::Running);
                self.status_json()
            }
            // Handled per connection in serve_connection.
            Command::Wait => self.status_json(),
        }
    }
}
