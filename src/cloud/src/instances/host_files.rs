//! The files an instance needs on the host that runs it, made from its records: the seed
//! volume, and the disks it does not have yet. The node makes them before every launch, since
//! the API server that recorded the instance may be another machine; a single host made them at
//! creation already, and only the seed is written again (it follows ModifyInstanceAttribute).

use std::path::PathBuf;

use hearth_store::disks as disk_store;
use hearth_store::instances::{self as store, Instance};
use hearth_store::{vswitches, Conn};

use super::{files, seed, user_data};
use crate::cidr::{self, Cidr};
use crate::{images, Cloud, Error, Result};

/// The seed of `i` as its records say.
pub async fn seed_of(conn: &mut Conn, i: &Instance) -> Result<seed::Seed> {
    let vswitch = vswitches::get(conn, &i.vswitch_id).await?.ok_or_else(|| {
        Error::internal(format!("the VSwitch {} of {} is gone", i.vswitch_id, i.id))
    })?;
    let block = Cidr::parse(&vswitch.cidr_block).map_err(Error::internal)?;
    let public_key = if i.key_pair_name.is_empty() {
        None
    } else {
        store::key_pair_public_key(conn, &i.key_pair_name).await?
    };
    Ok(seed::Seed {
        instance_id: i.id.clone(),
        hostname: i.hostname.clone(),
        mac: i.mac.clone(),
        address: i.private_ip.parse().map_err(Error::internal)?,
        prefix: block.prefix(),
        gateway: cidr::gateway(&block),
        user_data: if i.user_data.is_empty() {
            Vec::new()
        } else {
            user_data::decode(&i.user_data, usize::MAX)?
        },
        public_key,
        password_hash: (!i.password_hash.is_empty()).then(|| i.password_hash.clone()),
    })
}

/// Rewrites an instance's seed volume from its record.
pub async fn write_seed(cloud: &Cloud, conn: &mut Conn, i: &Instance) -> Result<()> {
    let s = seed_of(conn, i).await?;
    let path = files::seed_path(&cloud.data_dir, &i.id);
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let volume = seed::volume(&s).map_err(std::io::Error::other)?;
        files::write_atomic(&path, &volume)
    })
    .await
    .map_err(Error::internal)?
    .map_err(|e| Error::internal(format!("the seed volume could not be written: {e}")))
}

/// Makes what instance `id` lacks on this host before a launch: its seed, written afresh, and
/// each disk file that is missing (the system disk cloned from this host's copy of the image,
/// data disks sparse). A missing image is an error naming it.
pub async fn ensure(cloud: &Cloud, id: &str) -> Result<()> {
    let mut conn = cloud.store.pool().acquire().await?;
    let i = store::get(&mut conn, id)
        .await?
        .ok_or_else(|| Error::internal(format!("the instance {id} is gone")))?;
    let missing: Vec<(PathBuf, u64, bool)> = disk_store::of_instance(&mut conn, id)
        .await?
        .into_iter()
        .map(|d| {
            let path = files::disk_path(&cloud.data_dir, &d.id);
            (
                path,
                d.size_gib as u64 * files::GIB,
                d.disk_type == "system",
            )
        })
        .filter(|(path, _, _)| !path.exists())
        .collect();
    let image = if missing.iter().any(|(_, _, system)| *system) {
        let image = images::image(cloud, &i.image_id)?.ok_or_else(|| {
            Error::internal(format!(
                "the image {} is not in this host's image store",
                i.image_id
            ))
        })?;
        Some(image.path)
    } else {
        None
    };
    write_seed(cloud, &mut conn, &i).await?;
    drop(conn);
    if missing.is_empty() {
        return Ok(());
    }
    tracing::info!(instance = %id, disks = missing.len(), "making its disks on this host");
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        // Made beside, then renamed: a crash midway never leaves a disk that looks complete.
        for (path, size, system) in &missing {
            let making = path.with_extension("making");
            let _ = std::fs::remove_file(&making);
            match (&image, system) {
                (Some(image), true) => files::clone_image(image, &making, *size)?,
                _ => files::sparse_file(&making, *size)?,
            }
            std::fs::rename(&making, path)?;
        }
        Ok(())
    })
    .await
    .map_err(Error::internal)?
    .map_err(|e| Error::internal(format!("the disks of {id} could not be made: {e}")))
}

/// Removes the files of instances and disks the store no longer has (deleted through another
/// host's API server while they were Stopped here), except an instance directory whose VMM
/// still answers. For a node that is not also the API: a single host removes them itself.
pub async fn sweep(cloud: &Cloud) -> Result<usize> {
    let mut conn = cloud.store.pool().acquire().await?;
    let instance_dirs = entries(&cloud.data_dir.join("instances"));
    let disk_files = entries(&cloud.data_dir.join("disks"));
    let mut gone = Vec::new();
    for (id, path) in instance_dirs {
        let live_vmm = std::os::unix::net::UnixStream::connect(path.join("vmm.sock")).is_ok();
        if !live_vmm && store::get(&mut conn, &id).await?.is_none() {
            gone.push(path);
        }
    }
    for (name, path) in disk_files {
        let Some(id) = name.strip_suffix(".raw") else {
            continue;
        };
        if disk_store::get(&mut conn, id).await?.is_none() {
            gone.push(path);
        }
    }
    drop(conn);
    for path in &gone {
        tracing::info!(path = %path.display(), "removing the files of a deleted resource");
    }
    files::remove_all(&gone);
    Ok(gone.len())
}

fn entries(dir: &std::path::Path) -> Vec<(String, PathBuf)> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    read.flatten()
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect()
}
