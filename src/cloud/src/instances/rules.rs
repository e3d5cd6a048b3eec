//! Pure ECS rules for instance requests: host names, name sequences, disks and their categories,
//! user data, AutoReleaseTime, MAC addresses, and the codes for things hearth does not have.
//! Where the CreateInstance editions disagree, seed 001 (2026) wins; docs/api-compat.md lists
//! each difference.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A data disk category or system disk category with the sizes it can be created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    pub name: &'static str,
    pub min_gib: i64,
    pub max_gib: i64,
}

const fn cat(name: &'static str, min_gib: i64, max_gib: i64) -> Category {
    Category {
        name,
        min_gib,
        max_gib,
    }
}

/// System disk categories (001: cloud 20–500, the others 20–2048; ephemeral_ssd from 000/002).
pub const SYSTEM_CATEGORIES: &[Category] = &[
    cat("cloud", 20, 500),
    cat("cloud_efficiency", 20, 2048),
    cat("cloud_ssd", 20, 2048),
    cat("cloud_essd", 20, 2048),
    cat("cloud_auto", 20, 2048),
    cat("cloud_essd_entry", 20, 2048),
    cat("ephemeral_ssd", 20, 500),
];

/// Data disk categories; cloud_essd's minimum depends on the performance level (see
/// [`essd_min_gib`]).
pub const DATA_CATEGORIES: &[Category] = &[
    cat("cloud", 5, 2000),
    cat("cloud_efficiency", 20, 32768),
    cat("cloud_ssd", 20, 32768),
    cat("cloud_essd", 1, 65536),
    cat("cloud_auto", 1, 65536),
    cat("cloud_essd_entry", 10, 32768),
    cat("ephemeral_ssd", 5, 800),
    cat("elastic_ephemeral_disk_standard", 64, 8192),
    cat("elastic_ephemeral_disk_premium", 64, 8192),
];

/// Categories only some instance-type families (ecs.u1, ecs.e) offer; hearth has neither.
const FAMILY_ONLY: &[&str] = &["cloud_essd_entry"];

/// Local-SSD data disks of one instance together hold at most 1 TiB (system disk excluded).
pub const MAX_LOCAL_SSD_GIB: i64 = 1024;
/// Data disks per instance.
pub const MAX_DATA_DISKS: usize = 16;

/// The smallest cloud_essd of a performance level (001): PL0 1, PL1 20, PL2 461, PL3 1261 GiB.
pub fn essd_min_gib(level: &str) -> i64 {
    match level {
        "PL0" => 1,
        "PL2" => 461,
        "PL3" => 1261,
        _ => 20,
    }
}

/// ECS device names: /dev/xvda for the system disk, then /dev/xvdb.. in data disk order.
pub fn device_name(index: usize) -> String {
    format!("/dev/xvd{}", (b'a' + index as u8) as char)
}

/// The performance level of a disk: PL0–PL3 for cloud_essd (default PL1), empty otherwise.
pub fn performance_level(param: &str, category: &str, given: Option<&str>) -> Result<String> {
    match (category, given) {
        ("cloud_essd", None) => Ok("PL1".into()),
        ("cloud_essd", Some(l)) if ["PL0", "PL1", "PL2", "PL3"].contains(&l) => Ok(l.into()),
        (_, None) => Ok(String::new()),
        (_, Some(l)) => Err(Error::bad_request(
            "InvalidPerformanceLevel.Malformed",
            format!("The specified parameter {param} {l:?} is not valid: performance levels PL0, PL1, PL2 and PL3 apply to cloud_essd disks only."),
        )),
    }
}

fn family_only(param: &str, category: &str) -> Result<()> {
    if FAMILY_ONLY.contains(&category) {
        return Err(Error::forbidden(
            "InvalidDiskCategory.NotSupported",
            format!("The specified {param} {category:?} is offered only with the ecs.u1 and ecs.e families, which this host does not have."),
        ));
    }
    Ok(())
}

/// SystemDisk.Category (default cloud_efficiency) and SystemDisk.Size: at least max(20, image
/// size), default max(40, image size), at most the category's maximum.
pub fn system_disk(
    category: Option<&str>,
    size: Option<i64>,
    image_gib: i64,
) -> Result<(Category, i64)> {
    let c = category_of(
        SYSTEM_CATEGORIES,
        "SystemDisk.Category",
        category,
        "InvalidSystemDiskCategory.ValueNotSupported",
    )?;
    let size = size.unwrap_or(40.max(image_gib));
    if size < c.min_gib {
        return Err(Error::not_found(
            "InvalidSystemDiskSize.LessThanMinSize",
            format!("The specified parameter SystemDisk.Size {size} is less than the min size: at least {} GiB.", c.min_gib),
        ));
    }
    if size < image_gib {
        return Err(Error::not_found(
            "InvalidSystemDiskSize.LessThanImageSize",
            format!("The specified parameter SystemDisk.Size {size} is less than the image size ({image_gib} GiB)."),
        ));
    }
    if size > c.max_gib {
        return Err(Error::not_found(
            "InvalidSystemDiskSize.MoreThanMaxSize",
            format!("The specified SystemDisk.Size parameter {size} exceeds the maximum size of {} disks ({} GiB).", c.name, c.max_gib),
        ));
    }
    Ok((c, size))
}

