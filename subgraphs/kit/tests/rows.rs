//! Reading rows by position (`ColumnsInOrder`) and text enums straight
//! from their column, against a real PostgreSQL.

use sqlx::migrate::Migrator;
use sqlx::postgres::PgRow;
use talentgraph_kit::Database;
use talentgraph_kit::database::ColumnsInOrder;
use talentgraph_kit::testing::fresh_database;

talentgraph_kit::text_enum! {
    pub enum Light {
        Green => "GREEN",
        Red => "RED",
    }
}

/// A new, empty database on the tests' shared throwaway server.
async fn database() -> Database {
    fresh_database(&Migrator::DEFAULT)
        .await
        .expect("a fresh database")
        .0
}

async fn one_row(database: &Database, sql: &'static str) -> PgRow {
    database
        .fetch_rows(sqlx::query(sql))
        .await
        .expect("the statement runs")
        .pop()
        .expect("one row")
}

#[tokio::test]
async fn columns_are_read_in_order_and_each_name_is_checked() {
    let database = database().await;
    let row = one_row(
        &database,
        "SELECT 7::int AS count, 'x'::text AS label, 'RED'::text AS light, \
         NULL::text AS note, 'GREEN'::text AS second_light",
    )
    .await;

    let mut columns = ColumnsInOrder::from_first(&row);
    assert_eq!(columns.next::<i32>("count").expect("count"), 7);
    assert_eq!(columns.next::<String>("label").expect("label"), "x");
    assert_eq!(columns.next::<Light>("light").expect("light"), Light::Red);
    assert_eq!(columns.next::<Option<String>>("note").expect("note"), None);

    let mut from_later_column =
        ColumnsInOrder::from_column(&row, "second_light").expect("the column exists");
    assert_eq!(
        from_later_column
            .next::<Light>("second_light")
            .expect("second light"),
        Light::Green
    );

    // A struct whose fields drifted from the statement's column list gets
    // an error naming the column it expected, never the neighbour's value.
    let mut out_of_order = ColumnsInOrder::from_first(&row);
    let error = out_of_order
        .next::<String>("label")
        .expect_err("column 0 is `count`");
    assert!(
        matches!(&error, sqlx::Error::ColumnNotFound(message)
            if message == "label (expected as column 0 of the statement)"),
        "{error:?}"
    );
    // Past the last column is the same error, not a panic.
    let mut past_the_end = ColumnsInOrder::from_column(&row, "second_light").expect("exists");
    past_the_end.next::<Light>("second_light").expect("read");
    assert!(matches!(
        past_the_end.next::<String>("more"),
        Err(sqlx::Error::ColumnNotFound(_))
    ));
    assert!(matches!(
        ColumnsInOrder::from_column(&row, "absent"),
        Err(sqlx::Error::ColumnNotFound(name)) if name == "absent"
    ));
}

#[tokio::test]
async fn a_text_enum_refuses_a_value_it_does_not_declare_and_a_column_of_another_type() {
    let database = database().await;
    let row = one_row(&database, "SELECT 'AMBER'::text AS light, 3::int AS count").await;
    let mut columns = ColumnsInOrder::from_first(&row);
    let unknown = columns
        .next::<Light>("light")
        .expect_err("AMBER is not a Light");
    assert!(
        unknown
            .to_string()
            .contains("unknown Light value \"AMBER\""),
        "{unknown}"
    );
    let wrong_type = columns
        .next::<Light>("count")
        .expect_err("an int is not text");
    assert!(
        matches!(wrong_type, sqlx::Error::ColumnDecode { .. }),
        "{wrong_type:?}"
    );
}

/// A column of exactly the Rust type's own PostgreSQL type skips sqlx's
/// compatibility check (see `ColumnsInOrder`); these are the cases that must
/// still go through it, or fail as they did with it.
#[tokio::test]
async fn columns_of_another_but_compatible_type_and_of_a_wrong_type_are_still_checked() {
    let database = database().await;
    let row = one_row(
        &database,
        "SELECT 'v'::varchar AS short_label, 'c'::char(1) AS letter, 5::int AS count, \
         NULL::int AS missing, 9::bigint AS big",
    )
    .await;
    let mut columns = ColumnsInOrder::from_first(&row);
    // varchar and char are not `String`'s own type (text), but sqlx accepts them.
    assert_eq!(columns.next::<String>("short_label").expect("varchar"), "v");
    assert_eq!(columns.next::<String>("letter").expect("char"), "c");
    // An int read as text is the mismatched-type error, not bytes misread.
    assert_mismatched_type(
        columns
            .next::<String>("count")
            .expect_err("an int is not text"),
    );
    // A NULL read as a non-optional value of its exact type is an error,
    // not a panic or a zero.
    let null = columns
        .next::<i32>("missing")
        .expect_err("NULL is not an i32");
    assert!(
        matches!(&null, sqlx::Error::ColumnDecode { .. }),
        "{null:?}"
    );
    // A bigint read as a 32-bit int is refused before its eight bytes are decoded.
    assert_mismatched_type(
        columns
            .next::<i32>("big")
            .expect_err("a bigint is not an i32"),
    );
}

/// sqlx's own error for a column whose type the Rust type does not accept.
fn assert_mismatched_type(error: sqlx::Error) {
    assert!(
        matches!(&error, sqlx::Error::ColumnDecode { source, .. }
            if source.to_string().contains("mismatched types")),
        "{error:?}"
    );
}
