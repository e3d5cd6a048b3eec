//! An instance's status and intent, stored as the strings ECS and the supervisor contract use.
//!
//! `status` is the ECS status a client sees; `intent` is what the supervisor must do next, NULL
//! once the host has reached the status. Both are decoded here, so a value no code knows is a
//! decode error rather than a string compared in many places.

use std::fmt;
use std::str::FromStr;

/// An ECS instance status. A new record is Pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    #[default]
    Pending,
    Starting,
    Running,
    Stopping,
    Stopped,
}

impl Status {
    /// Every status, in ECS's order, for validating Status filters.
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Starting,
        Status::Running,
        Status::Stopping,
        Status::Stopped,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Starting => "Starting",
            Status::Running => "Running",
            Status::Stopping => "Stopping",
            Status::Stopped => "Stopped",
        }
    }
}

/// What the supervisor must do next for an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    Start,
    Stop,
    ForceStop,
    Reboot,
    ForceReboot,
    Delete,
}

impl Intent {
    pub const ALL: [Intent; 6] = [
        Intent::Start,
        Intent::Stop,
        Intent::ForceStop,
        Intent::Reboot,
        Intent::ForceReboot,
        Intent::Delete,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Intent::Start => "start",
            Intent::Stop => "stop",
            Intent::ForceStop => "force_stop",
            Intent::Reboot => "reboot",
            Intent::ForceReboot => "force_reboot",
            Intent::Delete => "delete",
        }
    }

    /// Stop and Reboot ask the guest first (Ctrl-Alt-Del); the forced ones and Delete do not.
    pub fn is_graceful(self) -> bool {
        matches!(self, Intent::Stop | Intent::Reboot)
    }

    /// Reboot or ForceReboot.
    pub fn is_reboot(self) -> bool {
        matches!(self, Intent::Reboot | Intent::ForceReboot)
    }
}

/// A stored string that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known instance {what}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

fn parse<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    what: &'static str,
    s: &str,
) -> Result<T, UnknownValue> {
    all.iter()
        .copied()
        .find(|v| name(*v) == s)
        .ok_or_else(|| UnknownValue {
            what,
            value: s.to_string(),
        })
}

impl FromStr for Status {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Status, UnknownValue> {
        parse(&Status::ALL, Status::as_str, "status", s)
    }
}

impl FromStr for Intent {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Intent, UnknownValue> {
        parse(&Intent::ALL, Intent::as_str, "intent", s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decodes a stored column, mapping an unknown value to sqlx's decode error for that column.
pub(crate) fn decode<T: FromStr<Err = UnknownValue>>(
    column: &str,
    value: &str,
) -> Result<T, sqlx::Error> {
    value
        .parse()
        .map_err(|e: UnknownValue| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: Box::new(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_from_its_string() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        for i in Intent::ALL {
            assert_eq!(i.as_str().parse::<Intent>(), Ok(i));
        }
    }

    #[test]
    fn an_unknown_string_is_refused_with_its_value() {
        let e = "running".parse::<Status>().unwrap_err();
        assert_eq!(e.to_string(), "\"running\" is not a known instance status");
        assert!("Start".parse::<Intent>().is_err());
    }

    #[test]
    fn only_stop_and_reboot_ask_the_guest() {
        let graceful: Vec<_> = Intent::ALL
            .into_iter()
            .filter(|i| i.is_graceful())
            .collect();
        assert_eq!(graceful, [Intent::Stop, Intent::Reboot]);
    }
}
