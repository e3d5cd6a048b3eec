//! Action parameters as ECS clients send them: flat `Key=Value` pairs from the query string and
//! the form body, with lists and objects flattened as `Name.N` and `Name.N.Field`.
//! Getters validate types and name the parameter in every error. Tencent Cloud API 3.0 JSON
//! bodies are flattened into the same form ([`Params::from_json`]), so both dialects share them.

use std::collections::BTreeMap;

use hearth_cloud::{Error, Result};

/// The largest list index accepted in `Name.N`; beyond it the request is malformed.
const MAX_LIST_INDEX: u32 = 1000;

#[derive(Debug, Default, Clone)]
pub struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    /// Builds from decoded pairs; when a key repeats, the first value wins (as ECS does).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Params {
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            map.entry(k).or_insert(v);
        }
        Params { map }
    }

    /// Flattens a JSON object body (Tencent Cloud API 3.0) into the ECS form: objects as
    /// `Name.Field`, arrays as `Name.N` counted from 1 (as `list` and `objects` read them),
    /// booleans as `true`/`false`; nulls are left out, as if not given.
    pub fn from_json(body: &serde_json::Value) -> Result<Params> {
        let serde_json::Value::Object(top) = body else {
            return Err(Error::bad_request(
                "InvalidParameter",
                "The request body must be a JSON object of action parameters.",
            ));
        };
        let mut map = BTreeMap::new();
        for (k, v) in top {
            flatten(k.clone(), v, &mut map);
        }
        Ok(Params { map })
    }

    /// Builds from Tencent Cloud API query pairs (a TC3-signed GET): lists there count from 0
    /// (`Filters.0.Values.1`), so every numeric path segment is shifted to count from 1 like
    /// the rest of `Params`.
    pub fn from_zero_based_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Params {
        Params::from_pairs(pairs.into_iter().map(|(k, v)| {
            let key = k
                .split('.')
                .map(|seg| match seg.parse::<u32>() {
                    Ok(n) if !seg.starts_with('+') => n.saturating_add(1).to_string(),
                    _ => seg.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".");
            (key, v)
        }))
    }

    /// The top-level parameter names given (`Placement` for `Placement.Zone`).
    pub fn top_level_names(&self) -> std::collections::BTreeSet<&str> {
        self.map
            .keys()
            .map(|k| k.split('.').next().unwrap_or(k))
            .collect()
    }

    /// Every pair, empty values included (the signature covers them).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The raw value, even when empty.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// A value that was given and is not empty (ECS treats `Name=` as not given).
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str> {
        self.opt(name).ok_or_else(|| Error::missing_parameter(name))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                Error::invalid_parameter(name, format!("expected an integer, got {v:?}"))
            }),
        }
    }

    /// An integer within `min..=max`, or `default` when not given.
    pub fn int_in(
        &self,
        name: &str,
        min: i64,
        max: i64,
        default: Option<i64>,
    ) -> Result<Option<i64>> {
        match self.int(name)? {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
            Some(v) => Err(Error::invalid_parameter(
                name,
                format!("{v} is outside the allowed range {min} to {max}"),
            )),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Error::invalid_parameter(
                name,
                format!("expected true or false, got {v:?}"),
            )),
        }
    }

    /// A value from a fixed set (case-sensitive, as ECS documents them).
    pub fn one_of<'a>(&'a self, name: &str, allowed: &[&str]) -> Result<Option<&'a str>> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) if allowed.contains(&v) => Ok(Some(v)),
            Some(v) => Err(Error::invalid_parameter(
                name,
                format!("{v:?} is not one of {}", allowed.join(", ")),
            )),
        }
    }

    /// `Name.1`, `Name.2`, …: the non-empty values in index order.
    pub fn list(&self, name: &str) -> Result<Vec<String>> {
        let mut items = BTreeMap::new();
        let prefix = format!("{name}.");
        for (k, v) in self.map.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            if rest.contains('.') {
                continue;
            }
            let n = list_index(name, rest)?;
            if !v.is_empty() {
                items.insert(n, v.clone());
            }
        }
        Ok(items.into_values().collect())
    }

    /// `Name.N.Field`: one map of fields per index, in index order (index kept).
    pub fn objects(&self, name: &str) -> Result<Vec<(u32, BTreeMap<String, String>)>> {
        let mut items: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        let prefix = format!("{name}.");
        for (k, v) in self.map.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let n = list_index(name, index)?;
            items
                .entry(n)
                .or_default()
                .insert(field.to_string(), v.clone());
        }
        Ok(items.into_iter().collect())
    }

    /// A parameter that carries a JSON array of strings, such as `InstanceIds=["i-1","i-2"]`.
    pub fn json_list(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => serde_json::from_str::<Vec<String>>(v)
                .map(Some)
                .map_err(|_| {
                    Error::invalid_parameter(
                        name,
                        "expected a JSON array of strings such as [\"id-1\",\"id-2\"]",
                    )
                }),
        }
    }

    /// `Tag.N.Key` / `Tag.N.Value` pairs, checked by the domain's tag rules.
    pub fn tags(&self) -> Result<Vec<hearth_cloud::tags::Tag>> {
        let raw = self
            .objects("Tag")?
            .into_iter()
            .map(|(n, mut f)| (n, f.remove("Key"), f.remove("Value")))
            .collect::<Vec<_>>();
        hearth_cloud::tags::validate(&raw)
    }
}

