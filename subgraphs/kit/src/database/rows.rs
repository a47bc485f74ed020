//! Reading rows by position and building statements: the helpers the
//! subgraphs' stores share.

use sqlx::Postgres;
use sqlx::postgres::PgRow;

/// Reads a row's columns by position, in the order its statement selected
/// them, and checks each column's name on the way.
///
/// sqlx's derived `FromRow` finds every column by name through a map of the
/// statement's column names, hashed with SipHash, once per column and row.
/// A search row of thirteen columns (employer's `Job`) is read ten to a
/// hundred times per page, and the lookups were a quarter of reading it
/// (counted: `Job::from_row` 4.3 → 3.2 million instructions over 50
/// JobSearchPages). A hand-written `from_row` that walks the columns with
/// this cursor compares each expected name with the column's own instead,
/// which costs a few byte comparisons and still turns a column list that
/// drifted from the struct into an error (`ColumnNotFound`, naming the
/// column and its expected position) rather than a wrong value.
///
/// It also spares sqlx's type check where it can prove it would pass. sqlx's
/// `try_get` asks the Rust type whether each column's type is one it
/// accepts, once per row and column, and for text that question builds and
/// compares a list of six PostgreSQL types (`text`, `varchar`, `citext`, …):
/// about 230 instructions per column, 3 % of an employer search. When the
/// column's type is exactly the Rust type's own (the same built-in type
/// OID), the check cannot fail, so the value is decoded directly; any other
/// column type still goes through sqlx's full check and its
/// mismatched-type error.
pub struct ColumnsInOrder<'r> {
    row: &'r PgRow,
    position: usize,
}

impl<'r> ColumnsInOrder<'r> {
    /// A cursor at the row's first column.
    pub fn from_first(row: &'r PgRow) -> Self {
        Self { row, position: 0 }
    }

    /// A cursor at the column named `name`, for columns selected after
    /// another type's (a search's joined card after its own row).
    pub fn from_column(row: &'r PgRow, name: &'static str) -> Result<Self, sqlx::Error> {
        use sqlx::{Column as _, Row as _};
        row.columns()
            .iter()
            .position(|column| column.name() == name)
            .map(|position| Self { row, position })
            .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_owned()))
    }

    /// The value of the next column, which must be named `name`.
    pub fn next<T>(&mut self, name: &'static str) -> Result<T, sqlx::Error>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        use sqlx::{Column as _, Row as _};
        let position = self.position;
        self.position += 1;
        match self.row.columns().get(position) {
            Some(column) if column.name() == name => {
                if is_exactly_the_type_of::<T>(column.type_info()) {
                    self.row.try_get_unchecked(position)
                } else {
                    self.row.try_get(position)
                }
            }
            _ => Err(sqlx::Error::ColumnNotFound(format!(
                "{name} (expected as column {position} of the statement)"
            ))),
        }
    }
}

/// Whether a column of type `column_type` is of `T`'s own PostgreSQL type,
/// compared by OID. Types known by name only (enums and other types an
/// extension or a migration creates, whose OIDs differ between databases)
/// have no OID on `T`'s side and are never taken as exact.
fn is_exactly_the_type_of<T: sqlx::Type<Postgres>>(
    column_type: &sqlx::postgres::PgTypeInfo,
) -> bool {
    match (column_type.oid(), T::type_info().oid()) {
        (Some(column_oid), Some(own_oid)) => column_oid == own_oid,
        _ => false,
    }
}

/// Implements `sqlx::FromRow` for a row struct whose fields are named after
/// its columns, reading them with [`ColumnsInOrder`] in the order listed,
/// which must be the order of the store's column list:
/// `columns_in_order_row!(Job { id, organization_id, title })`.
#[macro_export]
macro_rules! columns_in_order_row {
    ($row:ident { $($field:ident),+ $(,)? }) => {
        impl<'r> $crate::reexports::sqlx::FromRow<'r, $crate::reexports::sqlx::postgres::PgRow>
            for $row
        {
            fn from_row(
                row: &'r $crate::reexports::sqlx::postgres::PgRow,
            ) -> Result<Self, $crate::reexports::sqlx::Error> {
                let mut columns = $crate::database::ColumnsInOrder::from_first(row);
                Ok(Self {
                    $($field: columns.next(stringify!($field))?,)+
                })
            }
        }
    };
}

/// Adds ` AND <column> = <value>` to a statement being built, when a value
/// is given. The searches write only the filters asked for this way, so
/// that each combination of filters is its own prepared statement, for
/// which PostgreSQL can keep one generic plan. The column is a `'static` text, written in the
/// caller's code and never taken from a request.
pub fn push_equals_if_given<'args, T>(
    statement: &mut sqlx::QueryBuilder<'args, Postgres>,
    column: &'static str,
    value: Option<T>,
) where
    T: 'args + sqlx::Encode<'args, Postgres> + sqlx::Type<Postgres>,
{
    if let Some(value) = value {
        statement
            .push(" AND ")
            .push(column)
            .push(" = ")
            .push_bind(value);
    }
}

/// Escapes `LIKE`/`ILIKE` wildcards so a search for "100%" matches the text
/// "100%" rather than everything starting with "100".
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
