//! The token bucket itself: pure arithmetic over a time the caller passes in, so it can be
//! tested without a clock.
//!
//! Semantics (after Firecracker's RateLimiter, written anew): a bucket holds up to `capacity`
//! tokens and gains `per_sec` tokens a second; it starts full. A request of `n` tokens may start
//! once the bucket holds `min(n, capacity)`; it then takes all `n`, which can leave the bucket in
//! debt. So a request larger than the whole bucket still passes (when the bucket is full) and
//! the debt it leaves makes the next ones wait: the long-run rate is kept and nothing starves.
//! Firecracker's `one_time_burst` (extra tokens that never come back) is not needed here: a VM
//! starts with a full bucket, which is burst enough.

use std::time::{Duration, Instant};

const NANOS_PER_SEC: i128 = 1_000_000_000;

/// How much a full bucket lets through at once: a tenth of a second at the full rate. Long
/// enough that timer wake-ups stay rare (at most ~10 a second while throttled), short enough that
/// a guest cannot beat the limit noticeably over any measurement of a second or more.
pub const BURST: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    per_sec: u64,
    /// Tokens, in units of 1/10^9 of a token, so that refilling for any number of nanoseconds
    /// is exact (no rounding that would slowly lose or gain tokens).
    capacity_nano: i128,
    level_nano: i128,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilled at `per_sec` a second (both at least 1).
    pub fn new(capacity: u64, per_sec: u64, now: Instant) -> TokenBucket {
        let capacity_nano = i128::from(capacity.max(1)) * NANOS_PER_SEC;
        TokenBucket {
            per_sec: per_sec.max(1),
            capacity_nano,
            level_nano: capacity_nano,
            last: now,
        }
    }

    /// A bucket for `per_sec` tokens a second whose burst is [`BURST`] worth of them.
    pub fn per_second(per_sec: u64, now: Instant) -> TokenBucket {
        let per_sec = per_sec.max(1);
        let capacity = (u128::from(per_sec) * BURST.as_nanos() / NANOS_PER_SEC as u128).max(1);
        TokenBucket::new(u64::try_from(capacity).unwrap_or(u64::MAX), per_sec, now)
    }

    pub fn capacity(&self) -> u64 {
        u64::try_from(self.capacity_nano / NANOS_PER_SEC).unwrap_or(u64::MAX)
    }

    /// Whole tokens in the bucket now (negative while in debt).
    pub fn level(&mut self, now: Instant) -> i128 {
        self.refill(now);
        self.level_nano.div_euclid(NANOS_PER_SEC)
    }

    fn refill(&mut self, now: Instant) {
        // A clock that went backwards (it cannot with Instant, but be safe) adds nothing.
        let elapsed = now.saturating_duration_since(self.last);
        self.last = self.last.max(now);
        let gained = elapsed.as_nanos() as i128 * i128::from(self.per_sec);
        self.level_nano = (self.level_nano + gained).min(self.capacity_nano);
    }

    /// How long until a request of `n` tokens may start; zero if it may now.
    pub fn wait_for(&mut self, n: u64, now: Instant) -> Duration {
        self.refill(now);
        let needed = (i128::from(n) * NANOS_PER_SEC).min(self.capacity_nano);
        let missing = needed - self.level_nano;
        if missing <= 0 {
            return Duration::ZERO;
        }
        // Round up: waking a nanosecond early would find the bucket just short.
        let per_sec = i128::from(self.per_sec);
        let nanos = (missing + per_sec - 1) / per_sec;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Takes `n` tokens (possibly into debt). Call only after `wait_for` said zero.
    pub fn take(&mut self, n: u64, now: Instant) {
        self.refill(now);
        self.level_nano -= i128::from(n) * NANOS_PER_SEC;
    }
}

/// A device's limits: operations a second and bytes a second, either or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimiter {
    ops: Option<TokenBucket>,
    bytes: Option<TokenBucket>,
}

impl RateLimiter {
    pub fn new(ops: Option<TokenBucket>, bytes: Option<TokenBucket>) -> RateLimiter {
        RateLimiter { ops, bytes }
    }

    /// None when neither limit is set: the device then keeps no limiter at all.
    pub fn per_second(ops: Option<u64>, bytes: Option<u64>, now: Instant) -> Option<RateLimiter> {
        if ops.is_none() && bytes.is_none() {
            return None;
        }
        Some(RateLimiter {
            ops: ops.map(|n| TokenBucket::per_second(n, now)),
            bytes: bytes.map(|n| TokenBucket::per_second(n, now)),
        })
    }

