//! VPC records, plus the small query-building helpers the network tables share (a WHERE clause
//! with numbered placeholders, and the tags of a whole page in one query).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::tags::Tag;
use crate::Conn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub vpc_id: String,
    pub region_id: String,
    pub vpc_name: String,
    pub description: String,
    pub cidr_block: String,
    pub vrouter_id: String,
    pub route_table_id: String,
    pub is_default: bool,
    pub status: String,
    pub created_at: String,
}

/// Which VPCs a listing returns; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct VpcFilter {
    pub vpc_ids: Option<Vec<String>>,
    pub vpc_name: Option<String>,
    pub is_default: Option<bool>,
    pub tags: Vec<Tag>,
}

const COLUMNS: &str = "vpc_id, region_id, vpc_name, description, cidr_block, vrouter_id, route_table_id, is_default, status, created_at";

fn from_row(r: &AnyRow) -> Vpc {
    Vpc {
        vpc_id: r.get(0),
        region_id: r.get(1),
        vpc_name: r.get(2),
        description: r.get(3),
        cidr_block: r.get(4),
        vrouter_id: r.get(5),
        route_table_id: r.get(6),
        is_default: r.get::<i64, _>(7) != 0,
        status: r.get(8),
        created_at: r.get(9),
    }
}

pub async fn insert(conn: &mut Conn, vpc: &Vpc) -> crate::Result<()> {
    let seq = next_seq(conn, "vpcs").await?;
    sqlx::query(&format!(
        "INSERT INTO vpcs (seq, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(seq)
    .bind(&vpc.vpc_id)
    .bind(&vpc.region_id)
    .bind(&vpc.vpc_name)
    .bind(&vpc.description)
    .bind(&vpc.cidr_block)
    .bind(&vpc.vrouter_id)
    .bind(&vpc.route_table_id)
    .bind(vpc.is_default as i64)
    .bind(&vpc.status)
    .bind(&vpc.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, vpc_id: &str) -> crate::Result<Option<Vpc>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM vpcs WHERE vpc_id = $1"))
        .bind(vpc_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// Changes the name and/or description; `None` leaves a field as it is.
pub async fn update(
    conn: &mut Conn,
    vpc_id: &str,
    vpc_name: Option<&str>,
    description: Option<&str>,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE vpcs SET vpc_name = COALESCE($2, vpc_name), description = COALESCE($3, description) WHERE vpc_id = $1",
    )
    .bind(vpc_id)
    .bind(vpc_name)
    .bind(description)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, vpc_id: &str) -> crate::Result<()> {
    sqlx::query("DELETE FROM vpcs WHERE vpc_id = $1")
        .bind(vpc_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One page of matching VPCs in creation order, and how many match in all.
pub async fn list(
    conn: &mut Conn,
    filter: &VpcFilter,
    offset: i64,
    limit: i64,
) -> crate::Result<(i64, Vec<Vpc>)> {
    let mut w = Where::default();
    if let Some(ids) = &filter.vpc_ids {
        w.any_of("vpc_id", ids);
    }
    if let Some(name) = &filter.vpc_name {
        w.eq("vpc_name", name);
    }
    if let Some(d) = filter.is_default {
        w.eq_int("is_default", d as i64);
    }
    w.tags("vpc", "vpc_id", &filter.tags);
    let rows = w.rows(conn, "vpcs", COLUMNS, offset, limit).await?;
    let total = match total_from_page(offset, limit, rows.len()) {
        Some(t) => t,
        None => w.count(conn, "vpcs").await?,
    };
    Ok((total, rows.iter().map(from_row).collect()))
}

// ---- shared helpers for the network tables ------------------------------------------------

/// The next value of a table's `seq` ordering column. Only call inside a write transaction,
/// which serializes writers so two inserts cannot get the same value.
pub(crate) async fn next_seq(conn: &mut Conn, table: &str) -> crate::Result<i64> {
    let row = sqlx::query(&format!("SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}"))
        .fetch_one(&mut *conn)
        .await?;
    row.try_get::<i64, _>(0)
}

pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// A WHERE clause under construction, with `$n` placeholders numbered in order.
#[derive(Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    fn next(&self) -> usize {
        self.binds.len() + 1
    }

    pub(crate) fn eq(&mut self, column: &str, value: &str) {
        self.clauses.push(format!("{column} = ${}", self.next()));
        self.binds.push(Bind::Text(value.to_string()));
    }

    pub(crate) fn eq_int(&mut self, column: &str, value: i64) {
        self.clauses.push(format!("{column} = ${}", self.next()));
        self.binds.push(Bind::Int(value));
    }

    /// `column IN (...)`; an empty list matches nothing.
    pub(crate) fn any_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            self.clauses.push("1 = 0".into());
            return;
        }
        let first = self.next();
        let marks: Vec<String> = (first..first + values.len())
            .map(|n| format!("${n}"))
            .collect();
        self.clauses
            .push(format!("{column} IN ({})", marks.join(", ")));
        self.binds
            .extend(values.iter().map(|v| Bind::Text(v.clone())));
    }

    pub(crate) fn tags(&mut self, resource_type: &str, id_column: &str, tags: &[Tag]) {
        if tags.is_empty() {
            return;
        }
        let (clause, binds) =
            crate::tags::filter_clause(resource_type, id_column, tags, self.next());
        self.clauses.push(clause);
        self.binds.extend(binds.into_iter().map(Bind::Text));
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                Bind::Text(s) => q.bind(s.as_str()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }

    /// How many rows match.
    pub(crate) async fn count(&self, conn: &mut Conn, table: &str) -> crate::Result<i64> {
        let sql = format!("SELECT {}", self.count_sql(table));
        self.bind(sqlx::query(&sql))
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)
    }

    /// A scalar subquery counting the matching rows of `table`, using this filter's placeholders.
    pub(crate) fn count_sql(&self, table: &str) -> String {
        format!("(SELECT COUNT(*) FROM {table}{})", self.sql())
    }

    /// A scalar subquery summing `column` over the matching rows of `table` (0 when none match),
    /// using this filter's placeholders: pass a filter whose conditions are a prefix of the
    /// page's, so the placeholders mean the same values.
    pub(crate) fn sum_sql(&self, table: &str, column: &str) -> String {
        // PostgreSQL sums BIGINTs as NUMERIC, which the Any driver cannot decode: cast back.
        format!(
            "(SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) FROM {table}{})",
            self.sql()
        )
    }

    /// One page of matching rows ordered by `seq` (indexed, never all rows).
    pub(crate) async fn rows(
        &self,
        conn: &mut Conn,
        table: &str,
        columns: &str,
        offset: i64,
        limit: i64,
    ) -> crate::Result<Vec<AnyRow>> {
        let n = self.next();
        let sql = format!(
            "SELECT {columns} FROM {table}{} ORDER BY seq LIMIT ${n} OFFSET ${}",
            self.sql(),
            n + 1
        );
        self.bind(sqlx::query(&sql))
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *conn)
            .await
    }
}

