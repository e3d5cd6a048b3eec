//! The ECS rules for resource names and descriptions, shared by every resource type.
//! Name: 2–128 characters, starting with a letter or a Chinese character, then letters, Chinese
//! characters, digits, `.`, `_`, `-` and `:`; not starting with `http://` or `https://`.
//! Description: 2–256 characters, not starting with `http://` or `https://`.

use crate::{Error, Result};

fn is_chinese(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

fn is_link(value: &str) -> bool {
    value.starts_with("http://") || value.starts_with("https://")
}

/// Checks a resource name; `code` is the resource's error code, e.g. `InvalidVpcName.Malformed`.
pub fn check_name(param: &str, value: &str, code: &str) -> Result<()> {
    let len = value.chars().count();
    let mut chars = value.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || is_chinese(c));
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || is_chinese(c) || ".-_:".contains(c));
    if (2..=128).contains(&len) && starts_well && rest_ok && !is_link(value) {
        Ok(())
    } else {
        Err(Error::bad_request(
            code,
            format!("The specified {param} {value:?} is not valid: 2 to 128 characters, starting with a letter or Chinese character, containing only letters, Chinese characters, digits, periods (.), underscores (_), hyphens (-) and colons (:), and not starting with http:// or https://."),
        ))
    }
}

/// Checks a description (code `InvalidDescription.Malformed`).
pub fn check_description(param: &str, value: &str) -> Result<()> {
    let len = value.chars().count();
    if (2..=256).contains(&len) && !is_link(value) {
        Ok(())
    } else {
        Err(Error::bad_request(
            "InvalidDescription.Malformed",
            format!("The specified {param} is not valid: 2 to 256 characters, not starting with http:// or https://."),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "InvalidVpcName.Malformed";

    #[test]
    fn names() {
        for ok in [
            "ab",
            "web-1",
            "a.b_c:d-e",
            "生产网络",
            "网络-1",
            &"a".repeat(128),
        ] {
            assert!(check_name("VpcName", ok, CODE).is_ok(), "{ok:?}");
        }
        for bad in [
            "a",
            "1abc",
            "-abc",
            "_abc",
            "ab cd",
            "ab/cd",
            "http://x",
            "https://x",
            &"a".repeat(129),
            "",
        ] {
            let e = check_name("VpcName", bad, CODE).unwrap_err();
            assert_eq!((e.code.as_str(), e.status), (CODE, 400), "{bad:?}");
            assert!(e.message.contains("VpcName"));
        }
    }

    #[test]
    fn descriptions() {
        assert!(check_description("Description", "a network for web").is_ok());
        assert!(check_description("Description", &"x".repeat(256)).is_ok());
        for bad in ["x", "http://example", "https://x", &"x".repeat(257)] {
            let e = check_description("Description", bad).unwrap_err();
            assert_eq!(e.code, "InvalidDescription.Malformed");
        }
    }
}
