//! The guest kernel and image store the end-to-end tests boot.
//!
//! Taken from HEARTH_TEST_KERNEL / HEARTH_TEST_IMAGES when set (CI builds them
//! once up front); otherwise built with scripts/build-kernel and
//! scripts/build-images, which are cached and cheap when warm. Never skipped:
//! a missing artifact is a test failure with the build's own error message.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Path of the vmlinux the test host and its guests boot.
pub fn kernel() -> PathBuf {
    from_env_or_script("HEARTH_TEST_KERNEL", "scripts/build-kernel", &[])
}

/// The image store directory (manifest.json + raw images).
pub fn images() -> PathBuf {
    from_env_or_script("HEARTH_TEST_IMAGES", "scripts/build-images", &["all"])
}

fn from_env_or_script(var: &str, script: &str, args: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        assert!(path.exists(), "{var}={} does not exist", path.display());
        return path;
    }
    eprintln!("{var} is not set: running {script} (cached after the first time)");
    let output = Command::new(repo_root().join(script))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    assert!(
        output.status.success(),
        "{script} failed ({})",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default().trim();
    assert!(!last.is_empty(), "{script} printed no result path");
    PathBuf::from(last)
}
