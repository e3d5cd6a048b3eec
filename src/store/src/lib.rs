//! The store: one connection pool over SQLite (default) or PostgreSQL, migrations applied at
//! start, and write transactions that are serialized so that check-then-insert rules (CIDR
//! overlap, unique names) cannot race.
//!
//! SQL in this crate must run unchanged on both backends: `$1`-style placeholders (SQLite accepts
//! them too), TEXT/BIGINT columns only, booleans as 0/1.

mod backend;
mod columns;
pub mod consoles;
pub mod disks;
pub mod hosts;
pub mod instances;
pub mod key_pairs;
pub mod page;
pub mod public_ips;
mod query;
mod row;
pub mod security_groups;
pub mod state;
pub mod tags;
pub mod tokens;
pub mod vpcs;
pub mod vswitches;

pub use backend::{Backend, OwnRowWrite, Store, WriteTx};
pub use page::{Page, Tagged};
pub use sqlx::AnyConnection as Conn;
pub use state::{Intent, Status};

pub type Result<T> = std::result::Result<T, sqlx::Error>;
