//! Key pair records: name, fingerprint and OpenSSH public key (never a private key).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::columns::{insert_sql, select_list, Insert};
use crate::page::Page;
use crate::query::execute;
use crate::row::record;
use crate::tags::{self, Tag};
use crate::Conn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub name: String,
    pub id: String,
    pub fingerprint: String,
    pub public_key: String,
    pub resource_group_id: String,
    pub created_at: String,
}

const TABLE: &str = "key_pairs";

/// The columns of `key_pairs`, in bind order.
const COLUMNS: &str = "name, id, fingerprint, public_key, resource_group_id, created_at";

fn from_row(r: &AnyRow) -> crate::Result<KeyPair> {
    Ok(record!(r => KeyPair {
        name, id, fingerprint, public_key, resource_group_id, created_at,
    }))
}

/// The tag resource type of key pairs; tags are keyed by key pair name.
pub const TAG_TYPE: &str = "keypair";

/// Filters of DescribeKeyPairs; `None`/empty means "any".
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub name: Option<String>,
    /// A `LIKE` pattern (with `\` escapes) matched case-insensitively against the name.
    pub name_like: Option<String>,
    pub fingerprint: Option<String>,
    pub resource_group_id: Option<String>,
    pub tags: Vec<Tag>,
}

pub async fn exists(conn: &mut Conn, name: &str) -> crate::Result<bool> {
    let row = sqlx::query("SELECT 1 FROM key_pairs WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

pub async fn insert(conn: &mut Conn, kp: &KeyPair) -> crate::Result<()> {
    let sql = insert_sql(TABLE, COLUMNS);
    Insert::new(&sql, COLUMNS)
        .bind(&kp.name)
        .bind(&kp.id)
        .bind(&kp.fingerprint)
        .bind(&kp.public_key)
        .bind(&kp.resource_group_id)
        .bind(&kp.created_at)
        .execute(conn)
        .await
}

/// Deletes one key pair and its tags; returns whether it existed.
pub async fn delete(conn: &mut Conn, name: &str) -> crate::Result<bool> {
    let done = execute(conn, "DELETE FROM key_pairs WHERE name = $1", &[name]).await?;
    tags::delete_all(conn, TAG_TYPE, name).await?;
    Ok(done > 0)
}

/// Adds a value to bind and returns its placeholder.
fn next(binds: &mut Vec<String>, v: &str) -> String {
    binds.push(v.to_string());
    format!("${}", binds.len())
}

fn where_clause(f: &Filter) -> (String, Vec<String>) {
    let mut conds = Vec::new();
    let mut binds = Vec::new();
    if let Some(n) = &f.name {
        conds.push(format!("name = {}", next(&mut binds, n)));
    }
    if let Some(p) = &f.name_like {
        conds.push(format!(
            "LOWER(name) LIKE LOWER({}) ESCAPE '\\'",
            next(&mut binds, p)
        ));
    }
    if let Some(fp) = &f.fingerprint {
        conds.push(format!("fingerprint = {}", next(&mut binds, fp)));
    }
    if let Some(rg) = &f.resource_group_id {
        conds.push(format!("resource_group_id = {}", next(&mut binds, rg)));
    }
    if !f.tags.is_empty() {
        let (clause, tag_binds) = tags::filter_clause(TAG_TYPE, "name", &f.tags, binds.len() + 1);
        conds.push(clause);
        binds.extend(tag_binds);
    }
    let clause = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    (clause, binds)
}

/// One page of key pairs (oldest first) with the total count of matches.
pub async fn page(
    conn: &mut Conn,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> crate::Result<Page<KeyPair>> {
    let (clause, binds) = where_clause(f);
    let count_sql = format!("SELECT COUNT(*) AS n FROM {TABLE}{clause}");
    let mut q = sqlx::query(&count_sql);
    for b in &binds {
        q = q.bind(b);
    }
    let total: i64 = q.fetch_one(&mut *conn).await?.try_get("n")?;
    let sql = format!(
        "SELECT {} FROM {TABLE}{clause} ORDER BY created_at, name LIMIT {limit} OFFSET {offset}",
        select_list(COLUMNS)
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<crate::Result<_>>()?;
    Ok(Page { total, items })
}