/// The category `param` names in `list` (default cloud_efficiency), or `code` listing the
/// allowed ones.
fn category_of(
    list: &[Category],
    param: &str,
    category: Option<&str>,
    code: &str,
) -> Result<Category> {
    let name = category.unwrap_or("cloud_efficiency");
    let names = || list.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    let c = list
        .iter()
        .find(|c| c.name == name)
        .copied()
        .ok_or_else(|| {
            Error::bad_request(
                code,
                format!(
                    "The specified parameter \"{param}\" {name:?} is not valid: use one of {}.",
                    names()
                ),
            )
        })?;
    family_only(param, name)?;
    Ok(c)
}

/// DataDisk.N.Category (default cloud_efficiency) and DataDisk.N.Size within its range.
pub fn data_disk(
    n: u32,
    category: Option<&str>,
    size: Option<i64>,
    level: &str,
) -> Result<(Category, i64)> {
    let c = category_of(
        DATA_CATEGORIES,
        &format!("DataDisk.{n}.Category"),
        category,
        "InvalidDataDiskCategory.ValueNotSupported",
    )?;
    let name = c.name;
    let size = size.ok_or_else(|| Error::missing_parameter(&format!("DataDisk.{n}.Size")))?;
    let min = if name == "cloud_essd" {
        essd_min_gib(level)
    } else {
        c.min_gib
    };
    if name == "cloud_essd" && size >= 1 && size < min {
        return Err(Error::forbidden(
            "OperationDenied.PerformanceLevelNotMatch",
            format!("The specified DataDisk.{n}.PerformanceLevel {level} and DataDisk.{n}.Size {size} do not match: {level} needs at least {min} GiB."),
        ));
    }
    if !(min..=c.max_gib).contains(&size) {
        return Err(Error::bad_request(
            "InvalidDataDiskSize.ValueNotSupported",
            format!("The specified DataDisk.{n}.Size {size} is beyond the permitted range of {name}: {min} to {} GiB.", c.max_gib),
        ));
    }
    Ok((c, size))
}

/// The local-SSD rules: a local-SSD data disk needs a local-SSD system disk, local-SSD data disks
/// hold at most 1 TiB together, and local disks are always released with the instance.
pub fn local_ssd(system: &str, data: &[(u32, &str, i64, Option<bool>)]) -> Result<()> {
    let mut total = 0;
    for (n, category, size, delete_with_instance) in data {
        if *category != "ephemeral_ssd" {
            continue;
        }
        if system != "ephemeral_ssd" {
            return Err(Error::forbidden(
                "InvalidDiskCategory.Mismatch",
                format!("The specified disk categories combination is not supported: DataDisk.{n} is ephemeral_ssd, which needs an ephemeral_ssd system disk (SystemDisk.Category is {system})."),
            ));
        }
        if *delete_with_instance == Some(false) {
            return Err(Error::forbidden(
                "DeleteWithInstance.Conflict",
                format!("The specified disk DataDisk.{n} is not a portable disk and cannot be set to DeleteWithInstance=false: local disks are released with their instance."),
            ));
        }
        total += size;
    }
    if total > MAX_LOCAL_SSD_GIB {
        return Err(Error::forbidden(
            "InstanceDiskCategoryLimitExceed",
            format!("The total size of specified disk category in an instance exceeds: ephemeral_ssd data disks hold {total} GiB, at most {MAX_LOCAL_SSD_GIB} GiB are allowed."),
        ));
    }
    Ok(())
}

