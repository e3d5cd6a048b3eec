//! A table's column list as the one source of its SELECT list and its INSERT statement: adding a
//! column is one entry here plus its bind and its read, and binds follow the list's order.

use sqlx::any::AnyArguments;
use sqlx::Any;

use crate::Conn;

/// A column list is written `"a, b, c"`: one line a table, read as the SELECT list as it is.
fn names(cols: &str) -> impl Iterator<Item = &str> {
    cols.split(',').map(str::trim)
}

/// `a, b, c`: the columns for a SELECT.
pub(crate) fn select_list(cols: &str) -> String {
    names(cols).collect::<Vec<_>>().join(", ")
}

/// `p.a, p.b`: the columns of a table known in the query as `alias`; each comes back under its
/// own name, so rows still read by column name.
pub(crate) fn qualified(alias: &str, cols: &str) -> String {
    names(cols)
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$first, …`: `n` placeholders numbered from `first`.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO table (a, b) VALUES ($1, $2)`: one placeholder per column, in the list's order.
pub(crate) fn insert_sql(table: &str, cols: &str) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        select_list(cols),
        placeholders(1, names(cols).count())
    )
}

/// One row's INSERT over a column list, binding in the list's order. It refuses to run unless
/// every column got exactly one bind, so a column added without its bind (or a bind without its
/// column) is an error rather than a row whose values land in the wrong columns.
pub(crate) struct Insert<'q> {
    query: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    columns: usize,
    bound: usize,
}

impl<'q> Insert<'q> {
    /// `sql` is [`insert_sql`] of `cols`.
    pub(crate) fn new(sql: &'q str, cols: &str) -> Insert<'q> {
        Insert {
            query: sqlx::query(sql),
            columns: names(cols).count(),
            bound: 0,
        }
    }

    pub(crate) fn bind<T: 'q + sqlx::Encode<'q, Any> + sqlx::Type<Any>>(mut self, v: T) -> Self {
        self.query = self.query.bind(v);
        self.bound += 1;
        self
    }

    pub(crate) async fn execute(self, conn: &mut Conn) -> crate::Result<()> {
        if self.bound != self.columns {
            return Err(sqlx::Error::Protocol(format!(
                "INSERT of {} columns given {} values",
                self.columns, self.bound
            )));
        }
        self.query.execute(&mut *conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sql_is_exact() {
        let cols = "seq, id,name";
        assert_eq!(select_list(cols), "seq, id, name");
        assert_eq!(qualified("r", cols), "r.seq, r.id, r.name");
        assert_eq!(
            insert_sql("things", cols),
            "INSERT INTO things (seq, id, name) VALUES ($1, $2, $3)"
        );
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(placeholders(1, 0), "");
    }
}
