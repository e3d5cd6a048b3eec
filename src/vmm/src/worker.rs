//! One thread per virtio device, serving its queues when the guest kicks them (ioeventfd) and
//! its host side when that is ready (a TAP). A slow disk therefore delays only its own requests:
//! not the vCPUs, not the other devices, not the control socket.

use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::EventFd;

use crate::builder::VirtioSlot;
use crate::devices::virtio::mmio::MmioTransport;

const TOKEN_EXIT: u64 = u64::MAX;
const TOKEN_BACKEND: u64 = u64::MAX - 1;
/// A rate-limit timer: this plus the index of the queue it resumes.
const TOKEN_THROTTLE: u64 = 1 << 32;

struct Worker {
    transport: Arc<Mutex<MmioTransport>>,
    queue_evts: Vec<EventFd>,
    /// Becomes (and stays) readable when the VM ends.
    exit_evt: EventFd,
}

/// Starts the device's thread. It ends when `exit_evt` (never drained by anyone) is signalled.
pub fn start(slot: &VirtioSlot, exit_evt: &EventFd) -> Result<JoinHandle<()>, String> {
    let dup = |e: &EventFd| e.try_clone().map_err(|e| format!("eventfd: {e}"));
    let worker = Worker {
        transport: slot.transport.clone(),
        queue_evts: slot.queue_evts.iter().map(dup).collect::<Result<_, _>>()?,
        exit_evt: dup(exit_evt)?,
    };
    let name = slot
        .transport
        .lock()
        .map(|t| t.name().to_string())
        .unwrap_or_default();
    let epoll = worker.epoll()?;
    std::thread::Builder::new()
        .name(format!("virtio {name}"))
        .spawn(move || worker.run(epoll))
        .map_err(|e| format!("cannot start the thread for {name}: {e}"))
}

impl Worker {
    fn epoll(&self) -> Result<Epoll, String> {
        let epoll = Epoll::new().map_err(|e| format!("epoll: {e}"))?;
        let add = |fd, token, events| {
            epoll
                .ctl(ControlOperation::Add, fd, EpollEvent::new(events, token))
                .map_err(|e| format!("epoll: {e}"))
        };
        add(self.exit_evt.as_raw_fd(), TOKEN_EXIT, EventSet::IN)?;
        for (q, evt) in self.queue_evts.iter().enumerate() {
            add(evt.as_raw_fd(), q as u64, EventSet::IN)?;
        }
        let (backend, timers) = {
            let t = self
                .transport
                .lock()
                .map_err(|_| "device lock poisoned".to_string())?;
            (t.backend_fd(), t.throttle_timers())
        };
        for (q, fd) in timers {
            add(fd, TOKEN_THROTTLE + q as u64, EventSet::IN)?;
        }
        if let Some(fd) = backend {
            // Edge-triggered: the device reads until the TAP is empty or the guest has no
            // buffers; a receive-queue kick resumes it.
            add(fd, TOKEN_BACKEND, EventSet::IN | EventSet::EDGE_TRIGGERED)?;
        }
        Ok(epoll)
    }

    fn run(self, epoll: Epoll) {
        let mut events = vec![EpollEvent::default(); 8];
        loop {
            let n = match epoll.wait(-1, &mut events) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("hearth-vmm: device thread: epoll: {e}");
                    return;
                }
            };
            for event in &events[..n] {
                if event.data() == TOKEN_EXIT {
                    return;
                }
                // A device that panicked under its lock is dead: stop serving it, rather than
                // spin on a level-triggered timerfd nobody drains.
                let Ok(mut t) = self.transport.lock() else {
                    eprintln!("hearth-vmm: device thread: the device failed earlier; stopping");
                    return;
                };
                match event.data() {
                    TOKEN_BACKEND => t.backend_ready(),
                    tok if (TOKEN_THROTTLE..TOKEN_BACKEND).contains(&tok) => {
                        t.throttle_timer_fired((tok - TOKEN_THROTTLE) as usize)
                    }
                    q => {
                        if let Some(evt) = self.queue_evts.get(q as usize) {
                            let _ = evt.read();
                        }
                        t.notify(q as usize);
                    }
                }
            }
        }
    }
}
