//! Tag rules (seed 001, the newest edition): N from 1 to 20; a key is 1–128 characters, does not
//! start with `aliyun` or `acs:` and contains no `http://` or `https://`; a value may be empty, is
//! at most 128 characters and contains no `http://` or `https://`; keys are unique.

use crate::{Error, Result};

pub use hearth_store::tags::Tag;

pub const MAX_TAGS: u32 = 20;

/// Checks `(N, Key, Value)` triples as decoded from `Tag.N.Key` / `Tag.N.Value`.
pub fn validate(raw: &[(u32, Option<String>, Option<String>)]) -> Result<Vec<Tag>> {
    let mut tags: Vec<Tag> = Vec::new();
    for (n, key, value) in raw {
        if *n > MAX_TAGS {
            return Err(Error::bad_request(
                "InvalidTagKey.Malformed",
                format!("The specified Tag.{n}.Key is not valid: N runs from 1 to {MAX_TAGS}."),
            ));
        }
        let key = key.clone().unwrap_or_default();
        let value = value.clone().unwrap_or_default();
        let has_link = |s: &str| s.contains("http://") || s.contains("https://");
        if key.is_empty()
            || key.chars().count() > 128
            || key.starts_with("aliyun")
            || key.starts_with("acs:")
            || has_link(&key)
        {
            return Err(Error::bad_request(
                "InvalidTagKey.Malformed",
                format!("The specified Tag.{n}.Key is not valid: 1 to 128 characters, not starting with aliyun or acs:, without http:// or https://."),
            ));
        }
        if value.chars().count() > 128 || has_link(&value) {
            return Err(Error::bad_request(
                "InvalidTagValue.Malformed",
                format!("The specified Tag.{n}.Value is not valid: at most 128 characters, without http:// or https://."),
            ));
        }
        if tags.iter().any(|t| t.key == key) {
            return Err(Error::bad_request(
                "Duplicate.TagKey",
                format!("The Tag.N.Key contain duplicate key: {key:?} appears twice."),
            ));
        }
        tags.push(Tag { key, value });
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(k: &str, v: &str) -> Result<Vec<Tag>> {
        validate(&[(1, Some(k.into()), Some(v.into()))])
    }

    #[test]
    fn rules() {
        assert_eq!(one("team", "").unwrap()[0].key, "team");
        assert_eq!(one("", "v").unwrap_err().code, "InvalidTagKey.Malformed");
        assert_eq!(
            one("aliyunx", "v").unwrap_err().code,
            "InvalidTagKey.Malformed"
        );
        assert_eq!(
            one("k", "see https://x").unwrap_err().code,
            "InvalidTagValue.Malformed"
        );
        assert_eq!(
            one(&"k".repeat(129), "v").unwrap_err().code,
            "InvalidTagKey.Malformed"
        );
        let dup = validate(&[(1, Some("a".into()), None), (2, Some("a".into()), None)]);
        assert_eq!(dup.unwrap_err().code, "Duplicate.TagKey");
        assert!(validate(&[(21, Some("a".into()), None)]).is_err());
    }
}
