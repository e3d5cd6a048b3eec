//! The instance host name rule both APIs share: `.` and `-` neither first, last nor next to each
//! other; Windows names 2–15 letters, digits and `-`, not all digits; other names dot-separated
//! segments of letters, digits and `-`. The longest non-Windows name, the error code and how
//! each refusal is worded are the API's own, so each API passes its [`HostnameRule`].

use crate::{Error, Result};

/// One API's host name rule and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostnameRule {
    pub code: &'static str,
    /// The longest non-Windows name (Windows names are at most 15).
    pub max_len: usize,
    /// The message for a refused name: `"… {name:?} is not valid: {why}."`, with the API's
    /// lead-in.
    pub lead_in: &'static str,
    /// Why a Windows name is refused: too short or long, a character outside letters, digits
    /// and `-`, all digits.
    pub windows_length: &'static str,
    pub windows_chars: &'static str,
    pub windows_digits: &'static str,
    /// Why another name is refused: its length, a character outside the segments.
    pub length: &'static str,
    pub chars: &'static str,
}

/// ECS (CreateInstance, ModifyInstanceAttribute): up to 64 characters.
pub const ECS: HostnameRule = HostnameRule {
    code: "InvalidHostName.Malformed",
    max_len: 64,
    lead_in: "The specified parameter \"HostName\"",
    windows_length: "Windows host names are 2 to 15 characters",
    windows_chars: "Windows host names contain only letters, digits and '-'",
    windows_digits: "Windows host names cannot be all digits",
    length: "host names are 2 to 64 characters",
    chars: "segments contain only letters, digits and '-', separated by '.'",
};

impl HostnameRule {
    pub fn check(&self, name: &str, windows: bool) -> Result<()> {
        let bad = |why: &str| {
            Error::bad_request(
                self.code,
                format!("{} {name:?} is not valid: {why}.", self.lead_in),
            )
        };
        let sep = |c: char| c == '.' || c == '-';
        if name.starts_with(sep) || name.ends_with(sep) {
            return Err(bad("'.' and '-' cannot be the first or last character"));
        }
        if name
            .chars()
            .zip(name.chars().skip(1))
            .any(|(a, b)| sep(a) && sep(b))
        {
            return Err(bad("'.' and '-' cannot be used consecutively"));
        }
        let len = name.chars().count();
        let (max_len, allowed, length, chars): (_, fn(char) -> bool, _, _) = if windows {
            (
                15,
                |c| c.is_ascii_alphanumeric() || c == '-',
                self.windows_length,
                self.windows_chars,
            )
        } else {
            (
                self.max_len,
                |c| c.is_ascii_alphanumeric() || c == '-' || c == '.',
                self.length,
                self.chars,
            )
        };
        if !(2..=max_len).contains(&len) {
            return Err(bad(length));
        }
        if !name.chars().all(allowed) {
            return Err(bad(chars));
        }
        if windows && name.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad(self.windows_digits));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<()>) -> (String, u16) {
        let e = r.unwrap_err();
        (e.code, e.status)
    }

    #[test]
    fn ecs_host_names() {
        for ok in ["web-1", "a.b.c", "Ab", &"a".repeat(64)] {
            assert!(ECS.check(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "-ab",
            "ab-",
            ".ab",
            "a..b",
            "a.-b",
            "a_b",
            "a b",
            &"a".repeat(65),
        ] {
            assert_eq!(
                code(ECS.check(bad, false)),
                ("InvalidHostName.Malformed".into(), 400),
                "{bad}"
            );
        }
        assert!(ECS.check("web-01", true).is_ok());
        for bad in ["12345", "a.b", &"a".repeat(16)] {
            assert!(ECS.check(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_refusal_says_why() {
        let why = |name: &str, windows| ECS.check(name, windows).unwrap_err().message;
        assert_eq!(
            why("a", false),
            "The specified parameter \"HostName\" \"a\" is not valid: host names are 2 to 64 characters."
        );
        assert!(why("12345", true).ends_with("cannot be all digits."));
        assert!(why("a_b", true).ends_with("only letters, digits and '-'."));
        assert!(why(&"w".repeat(16), true).ends_with("2 to 15 characters."));
    }
}
