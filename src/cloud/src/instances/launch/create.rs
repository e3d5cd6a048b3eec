//! The write transaction that records every instance of a launch, or none.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) async fn create_all(
    cloud: &Cloud,
    tx: &mut Conn,
    req: &Launch,
    plan: &Plan,
    net: &Network,
    addresses: &[Ipv4Addr],
    hosts: &[String],
    made: &mut Vec<PathBuf>,
) -> Result<Vec<String>> {
    let now = ids::now_utc();
    let mut created = Vec::new();
    for (i, addr) in addresses.iter().enumerate() {
        let id = ids::new_id("i");
        let mac = unique_mac(tx, &id).await?;
        let hostname = plan.hostnames[i].clone().unwrap_or_else(|| id.clone());
        let name = if plan.names[i].is_empty() {
            id.clone()
        } else {
            plan.names[i].clone()
        };
        let (status, intent) = if req.run {
            (Status::Pending, Some(Intent::Start))
        } else {
            (Status::Stopped, None)
        };
        let b = &plan.billing;
        let record = Instance {
            id: id.clone(),
            region_id: req.region_id.clone(),
            zone_id: plan.zone_id.clone(),
            instance_type: plan.itype.id.clone(),
            vcpus: plan.itype.vcpus as i64,
            memory_mib: plan.itype.memory_mib as i64,
            image_id: plan.image.id.clone(),
            os_type: plan.image.os_type.clone(),
            hostname: hostname.clone(),
            name,
            description: plan.description.clone(),
            vpc_id: net.vswitch.vpc_id.clone(),
            vswitch_id: net.vswitch.vswitch_id.clone(),
            private_ip: addr.to_string(),
            mac: mac.clone(),
            key_pair_name: req.key_pair_name.clone().unwrap_or_default(),
            password_hash: plan.password_hash.clone(),
            user_data: req.user_data.clone().unwrap_or_default(),
            status,
            intent,
            stopped_mode: "Not-applicable".into(),
            deletion_protection: req.deletion_protection,
            auto_release_time: plan.auto_release_time.clone(),
            instance_charge_type: b.instance_charge_type.clone(),
            internet_charge_type: b.internet_charge_type.clone(),
            internet_max_bandwidth_in: b.bandwidth_in,
            internet_max_bandwidth_out: b.bandwidth_out,
            period: b.period,
            period_unit: b.period_unit.clone(),
            auto_renew: b.auto_renew,
            auto_renew_period: b.auto_renew_period,
            spot_strategy: b.spot_strategy.clone(),
            spot_price_limit: b.spot_price_limit.clone(),
            spot_duration: b.spot_duration,
            spot_interruption_behavior: b.spot_interruption_behavior.clone(),
            io_optimized: b.io_optimized.clone(),
            credit_specification: b.credit_specification.clone(),
            security_enhancement: b.security_enhancement.clone(),
            resource_group_id: b.resource_group_id.clone(),
            http_endpoint: plan.metadata.0.clone(),
            http_tokens: plan.metadata.1.clone(),
            http_put_hop_limit: plan.metadata.2,
            metadata_tags: plan.metadata.3.clone(),
            creation_time: now.clone(),
            start_time: String::new(),
            launch_failed: false,
            host_id: hosts[i].clone(),
        };
        // The unique index on (vswitch_id, private_ip) is the last word when another hearth
        // process shares the database: a lost race is the address being taken, not a 500.
        store::insert(tx, &record, &plan.groups).await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Error::bad_request(
                "InvalidPrivateIpAddress.Duplicated",
                format!("Specified private IP address {addr} is duplicated: another request took it at the same time; retry."),
            ),
            _ => Error::from(e),
        })?;
        store::adjust_vswitch_free(tx, &record.vswitch_id, -1).await?;
        store_tags::set(tx, store::TAG_TYPE, &id, &req.tags).await?;
        // Disks: records, then files.
        let mut disk_files: Vec<(PathBuf, u64, bool)> = Vec::new();
        for (index, d) in std::iter::once(&plan.system)
            .chain(plan.data.iter())
            .enumerate()
        {
            let disk_id = ids::new_id("d");
            let path = files::disk_path(&cloud.data_dir, &disk_id);
            let disk = Disk {
                id: disk_id.clone(),
                instance_id: Some(id.clone()),
                region_id: req.region_id.clone(),
                zone_id: plan.zone_id.clone(),
                disk_type: if index == 0 { "system" } else { "data" }.into(),
                category: d.category.name.into(),
                size_gib: d.size_gib,
                performance_level: d.performance_level.clone(),
                device: disk_rules::device_name(index),
                order_index: index as i64,
                delete_with_instance: d.delete_with_instance,
                name: d.name.clone(),
                description: d.description.clone(),
                image_id: if index == 0 {
                    plan.image.id.clone()
                } else {
                    String::new()
                },
                path: path.to_string_lossy().into_owned(),
                status: "In_use".into(),
                creation_time: now.clone(),
                attached_time: now.clone(),
                detached_time: String::new(),
            };
            disk_store::insert(tx, &disk).await?;
            store_tags::set(tx, disk_store::TAG_TYPE, &disk_id, &req.tags).await?;
            disk_files.push((path, d.size_gib as u64 * files::GIB, index == 0));
        }
        if !cloud.makes_files {
            // An API server of a cluster: the node the instance is placed on makes them.
            created.push(id);
            continue;
        }
        let s = host_files::seed_of(tx, &record).await?;
        let dir = files::instance_dir(&cloud.data_dir, &id);
        made.push(dir.clone());
        made.extend(disk_files.iter().map(|(p, _, _)| p.clone()));
        let image_path = plan.image.path.clone();
        let data_dir = cloud.data_dir.clone();
        let id_for_files = id.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for (path, size, system) in &disk_files {
                if *system {
                    files::clone_image(&image_path, path, *size)?;
                } else {
                    files::sparse_file(path, *size)?;
                }
            }
            let volume = seed::volume(&s).map_err(std::io::Error::other)?;
            files::write_atomic(&files::seed_path(&data_dir, &id_for_files), &volume)
        })
        .await
        .map_err(Error::internal)?
        .map_err(|e| {
            Error::internal(format!("the files of instance {id} could not be made: {e}"))
        })?;
        created.push(id);
    }
    Ok(created)
}
