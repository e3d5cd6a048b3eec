//! Token-bucket rate limits for devices: a disk's IOPS and bytes a second, a NIC's bytes a second
//! in each direction. `bucket` is the arithmetic (time passed in, so tests need no clock);
//! `throttle` adds the timer that resumes a device queue that had to wait.

pub mod bucket;
pub mod throttle;

pub use bucket::{RateLimiter, TokenBucket};
pub use throttle::Throttle;
