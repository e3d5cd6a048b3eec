//! A rate limiter with the timer that wakes its device: what a device queue holds when it has a
//! limit.
//!
//! When a request does not fit the budget the device must neither sleep (it would stall its
//! event loop) nor drop or reorder the request. It leaves the request where it is, arms this
//! timer for when the tokens will be there, and stops serving that queue; the device's event
//! loop sees the timer's fd become readable and calls the device again.

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use vmm_sys_util::timerfd::TimerFd;

use super::bucket::RateLimiter;

/// timerfd treats a zero timeout as "disarm"; a wait that rounds to nothing still needs a wake-up.
const MIN_WAIT: Duration = Duration::from_micros(1);

pub struct Throttle {
    limiter: RateLimiter,
    timer: TimerFd,
    /// The timer is armed and the queue is parked until it fires.
    waiting: bool,
}

impl Throttle {
    pub fn new(limiter: RateLimiter) -> std::io::Result<Throttle> {
        let timer = TimerFd::new()?;
        // Non-blocking, so that draining a timer that was re-armed after it fired (its count is
        // then back to zero) returns EAGAIN instead of stalling the device thread.
        // SAFETY: F_GETFL/F_SETFL on an fd we own; no memory is passed.
        unsafe {
            let fd = timer.as_raw_fd();
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(Throttle {
            limiter,
            timer,
            waiting: false,
        })
    }

    /// The fd the device's event loop watches (readable when the wait is over).
    pub fn fd(&self) -> RawFd {
        self.timer.as_raw_fd()
    }

    /// Whether the queue is parked until the timer fires: the device should not even look at it.
    pub fn is_waiting(&self) -> bool {
        self.waiting
    }

    /// Takes the budget for one request, or arms the timer for when it will be there and
    /// returns false (the caller then leaves the request at the head of its queue).
    pub fn admit(&mut self, ops: u64, bytes: u64) -> bool {
        self.admit_at(ops, bytes, Instant::now())
    }

    fn admit_at(&mut self, ops: u64, bytes: u64, now: Instant) -> bool {
        match self.limiter.try_take(ops, bytes, now) {
            Ok(()) => true,
            Err(wait) => {
                match self.timer.reset(wait.max(MIN_WAIT), None) {
                    Ok(()) => self.waiting = true,
                    // Cannot happen with a valid fd and duration; if it did, staying unparked
                    // means the next guest kick retries, so the queue is late but never stuck.
                    Err(e) => eprintln!("hearth-vmm: rate limiter: cannot arm its timer: {e}"),
                }
                false
            }
        }
    }

    /// The timer fired: consume its expiry and unpark the queue.
    pub fn timer_fired(&mut self) {
        // EAGAIN (already drained, or re-armed since) is fine: the point is an unreadable fd.
        let _ = self.timer.wait();
        self.waiting = false;
    }

    /// The driver reset the device: forget the parked state (tokens already spent stay spent).
    pub fn reset(&mut self) {
        let _ = self.timer.clear();
        let _ = self.timer.wait();
        self.waiting = false;
    }
}

#[cfg(test)]
mod tests {
    use super::super::bucket::TokenBucket;
    use super::*;

    fn readable(fd: RawFd, timeout_ms: i32) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, timeout_ms) == 1 }
    }

    #[test]
    fn a_refused_request_arms_the_timer_and_its_firing_unparks() {
        let t0 = Instant::now();
        let limiter = RateLimiter::new(Some(TokenBucket::new(1, 1000, t0)), None);
        let mut t = Throttle::new(limiter).unwrap();
        assert!(t.admit_at(1, 0, t0));
        assert!(!t.is_waiting());
        assert!(!t.admit_at(1, 0, t0));
        assert!(t.is_waiting());
        // The wait is 1 ms; give it far longer so a busy machine cannot fail the test.
        assert!(readable(t.fd(), 10_000));
        t.timer_fired();
        assert!(!t.is_waiting());
        assert!(!readable(t.fd(), 0), "the expiry was consumed");
        // Draining twice (a spurious wake-up) neither blocks nor fails.
        t.timer_fired();
        assert!(t.admit_at(1, 0, t0 + Duration::from_millis(1)));
    }

    #[test]
    fn reset_disarms() {
        let t0 = Instant::now();
        let limiter = RateLimiter::new(Some(TokenBucket::new(1, 1, t0)), None);
        let mut t = Throttle::new(limiter).unwrap();
        assert!(t.admit_at(1, 0, t0));
        assert!(!t.admit_at(1, 0, t0));
        t.reset();
        assert!(!t.is_waiting());
        assert!(!readable(t.fd(), 0));
    }
}
