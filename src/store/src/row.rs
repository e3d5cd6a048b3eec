//! Reading a record from a row: each field from the column of its own name, converted by the
//! field's type (BIGINT 0/1 as bool, the status and intent strings as their enums), so a
//! record's decoder is its list of field names and nothing else.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::state::{decode, Intent, Status};

/// A field type a column decodes into.
pub(crate) trait Column: Sized {
    fn read(row: &AnyRow, name: &str) -> crate::Result<Self>;
}

macro_rules! read_as_is {
    ($($t:ty),*) => {
        $(impl Column for $t {
            fn read(row: &AnyRow, name: &str) -> crate::Result<Self> {
                row.try_get(name)
            }
        })*
    };
}

read_as_is!(String, i64, Option<String>, Option<i64>);

/// Booleans are stored as 0/1 so the SQL runs unchanged on SQLite and PostgreSQL.
impl Column for bool {
    fn read(row: &AnyRow, name: &str) -> crate::Result<Self> {
        Ok(row.try_get::<i64, _>(name)? != 0)
    }
}

impl Column for Status {
    fn read(row: &AnyRow, name: &str) -> crate::Result<Self> {
        decode(name, &row.try_get::<String, _>(name)?)
    }
}

impl Column for Option<Intent> {
    fn read(row: &AnyRow, name: &str) -> crate::Result<Self> {
        row.try_get::<Option<String>, _>(name)?
            .map(|t| decode(name, &t))
            .transpose()
    }
}

/// `record!(row => Type { a, b, c })`: a `Type` with each field read from its column.
macro_rules! record {
    ($row:expr => $ty:ident { $($field:ident),* $(,)? }) => {
        $ty {
            $($field: $crate::row::Column::read($row, stringify!($field))?,)*
        }
    };
}

pub(crate) use record;
