//! The test harness itself: a real PostgreSQL, one fresh database per call.

use std::time::Duration;

use talentgraph_kit::testing::PostgresServer;
use talentgraph_kit::{Database, ServingPool};

/// Two databases created by the harness are distinct, empty and reachable,
/// and every statement sent through `Database` is counted.
#[tokio::test]
async fn harness_creates_isolated_databases_and_counts_statements() {
    let server = PostgresServer::shared().expect("a PostgreSQL server for tests");
    let first_url = server
        .create_database("tg_harness")
        .await
        .expect("first database");
    let second_url = server
        .create_database("tg_harness")
        .await
        .expect("second database");
    assert_ne!(first_url, second_url);

    let first = Database::connect(&first_url, 2, Duration::from_secs(5))
        .await
        .expect("connects");
    first
        .execute(sqlx::query("CREATE TABLE marker (id int)"))
        .await
        .expect("creates a table");
    let second = Database::connect(&second_url, 2, Duration::from_secs(5))
        .await
        .expect("connects");
    let tables: i64 = second
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'marker'",
        ))
        .await
        .expect("queries the catalog");
    assert_eq!(tables, 0, "databases must not share tables");
    assert_eq!(first.statements_executed(), 1);
    assert_eq!(second.statements_executed(), 1);
}

/// The serving pool's statement timeout is PostgreSQL's: a statement that
/// runs longer is cancelled by the server (SQLSTATE 57014) and the pool's
/// connection is usable again at once.
#[tokio::test]
async fn serving_pool_statements_are_cancelled_after_the_timeout() {
    let server = PostgresServer::shared().expect("a PostgreSQL server for tests");
    let url = server
        .create_database("tg_timeout")
        .await
        .expect("a database");
    let database = Database::connect_serving(
        &url,
        &ServingPool {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_millis(200),
            check_idle_after: Duration::from_secs(1),
        },
    )
    .await
    .expect("connects");
    let error = database
        .execute(sqlx::query("SELECT pg_sleep(5)"))
        .await
        .expect_err("cancelled by the server");
    let detail = error.detail().to_string();
    assert!(
        detail.contains("statement timeout") || detail.contains("57014"),
        "{detail}"
    );
    let one: i32 = database
        .fetch_scalar(sqlx::query_scalar("SELECT 1"))
        .await
        .expect("the connection is usable again");
    assert_eq!(one, 1);
}

/// A pooled connection that PostgreSQL dropped while it sat idle is noticed
/// by the check before use and replaced, so the request that takes it next
/// does not fail. (sqlx's own check before every use is off: it cost a
/// round trip per statement.)
#[tokio::test]
async fn serving_pool_replaces_an_idle_connection_the_server_dropped() {
    let server = PostgresServer::shared().expect("a PostgreSQL server for tests");
    let url = server
        .create_database("tg_idle_check")
        .await
        .expect("a database");
    let check_idle_after = Duration::from_millis(200);
    let database = Database::connect_serving(
        &url,
        &ServingPool {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            check_idle_after,
        },
    )
    .await
    .expect("connects");
    let backend_pid = sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()");
    let first: i32 = database
        .fetch_scalar(backend_pid)
        .await
        .expect("the first statement runs");

    let admin = Database::connect(&url, 1, Duration::from_secs(5))
        .await
        .expect("a second pool");
    let terminated: bool = admin
        .fetch_scalar(sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(first))
        .await
        .expect("terminates the idle backend");
    assert!(terminated);
    // Idle for longer than the threshold, so the next hand-out pings it.
    tokio::time::sleep(check_idle_after * 2).await;

    let second: i32 = database
        .fetch_scalar(sqlx::query_scalar("SELECT pg_backend_pid()"))
        .await
        .expect("the dropped connection was replaced before use");
    assert_ne!(first, second, "a new backend serves the pool");
}
