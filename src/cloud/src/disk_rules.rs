//! ECS disk rules: the system and data disk categories with their size ranges, performance
//! levels, device names and the local-SSD limits. Instances and disks created on their own share
//! them. Where the CreateInstance editions disagree, seed 001 (2026) wins; docs/api-compat.md
//! lists each difference.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code_of as code;

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
    fn devices() {
        assert_eq!(device_name(0), "/dev/xvda");
        assert_eq!(device_name(16), "/dev/xvdq");
        assert!(check_device(1, "/dev/xvdb").is_ok());
        assert!(check_device(1, "/dev/xvda").is_err() && check_device(1, "/dev/sdb").is_err());
    }
}
