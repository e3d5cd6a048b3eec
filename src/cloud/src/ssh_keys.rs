//! SSH public keys in OpenSSH form (`ssh-rsa AAAA… comment`): parsing and checking the keys a
//! user imports, generating RSA key pairs, and the fingerprint ECS reports.
//!
//! The fingerprint is the RFC 4716 (section 4) one ECS documents: the MD5 of the decoded key
//! blob as lower-case hex pairs joined by `:` — what `ssh-keygen -l -E md5` prints after `MD5:`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest, Md5};
use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;

use crate::{Error, Result};

/// RSA keys shorter than this are refused on import (and ECS creates 2048-bit keys).
pub const MIN_RSA_BITS: usize = 1024;
const MAX_RSA_BITS: usize = 16384;
const MAX_KEY_TEXT: usize = 16 * 1024;

/// A checked public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// `ssh-rsa`, `ssh-ed25519`, `ecdsa-sha2-nistp256`, …
    pub key_type: String,
    /// The decoded key blob (the SSH wire encoding).
    pub blob: Vec<u8>,
}

impl PublicKey {
    /// `type base64`, without a comment: the form stored and given back.
    pub fn openssh(&self) -> String {
        format!("{} {}", self.key_type, STANDARD.encode(&self.blob))
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.blob)
    }
}

/// A freshly generated key pair: the private key is handed to the user once and never stored.
pub struct GeneratedKey {
    /// PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), as ECS returns it.
    pub private_pem: String,
    pub public: PublicKey,
}

/// RFC 4716 MD5 fingerprint of a key blob: `89:f0:ba:…` (16 pairs).
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Md5::digest(blob);
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Generates an RSA key pair of `bits`. CPU-heavy (tens of milliseconds optimized): callers on
/// an async runtime run it on the blocking pool.
pub fn generate_rsa(bits: usize) -> Result<GeneratedKey> {
    let mut rng = rand::thread_rng();
    let key = rsa::RsaPrivateKey::new(&mut rng, bits)
        .map_err(|e| Error::internal(format!("RSA key generation failed: {e}")))?;
    let private_pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| Error::internal(format!("RSA key encoding failed: {e}")))?
        .to_string();
    let mut blob = Vec::new();
    put_string(&mut blob, b"ssh-rsa");
    put_mpint(&mut blob, &key.e().to_bytes_be());
    put_mpint(&mut blob, &key.n().to_bytes_be());
    Ok(GeneratedKey {
        private_pem,
        public: PublicKey {
            key_type: "ssh-rsa".into(),
            blob,
        },
    })
}

/// Parses and checks an OpenSSH public key line: `type base64 [comment]`. The base64 must
/// decode, the type inside the blob must match the one in front, and the key material must be
/// well-formed for its type (RSA at least 1024 bits, Ed25519 32 bytes, ECDSA an uncompressed
/// point on the named curve's size). Anything else is `InvalidPublicKeyBody.Malformed`.
pub fn parse_public(text: &str) -> Result<PublicKey> {
    let malformed = |why: &str| {
        Error::bad_request(
            "InvalidPublicKeyBody.Malformed",
            format!("The specified parameter \"PublicKeyBody\" is not valid: {why}. Expected an OpenSSH public key such as \"ssh-rsa AAAA… comment\" (ssh-rsa of at least {MIN_RSA_BITS} bits, ssh-ed25519 or ecdsa-sha2-nistp256/384/521)."),
        )
    };
    if text.len() > MAX_KEY_TEXT {
        return Err(malformed("it is too long"));
    }
    let mut fields = text.split_whitespace();
    let key_type = fields.next().ok_or_else(|| malformed("it is empty"))?;
    let data = fields
        .next()
        .ok_or_else(|| malformed("the base64 key data is missing"))?;
    let blob = STANDARD
        .decode(data)
        .map_err(|_| malformed("the key data is not valid base64"))?;
    let mut r = Reader(&blob);
    let inner_type = r
        .string()
        .ok_or_else(|| malformed("the key data is truncated"))?;
    if inner_type != key_type.as_bytes() {
        return Err(malformed(
            "the key type inside the key data does not match the type in front",
        ));
    }
    match key_type {
        "ssh-rsa" => {
            let e = r
                .mpint()
                .ok_or_else(|| malformed("the RSA exponent is truncated"))?;
            let n = r
                .mpint()
                .ok_or_else(|| malformed("the RSA modulus is truncated"))?;
            let bits = bit_length(n);
            if e.is_empty() || e == [0] || !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(malformed(&format!(
                    "the RSA key has {bits} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted"
                )));
            }
        }
        "ssh-ed25519" => {
            let k = r
                .string()
                .ok_or_else(|| malformed("the Ed25519 key is truncated"))?;
            if k.len() != 32 {
                return Err(malformed("an Ed25519 key is 32 bytes"));
            }
        }
        "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => {
            let curve = &key_type["ecdsa-sha2-".len()..];
            let (name, coord) = match curve {
                "nistp256" => ("nistp256", 32),
                "nistp384" => ("nistp384", 48),
                _ => ("nistp521", 66),
            };
            let c = r
                .string()
                .ok_or_else(|| malformed("the ECDSA curve is truncated"))?;
            if c != name.as_bytes() {
                return Err(malformed("the ECDSA curve does not match the key type"));
            }
            let q = r
                .string()
                .ok_or_else(|| malformed("the ECDSA point is truncated"))?;
            if q.len() != 1 + 2 * coord || q[0] != 4 {
                return Err(malformed(
                    "the ECDSA point is not an uncompressed point of the curve",
                ));
            }
        }
        other => {
            return Err(malformed(&format!(
                "the key type {other:?} is not supported"
            )));
        }
    }
    if !r.0.is_empty() {
        return Err(malformed("the key data has trailing bytes"));
    }
    Ok(PublicKey {
        key_type: key_type.to_string(),
        blob,
    })
}

