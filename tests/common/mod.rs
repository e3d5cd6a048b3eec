//! Helpers shared by the integration tests. Each test crate uses a subset,
//! hence the dead_code allowance.
#![allow(dead_code)]

pub mod artifacts;
pub mod testhost;
pub mod seed;
