//! Tags on any resource, keyed by resource type (`vpc`, `securitygroup`, …) and ID.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::columns::placeholders;
use crate::query::execute;
use crate::Conn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

fn tag_from_row(r: &AnyRow) -> crate::Result<Tag> {
    Ok(Tag {
        key: r.try_get("tag_key")?,
        value: r.try_get("tag_value")?,
    })
}

pub async fn set(
    conn: &mut Conn,
    resource_type: &str,
    resource_id: &str,
    tags: &[Tag],
) -> crate::Result<()> {
    for tag in tags {
        execute(
            conn,
            "DELETE FROM tags WHERE resource_type = $1 AND resource_id = $2 AND tag_key = $3",
            &[resource_type, resource_id, &tag.key],
        )
        .await?;
        execute(conn, "INSERT INTO tags (resource_type, resource_id, tag_key, tag_value) VALUES ($1, $2, $3, $4)", &[resource_type, resource_id, &tag.key, &tag.value]).await?;
    }
    Ok(())
}

pub async fn list(
    conn: &mut Conn,
    resource_type: &str,
    resource_id: &str,
) -> crate::Result<Vec<Tag>> {
    let rows = sqlx::query("SELECT tag_key, tag_value FROM tags WHERE resource_type = $1 AND resource_id = $2 ORDER BY tag_key")
        .bind(resource_type)
        .bind(resource_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(tag_from_row).collect()
}

/// The tags of many resources of one type in one query, by resource ID (each list by key).
pub async fn of_many(
    conn: &mut Conn,
    resource_type: &str,
    ids: &[String],
) -> crate::Result<HashMap<String, Vec<Tag>>> {
    let mut out: HashMap<String, Vec<Tag>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT resource_id, tag_key, tag_value FROM tags WHERE resource_type = $1 AND resource_id IN ({}) ORDER BY resource_id, tag_key",
        placeholders(2, ids.len())
    );
    let mut q = sqlx::query(&sql).bind(resource_type);
    for id in ids {
        q = q.bind(id.as_str());
    }
    for r in q.fetch_all(&mut *conn).await? {
        out.entry(r.try_get("resource_id")?)
            .or_default()
            .push(tag_from_row(&r)?);
    }
    Ok(out)
}

pub async fn delete_all(
    conn: &mut Conn,
    resource_type: &str,
    resource_id: &str,
) -> crate::Result<()> {
    execute(
        conn,
        "DELETE FROM tags WHERE resource_type = $1 AND resource_id = $2",
        &[resource_type, resource_id],
    )
    .await?;
    Ok(())
}

/// SQL condition (for a `WHERE`) that keeps rows of `id_column` carrying every tag in `tags`,
/// with placeholders starting at `$first`. Returns the clause and the values to bind, in order.
pub fn filter_clause(
    resource_type: &str,
    id_column: &str,
    tags: &[Tag],
    first: usize,
) -> (String, Vec<String>) {
    let mut clause = String::new();
    let mut binds = Vec::new();
    let mut n = first;
    for tag in tags {
        if !clause.is_empty() {
            clause.push_str(" AND ");
        }
        if tag.value.is_empty() {
            clause.push_str(&format!(
                "{id_column} IN (SELECT resource_id FROM tags WHERE resource_type = ${} AND tag_key = ${})",
                n,
                n + 1
            ));
            binds.extend([resource_type.to_string(), tag.key.clone()]);
            n += 2;
        } else {
            clause.push_str(&format!(
                "{id_column} IN (SELECT resource_id FROM tags WHERE resource_type = ${} AND tag_key = ${} AND tag_value = ${})",
                n,
                n + 1,
                n + 2
            ));
            binds.extend([
                resource_type.to_string(),
                tag.key.clone(),
                tag.value.clone(),
            ]);
            n += 3;
        }
    }
    (clause, binds)
}
