//! hearth's API: the HTTP surface that official Alibaba Cloud (and Tencent Cloud CVM) clients talk to. It authenticates
//! and decodes requests, hands them to the cloud, and encodes answers and errors as ECS does.
//! It knows wire formats and nothing of KVM.

pub mod auth;
mod cvm;
mod ecs;
pub mod encode;
pub mod fuzzing;
pub mod params;
mod server;

pub use server::{router, ApiState};
