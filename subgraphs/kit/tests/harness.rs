//! The test harness itself: a real PostgreSQL, one fresh database per call.

use std::time::Duration;

use talentgraph_kit::testing::PostgresServer;
use talentgraph_kit::{Database, PlanCacheMode, RandomPageCost, ServingPool};

/// A new, empty database on the tests' shared throwaway server.
async fn empty_database(prefix: &str) -> String {
    PostgresServer::shared()
        .expect("a PostgreSQL server for tests")
        .create_database(prefix)
        .await
        .expect("a database")
}

/// Two databases created by the harness are distinct, empty and reachable,
/// and every statement sent through `Database` is counted.
#[tokio::test]
async fn harness_creates_isolated_databases_and_counts_statements() {
    let first_url = empty_database("tg_harness").await;
    let second_url = empty_database("tg_harness").await;
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

/// The harness's own cluster is reached through its Unix-domain socket, as
/// the dev stack's is (`local_cluster_url`): PostgreSQL reports no client
/// address for such a session. It opens no TCP port either, so it needs no
/// free port and cannot lose one to another process. A server given in
/// `DATABASE_URL` is reached however that URL says, so the check is about
/// the harness's cluster only.
#[tokio::test]
async fn the_harness_cluster_is_reached_through_its_unix_socket() {
    if std::env::var("DATABASE_URL").is_ok_and(|url| !url.trim().is_empty()) {
        return;
    }
    let url = empty_database("tg_socket").await;
    let database = Database::connect(&url, 1, Duration::from_secs(5))
        .await
        .expect("connects");
    let over_a_socket: bool = database
        .fetch_scalar(sqlx::query_scalar("SELECT inet_client_addr() IS NULL"))
        .await
        .expect("asks for the client address");
    assert!(over_a_socket, "the session came over TCP: {url}");
    let listen_addresses: String = database
        .fetch_scalar(sqlx::query_scalar("SHOW listen_addresses"))
        .await
        .expect("reads listen_addresses");
    assert_eq!(listen_addresses, "", "the cluster listens on TCP");
}

/// The serving pool's statement timeout is PostgreSQL's: a statement that
/// runs longer is cancelled by the server (SQLSTATE 57014) and the pool's
/// connection is usable again at once.
#[tokio::test]
async fn serving_pool_statements_are_cancelled_after_the_timeout() {
    let url = empty_database("tg_timeout").await;
    let database = Database::connect_serving(
        &url,
        &ServingPool {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_millis(200),
            check_idle_after: Duration::from_secs(1),
            keep_connections: true,
            random_page_cost: RandomPageCost::MEMORY_RESIDENT,
            plan_cache_mode: PlanCacheMode::ForceGenericPlan,
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
    let url = empty_database("tg_idle_check").await;
    let check_idle_after = Duration::from_millis(200);
    let database = Database::connect_serving(
        &url,
        &ServingPool {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            check_idle_after,
            keep_connections: true,
            random_page_cost: RandomPageCost::MEMORY_RESIDENT,
            plan_cache_mode: PlanCacheMode::ForceGenericPlan,
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

/// How PostgreSQL planned a batched key lookup, run [`LOOKUP_CALLS`] times
/// as one prepared statement on one serving connection.
struct LookupPlans {
    /// The plan's first node for the keys of the last call.
    scan: String,
    /// From `pg_prepared_statements`: plans made for the actual keys of a
    /// call, and calls served by the one plan kept for any keys.
    custom_plans: i64,
    generic_plans: i64,
}

/// How often each plan test runs its lookup: more than the five calls
/// after which PostgreSQL's `auto` mode may switch to the kept plan.
const LOOKUP_CALLS: i64 = 12;

/// How the serving pool of [`plan_batched_lookups`] is set up, and how many
/// keys each call looks up.
struct LookupSetup {
    random_page_cost: RandomPageCost,
    plan_cache_mode: PlanCacheMode,
    keys_per_call: i64,
}

/// Builds the shape the subgraphs' loaders query (a table of a few hundred
/// rows with a uuid primary key, read with `= ANY($1)`; the demo world's
/// job promotions are 715) and runs that lookup through a serving pool set
/// up as `setup` says, [`LOOKUP_CALLS`] times.
async fn plan_batched_lookups(setup: LookupSetup) -> LookupPlans {
    let url = empty_database("tg_page_cost").await;
    let admin = Database::connect(&url, 1, Duration::from_secs(5))
        .await
        .expect("connects");
    admin
        .execute(sqlx::query(
            "CREATE TABLE promotions (job_id uuid PRIMARY KEY, tier text NOT NULL, \
             starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL)",
        ))
        .await
        .expect("creates the table");
    admin
        .execute(sqlx::query(
            "INSERT INTO promotions SELECT gen_random_uuid(), 'FEATURED', now(), \
             now() + interval '1 year' FROM generate_series(1, 715)",
        ))
        .await
        .expect("fills it");
    admin
        .execute(sqlx::query("ANALYZE promotions"))
        .await
        .expect("gathers statistics, as autovacuum would");
    let keys: Vec<uuid::Uuid> = admin
        .fetch_all(
            sqlx::query_as::<_, (uuid::Uuid,)>(
                "SELECT job_id FROM promotions ORDER BY job_id LIMIT $1",
            )
            .bind(setup.keys_per_call),
        )
        .await
        .expect("the keys")
        .into_iter()
        .map(|(key,)| key)
        .collect();

    let serving = Database::connect_serving(
        &url,
        &ServingPool {
            max_connections: 1,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            check_idle_after: Duration::from_secs(1),
            keep_connections: true,
            random_page_cost: setup.random_page_cost,
            plan_cache_mode: setup.plan_cache_mode,
        },
    )
    .await
    .expect("connects");
    let lookup = "SELECT job_id, tier, starts_at, ends_at FROM promotions WHERE job_id = ANY($1)";
    for _ in 0..LOOKUP_CALLS {
        let rows = serving
            .fetch_rows(sqlx::query(lookup).bind(&keys))
            .await
            .expect("the lookup runs");
        assert_eq!(rows.len(), keys.len());
    }
    let (custom_plans, generic_plans): (i64, i64) = serving
        .fetch_one(
            sqlx::query_as(
                "SELECT custom_plans, generic_plans FROM pg_prepared_statements \
                 WHERE statement = $1",
            )
            .bind(lookup),
        )
        .await
        .expect("the lookup is a prepared statement of the pool's one connection");
    let explain = format!("EXPLAIN {lookup}");
    let plan: Vec<(String,)> = serving
        .fetch_all(sqlx::query_as(&explain).bind(&keys))
        .await
        .expect("explains the lookup");
    // The first line names the top node, such as "Seq Scan on promotions
    // (cost=…)" or "Bitmap Heap Scan on promotions (cost=…)".
    let scan = plan[0]
        .0
        .split(" on ")
        .next()
        .expect("a plan node")
        .to_owned();
    LookupPlans {
        scan,
        custom_plans,
        generic_plans,
    }
}

/// The serving pool's settings: data priced as in memory, one plan per
/// prepared statement. A lookup of one key, as a viewer's own page makes,
/// goes through the primary key and is planned once.
#[tokio::test]
async fn serving_pool_plans_a_single_key_lookup_once_through_the_key() {
    let plans = plan_batched_lookups(LookupSetup {
        random_page_cost: RandomPageCost::MEMORY_RESIDENT,
        plan_cache_mode: PlanCacheMode::ForceGenericPlan,
        keys_per_call: 1,
    })
    .await;
    assert_ne!(plans.scan, "Seq Scan", "the lookup reads the index");
    assert_eq!(plans.custom_plans, 0);
    assert_eq!(plans.generic_plans, LOOKUP_CALLS);
}

/// Why the plan cache mode is set: in PostgreSQL's `auto` the same lookup
/// of one key is planned again on every call, since the plan for one key
/// is cheaper than the kept plan, which prices ten (PostgreSQL 15's
/// behaviour, pinned like the page cost's below).
#[tokio::test]
async fn in_postgresql_s_automatic_mode_a_single_key_lookup_is_planned_every_call() {
    let plans = plan_batched_lookups(LookupSetup {
        random_page_cost: RandomPageCost::MEMORY_RESIDENT,
        plan_cache_mode: PlanCacheMode::Auto,
        keys_per_call: 1,
    })
    .await;
    assert_eq!(plans.custom_plans, LOOKUP_CALLS);
    assert_eq!(plans.generic_plans, 0);
}

/// With the page cost for data in memory, even PostgreSQL's `auto` keeps
/// one plan through the primary key for a lookup of ten keys.
#[tokio::test]
async fn at_the_memory_page_cost_batched_lookups_keep_a_plan_through_the_key() {
    let plans = plan_batched_lookups(LookupSetup {
        random_page_cost: RandomPageCost::MEMORY_RESIDENT,
        plan_cache_mode: PlanCacheMode::Auto,
        keys_per_call: 10,
    })
    .await;
    assert_ne!(plans.scan, "Seq Scan", "the lookup reads the index");
    // PostgreSQL plans the first five calls for their actual keys before it
    // compares them with the plan for any keys.
    assert_eq!(plans.custom_plans, 5);
    assert_eq!(plans.generic_plans, LOOKUP_CALLS - 5);
}

/// The reason for the setting: at PostgreSQL's default the same lookup
/// scans the whole table and is planned afresh on every call. This pins
/// PostgreSQL's behaviour, not ours (measured on 15, the version CI
/// installs): should a later release plan the lookup through the key at
/// the default, this test says so and the setting can be reconsidered.
#[tokio::test]
async fn at_the_default_page_cost_batched_lookups_scan_and_replan() {
    let plans = plan_batched_lookups(LookupSetup {
        random_page_cost: RandomPageCost::new(4.0).expect("a valid cost"),
        plan_cache_mode: PlanCacheMode::Auto,
        keys_per_call: 10,
    })
    .await;
    assert_eq!(plans.scan, "Seq Scan");
    assert_eq!(plans.custom_plans, LOOKUP_CALLS);
    assert_eq!(plans.generic_plans, 0);
}
