//! InternetMaxBandwidthOut/In (Mbit/s) as limits on an instance's TAP, in bytes a second.
//!
//! On ECS these cap the instance's public (Internet) traffic only; VPC traffic between
//! instances is not limited by them. hearth's TAP carries both, so the choice is:
//! - Out = 0 means the instance has no public bandwidth (ECS allows 0 and then gives no public
//!   IP). Limiting the TAP to 0 would cut the private VSwitch traffic too, and In is at least 1
//!   even then (it defaults to 10), which would throttle private traffic to 10 Mbit/s for an
//!   instance the user never gave Internet access. So with Out = 0 the TAP is not limited at all.
//! - Out > 0: the guest's transmit is limited to Out and its receive to In. This also caps the
//!   instance's private traffic, which ECS does not; until public traffic leaves through a path
//!   of its own, this is the closest hearth can get to the figure the user pays for.

/// 1 Mbit/s in bytes a second.
pub const BYTES_PER_SEC_PER_MBIT: u64 = 125_000;

/// The TAP's limits: bytes a second towards the guest (receive) and from it (transmit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapLimits {
    pub rx_bytes_per_sec: u64,
    pub tx_bytes_per_sec: u64,
}

/// The limits for an instance's stored bandwidths, None when its TAP is not limited.
pub fn tap_limits(max_bandwidth_out: i64, max_bandwidth_in: i64) -> Option<TapLimits> {
    let out = u64::try_from(max_bandwidth_out).ok().filter(|&v| v > 0)?;
    // In is 1 or more whenever Out is set (the API checks it); a stored 0 or less would be a
    // limit that stops all receive, so treat it as Out, the API's default for In.
    let inbound = u64::try_from(max_bandwidth_in)
        .ok()
        .filter(|&v| v > 0)
        .unwrap_or(out);
    Some(TapLimits {
        rx_bytes_per_sec: inbound * BYTES_PER_SEC_PER_MBIT,
        tx_bytes_per_sec: out * BYTES_PER_SEC_PER_MBIT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_public_bandwidth_leaves_the_tap_alone() {
        assert_eq!(tap_limits(0, 10), None);
        assert_eq!(tap_limits(-1, 10), None);
    }

    #[test]
    fn out_limits_transmit_and_in_limits_receive() {
        assert_eq!(
            tap_limits(5, 10),
            Some(TapLimits {
                rx_bytes_per_sec: 1_250_000,
                tx_bytes_per_sec: 625_000
            })
        );
        assert_eq!(
            tap_limits(100, 100),
            Some(TapLimits {
                rx_bytes_per_sec: 12_500_000,
                tx_bytes_per_sec: 12_500_000
            })
        );
        assert_eq!(
            tap_limits(20, 0).map(|l| l.rx_bytes_per_sec),
            Some(2_500_000)
        );
    }
}
