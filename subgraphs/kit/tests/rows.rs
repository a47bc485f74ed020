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
