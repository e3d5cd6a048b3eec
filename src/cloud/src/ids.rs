//! Resource IDs in ECS form: a prefix, a dash and lower-case alphanumerics (`vpc-bp1…`).

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh ID such as `vpc-2ze8k3q0x1m4v7c9d2f5`.
pub fn new_id(prefix: &str) -> String {
    let mut rng = rand::thread_rng();
    let tail: String = (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}-{tail}")
}

/// A request ID in the form the SDKs print: an upper-case UUID.
pub fn new_request_id() -> String {
    let mut rng = rand::thread_rng();
    let b: [u8; 16] = rng.gen();
    let h: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Now, as ECS writes creation times: `2026-11-22T12:00:00Z`.
pub fn now_utc() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_length() {
        let id = new_id("sg");
        assert!(id.starts_with("sg-"));
        assert_eq!(id.len(), 23);
        assert_ne!(new_id("sg"), id);
        assert_eq!(new_request_id().len(), 36);
    }
}
