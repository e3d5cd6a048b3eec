//! Helpers shared by the integration tests. Each test crate uses a subset,
//! hence the dead_code allowance.
#![allow(dead_code)]

pub mod artifacts;
pub mod seed;
pub mod testhost;
