//! The cloud-init NoCloud seed of an instance: a FAT12 volume labelled CIDATA holding
//! `meta-data` (instance-id, local-hostname, public-keys), `network-config` (v2: the NIC by MAC,
//! its static address, gateway and DNS) and `user-data`.
//!
//! KeyPairName and Password are merged in like this (docs/api-compat.md):
//! - the key pair's public key is always in meta-data `public-keys` (cloud-init and the tiny
//!   image's agent both install those);
//! - with no UserData, or `#cloud-config` UserData, user-data is that cloud-config plus
//!   `ssh_authorized_keys` and a `chpasswd` entry with the SHA-512 crypt hash for root (each only
//!   if the user's document does not set that key itself);
//! - with any other UserData (a `#!` script, MIME, ...) user-data stays exactly as given and the
//!   same cloud-config goes to `vendor-data`, which cloud-init applies next to the user's script.

use std::net::Ipv4Addr;

use crate::fat;

/// What a seed says about one instance.
#[derive(Debug, Clone)]
pub struct Seed {
    pub instance_id: String,
    pub hostname: String,
    pub mac: String,
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub user_data: Vec<u8>,
    pub public_key: Option<String>,
    pub password_hash: Option<String>,
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

pub fn meta_data(s: &Seed) -> String {
    let mut out = format!(
        "instance-id: {}\nlocal-hostname: {}\n",
        q(&s.instance_id),
        q(&s.hostname)
    );
    if let Some(key) = &s.public_key {
        out.push_str(&format!("public-keys:\n  - {}\n", q(key.trim())));
    }
    out
}

pub fn network_config(s: &Seed) -> String {
    format!(
        "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: {mac}\n    set-name: eth0\n    addresses:\n      - {addr}/{prefix}\n    gateway4: {gw}\n    nameservers:\n      addresses:\n        - {gw}\n",
        mac = q(&s.mac),
        addr = s.address,
        prefix = s.prefix,
        gw = s.gateway
    )
}

/// Whether a cloud-config document sets `key` at its top level.
fn sets_key(doc: &str, key: &str) -> bool {
    doc.lines().any(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

fn keys_block(key: &str) -> String {
    format!("ssh_authorized_keys:\n  - {}\n", q(key.trim()))
}

fn password_block(hash: &str) -> String {
    format!(
        "chpasswd:\n  expire: false\n  users:\n    - name: root\n      password: {}\n      type: hash\nssh_pwauth: true\n",
        q(hash)
    )
}

/// (user-data, vendor-data if any).
pub fn user_and_vendor_data(s: &Seed) -> (Vec<u8>, Option<Vec<u8>>) {
    let extras = s.public_key.is_some() || s.password_hash.is_some();
    if !extras {
        return (s.user_data.clone(), None);
    }
    let text = std::str::from_utf8(&s.user_data).ok();
    let is_cloud_config =
        s.user_data.is_empty() || text.is_some_and(|t| t.starts_with("#cloud-config"));
    if is_cloud_config {
        let doc = text.unwrap_or_default();
        let mut out = if doc.is_empty() {
            "#cloud-config\n".to_string()
        } else {
            doc.to_string()
        };
        if !out.ends_with('\n') {
            out.push('\n');
        }
        let mut vendor = String::new();
        out.push_str("# merged by hearth from KeyPairName/Password\n");
        if let Some(key) = &s.public_key {
            if sets_key(doc, "ssh_authorized_keys") {
                vendor.push_str(&keys_block(key));
            } else {
                out.push_str(&keys_block(key));
            }
        }
        if let Some(hash) = &s.password_hash {
            if sets_key(doc, "chpasswd") || sets_key(doc, "ssh_pwauth") {
                vendor.push_str(&password_block(hash));
            } else {
                out.push_str(&password_block(hash));
            }
        }
        let vendor = (!vendor.is_empty()).then(|| format!("#cloud-config\n{vendor}").into_bytes());
        return (out.into_bytes(), vendor);
    }
    let mut vendor = "#cloud-config\n".to_string();
    if let Some(key) = &s.public_key {
        vendor.push_str(&keys_block(key));
    }
    if let Some(hash) = &s.password_hash {
        vendor.push_str(&password_block(hash));
    }
    (s.user_data.clone(), Some(vendor.into_bytes()))
}

/// The seed volume image.
pub fn volume(s: &Seed) -> Result<Vec<u8>, String> {
    let meta = meta_data(s);
    let net = network_config(s);
    let (user, vendor) = user_and_vendor_data(s);
    let mut files: Vec<(&str, &[u8])> = vec![
        ("meta-data", meta.as_bytes()),
        ("user-data", &user),
        ("network-config", net.as_bytes()),
    ];
    if let Some(v) = &vendor {
        files.push(("vendor-data", v));
    }
    fat::build("CIDATA", &files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(user_data: &str, key: bool, password: bool) -> Seed {
        Seed {
            instance_id: "i-abc".into(),
            hostname: "web-1".into(),
            mac: "00:16:3e:01:02:03".into(),
            address: Ipv4Addr::new(172, 16, 0, 5),
            prefix: 24,
            gateway: Ipv4Addr::new(172, 16, 0, 1),
            user_data: user_data.as_bytes().to_vec(),
            public_key: key.then(|| "ssh-ed25519 AAAAC3Nza k@h".to_string()),
            password_hash: password.then(|| "$6$salt$hash".to_string()),
        }
    }

    #[test]
    fn documents() {
        let s = seed("", false, false);
        assert_eq!(
            meta_data(&s),
            "instance-id: \"i-abc\"\nlocal-hostname: \"web-1\"\n"
        );
        let net = network_config(&s);
        assert!(net.contains("macaddress: \"00:16:3e:01:02:03\""));
        assert!(net.contains("- 172.16.0.5/24\n    gateway4: 172.16.0.1\n"));
        assert_eq!(user_and_vendor_data(&s), (Vec::new(), None));
    }

    #[test]
    fn merging_keys_and_passwords() {
        // No user data: a cloud-config of our own.
        let (u, v) = user_and_vendor_data(&seed("", true, true));
        let u = String::from_utf8(u).unwrap();
        assert!(
            u.starts_with("#cloud-config\n")
                && u.contains("ssh_authorized_keys:\n  - \"ssh-ed25519 AAAAC3Nza k@h\""),
            "{u}"
        );
        assert!(u.contains("password: \"$6$salt$hash\"") && v.is_none());
        // The user's cloud-config keeps its own keys; ours go to vendor-data.
        let (u, v) = user_and_vendor_data(&seed(
            "#cloud-config\nssh_authorized_keys:\n  - mine\nruncmd: [ls]",
            true,
            true,
        ));
        let u = String::from_utf8(u).unwrap();
        assert_eq!(u.matches("ssh_authorized_keys").count(), 1, "{u}");
        assert!(u.contains("runcmd: [ls]\n") && u.contains("chpasswd:"));
        assert!(String::from_utf8(v.unwrap()).unwrap().contains("AAAAC3Nza"));
        // A script stays as it is.
        let (u, v) = user_and_vendor_data(&seed("#!/bin/sh\necho hi\n", true, false));
        assert_eq!(u, b"#!/bin/sh\necho hi\n");
        assert!(String::from_utf8(v.unwrap())
            .unwrap()
            .starts_with("#cloud-config\nssh_authorized_keys:"));
        assert!(meta_data(&seed("", true, false)).contains("public-keys:\n  - \"ssh-ed25519"));
    }

    #[test]
    fn volume_builds() {
        let img = volume(&seed("#!/bin/sh\n", true, true)).unwrap();
        assert_eq!(&img[43..54], b"CIDATA     ");
    }
}
