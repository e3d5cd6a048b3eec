//! Shared pieces of the listing queries: a WHERE-clause builder with `$n` placeholders numbered
//! in order (portable between SQLite and PostgreSQL), totals, and the `seq` ordering column.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::columns::placeholders;
use crate::tags::Tag;
use crate::Conn;

/// The next value of a table's `seq` ordering column. Only call inside a write transaction,
/// which serializes writers so two inserts cannot get the same value.
pub(crate) async fn next_seq(conn: &mut Conn, table: &str) -> crate::Result<i64> {
    let row = sqlx::query(&format!(
        "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM {table}"
    ))
    .fetch_one(&mut *conn)
    .await?;
    row.try_get::<i64, _>("next")
}

/// The one row of `table` whose `key` column is `value`, read by `from_row`; `None` if none.
pub(crate) async fn by_key<T>(
    conn: &mut Conn,
    table: &str,
    columns: &str,
    key: &str,
    value: &str,
    from_row: fn(&AnyRow) -> crate::Result<T>,
) -> crate::Result<Option<T>> {
    let sql = format!(
        "SELECT {} FROM {table} WHERE {key} = $1",
        crate::columns::select_list(columns)
    );
    let row = sqlx::query(&sql)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The rows of `sql` with its `{in}` replaced by one placeholder per value of `values` (its only
/// placeholders): the rows whose column is one of them, in one query; no rows for no values.
pub(crate) async fn rows_in(
    conn: &mut Conn,
    sql: &str,
    values: &[String],
) -> crate::Result<Vec<AnyRow>> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sql.replace("{in}", &placeholders(1, values.len()));
    let mut q = sqlx::query(&sql);
    for v in values {
        q = q.bind(v.as_str());
    }
    q.fetch_all(&mut *conn).await
}

#[derive(Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// A WHERE clause under construction, with `$n` placeholders numbered in order.
#[derive(Clone, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    /// The number the next placeholder gets.
    pub(crate) fn next(&self) -> usize {
        self.binds.len() + 1
    }

    pub(crate) fn eq(&mut self, column: &str, value: &str) {
        self.clauses.push(format!("{column} = ${}", self.next()));
        self.binds.push(Bind::Text(value.to_string()));
    }

    /// `column = value` for each column whose value is given: a listing's optional filters.
    pub(crate) fn eq_given(&mut self, filters: &[(&str, &Option<String>)]) {
        for (column, value) in filters {
            if let Some(v) = value {
                self.eq(column, v);
            }
        }
    }

    /// A condition that binds nothing, such as `vpc_id <> ''`.
    pub(crate) fn condition(&mut self, sql: &str) {
        self.clauses.push(sql.to_string());
    }

    pub(crate) fn gt_int(&mut self, column: &str, value: i64) {
        self.clauses.push(format!("{column} > ${}", self.next()));
        self.binds.push(Bind::Int(value));
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
        let marks = placeholders(self.next(), values.len());
        self.clauses.push(format!("{column} IN ({marks})"));
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

    /// The conditions joined with AND, without the WHERE keyword (`1 = 1` when there are none).
    pub(crate) fn conditions(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }

    /// ` WHERE …`, or nothing when there are no conditions.
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions())
        }
    }

    /// Binds this filter's values, in placeholder order.
    pub(crate) fn bind<'q>(
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
        let sql = format!("SELECT {} AS n", self.count_sql(table));
        self.bind(sqlx::query(&sql))
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")
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

/// The total a page implies without counting: a short page that is not past the end tells
/// exactly how many rows match.
pub(crate) fn total_from_page(offset: i64, limit: i64, len: usize) -> Option<i64> {
    let len = len as i64;
    (len < limit && (len > 0 || offset == 0)).then_some(offset + len)
}

/// Runs one statement whose parameters are all text, bound to `$1`, `$2`, … in order, and
/// returns how many rows it changed.
pub(crate) async fn execute(conn: &mut Conn, sql: &str, binds: &[&str]) -> crate::Result<u64> {
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(*b);
    }
    Ok(query.execute(&mut *conn).await?.rows_affected())
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
