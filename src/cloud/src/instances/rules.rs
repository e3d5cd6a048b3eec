//! Pure ECS rules for instance requests: name sequences, AutoReleaseTime, MAC addresses, and the
//! codes for things hearth does not have. Disk rules are in [`crate::disk_rules`].

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Expands a name for `amount` instances (RunInstances): `prefix[begin,width]suffix` numbers
/// them from `begin` with `width` digits; otherwise, with UniqueSuffix, a 3-digit suffix from
/// 001 is appended; otherwise every instance gets the same name.
pub fn name_sequence(
    param: &str,
    name: &str,
    amount: usize,
    unique_suffix: bool,
) -> Result<Vec<String>> {
    if let Some((prefix, rest)) = name.split_once('[') {
        if let Some((spec, suffix)) = rest.split_once(']') {
            let bad = || {
                Error::invalid_parameter(
                    param,
                    format!("{name:?} has a malformed sequence: use name[begin,width] with begin 0 to 999999 and width 1 to 6"),
                )
            };
            let (begin, width) = spec.split_once(',').ok_or_else(bad)?;
            let begin: u64 = begin.trim().parse().map_err(|_| bad())?;
            let width: usize = width.trim().parse().map_err(|_| bad())?;
            if begin > 999_999 || !(1..=6).contains(&width) {
                return Err(bad());
            }
            return Ok((0..amount as u64)
                .map(|i| format!("{prefix}{:0width$}{suffix}", begin + i))
                .collect());
        }
    }
    if unique_suffix && amount > 1 {
        return Ok((1..=amount).map(|i| format!("{name}{i:03}")).collect());
    }
    Ok(vec![name.to_string(); amount])
}

