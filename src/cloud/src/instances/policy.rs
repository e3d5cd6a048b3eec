//! The few launch rules in which the two APIs differ, as a value: ECS's by default, and the CVM
//! side passes its own (the CVM module's POLICY), so the shared launch code holds no dialect's
//! knowledge of its own.

use crate::password::{self, PasswordRule};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Instances one request may create (ECS Amount 1–100, CVM InstanceCount 1–500).
    pub max_amount: i64,
    pub password: PasswordRule,
    /// ECS's billing limits: a PrePaid Period of 1, 2, 3, 6 or 12 months only, and no
    /// DeletionProtection on PrePaid or spot instances.
    pub ecs_billing: bool,
}

impl Policy {
    pub const ECS: Policy = Policy {
        max_amount: 100,
        password: password::ECS,
        ecs_billing: true,
    };
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::ECS
    }
}