fn bit_length(n: &[u8]) -> usize {
    let n = match n.iter().position(|b| *b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    n.len() * 8 - n[0].leading_zeros() as usize
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// SSH mpint: big-endian, minimal, with a leading zero byte when the high bit is set.
fn put_mpint(out: &mut Vec<u8>, n: &[u8]) {
    let n = match n.iter().position(|b| *b != 0) {
        Some(i) => &n[i..],
        None => &[][..],
    };
    if n.first().is_some_and(|b| b & 0x80 != 0) {
        out.extend_from_slice(&(n.len() as u32 + 1).to_be_bytes());
        out.push(0);
        out.extend_from_slice(n);
    } else {
        put_string(out, n);
    }
}

/// Reads SSH wire-format fields; `None` when the data runs out.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let s = self.0.get(4..4usize.checked_add(len)?)?;
        self.0 = &self.0[4 + len..];
        Some(s)
    }

    fn mpint(&mut self) -> Option<&'a [u8]> {
        self.string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with `ssh-keygen -t ed25519`; `ssh-keygen -l -E md5 -f` prints
    // `256 MD5:` + the fingerprint asserted below.
    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOvo5cvHXKJF54B9dUdu4lPCpmPAKNvNG5zY0xL/cMSf user@host";
    const ED25519_MD5: &str = "21:d6:af:7f:4d:5c:6d:b6:bd:af:20:75:27:89:b6:96";

    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCcfzz/HUcF4Kd90Td+OQ3gF2I7nexp7EW0aJTfgMaPrMI7u/4euHOq6uytMWEpFAaZ/VkNNIGdPD7FKMQyROJZsnH6TZj8aF84ImzPNUCNGxDrbFGFVNT8vlGVH4CvvQ8og/ErmQXjGNlsq9BgaWLWkhvI99n+KcZJ51O3p8heCGpyqddfOK01UtEQiqDyaVMmN3u9XeLI1Z2EtuieBQ1f5ZSD7SfNqIAmOZtFyaAXBGkUHJSiHHnhUllTNZwM8My5NcWVG6488r+aJi+hDY0p1HgBWnGJ+IXdl6Fi9+2PWAPuQTROZofvKUsgL6ty6OeIKHZj5h4P2gCGUXyew9rr x";
    const RSA_MD5: &str = "b9:b5:55:9b:c2:df:73:bf:55:49:2b:2f:82:b2:80:b0";

    #[test]
    fn fingerprint_matches_ssh_keygen() {
        let rsa = parse_public(RSA).unwrap();
        assert_eq!(
            (rsa.key_type.as_str(), rsa.fingerprint().as_str()),
            ("ssh-rsa", RSA_MD5)
        );
        let key = parse_public(ED25519).unwrap();
        assert_eq!(key.key_type, "ssh-ed25519");
        assert_eq!(key.fingerprint(), ED25519_MD5);
        assert_eq!(key.openssh(), ED25519.rsplit_once(' ').unwrap().0);
    }

    #[test]
    fn generated_rsa_round_trips() {
        let g = generate_rsa(1024).unwrap();
        assert!(g
            .private_pem
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let again = parse_public(&g.public.openssh()).unwrap();
        assert_eq!(again, g.public);
        assert_eq!(fingerprint(&again.blob).len(), 47);
    }

    #[test]
    fn malformed_keys_are_refused() {
        let code = |t: &str| parse_public(t).unwrap_err().code;
        let data = ED25519.split(' ').nth(1).unwrap();
        for bad in [
            "".to_string(),
            "ssh-ed25519".to_string(),
            "ssh-ed25519 not!base64".to_string(),
            format!("ssh-rsa {data}"),
            format!("ssh-dss {data}"),
            format!("ssh-ed25519 {}", &data[..data.len() - 8]),
            format!(
                "ssh-ed25519 {}",
                STANDARD.encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x03abc")
            ),
            format!("ssh-ed25519 {}", STANDARD.encode(b"\xff\xff\xff\xff")),
        ] {
            assert_eq!(code(&bad), "InvalidPublicKeyBody.Malformed", "{bad}");
        }
        // A 512-bit RSA key is too short.
        let mut blob = Vec::new();
        put_string(&mut blob, b"ssh-rsa");
        put_mpint(&mut blob, &[1, 0, 1]);
        put_mpint(&mut blob, &[0xc5; 64]);
        let short = format!("ssh-rsa {}", STANDARD.encode(&blob));
        assert!(parse_public(&short)
            .unwrap_err()
            .message
            .contains("512 bits"));
    }

    #[test]
    fn mpint_and_bits() {
        let mut out = Vec::new();
        put_mpint(&mut out, &[0, 0x80, 1]);
        assert_eq!(out, [0, 0, 0, 3, 0, 0x80, 1]);
        assert_eq!(bit_length(&[0, 0x80, 1]), 16);
        assert_eq!(bit_length(&[0, 1]), 1);
    }
}
