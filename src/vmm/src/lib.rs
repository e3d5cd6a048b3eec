//! hearth's virtual machine monitor: one KVM microVM per process.
//!
//! `Vmm::build` turns a [`config::VmConfig`] into a ready machine (memory, kernel, vCPUs,
//! devices) and fails with a message naming the problem before any guest code runs;
//! `Vmm::run` starts the vCPUs and serves devices and the control socket until the guest stops.
//! The process exit codes are in [`exit::ExitCode`].

pub mod boot;
pub mod builder;
pub mod config;
pub mod control;
pub mod devices;
pub mod exit;
pub mod layout;
pub mod memory;
pub mod run;
pub mod state;
pub mod vcpu;

pub use builder::{BuildError, BuildOptions, Vmm};
pub use exit::{Exit, ExitKind};
