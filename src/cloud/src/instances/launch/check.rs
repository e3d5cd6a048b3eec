//! The stateless checks of a launch request, into the plan the transaction carries out.

use super::*;

/// Everything a launch needs after the stateless checks.
pub(super) struct Plan {
    pub(super) itype: InstanceType,
    pub(super) image: Image,
    pub(super) zone_id: String,
    pub(super) system: DiskPlan,
    pub(super) data: Vec<DiskPlan>,
    pub(super) amount: i64,
    pub(super) min_amount: i64,
    pub(super) names: Vec<String>,
    pub(super) hostnames: Vec<Option<String>>,
    pub(super) description: String,
    pub(super) password_hash: String,
    pub(super) auto_release_time: String,
    pub(super) billing: BillingPlan,
    pub(super) metadata: (String, String, i64, String),
    pub(super) groups: Vec<String>,
}

pub(super) fn check_request(cloud: &Cloud, req: &Launch) -> Result<Plan> {
    cloud.check_region(&req.region_id)?;
    if let Some((param, value)) = req.absent.first() {
        if let Some(e) = rules::absent_resource(param, value) {
            return Err(e);
        }
    }
    let image_id = req
        .image_id
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("ImageId"))?;
    let type_id = req
        .instance_type
        .as_deref()
        .ok_or_else(|| Error::missing_parameter("InstanceType"))?;
    let itype = catalog::instance_type(&cloud.config, type_id).ok_or_else(|| {
        Error::bad_request("InvalidInstanceType.ValueNotSupported", format!("The specified InstanceType {type_id:?} does not exist or beyond the permitted range: see DescribeInstanceTypes."))
    })?;
    if let Some(z) = &req.zone_id {
        if !cloud.config.zones.iter().any(|zone| &zone.id == z) {
            return Err(Error::not_found(
                "InvalidZoneId.NotFound",
                format!("The specified ZoneId {z:?} does not exist."),
            ));
        }
    }
    let image = images::image(cloud, image_id)?.ok_or_else(|| {
        Error::not_found(
            "InvalidImageId.NotFound",
            format!("The specified ImageId {image_id:?} does not exist: see DescribeImages."),
        )
    })?;
    if !image.available {
        return Err(Error::forbidden("OperationDenied.ImageNotValid", format!("The specified Image {image_id:?} is disabled or is deleted: its file is missing from the image store.")));
    }
    let windows = image.os_type == "windows";
    // Disks.
    let s = &req.system_disk;
    let (system_cat, system_size) =
        disk_rules::system_disk(s.category.as_deref(), s.size, image.size_gib as i64)?;
    let system_pl = disk_rules::performance_level(
        "SystemDisk.PerformanceLevel",
        system_cat.name,
        s.performance_level.as_deref(),
    )?;
    if system_cat.name == "cloud_essd" && system_size < disk_rules::essd_min_gib(&system_pl) {
        return Err(Error::forbidden("OperationDenied.PerformanceLevelNotMatch", format!("The specified SystemDisk.PerformanceLevel {system_pl} and SystemDisk.Size {system_size} do not match: {system_pl} needs at least {} GiB.", disk_rules::essd_min_gib(&system_pl))));
    }
    let (system_name, system_description) = check_disk_texts("SystemDisk", s)?;
    if req.data_disks.len() > disk_rules::MAX_DATA_DISKS
        || req
            .data_disks
            .iter()
            .any(|(n, _)| *n as usize > disk_rules::MAX_DATA_DISKS)
    {
        return Err(Error::bad_request("InstanceDiskNumber.LimitExceed", format!("The total number of specified disk in an instance exceeds: at most {} data disks, DataDisk.1 to DataDisk.{}.", disk_rules::MAX_DATA_DISKS, disk_rules::MAX_DATA_DISKS)));
    }
    let mut data = Vec::new();
    let mut local = Vec::new();
    for (n, d) in &req.data_disks {
        let param = format!("DataDisk.{n}");
        let category = d.category.as_deref().unwrap_or("cloud_efficiency");
        let pl = disk_rules::performance_level(
            &format!("{param}.PerformanceLevel"),
            category,
            d.performance_level.as_deref(),
        )?;
        let (c, size) = disk_rules::data_disk(*n, d.category.as_deref(), d.size, &pl)?;
        if let Some(dev) = &d.device {
            disk_rules::check_device(*n, dev)?;
        }
        let (name, description) = check_disk_texts(&param, d)?;
        local.push((*n, c.name, size, d.delete_with_instance));
        data.push(DiskPlan {
            category: c,
            size_gib: size,
            performance_level: pl,
            name,
            description,
            delete_with_instance: d.delete_with_instance.unwrap_or(true),
        });
    }
    disk_rules::local_ssd(system_cat.name, &local)?;
    // Amount and names.
    let amount = if req.run { req.amount.unwrap_or(1) } else { 1 };
    let max_amount = req.policy.max_amount;
    if !(1..=max_amount).contains(&amount) {
        return Err(Error::invalid_parameter(
            "Amount",
            format!("{amount} is outside 1 to {max_amount}"),
        ));
    }
    // MinAmount is a RunInstances parameter; CreateInstance makes exactly one.
    let min_amount = if req.run {
        req.min_amount.unwrap_or(amount)
    } else {
        1
    };
    if !(1..=amount).contains(&min_amount) {
        return Err(Error::invalid_parameter(
            "MinAmount",
            format!("{min_amount} must be from 1 to Amount ({amount})"),
        ));
    }
    let n = amount as usize;
    let names = match &req.instance_name {
        _ if !req.instance_names.is_empty() => {
            if req.instance_names.len() != n {
                return Err(Error::internal(format!(
                    "{} instance names for {n} instances",
                    req.instance_names.len()
                )));
            }
            for one in &req.instance_names {
                names::check_name("InstanceName", one, "InvalidInstanceName.Malformed")?;
            }
            req.instance_names.clone()
        }
        Some(name) => {
            let list = rules::name_sequence("InstanceName", name, n, req.unique_suffix)?;
            for one in &list {
                names::check_name("InstanceName", one, "InvalidInstanceName.Malformed")?;
            }
            list
        }
        None => vec![String::new(); n],
    };
    let hostnames: Vec<Option<String>> = if !req.host_names.is_empty() {
        if req.host_names.len() != n {
            return Err(Error::invalid_parameter(
                "HostNames",
                format!(
                    "give one host name per instance ({n}), got {}",
                    req.host_names.len()
                ),
            ));
        }
        req.host_names.iter().cloned().map(Some).collect()
    } else {
        match &req.host_name {
            Some(h) => rules::name_sequence("HostName", h, n, req.unique_suffix)?
                .into_iter()
                .map(Some)
                .collect(),
            None => vec![None; n],
        }
    };
    for h in hostnames.iter().flatten() {
        hostname::ECS.check(h, windows)?;
    }
    if let Some(d) = &req.description {
        names::check_description("Description", d)?;
    }
    // Credentials and user data.
    if req.password_inherit && req.password.is_some() {
        return Err(Error::bad_request(
            "InvalidPasswordParam.Mismatch",
            "The input password should be null when passwdInherit is true.",
        ));
    }
    let password_hash = match &req.password {
        Some(p) => {
            req.policy.password.check(p, windows)?;
            password::hash(p)
        }
        None => String::new(),
    };
    if windows && req.key_pair_name.is_some() {
        return Err(Error::forbidden(
            "DependencyViolation.WindowsInstance",
            "The instance creating is window, cannot use ssh key pair to login.",
        ));
    }
    // Checked here; the seed decodes it again from the record.
    if let Some(u) = &req.user_data {
        user_data::decode(u, user_data::limit(req.run))?;
    }
    let auto_release_time = match &req.auto_release_time {
        Some(t) => rules::auto_release_time(t, chrono::Utc::now())?,
        None => String::new(),
    };
    let billing = check_billing(&req.billing, req.deletion_protection, &req.policy)?;
    let metadata = check_metadata(&req.metadata, None)?;
    if let Some(t) = &req.client_token {
        client_token::check(&t.token)?;
    }
    // Security groups: SecurityGroupId or SecurityGroupIds.N, not both.
    let groups = match (&req.security_group_id, req.security_group_ids.is_empty()) {
        (Some(_), false) => {
            return Err(Error::invalid_parameter(
                "SecurityGroupIds",
                "give SecurityGroupId or SecurityGroupIds.N, not both",
            ))
        }
        (Some(g), true) => vec![g.clone()],
        (None, false) => membership::group_list(&req.security_group_ids)?,
        (None, true) => return Err(Error::missing_parameter("SecurityGroupId")),
    };
    if !req.private_ips.is_empty() && req.private_ips.len() as i64 != amount {
        return Err(Error::invalid_parameter(
            "PrivateIpAddress",
            format!(
                "give one address per instance ({amount}), not {}",
                req.private_ips.len()
            ),
        ));
    }
    let system = DiskPlan {
        category: system_cat,
        size_gib: system_size,
        performance_level: system_pl,
        name: system_name,
        description: system_description,
        delete_with_instance: true,
    };
    Ok(Plan {
        itype,
        image,
        zone_id: req.zone_id.clone().unwrap_or_default(),
        system,
        data,
        amount,
        min_amount,
        names,
        hostnames,
        description: req.description.clone().unwrap_or_default(),
        password_hash,
        auto_release_time,
        billing,
        metadata,
        groups,
    })
}
