//! The image store: `<images_dir>/manifest.json`, written by the image build scripts, lists the
//! images next to it:
//!
//! ```json
//! {"images": [{"id": "tiny-x64", "name": "hearth tiny", "os_name": "hearth tiny (busybox)",
//!   "os_type": "linux", "platform": "Busybox", "architecture": "x86_64", "size_gib": 1,
//!   "file": "tiny-x64.raw", "description": "..."}]}
//! ```
//!
//! A missing manifest means no images; a malformed one is an error naming the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Cloud, Error, Result};

pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    images: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: String,
    os_name: String,
    os_type: String,
    platform: String,
    architecture: String,
    size_gib: u64,
    file: String,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub os_name: String,
    /// `linux` or `windows`.
    pub os_type: String,
    pub platform: String,
    /// `x86_64`, `arm64`, `i386`.
    pub architecture: String,
    pub size_gib: u64,
    pub description: String,
    /// The raw disk image.
    pub path: PathBuf,
    /// Whether the raw file is there (else the image is listed `UnAvailable`).
    pub available: bool,
    /// The raw file's modification time (the manifest's when the file is missing), as ECS
    /// writes times: `2026-11-22T12:00:00Z`.
    pub created_at: String,
}

/// Every image of the manifest in `dir`, in manifest order.
pub fn load(dir: &Path) -> Result<Vec<Image>> {
    let manifest_path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&manifest_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::internal(format!(
                "the image manifest {} cannot be read: {e}",
                manifest_path.display()
            )))
        }
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::internal(format!(
            "the image manifest {} is malformed: {e}",
            manifest_path.display()
        ))
    })?;
    let manifest_time = mtime(&manifest_path).unwrap_or_default();
    let mut images = Vec::with_capacity(manifest.images.len());
    for e in manifest.images {
        // A file name, not a path: images never point outside the image store.
        if e.file.is_empty() || e.file.contains('/') || e.file == ".." {
            return Err(Error::internal(format!(
                "the image manifest {} is malformed: image {:?} has file {:?}, which is not a file name in {}",
                manifest_path.display(),
                e.id,
                e.file,
                dir.display()
            )));
        }
        let path = dir.join(&e.file);
        let file_time = mtime(&path);
        images.push(Image {
            available: file_time.is_some(),
            created_at: file_time.unwrap_or_else(|| manifest_time.clone()),
            id: e.id,
            name: e.name,
            os_name: e.os_name,
            os_type: e.os_type,
            platform: e.platform,
            architecture: e.architecture,
            size_gib: e.size_gib,
            description: e.description,
            path,
        });
    }
    Ok(images)
}

fn mtime(path: &Path) -> Option<String> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let t: chrono::DateTime<chrono::Utc> = modified.into();
    Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The images of this host's image store.
pub fn list(cloud: &Cloud) -> Result<Vec<Image>> {
    load(&cloud.config.images_dir(&cloud.data_dir))
}

/// The image `id`, with the path of its raw file, if the image store has it.
pub fn image(cloud: &Cloud, id: &str) -> Result<Option<Image>> {
    Ok(list(cloud)?.into_iter().find(|i| i.id == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"images": [{"id": "tiny-x64", "name": "hearth tiny", "os_name": "hearth tiny (busybox)", "os_type": "linux", "platform": "Busybox", "architecture": "x86_64", "size_gib": 1, "file": "tiny-x64.raw", "description": "d"}]}"#;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("hearth-images-{}", crate::ids::new_id("t")));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn missing_manifest_is_no_images() {
        let d = dir();
        assert_eq!(load(&d.join("nothing")).unwrap(), vec![]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn reads_manifest_and_file_state() {
        let d = dir();
        std::fs::write(d.join(MANIFEST), ONE).unwrap();
        let imgs = load(&d).unwrap();
        assert_eq!(imgs.len(), 1);
        assert!(!imgs[0].available);
        std::fs::write(d.join("tiny-x64.raw"), b"x").unwrap();
        let img = &load(&d).unwrap()[0];
        assert!(img.available);
        assert_eq!(img.path, d.join("tiny-x64.raw"));
        assert_eq!((img.os_type.as_str(), img.size_gib), ("linux", 1));
        assert!(img.created_at.ends_with('Z'));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn malformed_manifest_names_the_file() {
        let d = dir();
        for bad in [
            "{",
            r#"{"images": [{"id": "x"}]}"#,
            &ONE.replace("tiny-x64.raw", "../x.raw"),
        ] {
            std::fs::write(d.join(MANIFEST), bad).unwrap();
            let e = load(&d).unwrap_err();
            assert!(e.message.contains("manifest.json"), "{e}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