impl Where {
    /// One page of matching rows ordered by `seq` (the rows are resources of `resource_type`
    /// identified by `id_column`), each row followed by one of the resource's tags and the
    /// `total` expression (`columns`, then `seq`, then tag key and value, NULL when it has none,
    /// then the total): the page, its tags and the total in one query, because each query is a
    /// round trip to the database's worker thread and those hand-offs dominate a listing's cost.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn rows_with_tags(
        &self,
        conn: &mut Conn,
        table: &str,
        columns: &str,
        (resource_type, id_column): (&str, &str),
        total: &str,
        offset: i64,
        limit: i64,
    ) -> crate::Result<Vec<AnyRow>> {
        let n = self.next();
        let sql = format!(
            "SELECT p.*, t.tag_key, t.tag_value, {total} FROM (SELECT {columns}, seq FROM {table}{} ORDER BY seq LIMIT ${n} OFFSET ${}) p \
             LEFT JOIN tags t ON t.resource_type = ${} AND t.resource_id = p.{id_column} ORDER BY p.seq, t.tag_key",
            self.sql(),
            n + 1,
            n + 2
        );
        self.bind(sqlx::query(&sql))
            .bind(limit)
            .bind(offset)
            .bind(resource_type)
            .fetch_all(&mut *conn)
            .await
    }
}

/// The total a page implies without counting: a short page that is not past the end tells
/// exactly how many rows match.
pub(crate) fn total_from_page(offset: i64, limit: i64, len: usize) -> Option<i64> {
    let len = len as i64;
    (len < limit && (len > 0 || offset == 0)).then_some(offset + len)
}

#[cfg(test)]
mod tests {
    use super::total_from_page;

    #[test]
    fn short_pages_tell_the_total() {
        assert_eq!(total_from_page(0, 10, 0), Some(0));
        assert_eq!(total_from_page(0, 10, 3), Some(3));
        assert_eq!(total_from_page(20, 10, 5), Some(25));
        // A full page, or an empty page past the end, says nothing about the total.
        assert_eq!(total_from_page(0, 10, 10), None);
        assert_eq!(total_from_page(30, 10, 0), None);
    }
}
