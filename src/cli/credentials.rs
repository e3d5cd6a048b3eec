//! The API key pair: from HEARTH_ACCESS_KEY_ID / HEARTH_ACCESS_KEY_SECRET, else generated once and
//! kept in `<data-dir>/credentials` with mode 0600.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{bail, Context};
use hearth_api::auth::AccessKey;
use rand::Rng;

const FILE: &str = "credentials";

/// The key pair and whether it was generated just now (so it is printed once).
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(AccessKey, bool)> {
    if let (Ok(id), Ok(secret)) = (
        std::env::var("HEARTH_ACCESS_KEY_ID"),
        std::env::var("HEARTH_ACCESS_KEY_SECRET"),
    ) {
        if id.is_empty() || secret.is_empty() {
            bail!(
                "HEARTH_ACCESS_KEY_ID and HEARTH_ACCESS_KEY_SECRET must both be non-empty when set"
            );
        }
        return Ok((AccessKey { id, secret }, false));
    }
    let path = data_dir.join(FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok((
            parse(&text).with_context(|| {
                format!(
                    "{} is damaged: delete it to generate a new key pair",
                    path.display()
                )
            })?,
            false,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
            let key = AccessKey {
                id: format!("LTAI{}", random_text(20)),
                secret: random_text(30),
            };
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(
                f,
                "access_key_id={}\naccess_key_secret={}",
                key.id, key.secret
            )?;
            f.sync_all()?;
            Ok((key, true))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn parse(text: &str) -> anyhow::Result<AccessKey> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .with_context(|| format!("missing {name}"))
    };
    Ok(AccessKey {
        id: field("access_key_id")?,
        secret: field("access_key_secret")?,
    })
}

fn random_text(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
