//! Name and description rules shared by every ECS resource: a name is 2–128 characters, starts
//! with a letter (or a Chinese character), contains letters, digits, `.`, `_`, `-`, `:` and does
//! not start with `http://` or `https://`; a description is 2–256 characters and does not start
//! with `http://` or `https://`.

use crate::{Error, Result};

fn is_link(value: &str) -> bool {
    value.starts_with("http://") || value.starts_with("https://")
}

/// Checks a name; `code` is the resource's malformed-name code, e.g.
/// `InvalidSecurityGroupName.Malformed`.
pub fn check_name(param: &str, value: &str, code: &str) -> Result<()> {
    let count = value.chars().count();
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_chinese(c));
    let chars_ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || is_chinese(c) || matches!(c, '.' | '_' | '-' | ':'));
    if (2..=128).contains(&count) && first_ok && chars_ok && !is_link(value) {
        Ok(())
    } else {
        Err(Error::bad_request(
            code,
            format!("The specified parameter \"{param}\" is not valid: {value:?} must be 2 to 128 characters, start with a letter, contain only letters, digits, '.', '_', '-' and ':', and not start with http:// or https://."),
        ))
    }
}

pub fn check_description(param: &str, value: &str) -> Result<()> {
    let count = value.chars().count();
    if (2..=256).contains(&count) && !is_link(value) {
        Ok(())
    } else {
        Err(Error::bad_request(
            "InvalidDescription.Malformed",
            format!("The specified parameter \"{param}\" is not valid: it must be 2 to 256 characters and not start with http:// or https://."),
        ))
    }
}

fn is_chinese(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let c = "InvalidX.Malformed";
        assert!(check_name("N", "web-sg_1.a:b", c).is_ok());
        assert!(check_name("N", "中文组", c).is_ok());
        for bad in [
            "a",
            "1abc",
            "-abc",
            "http://x",
            "has space",
            &"a".repeat(129),
        ] {
            assert_eq!(check_name("N", bad, c).unwrap_err().code, c, "{bad}");
        }
        assert!(check_description("D", "ok").is_ok());
        assert!(check_description("D", "x").is_err());
        assert!(check_description("D", "https://x").is_err());
        assert!(check_description("D", &"d".repeat(257)).is_err());
    }
}
