//! Listing pages: a page of rows with how many match in all, and the page-with-tags query that
//! the tagged resources (instances, disks, VSwitches, security groups) share.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::query::{total_from_page, Where};
use crate::tags::Tag;
use crate::Conn;

/// One page of a listing, and how many rows match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub total: i64,
    pub items: Vec<T>,
}

/// A listed resource with its tags (by key) and its `seq`, which a NextToken continues after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<T> {
    pub seq: i64,
    pub item: T,
    pub tags: Vec<Tag>,
}

/// What a tagged listing reads: the matching rows of `table`, tagged as `tag_type` by their
/// `id_column`.
pub(crate) struct TaggedQuery<'a> {
    pub table: &'a str,
    /// The SELECT list of one row; it has `seq` and `id_column`.
    pub select: String,
    pub tag_type: &'a str,
    pub id_column: &'a str,
    /// Which rows match; the total counts these.
    pub filter: Where,
    /// A scalar expression for the total, using only the filter's placeholders.
    pub total: String,
}

/// One page of matching rows ordered by `seq`, each decoded by `decode`, with their tags and
/// the total. `after` continues a NextToken listing after that `seq` (the total still counts
/// every match). The page, its tags and the total come in one query, one row per (resource,
/// tag), because each query is a round trip to the database's worker thread and those hand-offs
/// dominate a listing's cost; only a page past the end needs a second, COUNT-only query.
pub(crate) async fn tagged_page<T>(
    conn: &mut Conn,
    q: &TaggedQuery<'_>,
    after: Option<i64>,
    offset: i64,
    limit: i64,
    decode: impl Fn(&AnyRow) -> crate::Result<T>,
) -> crate::Result<Page<Tagged<T>>> {
    // The total's placeholders are the filter's own, which the page query binds first; the
    // cursor condition comes after them, so the total ignores it.
    let mut w = q.filter.clone();
    if let Some(after) = after {
        w.gt_int("seq", after);
    }
    let n = w.next();
    let sql = format!(
        "SELECT p.*, t.tag_key, t.tag_value, {} AS total FROM (SELECT {} FROM {}{} ORDER BY seq LIMIT ${n} OFFSET ${}) p \
         LEFT JOIN tags t ON t.resource_type = ${} AND t.resource_id = p.{} ORDER BY p.seq, t.tag_key",
        q.total,
        q.select,
        q.table,
        w.sql(),
        n + 1,
        n + 2,
        q.id_column,
    );
    let rows = w
        .bind(sqlx::query(&sql))
        .bind(limit)
        .bind(offset)
        .bind(q.tag_type)
        .fetch_all(&mut *conn)
        .await?;
    let mut items: Vec<Tagged<T>> = Vec::new();
    let mut last_id: Option<String> = None;
    for r in &rows {
        let id: String = r.try_get(q.id_column)?;
        if last_id.as_deref() != Some(id.as_str()) {
            items.push(Tagged {
                seq: r.try_get("seq")?,
                item: decode(r)?,
                tags: Vec::new(),
            });
            last_id = Some(id);
        }
        let key: Option<String> = r.try_get("tag_key")?;
        if let (Some(key), Some(last)) = (key, items.last_mut()) {
            last.tags.push(Tag {
                key,
                value: r
                    .try_get::<Option<String>, _>("tag_value")?
                    .unwrap_or_default(),
            });
        }
    }
    let known = after
        .is_none()
        .then(|| total_from_page(offset, limit, items.len()))
        .flatten();
    let total = match (rows.first(), known) {
        (_, Some(t)) => t,
        (Some(first), None) => first.try_get("total")?,
        (None, None) => q.filter.count(conn, q.table).await?,
    };
    Ok(Page { total, items })
}
