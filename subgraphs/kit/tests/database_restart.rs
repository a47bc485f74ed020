//! A PostgreSQL restart under a serving pool, on a real cluster of the
//! test's own (`pg_ctl` stop and start, as `pg_ctl restart -m fast` does):
//! while the server is down a statement fails as unavailable, which clients
//! see as `SERVICE_UNAVAILABLE` with `retryAfterSeconds`, never as an
//! internal error; once it is back, the first read that meets a connection
//! the restart killed runs again on a fresh one and succeeds.

use std::time::Duration;

use talentgraph_kit::local_postgres::PersistentCluster;
use talentgraph_kit::{Database, PlanCacheMode, RandomPageCost, ServingPool, database_failure};

fn serving_pool() -> ServingPool {
    ServingPool {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(2),
        statement_timeout: Duration::from_secs(5),
        check_idle_after: Duration::from_secs(1),
        keep_connections: true,
        random_page_cost: RandomPageCost::MEMORY_RESIDENT,
        plan_cache_mode: PlanCacheMode::ForceGenericPlan,
    }
}

/// A throwaway cluster on a free port (its directory, which must outlive
/// it, and the port, to start it again) and a serving pool on it.
async fn a_cluster_and_a_serving_pool() -> (tempfile::TempDir, u16, PersistentCluster, Database) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let port = talentgraph_kit::local_ports::unused_loopback_port();
    let cluster =
        PersistentCluster::ensure_running(directory.path(), port).expect("PostgreSQL starts");
    let database = Database::connect_serving(&cluster.url_for("postgres"), &serving_pool())
        .await
        .expect("connects");
    (directory, port, cluster, database)
}

/// The code and `retryAfterSeconds` a client would see for `error`.
fn as_client_sees_it(error: talentgraph_kit::DatabaseError) -> (String, Option<String>) {
    let error = database_failure(error);
    let extensions = error.extensions.expect("coded errors carry extensions");
    let text = |name: &str| extensions.get(name).map(ToString::to_string);
    (
        text("code")
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned(),
        text("retryAfterSeconds"),
    )
}

/// Runs reads side by side, so that several connections are open and then
/// kept between statements, as under load.
async fn keep_connections(database: &Database) {
    let reads = (0..4)
        .map(|_| database.fetch_scalar::<i32>(sqlx::query_scalar("SELECT 1 FROM pg_sleep(0.05)")));
    for answer in futures::future::join_all(reads).await {
        assert_eq!(answer.expect("answers"), 1);
    }
}

#[tokio::test]
async fn a_restart_is_unavailable_while_down_and_invisible_to_the_first_read_after() {
    let (directory, port, cluster, database) = a_cluster_and_a_serving_pool().await;
    database
        .execute(sqlx::query("CREATE TABLE notes (body text NOT NULL)"))
        .await
        .expect("creates a table");
    keep_connections(&database).await;

    // Down: reads and writes fail as unavailable, with a retry hint.
    cluster.stop().expect("PostgreSQL stops");
    let read = database
        .fetch_scalar::<i32>(sqlx::query_scalar("SELECT 1"))
        .await
        .expect_err("nothing answers while PostgreSQL is down");
    assert!(read.is_unavailable(), "{:?}", read.detail());
    assert_eq!(
        as_client_sees_it(read),
        ("SERVICE_UNAVAILABLE".to_owned(), Some("1".to_owned()))
    );
    let write = database
        .execute(sqlx::query(
            "INSERT INTO notes (body) VALUES ('while down')",
        ))
        .await
        .expect_err("nothing is written while PostgreSQL is down");
    assert_eq!(as_client_sees_it(write).0, "SERVICE_UNAVAILABLE");

    // Back: the kept connections died with the old server; the first read
    // meets one, and is run again on a checked connection.
    let cluster =
        PersistentCluster::ensure_running(directory.path(), port).expect("PostgreSQL restarts");
    keep_connections(&database).await;
    cluster.stop().expect("PostgreSQL stops");
    let cluster =
        PersistentCluster::ensure_running(directory.path(), port).expect("PostgreSQL restarts");
    let answer: i64 = database
        .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM notes"))
        .await
        .expect("the first read after the restart succeeds");
    assert_eq!(answer, 0, "the write while down left nothing");
    database
        .execute(sqlx::query("INSERT INTO notes (body) VALUES ('after')"))
        .await
        .expect("writes after the restart succeed");
    let bodies: Vec<(String,)> = database
        .fetch_all(sqlx::query_as("SELECT body FROM notes"))
        .await
        .expect("reads after the restart succeed");
    assert_eq!(bodies, vec![("after".to_owned(),)]);
    database.close().await;
    cluster.stop().expect("PostgreSQL stops");
}

/// Errors that say nothing about availability stay what they were: a
/// syntax error is internal (the detail is logged, never shown).
#[tokio::test]
async fn a_statement_error_is_not_unavailability() {
    let (_directory, _port, cluster, database) = a_cluster_and_a_serving_pool().await;
    let error = database
        .fetch_scalar::<i32>(sqlx::query_scalar("SELEKT 1"))
        .await
        .expect_err("not SQL");
    assert!(!error.is_unavailable());
    assert_eq!(as_client_sees_it(error).0, "INTERNAL_SERVER_ERROR");
    database.close().await;
    cluster.stop().expect("PostgreSQL stops");
}
