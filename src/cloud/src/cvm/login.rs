//! CVM's LoginSettings rules (seed 004 and the CVM password policy): Linux passwords are 8–30
//! characters with at least two of lower case, upper case, digits and the specials; Windows
//! passwords 12–30 with at least three. Only these characters are allowed.

use crate::password::PasswordRule;

/// CVM's LoginSettings.Password rule.
pub const PASSWORD: PasswordRule = PasswordRule {
    code: "InvalidPassword",
    specials: "()`~!@#$%^&*-+=_|{}[]:;'<>,.?/",
    linux: (8, 2),
    windows: (12, 3),
    max_len: 30,
    windows_no_leading_slash: false,
    message: |rule, windows| {
        let (min_len, min_kinds) = if windows { rule.windows } else { rule.linux };
        format!("The parameter \"LoginSettings.Password\" is not valid: {} passwords are {min_len} to 30 characters with at least {min_kinds} of lower-case letters, upper-case letters, digits and the special characters {}.", if windows { "Windows" } else { "Linux" }, rule.specials)
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        assert!(PASSWORD.check("abcd1234", false).is_ok());
        assert!(PASSWORD.check("Qcloud@TestApi123++", false).is_ok());
        for bad in [
            "abcdefgh",
            "abc123",
            "abcd 1234",
            &format!("a1{}", "x".repeat(29)),
        ] {
            assert_eq!(
                PASSWORD.check(bad, false).unwrap_err().code,
                "InvalidPassword",
                "{bad}"
            );
        }
        assert!(PASSWORD.check("abcd1234ABCD", true).is_ok());
        assert!(PASSWORD.check("abcd1234abcd", true).is_err());
    }
}
