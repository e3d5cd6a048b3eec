//! Remembers signature nonces for at least the replay window, in two generations that rotate:
//! a nonce is refused if it is in the current or the previous generation, so it is remembered
//! for between one and two windows, with O(1) work per request and no sweeping.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct NonceCache {
    window: Duration,
    inner: Mutex<Generations>,
}

struct Generations {
    started: Instant,
    current: HashSet<String>,
    previous: HashSet<String>,
}

impl NonceCache {
    pub fn new(window: Duration) -> NonceCache {
        NonceCache {
            window,
            inner: Mutex::new(Generations {
                started: Instant::now(),
                current: HashSet::new(),
                previous: HashSet::new(),
            }),
        }
    }

    /// Records `nonce` for this key; false if it was seen within the window.
    pub fn first_use(&self, key_id: &str, nonce: &str) -> bool {
        self.first_use_at(key_id, nonce, Instant::now())
    }

    fn first_use_at(&self, key_id: &str, nonce: &str, now: Instant) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(g.started) >= self.window {
            let skipped_two = now.duration_since(g.started) >= self.window * 2;
            g.previous = if skipped_two {
                HashSet::new()
            } else {
                std::mem::take(&mut g.current)
            };
            g.current.clear();
            g.started = now;
        }
        let entry = format!("{key_id}\n{nonce}");
        if g.previous.contains(&entry) {
            return false;
        }
        g.current.insert(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_reuse_within_window_and_forgets_after_two() {
        let w = Duration::from_secs(900);
        let c = NonceCache::new(w);
        let t0 = Instant::now();
        assert!(c.first_use_at("ak", "n1", t0));
        assert!(!c.first_use_at("ak", "n1", t0 + Duration::from_secs(10)));
        assert!(c.first_use_at("other", "n1", t0), "nonces are per key");
        assert!(!c.first_use_at("ak", "n1", t0 + Duration::from_secs(899)));
        // Rotated once: still remembered in the previous generation.
        assert!(!c.first_use_at("ak", "n1", t0 + Duration::from_secs(1000)));
        // Two rotations later it is forgotten.
        assert!(c.first_use_at("ak", "n1", t0 + Duration::from_secs(2900)));
    }
}