/// DataDisk.N.Device: `/dev/xvdb` to `/dev/xvdz` (devices still follow N order; see api-compat).
pub fn check_device(n: u32, device: &str) -> Result<()> {
    let ok = device
        .strip_prefix("/dev/xvd")
        .is_some_and(|l| l.len() == 1 && ('b'..='z').contains(&l.chars().next().unwrap_or('a')));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            "InvalidDataDevice.Malformed",
            format!("The specified parameter \"DataDisk.{n}.Device\" {device:?} is not valid: use /dev/xvdb to /dev/xvdz."),
        ))
    }
}

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

    fn code<T: std::fmt::Debug>(r: Result<T>) -> (String, u16) {
        let e = r.unwrap_err();
        (e.code, e.status)
    }

    #[test]
    fn system_disk_sizes() {
        assert_eq!(
            system_disk(None, None, 1).unwrap(),
            (SYSTEM_CATEGORIES[1], 40)
        );
        assert_eq!(system_disk(None, None, 60).unwrap().1, 60);
        assert_eq!(system_disk(Some("cloud"), Some(500), 1).unwrap().1, 500);
        assert_eq!(
            code(system_disk(Some("cloud"), Some(501), 1)),
            ("InvalidSystemDiskSize.MoreThanMaxSize".into(), 404)
        );
        assert_eq!(
            system_disk(Some("cloud_essd"), Some(2048), 1).unwrap().1,
            2048
        );
        assert_eq!(
            code(system_disk(None, Some(2049), 1)).0,
            "InvalidSystemDiskSize.MoreThanMaxSize"
        );
        assert_eq!(
            code(system_disk(None, Some(19), 1)),
            ("InvalidSystemDiskSize.LessThanMinSize".into(), 404)
        );
        assert_eq!(
            code(system_disk(None, Some(30), 50)),
            ("InvalidSystemDiskSize.LessThanImageSize".into(), 404)
        );
        assert_eq!(
            code(system_disk(Some("floppy"), None, 1)),
            ("InvalidSystemDiskCategory.ValueNotSupported".into(), 400)
        );
        assert_eq!(
            code(system_disk(Some("cloud_essd_entry"), None, 1)),
            ("InvalidDiskCategory.NotSupported".into(), 403)
        );
    }

    #[test]
    fn data_disk_ranges() {
        let ok = |c: &str, s: i64| data_disk(1, Some(c), Some(s), "PL1").is_ok();
        let bad = |c: &str, s: i64| {
            code(data_disk(1, Some(c), Some(s), "PL1")).0 == "InvalidDataDiskSize.ValueNotSupported"
        };
        assert!(ok("cloud", 5) && ok("cloud", 2000) && bad("cloud", 4) && bad("cloud", 2001));
        for c in ["cloud_efficiency", "cloud_ssd"] {
            assert!(
                ok(c, 20) && ok(c, 32768) && bad(c, 19) && bad(c, 32769),
                "{c}"
            );
        }
        assert!(ok("cloud_essd", 20) && ok("cloud_essd", 65536) && bad("cloud_essd", 65537));
        assert!(
            ok("ephemeral_ssd", 5)
                && ok("ephemeral_ssd", 800)
                && bad("ephemeral_ssd", 801)
                && bad("ephemeral_ssd", 4)
        );
        assert!(data_disk(1, Some("cloud_essd"), Some(1), "PL0").is_ok());
        assert_eq!(
            code(data_disk(1, Some("cloud_essd"), Some(100), "PL2")),
            ("OperationDenied.PerformanceLevelNotMatch".into(), 403)
        );
        assert_eq!(code(data_disk(2, None, None, "")).0, "MissingParameter");
        assert_eq!(
            code(data_disk(1, Some("tape"), Some(10), "")).0,
            "InvalidDataDiskCategory.ValueNotSupported"
        );
        assert_eq!(performance_level("P", "cloud_essd", None).unwrap(), "PL1");
        assert!(performance_level("P", "cloud_ssd", Some("PL1")).is_err());
        assert!(performance_level("P", "cloud_essd", Some("PL9")).is_err());
    }

    #[test]
    fn local_ssd_rules() {
        assert!(local_ssd(
            "ephemeral_ssd",
            &[
                (1, "ephemeral_ssd", 800, None),
                (2, "ephemeral_ssd", 224, Some(true))
            ]
        )
        .is_ok());
        assert_eq!(
            code(local_ssd(
                "ephemeral_ssd",
                &[
                    (1, "ephemeral_ssd", 800, None),
                    (2, "ephemeral_ssd", 225, None)
                ]
            )),
            ("InstanceDiskCategoryLimitExceed".into(), 403)
        );
        assert_eq!(
            code(local_ssd(
                "cloud_efficiency",
                &[(1, "ephemeral_ssd", 10, None)]
            )),
            ("InvalidDiskCategory.Mismatch".into(), 403)
        );
        assert_eq!(
            code(local_ssd(
                "ephemeral_ssd",
                &[(1, "ephemeral_ssd", 10, Some(false))]
            ))
            .0,
            "DeleteWithInstance.Conflict"
        );
        // Cloud data disks next to a local-SSD system disk are fine.
        assert!(local_ssd("ephemeral_ssd", &[(1, "cloud_ssd", 10, Some(false))]).is_ok());
    }

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
    fn macs_and_devices() {
        let m = mac_for("i-abc", 0);
        assert!(m.starts_with("00:16:3e:") && m.len() == 17);
        assert_eq!(m, mac_for("i-abc", 0));
        assert_ne!(m, mac_for("i-abc", 1));
        assert_eq!(device_name(0), "/dev/xvda");
        assert_eq!(device_name(16), "/dev/xvdq");
        assert!(check_device(1, "/dev/xvdb").is_ok());
        assert!(check_device(1, "/dev/xvda").is_err() && check_device(1, "/dev/sdb").is_err());
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