/// AutoReleaseTime: `YYYY-MM-DDTHH:mm:ssZ` (or without seconds) in UTC, at least 30 minutes
/// and at most 3 years from `now`; seconds are dropped (the release happens on the minute).
pub fn auto_release_time(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<String> {
    use chrono::{NaiveDateTime, TimeZone, Timelike};
    let bad = |why: &str| {
        Error::bad_request(
            "InvalidAutoReleaseTime.Malformed",
            format!("The specified parameter \"AutoReleaseTime\" {text:?} is not valid: {why}."),
        )
    };
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%MZ"))
        .map_err(|_| bad("use UTC in the form YYYY-MM-DDTHH:mm:ssZ"))?;
    let at = chrono::Utc
        .from_utc_datetime(&parsed)
        .with_second(0)
        .ok_or_else(|| bad("not a time"))?;
    if at < now + chrono::Duration::minutes(30) {
        return Err(bad("it must be at least 30 minutes from now"));
    }
    if at > now + chrono::Duration::days(3 * 365 + 1) {
        return Err(bad("it must be at most 3 years from now"));
    }
    Ok(at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// A MAC in Alibaba's OUI 00:16:3e, the other three bytes from a hash of the instance ID
/// (`attempt` > 0 after a collision).
pub fn mac_for(instance_id: &str, attempt: u32) -> String {
    let mut h = Sha256::new();
    h.update(instance_id.as_bytes());
    if attempt > 0 {
        h.update(attempt.to_le_bytes());
    }
    let d = h.finalize();
    format!("00:16:3e:{:02x}:{:02x}:{:02x}", d[0], d[1], d[2])
}

/// The error for a parameter naming a resource kind hearth does not have: the NotFound code
/// ECS gives for an unknown one of that kind. `None` when the parameter is not such a one.
pub fn absent_resource(param: &str, value: &str) -> Option<Error> {
    let field = param.rsplit('.').next().unwrap_or(param);
    let (status, code, what) = match (param, field) {
        ("DedicatedHostId", _) => (400, "InvalidDedicatedHostId.NotFound", "dedicated host"),
        ("DedicatedHostClusterId", _) => (
            400,
            "InvalidDedicatedHostClusterId.NotFound",
            "dedicated host cluster",
        ),
        ("HpcClusterId", _) => (400, "InvalidHpcClusterId.NotFound", "HPC cluster"),
        ("DeploymentSetId", _) => (400, "InvalidDeploymentSetId.NotFound", "deployment set"),
        ("LaunchTemplateId" | "LaunchTemplateName", _) => {
            (404, "InvalidLaunchTemplate.NotFound", "launch template")
        }
        ("RamRoleName", _) => (404, "InvalidRamRole.NotFound", "RAM role"),
        ("ClusterId", _) => (404, "InvalidClusterId.NotFound", "cluster"),
        ("StorageSetId", _) => (403, "InvalidParameter.StorageSetId", "storage set"),
        ("PrivatePoolOptions.Id", _) => (400, "Invalid.PrivatePoolOptions.Id", "private pool"),
        ("ImageFamily", _) => (
            403,
            "InvalidImageFamily.MissingAvailableImage",
            "image family",
        ),
        ("ManagedHostId", _) => (404, "InvalidManagedHostId.NotFound", "managed host"),
        ("CapacityReservationId", _) => (
            400,
            "InvalidCapacityReservationId.NotFound",
            "capacity reservation",
        ),
        (_, "SnapshotId") => (404, "InvalidDataDiskSnapshotId.NotFound", "snapshot"),
        (_, "KMSKeyId") => (404, "InvalidParameter.KMSKeyId.NotFound", "KMS key"),
        (_, "StorageClusterId") => (
            404,
            "InvalidStorageClusterId.NotExist",
            "dedicated block storage cluster",
        ),
        (_, "AutoSnapshotPolicyId") => (
            404,
            "InvalidAutoSnapshotPolicyId.NotFound",
            "automatic snapshot policy",
        ),
        _ => return None,
    };
    Some(Error::new(
        status,
        code,
        format!("The specified {param} {value:?} does not exist: this host has no {what}s."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code_of as code;

    #[test]
    fn sequences() {
        assert_eq!(
            name_sequence("N", "k8s-node-[1,4]-x", 2, false).unwrap(),
            ["k8s-node-0001-x", "k8s-node-0002-x"]
        );
        assert_eq!(
            name_sequence("N", "instance-[99,3]-test", 2, false).unwrap(),
            ["instance-099-test", "instance-100-test"]
        );
        assert_eq!(
            name_sequence("N", "web", 3, true).unwrap(),
            ["web001", "web002", "web003"]
        );
        assert_eq!(name_sequence("N", "web", 2, false).unwrap(), ["web", "web"]);
        assert_eq!(name_sequence("N", "web", 1, true).unwrap(), ["web"]);
        assert!(name_sequence("N", "a[1,7]", 1, false).is_err());
        assert!(name_sequence("N", "a[x,2]", 1, false).is_err());
    }

    #[test]
    fn release_window() {
        use chrono::TimeZone;
        let now = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            auto_release_time("2026-01-01T01:00:59Z", now).unwrap(),
            "2026-01-01T01:00:00Z"
        );
        assert_eq!(
            auto_release_time("2026-01-01T01:00Z", now).unwrap(),
            "2026-01-01T01:00:00Z"
        );
        assert!(auto_release_time("2026-01-01T00:10:00Z", now).is_err());
        assert!(auto_release_time("2030-01-01T00:00:00Z", now).is_err());
        assert_eq!(
            code(auto_release_time("tomorrow", now)),
            ("InvalidAutoReleaseTime.Malformed".into(), 400)
        );
    }

    #[test]
    fn macs() {
        let m = mac_for("i-abc", 0);
        assert!(m.starts_with("00:16:3e:") && m.len() == 17);
        assert_eq!(m, mac_for("i-abc", 0));
        assert_ne!(m, mac_for("i-abc", 1));
    }

    #[test]
    fn absent_resources() {
        let e = absent_resource("DedicatedHostId", "dh-1").unwrap();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("InvalidDedicatedHostId.NotFound", 400)
        );
        assert_eq!(
            absent_resource("DataDisk.3.SnapshotId", "s-1")
                .unwrap()
                .code,
            "InvalidDataDiskSnapshotId.NotFound"
        );
        assert!(absent_resource("InstanceName", "x").is_none());
    }
}
