//! What can go wrong making the network real, in the kinds a caller acts on differently: a busy
//! device is worth a retry, a refused ruleset or a bad plan is not.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The store could not be read, or holds something the host cannot be given.
    #[error("{0}")]
    Plan(String),
    /// A device is held by someone else for a moment (EBUSY), e.g. a TAP its previous VMM is
    /// still closing: trying again shortly may succeed.
    #[error("{0}")]
    Busy(String),
    /// A netlink request, device ioctl, sysctl or namespace switch failed.
    #[error("{0}")]
    Host(String),
    /// nft could not run, or refused the ruleset (then none of it is in force).
    #[error("{0}")]
    Nft(String),
    /// The network worker thread has stopped.
    #[error("the network thread has stopped")]
    Stopped,
}

pub type Result<T> = std::result::Result<T, NetError>;

impl NetError {
    /// A failed system call on `what`; EBUSY becomes [`NetError::Busy`].
    pub fn io(what: &str, e: io::Error) -> NetError {
        Self::host_errno(what, e.raw_os_error(), &e)
    }

    /// A failed netlink request on `what`; EBUSY becomes [`NetError::Busy`].
    pub fn netlink(what: &str, e: rtnetlink::Error) -> NetError {
        let errno = match &e {
            rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
            _ => None,
        };
        Self::host_errno(what, errno, &e)
    }

    fn host_errno(what: &str, errno: Option<i32>, e: &dyn std::fmt::Display) -> NetError {
        let text = format!("{what}: {e}");
        if errno == Some(libc::EBUSY) {
            NetError::Busy(text)
        } else {
            NetError::Host(text)
        }
    }

    pub fn is_busy(&self) -> bool {
        matches!(self, NetError::Busy(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ebusy_is_busy_and_keeps_the_message() {
        let e = NetError::io(
            "creating TAP htap1",
            io::Error::from_raw_os_error(libc::EBUSY),
        );
        assert!(e.is_busy());
        assert!(e.to_string().starts_with("creating TAP htap1: "));
        assert!(e.to_string().contains("busy"), "{e}");
        let other = NetError::io(
            "creating TAP htap1",
            io::Error::from_raw_os_error(libc::EPERM),
        );
        assert!(!other.is_busy());
        assert!(matches!(other, NetError::Host(_)));
    }
}
