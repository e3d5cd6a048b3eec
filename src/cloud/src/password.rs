//! Instance passwords: the ECS format rule, and SHA-512 crypt (`$6$salt$hash`, the format
//! /etc/shadow and cloud-init's `chpasswd` take) so that only a hash is ever stored or written
//! into a seed volume.

use rand::Rng;
use sha2::{Digest, Sha512};

use crate::{Error, Result};

/// One API's password rule: the allowed characters, the length and how many of the four kinds
/// (lower case, upper case, digits, specials) a Linux and a Windows password need, and the
/// refusal's code and wording.
#[derive(Debug, Clone, Copy)]
pub struct PasswordRule {
    pub code: &'static str,
    pub specials: &'static str,
    /// (shortest, kinds needed) for Linux and other systems, and for Windows.
    pub linux: (usize, usize),
    pub windows: (usize, usize),
    pub max_len: usize,
    /// ECS refuses Windows passwords starting with `/`.
    pub windows_no_leading_slash: bool,
    /// The refusal's message for a Windows (true) or other password.
    pub message: fn(&PasswordRule, bool) -> String,
}

/// ECS (seed 001): 8–30 characters, at least three kinds; nothing else. Windows passwords must
/// not start with `/`.
pub const ECS: PasswordRule = PasswordRule {
    code: "InvalidPassword.Malformed",
    specials: "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/",
    linux: (8, 3),
    windows: (8, 3),
    max_len: 30,
    windows_no_leading_slash: true,
    message: |rule, windows| {
        format!("The specified parameter \"Password\" is not valid: use 8 to 30 characters with at least three of upper-case letters, lower-case letters, digits and the special characters {}{}.", rule.specials, if windows { " (not starting with / on Windows)" } else { "" })
    },
};

impl PasswordRule {
    pub fn check(&self, password: &str, windows: bool) -> Result<()> {
        let len = password.chars().count();
        let special = |c: char| self.specials.contains(c);
        let allowed = password
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || special(c));
        let kinds = [
            password.chars().any(|c| c.is_ascii_uppercase()),
            password.chars().any(|c| c.is_ascii_lowercase()),
            password.chars().any(|c| c.is_ascii_digit()),
            password.chars().any(special),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        let (min_len, min_kinds) = if windows { self.windows } else { self.linux };
        let slash = windows && self.windows_no_leading_slash && password.starts_with('/');
        if (min_len..=self.max_len).contains(&len) && allowed && kinds >= min_kinds && !slash {
            Ok(())
        } else {
            Err(Error::bad_request(self.code, (self.message)(self, windows)))
        }
    }
}

/// ECS's rule, as CreateInstance and ModifyInstanceAttribute apply it.
pub fn check(password: &str, windows: bool) -> Result<()> {
    ECS.check(password, windows)
}

const CRYPT_ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SHA-512 crypt of `password` with a fresh 16-character salt.
pub fn hash(password: &str) -> String {
    let mut rng = rand::thread_rng();
    let salt: String = (0..16)
        .map(|_| CRYPT_ALPHABET[rng.gen_range(0..CRYPT_ALPHABET.len())] as char)
        .collect();
    sha512_crypt(password.as_bytes(), salt.as_bytes())
}

/// SHA-512 crypt with 5000 rounds (Drepper's specification, the `$6$` scheme of glibc).
pub fn sha512_crypt(key: &[u8], salt: &[u8]) -> String {
    const ROUNDS: usize = 5000;
    let salt = &salt[..salt.len().min(16)];
    let b = Sha512::new()
        .chain_update(key)
        .chain_update(salt)
        .chain_update(key)
        .finalize();
    let mut a = Sha512::new().chain_update(key).chain_update(salt);
    let mut n = key.len();
    while n > 64 {
        a.update(b);
        n -= 64;
    }
    a.update(&b[..n]);
    let mut n = key.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(b);
        } else {
            a.update(key);
        }
        n >>= 1;
    }
    let a = a.finalize();
    let mut dp = Sha512::new();
    for _ in 0..key.len() {
        dp.update(key);
    }
    let dp = dp.finalize();
    let p: Vec<u8> = dp.iter().cycle().take(key.len()).copied().collect();
    let mut ds = Sha512::new();
    for _ in 0..16 + a[0] as usize {
        ds.update(salt);
    }
    let ds = ds.finalize();
    let s: Vec<u8> = ds.iter().cycle().take(salt.len()).copied().collect();
    let mut c = a;
    for i in 0..ROUNDS {
        let mut h = Sha512::new();
        if i % 2 == 1 {
            h.update(&p);
        } else {
            h.update(c);
        }
        if i % 3 != 0 {
            h.update(&s);
        }
        if i % 7 != 0 {
            h.update(&p);
        }
        if i % 2 == 1 {
            h.update(c);
        } else {
            h.update(&p);
        }
        c = h.finalize();
    }
    let mut out = format!("$6${}$", String::from_utf8_lossy(salt));
    let mut put = |b2: u8, b1: u8, b0: u8, n: usize| {
        let mut w = (b2 as u32) << 16 | (b1 as u32) << 8 | b0 as u32;
        for _ in 0..n {
            out.push(CRYPT_ALPHABET[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
    };
    for i in 0..21 {
        let (x, y, z) = (i, (i + 21) % 63, (i + 42) % 63);
        // Drepper's order rotates which of the three bytes leads: (0,21,42), (22,43,1), (44,2,23), ...
        let (b2, b1, b0) = match i % 3 {
            0 => (x, y, z),
            1 => (y, z, x),
            _ => (z, x, y),
        };
        put(c[b2], c[b1], c[b0], 4);
    }
    put(0, 0, c[63], 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drepper_vectors() {
        assert_eq!(
            sha512_crypt(b"Hello world!", b"saltstring"),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        let h = hash("TestEcs123!");
        assert!(h.starts_with("$6$") && h.len() == 3 + 16 + 1 + 86, "{h}");
    }

    #[test]
    fn password_rules() {
        for ok in [
            "TestEcs123!",
            "abcdEF12",
            "abc123!@#xyz",
            &format!("Aa1{}", "x".repeat(27)),
        ] {
            assert!(check(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "Short1!",
            "alllowercase",
            "abcdefgh12",
            "Abc123 xyz",
            "Abc123é!x",
            &format!("Aa1{}", "x".repeat(28)),
        ] {
            assert_eq!(
                check(bad, false).unwrap_err().code,
                "InvalidPassword.Malformed",
                "{bad}"
            );
        }
        assert!(check("/Abc1234", false).is_ok());
        assert!(check("/Abc1234", true).is_err());
    }
}