fn flatten(name: String, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    use serde_json::Value;
    match v {
        Value::Null => {}
        Value::Bool(b) => {
            out.insert(name, b.to_string());
        }
        Value::Number(n) => {
            out.insert(name, n.to_string());
        }
        Value::String(s) => {
            out.insert(name, s.clone());
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(format!("{name}.{}", i + 1), item, out);
            }
        }
        Value::Object(fields) => {
            for (k, item) in fields {
                flatten(format!("{name}.{k}"), item, out);
            }
        }
    }
}

fn list_index(name: &str, text: &str) -> Result<u32> {
    match text.parse::<u32>() {
        Ok(n) if (1..=MAX_LIST_INDEX).contains(&n) => Ok(n),
        _ => Err(Error::invalid_parameter(
            &format!("{name}.{text}"),
            format!("list indexes run from 1 to {MAX_LIST_INDEX}"),
        )),
    }
}

/// Parameters about the request, not the action: left out of ClientToken fingerprints (DryRun
/// too: a dry run records nothing, so it never meets a token's earlier answer).
const NOT_FINGERPRINTED: &[&str] = &[
    "AccessKeyId",
    "ClientToken",
    "Format",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureType",
    "SignatureVersion",
    "Timestamp",
    "Version",
    "SecurityToken",
    "DryRun",
];

impl Params {
    /// The ClientToken, if given, with a fingerprint of the action's parameters. The fingerprint
    /// is a hash, because it is stored and the parameters may hold a Password.
    pub fn idempotency(&self) -> Option<hearth_cloud::client_token::Idempotency> {
        use sha2::{Digest, Sha256};
        let token = self.opt("ClientToken")?;
        let text = self
            .iter()
            .filter(|(k, v)| !NOT_FINGERPRINTED.contains(k) && !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        Some(hearth_cloud::client_token::Idempotency {
            token: token.to_string(),
            fingerprint: hex::encode(Sha256::digest(text.as_bytes())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    #[test]
    fn lists_are_ordered_by_index_not_text() {
        let ps = p(&[("Id.10", "j"), ("Id.2", "b"), ("Id.1", "a"), ("Idx", "no")]);
        assert_eq!(ps.list("Id").unwrap(), vec!["a", "b", "j"]);
    }

    #[test]
    fn objects_group_fields() {
        let ps = p(&[
            ("Tag.1.Key", "k1"),
            ("Tag.2.Key", "k2"),
            ("Tag.1.Value", "v1"),
        ]);
        let objs = ps.objects("Tag").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].1["Value"], "v1");
        assert_eq!(objs[1].0, 2);
    }

    #[test]
    fn bad_index_and_types_name_the_parameter() {
        let e = p(&[("Id.0", "x")]).list("Id").unwrap_err();
        assert!(e.message.contains("Id.0"), "{e}");
        let e = p(&[("PageSize", "ten")]).int("PageSize").unwrap_err();
        assert!(e.message.contains("PageSize"));
        assert_eq!(
            p(&[("DryRun", "TRUE")]).boolean("DryRun").unwrap(),
            Some(true)
        );
        assert!(p(&[("DryRun", "yes")]).boolean("DryRun").is_err());
        assert_eq!(p(&[("A", "")]).opt("A"), None);
        assert_eq!(p(&[("A", "")]).raw("A"), Some(""));
    }

    #[test]
    fn json_bodies_flatten() {
        let body = serde_json::json!({
            "Placement": {"Zone": "z1"},
            "InstanceIds": ["i-1", "i-2"],
            "DataDisks": [{"DiskSize": 50, "DiskType": "CLOUD_SSD"}],
            "DryRun": true,
            "HostName": null,
        });
        let ps = Params::from_json(&body).unwrap();
        assert_eq!(ps.opt("Placement.Zone"), Some("z1"));
        assert_eq!(ps.list("InstanceIds").unwrap(), vec!["i-1", "i-2"]);
        assert_eq!(ps.objects("DataDisks").unwrap()[0].1["DiskSize"], "50");
        assert_eq!(ps.boolean("DryRun").unwrap(), Some(true));
        assert_eq!(ps.raw("HostName"), None);
        assert_eq!(
            ps.top_level_names().into_iter().collect::<Vec<_>>(),
            ["DataDisks", "DryRun", "InstanceIds", "Placement"]
        );
        assert!(Params::from_json(&serde_json::json!([1])).is_err());
        let q = Params::from_zero_based_pairs([
            ("InstanceIds.0".to_string(), "i-1".to_string()),
            ("Filters.0.Values.0".to_string(), "z".to_string()),
            ("Limit".to_string(), "5".to_string()),
        ]);
        assert_eq!(q.list("InstanceIds").unwrap(), vec!["i-1"]);
        assert_eq!(q.objects("Filters").unwrap()[0].1["Values.1"], "z");
        assert_eq!(q.int("Limit").unwrap(), Some(5));
    }

    #[test]
    fn json_lists() {
        assert_eq!(
            p(&[("Ids", r#"["a","b"]"#)]).json_list("Ids").unwrap(),
            Some(vec!["a".into(), "b".into()])
        );
        assert!(p(&[("Ids", "a,b")]).json_list("Ids").is_err());
    }
}
