//! `hearth credentials` and the key pair `hearth serve` generates on first start.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn hearth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.env_remove("HEARTH_ACCESS_KEY_ID")
        .env_remove("HEARTH_ACCESS_KEY_SECRET");
    cmd
}

fn credentials(data_dir: &std::path::Path) -> String {
    let out = hearth()
        .arg("credentials")
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_generated_pair_is_private_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let first = credentials(dir.path());
    assert!(first.starts_with("HEARTH_ACCESS_KEY_ID=LTAI"), "{first}");
    assert!(first.contains("\nHEARTH_ACCESS_KEY_SECRET="), "{first}");
    let mode = std::fs::metadata(dir.path().join("credentials"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only root may read the secret");
    assert_eq!(credentials(dir.path()), first, "the pair is generated once");
}

#[test]
fn the_environment_overrides_the_stored_pair() {
    let dir = tempfile::tempdir().unwrap();
    let out = hearth()
        .arg("credentials")
        .arg("--data-dir")
        .arg(dir.path())
        .env("HEARTH_ACCESS_KEY_ID", "LTAImine")
        .env("HEARTH_ACCESS_KEY_SECRET", "my-secret")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "HEARTH_ACCESS_KEY_ID=LTAImine\nHEARTH_ACCESS_KEY_SECRET=my-secret\n"
    );
    assert!(
        !dir.path().join("credentials").exists(),
        "nothing is generated when the environment names a pair"
    );
}

#[test]
fn a_damaged_credentials_file_is_an_error_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("credentials"), "garbage").unwrap();
    let out = hearth()
        .arg("credentials")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("damaged") && err.contains("delete it"),
        "{err}"
    );
}
