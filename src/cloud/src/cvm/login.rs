//! CVM's LoginSettings rules (seed 004 and the CVM password policy): Linux passwords are 8–30
//! characters with at least two of lower case, upper case, digits and the specials; Windows
//! passwords 12–30 with at least three. Only these characters are allowed.

use crate::{Error, Result};

/// The special characters CVM allows in passwords.
pub const SPECIALS: &str = "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/";

pub fn check_password(password: &str, windows: bool) -> Result<()> {
    let len = password.chars().count();
    let allowed = password
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c));
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| SPECIALS.contains(c)),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let (min_len, min_classes) = if windows { (12, 3) } else { (8, 2) };
    if (min_len..=30).contains(&len) && allowed && classes >= min_classes {
        Ok(())
    } else {
        Err(Error::bad_request(
            "InvalidPassword",
            format!("The parameter \"LoginSettings.Password\" is not valid: {} passwords are {min_len} to 30 characters with at least {min_classes} of lower-case letters, upper-case letters, digits and the special characters {SPECIALS}.", if windows { "Windows" } else { "Linux" }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        assert!(check_password("abcd1234", false).is_ok());
        assert!(check_password("Qcloud@TestApi123++", false).is_ok());
        for bad in [
            "abcdefgh",
            "abc123",
            "abcd 1234",
            &format!("a1{}", "x".repeat(29)),
        ] {
            assert_eq!(
                check_password(bad, false).unwrap_err().code,
                "InvalidPassword",
                "{bad}"
            );
        }
        assert!(check_password("abcd1234ABCD", true).is_ok());
        assert!(check_password("abcd1234abcd", true).is_err());
    }
}
