//! Instances (ECS 2014-05-26): launching (CreateInstance, RunInstances), the status/intent
//! contract with the supervisor, reading and modifying, and the files each instance owns
//! under `cloud.data_dir` (disks, seed volume, console log).
//!
//! The supervisor contract: `status` is the ECS status, `intent` what the supervisor must do
//! next ([`Intent`]: start, stop, force_stop, reboot, force_reboot, delete), NULL when settled.
//! API calls change both in one transaction, commit, then call `cloud.host.instances_changed()`.

pub mod capacity;
#[cfg(test)]
mod contract_tests;
pub mod files;
pub mod host_files;
pub mod launch;
pub mod lifecycle;
pub mod membership;
pub mod modify;
#[cfg(test)]
mod network_tests;
pub mod policy;
pub mod public_ip;
pub mod rules;
pub mod seed;
pub mod user_data;
pub mod view;

pub use launch::{launch, Billing, DiskRequest, Idempotency, Launch, MetadataOptions};
pub use lifecycle::{
    change, delete, due_for_release, finish_delete, pending_intents, settle, settle_launch_failed,
    Change, Transition,
};
pub use policy::Policy;

use crate::Error;

pub use hearth_store::{Intent, Status};

/// Every ECS instance status, for validating Status filters.
pub const STATUSES: &[&str] = &[
    Status::Pending.as_str(),
    Status::Starting.as_str(),
    Status::Running.as_str(),
    Status::Stopping.as_str(),
    Status::Stopped.as_str(),
];

/// Which launch action a request is, for ClientToken records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Run,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "CreateInstance",
            Action::Run => "RunInstances",
        }
    }
}

/// `InvalidInstanceId.NotFound` (tools poll for it after DeleteInstance).
pub fn not_found(id: &str) -> Error {
    Error::not_found(
        "InvalidInstanceId.NotFound",
        format!("The specified InstanceId {id:?} does not exist."),
    )
}