    /// Takes `ops` operations and `bytes` bytes if both budgets allow it now; otherwise takes
    /// nothing and says how long to wait before asking again. All or nothing, so a request that
    /// fits one budget but not the other does not use up the first.
    pub fn try_take(&mut self, ops: u64, bytes: u64, now: Instant) -> Result<(), Duration> {
        let wait = |b: &mut Option<TokenBucket>, n: u64| {
            b.as_mut().map_or(Duration::ZERO, |b| b.wait_for(n, now))
        };
        let longest = wait(&mut self.ops, ops).max(wait(&mut self.bytes, bytes));
        if !longest.is_zero() {
            return Err(longest);
        }
        if let Some(b) = &mut self.ops {
            b.take(ops, now);
        }
        if let Some(b) = &mut self.bytes {
            b.take(bytes, now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn starts_full_and_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 100, t0);
        assert_eq!(b.level(t0), 10);
        for _ in 0..10 {
            assert_eq!(b.wait_for(1, t0), Duration::ZERO);
            b.take(1, t0);
        }
        // Empty: one token comes every 10 ms.
        assert_eq!(b.wait_for(1, t0), ms(10));
        assert_eq!(b.level(t0 + ms(35)), 3);
        // Never more than the capacity, however long it sat idle.
        assert_eq!(b.level(t0 + Duration::from_secs(3600)), 10);
    }

    #[test]
    fn the_burst_is_a_tenth_of_a_second() {
        let t0 = Instant::now();
        assert_eq!(TokenBucket::per_second(2000, t0).capacity(), 200);
        assert_eq!(
            TokenBucket::per_second(20_000_000, t0).capacity(),
            2_000_000
        );
        // A tiny rate still admits one token at a time.
        assert_eq!(TokenBucket::per_second(3, t0).capacity(), 1);
    }

    #[test]
    fn a_request_larger_than_the_bucket_passes_and_repays_its_debt() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 1000, t0);
        // 1 MB through a 100-byte bucket: it may start because the bucket is full...
        assert_eq!(b.wait_for(1_000_000, t0), Duration::ZERO);
        b.take(1_000_000, t0);
        assert_eq!(b.level(t0), 100 - 1_000_000);
        // ...and the next request waits until the debt is repaid and the bucket is full again.
        assert_eq!(b.wait_for(1_000_000, t0), Duration::from_secs(1000));
        assert_eq!(b.wait_for(1, t0), ms(999_901));
    }

    #[test]
    fn never_starves_a_steady_stream_of_big_requests() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, 10, t0);
        let mut now = t0;
        let mut served = 0u64;
        // Each request is 25 tokens (2.5 s at the rate); keep asking at whatever time we were told.
        while served < 8 {
            let wait = b.wait_for(25, now);
            now += wait;
            if b.wait_for(25, now).is_zero() {
                b.take(25, now);
                served += 1;
            }
        }
        // The first starts at once from the full bucket, each next one 2.5 s (its 25 tokens at
        // 10 a second) after the one before.
        assert_eq!(now - t0, ms(17_500));
    }

    #[test]
    fn refill_is_exact_over_many_small_steps() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1_000_000, 3, t0);
        b.take(1_000_000, t0);
        let mut now = t0;
        for _ in 0..1000 {
            now += Duration::from_nanos(333_333_333);
            b.level(now);
        }
        // 333.333333 s at 3 a second: 999.999999 tokens, so 999 whole ones.
        assert_eq!(b.level(now), 999);
        // The last millionth of a token takes 334 ns at 3 a second.
        assert_eq!(b.level(now + Duration::from_nanos(333)), 999);
        assert_eq!(b.level(now + Duration::from_nanos(334)), 1000);
    }

    #[test]
    fn limiter_takes_from_both_budgets_or_neither() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(
            Some(TokenBucket::new(10, 10, t0)),
            Some(TokenBucket::new(100, 100, t0)),
        );
        assert_eq!(l.try_take(1, 100, t0), Ok(()));
        // Ops are there but bytes are not: nothing is taken.
        assert_eq!(l.try_take(1, 50, t0), Err(ms(500)));
        assert_eq!(l.ops.as_mut().unwrap().level(t0), 9);
        // The longer of the two waits is the one reported.
        assert_eq!(l.try_take(10, 100, t0), Err(ms(1000)));
        assert_eq!(l.try_take(1, 50, t0 + ms(500)), Ok(()));
    }

    #[test]
    fn no_limit_means_no_limiter() {
        let t0 = Instant::now();
        assert!(RateLimiter::per_second(None, None, t0).is_none());
        let mut only_ops = RateLimiter::per_second(Some(10), None, t0).unwrap();
        // Bytes are free when only operations are limited.
        assert_eq!(only_ops.try_take(1, u64::MAX, t0), Ok(()));
    }
}
