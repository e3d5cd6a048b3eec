//! A parameter that takes one of a fixed list of values. The check is the same in both APIs;
//! each words its own refusal from what [`NotOneOf`] carries.

/// A given value outside the allowed ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotOneOf<'a> {
    pub value: &'a str,
    /// The allowed values as a refusal lists them: `a, b, c`.
    pub listed: String,
}

/// `value` if it is absent or allowed.
pub fn one_of<'a>(
    value: Option<&'a str>,
    allowed: &[&str],
) -> Result<Option<&'a str>, NotOneOf<'a>> {
    match value {
        Some(v) if !allowed.contains(&v) => Err(NotOneOf {
            value: v,
            listed: allowed.join(", "),
        }),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_allowed_pass_others_are_named() {
        let allowed = ["PrePaid", "PostPaid"];
        assert_eq!(one_of(None, &allowed), Ok(None));
        assert_eq!(one_of(Some("PrePaid"), &allowed), Ok(Some("PrePaid")));
        let e = one_of(Some("prepaid"), &allowed).unwrap_err();
        assert_eq!(
            (e.value, e.listed.as_str()),
            ("prepaid", "PrePaid, PostPaid")
        );
    }
}
