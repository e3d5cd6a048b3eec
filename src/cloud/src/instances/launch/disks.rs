//! The disks a launch creates: their plan and the checks on each disk's own texts.

use super::*;

/// A disk to create: its record (minus IDs and paths) and where its bytes come from.
#[derive(Debug, Clone)]
pub(super) struct DiskPlan {
    pub(super) category: Category,
    pub(super) size_gib: i64,
    pub(super) performance_level: String,
    pub(super) name: String,
    pub(super) description: String,
    pub(super) delete_with_instance: bool,
}

pub(super) fn check_disk_texts(param: &str, d: &DiskRequest) -> Result<(String, String)> {
    if let Some(name) = &d.name {
        names::check_name(
            &format!("{param}.DiskName"),
            name,
            "InvalidDiskName.Malformed",
        )?;
    }
    if let Some(text) = &d.description {
        names::check_description(&format!("{param}.Description"), text)
            .map_err(|e| Error::bad_request("InvalidDiskDescription.Malformed", e.message))?;
    }
    if d.encrypted == Some(true) {
        return Err(Error::bad_request("InvalidParameter.EncryptedNotSupported", format!("The specified parameter {param}.Encrypted is not supported: this host has no KMS, so disks cannot be encrypted.")));
    }
    if let Some(iops) = d.provisioned_iops {
        if iops < 0 {
            return Err(Error::invalid_parameter(
                &format!("{param}.ProvisionedIops"),
                "a non-negative number",
            ));
        }
    }
    Ok((
        d.name.clone().unwrap_or_default(),
        d.description.clone().unwrap_or_default(),
    ))
}
