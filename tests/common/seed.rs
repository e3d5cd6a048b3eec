//! cidata seed volumes for the guests the end-to-end tests boot (scripts/make-seed).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::artifacts::repo_root;

/// Writes a NoCloud seed with these files into `dir` and returns the image's path.
pub fn make_seed(dir: &Path, meta_data: &str, network_config: &str, user_data: &str) -> PathBuf {
    let seed_dir = dir.join("seed");
    fs::create_dir_all(&seed_dir).unwrap();
    fs::write(seed_dir.join("meta-data"), meta_data).unwrap();
    fs::write(seed_dir.join("network-config"), network_config).unwrap();
    fs::write(seed_dir.join("user-data"), user_data).unwrap();
    let img = dir.join("seed.img");
    let status = Command::new(repo_root().join("scripts/make-seed"))
        .arg(&seed_dir)
        .arg(&img)
        .status()
        .unwrap();
    assert!(status.success(), "scripts/make-seed failed");
    img
}
