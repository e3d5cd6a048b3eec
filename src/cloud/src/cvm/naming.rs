//! CVM's instance and host names for RunInstances: `{R:x}` patterns number the instances from
//! x (`server_{R:3}` gives server_3, server_4, …; several patterns are allowed); without a
//! pattern, buying several appends 1, 2, … n. InstanceName is at most 128 characters, pattern
//! included, and defaults to 未命名 ("unnamed"); host names follow CVM's rules, checked after
//! expansion. Seed 004.

use crate::hostname::HostnameRule;
use crate::{Error, Result};

/// InstanceCount range (seed 004: [1, 500] for every charge type).
pub const MAX_INSTANCE_COUNT: i64 = 500;
/// InstanceName's limit in characters, `{R:x}` patterns included.
pub const MAX_INSTANCE_NAME: usize = 128;
/// The name CVM shows for an instance launched without InstanceName.
pub const UNNAMED: &str = "未命名";

/// Expands `pattern` for `count` instances (see the module doc).
pub fn expand(param: &str, pattern: &str, count: usize) -> Result<Vec<String>> {
    let bad = || {
        Error::bad_request(
            "InvalidParameterValue.IncorrectFormat",
            format!("The parameter \"{param}\" {pattern:?} has a malformed pattern: write {{R:x}} with x a whole number."),
        )
    };
    // Literal text and pattern starts, in order.
    let mut parts: Vec<(String, Option<u64>)> = Vec::new();
    let mut rest = pattern;
    while let Some(at) = rest.find("{R:") {
        let after = &rest[at + 3..];
        let end = after.find('}').ok_or_else(bad)?;
        let digits = &after[..end];
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let start: u64 = digits.parse().map_err(|_| bad())?;
        parts.push((rest[..at].to_string(), Some(start)));
        rest = &after[end + 1..];
    }
    let tail = rest.to_string();
    let patterned = parts.iter().any(|(_, n)| n.is_some());
    Ok((0..count)
        .map(|i| {
            let mut out = String::new();
            for (text, start) in &parts {
                out.push_str(text);
                if let Some(s) = start {
                    out.push_str(&(s + i as u64).to_string());
                }
            }
            out.push_str(&tail);
            if !patterned && count > 1 {
                out.push_str(&(i + 1).to_string());
            }
            out
        })
        .collect())
}

/// InstanceName for `count` instances: the length limit, then [`expand`]; 未命名 when not given.
pub fn instance_names(name: Option<&str>, count: usize) -> Result<Vec<String>> {
    let Some(name) = name else {
        return Ok(vec![UNNAMED.to_string(); count]);
    };
    if name.chars().count() > MAX_INSTANCE_NAME {
        return Err(Error::bad_request(
            "InvalidInstanceName.TooLong",
            format!("The parameter \"InstanceName\" is {} characters long: at most {MAX_INSTANCE_NAME}, {{R:x}} patterns included.", name.chars().count()),
        ));
    }
    expand("InstanceName", name, count)
}

/// CVM's HostName rule: up to 60 characters, one wording for each kind of name.
pub const HOSTNAME: HostnameRule = HostnameRule {
    code: "InvalidParameterValue.IllegalHostName",
    max_len: 60,
    lead_in: "The parameter \"HostName\"",
    windows_length: WINDOWS_HOSTNAME,
    windows_chars: WINDOWS_HOSTNAME,
    windows_digits: WINDOWS_HOSTNAME,
    length: HOSTNAME_SEGMENTS,
    chars: HOSTNAME_SEGMENTS,
};

const WINDOWS_HOSTNAME: &str =
    "Windows host names are 2 to 15 letters, digits and '-', not all digits";
const HOSTNAME_SEGMENTS: &str =
    "host names are 2 to 60 characters: segments of letters, digits and '-' separated by '.'";

/// HostName for `count` instances, each checked.
pub fn host_names(name: &str, count: usize, windows: bool) -> Result<Vec<String>> {
    let list = expand("HostName", name, count)?;
    for one in &list {
        HOSTNAME.check(one, windows)?;
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_number_from_x() {
        assert_eq!(expand("N", "server_{R:3}", 1).unwrap(), ["server_3"]);
        assert_eq!(
            expand("N", "server_{R:3}", 2).unwrap(),
            ["server_3", "server_4"]
        );
        assert_eq!(
            expand("N", "a{R:1}-b{R:10}", 2).unwrap(),
            ["a1-b10", "a2-b11"]
        );
        assert_eq!(expand("N", "server_", 2).unwrap(), ["server_1", "server_2"]);
        assert_eq!(expand("N", "solo", 1).unwrap(), ["solo"]);
        for bad in ["x{R:}", "x{R:a}", "x{R:3", "x{R:-1}", "x{R:1234567890}"] {
            assert_eq!(
                expand("N", bad, 2).unwrap_err().code,
                "InvalidParameterValue.IncorrectFormat",
                "{bad}"
            );
        }
    }

    #[test]
    fn instance_names_default_and_length() {
        assert_eq!(instance_names(None, 2).unwrap(), [UNNAMED, UNNAMED]);
        let long = "a".repeat(129);
        assert_eq!(
            instance_names(Some(&long), 1).unwrap_err().code,
            "InvalidInstanceName.TooLong"
        );
        assert!(instance_names(Some(&"a".repeat(128)), 1).is_ok());
    }

    #[test]
    fn host_name_rules() {
        assert_eq!(host_names("web{R:7}", 2, false).unwrap(), ["web7", "web8"]);
        assert_eq!(host_names("node", 2, false).unwrap(), ["node1", "node2"]);
        for bad in ["-a", "a.", "a..b", "a-.b", "a", "a_b", &"a".repeat(61)] {
            assert_eq!(
                HOSTNAME.check(bad, false).unwrap_err().code,
                "InvalidParameterValue.IllegalHostName",
                "{bad}"
            );
        }
        assert!(HOSTNAME.check(&"a".repeat(60), false).is_ok());
        assert!(HOSTNAME.check("web.example-1", false).is_ok());
        assert!(HOSTNAME.check("web.x", true).is_err());
        assert!(HOSTNAME.check("12345", true).is_err());
        assert!(HOSTNAME.check(&"w".repeat(16), true).is_err());
    }
}
