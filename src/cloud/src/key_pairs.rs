//! ECS key pairs: create (a real RSA 2048 key whose private half is returned once and never
//! stored), import (a checked OpenSSH public key), describe and delete.
//!
//! Choices where ECS behaviour is not pinned down:
//! - DeleteKeyPairs with any unknown name fails with `InvalidKeyPairName.NotFound` (404) and
//!   deletes nothing: the call is all or nothing.
//! - DescribeKeyPairs' KeyPairName with `*` is a wildcard match (`web*`, `*prod`, `*a*`),
//!   case-insensitive; without `*` the name must match exactly.

use hearth_store::key_pairs::{self as store, Filter, KeyPair};
use hearth_store::tags::Tag;

use crate::ssh_keys;
use crate::{ids, names, Cloud, Error, Result};

pub const NAME_CODE: &str = "InvalidKeyPairName.Malformed";
/// DeleteKeyPairs accepts at most this many names.
pub const MAX_DELETE: usize = 100;
const RSA_BITS: usize = 2048;

/// What CreateKeyPair answers: the only time the private key exists outside the user's hands.
pub struct Created {
    pub key_pair: KeyPair,
    pub private_key_pem: String,
}

/// A key pair with its tags, as DescribeKeyPairs shows it.
pub struct Listed {
    pub key_pair: KeyPair,
    pub tags: Vec<Tag>,
}

pub fn check_name(name: &str) -> Result<()> {
    names::check_name("KeyPairName", name, NAME_CODE)
}

fn already_exists(name: &str) -> Error {
    Error::bad_request(
        "KeyPair.AlreadyExist",
        format!("The key pair already exist: a key pair named {name:?} exists in this region."),
    )
}

pub async fn create(
    cloud: &Cloud,
    name: &str,
    tags: &[Tag],
    resource_group_id: Option<&str>,
) -> Result<Created> {
    check_name(name)?;
    // Refuse a taken name before spending CPU on a key; checked again under the write lock.
    {
        let mut conn = cloud.store.pool().acquire().await?;
        if store::exists(&mut conn, name).await? {
            return Err(already_exists(name));
        }
    }
    let generated = tokio::task::spawn_blocking(|| ssh_keys::generate_rsa(RSA_BITS))
        .await
        .map_err(|e| Error::internal(format!("key generation task failed: {e}")))??;
    let key_pair = save(cloud, name, &generated.public, tags, resource_group_id).await?;
    Ok(Created {
        key_pair,
        private_key_pem: generated.private_pem,
    })
}

pub async fn import(
    cloud: &Cloud,
    name: &str,
    public_key_body: &str,
    tags: &[Tag],
    resource_group_id: Option<&str>,
) -> Result<KeyPair> {
    check_name(name)?;
    let public = ssh_keys::parse_public(public_key_body)?;
    save(cloud, name, &public, tags, resource_group_id).await
}

async fn save(
    cloud: &Cloud,
    name: &str,
    public: &ssh_keys::PublicKey,
    tags: &[Tag],
    resource_group_id: Option<&str>,
) -> Result<KeyPair> {
    let key_pair = KeyPair {
        name: name.to_string(),
        id: ids::new_id("kp"),
        fingerprint: public.fingerprint(),
        public_key: public.openssh(),
        resource_group_id: resource_group_id.unwrap_or_default().to_string(),
        created_at: ids::now_utc(),
    };
    let mut tx = cloud.store.write().await?;
    if store::exists(&mut tx, name).await? {
        return Err(already_exists(name));
    }
    store::insert(&mut tx, &key_pair).await?;
    hearth_store::tags::set(&mut tx, store::TAG_TYPE, name, tags).await?;
    tx.commit().await?;
    Ok(key_pair)
}

/// DescribeKeyPairs' filters as the user gives them.
#[derive(Debug, Default)]
pub struct Query<'a> {
    pub name: Option<&'a str>,
    pub fingerprint: Option<&'a str>,
    pub resource_group_id: Option<&'a str>,
    pub tags: Vec<Tag>,
}

pub async fn describe(
    cloud: &Cloud,
    q: Query<'_>,
    page: crate::paging::Page,
) -> Result<(Vec<Listed>, i64)> {
    let mut filter = Filter {
        fingerprint: q.fingerprint.map(str::to_string),
        resource_group_id: q.resource_group_id.map(str::to_string),
        tags: q.tags,
        ..Filter::default()
    };
    match q.name {
        Some(n) if n.contains('*') => filter.name_like = Some(like_pattern(n)),
        Some(n) => filter.name = Some(n.to_string()),
        None => {}
    }
    let mut conn = cloud.store.pool().acquire().await?;
    let hearth_store::Page { items, total } =
        store::page(&mut conn, &filter, page.offset(), page.limit()).await?;
    let names: Vec<String> = items.iter().map(|k| k.name.clone()).collect();
    let mut tags = hearth_store::tags::of_many(&mut conn, store::TAG_TYPE, &names).await?;
    let listed = items
        .into_iter()
        .map(|key_pair| Listed {
            tags: tags.remove(&key_pair.name).unwrap_or_default(),
            key_pair,
        })
        .collect();
    Ok((listed, total))
}

/// A `*` wildcard name as a SQL `LIKE` pattern: `*` becomes `%`, and `%`, `_` and `\` are
/// escaped with `\` so they match themselves.
pub fn like_pattern(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    for c in name.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Deletes every named key pair, or none when any is unknown.
pub async fn delete(cloud: &Cloud, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Err(Error::missing_parameter("KeyPairNames"));
    }
    if names.len() > MAX_DELETE {
        return Err(Error::invalid_parameter(
            "KeyPairNames",
            format!(
                "at most {MAX_DELETE} names may be given, got {}",
                names.len()
            ),
        ));
    }
    let mut unique: Vec<&String> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    let mut tx = cloud.store.write().await?;
    for name in unique {
        if !store::delete(&mut tx, name).await? {
            return Err(Error::not_found(
                "InvalidKeyPairName.NotFound",
                format!("The specified KeyPairName {name:?} does not exist; nothing was deleted."),
            ));
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_become_escaped_like_patterns() {
        assert_eq!(like_pattern("web*"), "web%");
        assert_eq!(like_pattern("*a_b*"), "%a\\_b%");
        assert_eq!(like_pattern("x%\\"), "x\\%\\\\");
    }
}
