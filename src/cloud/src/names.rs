//! ECS naming rules shared by every resource: names are 2–128 characters, start with a letter
//! (or a Chinese character), may contain digits, `.`, `_`, `-` and `:`, and must not start with
//! `http://` or `https://`; descriptions are 2–256 characters and must not start with a link.

use crate::{Error, Result};

/// Checks a resource name; a violation is `code` (e.g. `InvalidKeyPairName.Malformed`), HTTP 400.
pub fn check_name(param: &str, value: &str, code: &str) -> Result<()> {
    let len = value.chars().count();
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_chinese(c));
    let rest_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || is_chinese(c) || ".:_-".contains(c));
    if (2..=128).contains(&len) && first_ok && rest_ok && !is_link(value) {
        Ok(())
    } else {
        Err(Error::bad_request(
            code,
            format!("The specified parameter \"{param}\" is not valid: {value:?} must be 2 to 128 characters, start with a letter, contain only letters, digits, '.', '_', '-' and ':', and not start with http:// or https://."),
        ))
    }
}

/// Checks a description: 2–256 characters, not starting with `http://` or `https://`.
pub fn check_description(param: &str, value: &str) -> Result<()> {
    let len = value.chars().count();
    if (2..=256).contains(&len) && !is_link(value) {
        Ok(())
    } else {
        Err(Error::bad_request(
            "InvalidDescription.Malformed",
            format!("The specified parameter \"{param}\" is not valid: it must be 2 to 256 characters and not start with http:// or https://."),
        ))
    }
}

fn is_link(value: &str) -> bool {
    value.starts_with("http://") || value.starts_with("https://")
}

fn is_chinese(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["ab", "web-1.prod_a:b", "密钥x", &"a".repeat(128)] {
            assert!(check_name("N", ok, "X.Malformed").is_ok(), "{ok}");
        }
        for bad in ["a", "1ab", "-ab", "a b", "a/b", &"a".repeat(129), "", "ab!"] {
            assert_eq!(
                check_name("N", bad, "X.Malformed").unwrap_err().code,
                "X.Malformed",
                "{bad}"
            );
        }
        // `http:` is a valid name prefix only when not followed by `//`.
        assert!(check_name("N", "http://x", "X").is_err());
        assert!(check_name("N", "https://x", "X").is_err());
    }

    #[test]
    fn descriptions() {
        assert!(check_description("Description", "my vpc").is_ok());
        assert!(check_description("Description", "x").is_err());
        assert!(check_description("Description", "https://x").is_err());
        assert!(check_description("Description", &"d".repeat(257)).is_err());
    }
}
