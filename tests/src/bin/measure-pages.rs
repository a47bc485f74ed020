//! Measures every page through the real router and rewrites two tables in
//! `docs/performance.md`: subgraphs touched, fetches, SQL statements at
//! page size 10 and 100 and median latency on this machine (reported,
//! never asserted), as deployed (entity cache on); and the same pages with
//! the entity cache off and on, same run: statements per page, the cache's
//! hit rate, its Redis round trips and what one costs.
//! Run: `cargo run --release -p talentgraph-e2e --bin measure-pages`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use talentgraph_e2e::{PAGES, Stack, StackOptions, page_request};

const RUNS_PER_SIZE: usize = 25;
const TABLE_START: &str = "<!-- measured-pages:start -->";
const TABLE_END: &str = "<!-- measured-pages:end -->";
const CACHE_TABLE_START: &str = "<!-- entity-cache:start -->";
const CACHE_TABLE_END: &str = "<!-- entity-cache:end -->";

/// One page measured at one size on one stack.
struct PageRun {
    touched: Vec<String>,
    fetches: u64,
    /// The statements of the last run (warm: what a page costs in steady
    /// state).
    statements: u64,
    /// All runs' statements, the first (cold) one included.
    statements_all_runs: u64,
    median: Duration,
    cache: CacheDelta,
}

/// What the subgraphs' entity caches counted during the runs.
#[derive(Default, Clone, Copy)]
struct CacheDelta {
    lookups: u64,
    hits: u64,
    misses: u64,
    shared: u64,
    unavailable: u64,
}

fn cache_counts(stack: &Stack) -> CacheDelta {
    let mut total = CacheDelta::default();
    for subgraph in &stack.subgraphs {
        if let Some(cache) = subgraph.database.entity_cache() {
            total.lookups += cache.counts.lookups.load(Ordering::Relaxed);
            total.hits += cache.counts.hits.load(Ordering::Relaxed);
            total.misses += cache.counts.misses.load(Ordering::Relaxed);
            total.shared += cache.counts.shared.load(Ordering::Relaxed);
            total.unavailable += cache.counts.unavailable.load(Ordering::Relaxed);
        }
    }
    total
}

fn since(after: CacheDelta, before: CacheDelta) -> CacheDelta {
    CacheDelta {
        lookups: after.lookups - before.lookups,
        hits: after.hits - before.hits,
        misses: after.misses - before.misses,
        shared: after.shared - before.shared,
        unavailable: after.unavailable - before.unavailable,
    }
}

async fn measure(stack: &Stack, page: &str, page_size: i64) -> PageRun {
    let mut latencies: Vec<Duration> = Vec::with_capacity(RUNS_PER_SIZE);
    let mut last_cost = None;
    let mut statements_all_runs = 0;
    let before = cache_counts(stack);
    for _ in 0..RUNS_PER_SIZE {
        let (token, variables) = page_request(stack, page, page_size).await;
        let started = Instant::now();
        let (response, cost) = stack.page(page, token, variables).await;
        latencies.push(started.elapsed());
        assert!(
            response.body.get("errors").is_none(),
            "{page}: {:#}",
            response.body
        );
        statements_all_runs += cost.total_statements();
        last_cost = Some(cost);
        // The fills of a run land in tasks of their own; the next run of
        // a page seconds apart in production finds them there.
        stack.until_cache_fills_landed().await;
    }
    latencies.sort();
    let cost = last_cost.expect("at least one run");
    PageRun {
        touched: cost
            .subgraphs_touched()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        fetches: cost.total_fetches(),
        statements: cost.total_statements(),
        statements_all_runs,
        median: latencies[latencies.len() / 2],
        cache: since(cache_counts(stack), before),
    }
}

async fn measure_all(entity_cache: bool) -> (Vec<[PageRun; 2]>, Duration) {
    // Production's batching, so latencies are what a deployment sees.
    let production = talentgraph_kit::SubgraphConfig::from_lookup(0, |name| {
        (name == "DATABASE_URL").then(|| "postgres://unused/unused".to_owned())
    })
    .expect("the default configuration is valid");
    let mut stack = Stack::start(StackOptions {
        dataloader_delay: production.dataloader_delay,
        entity_cache,
        ..StackOptions::default()
    })
    .await;
    let mut runs = Vec::new();
    for page in PAGES {
        runs.push([
            measure(&stack, page, 10).await,
            measure(&stack, page, 100).await,
        ]);
    }
    let round_trip = redis_round_trip(&stack.redis().url()).await;
    (runs, round_trip)
}

/// The median of 500 `MGET`s of three keys on one connection: what a
/// lookup costs a page in waiting, apart from the statements it saves.
async fn redis_round_trip(url: &str) -> Duration {
    let mut connection = redis::Client::open(url)
        .expect("the stack's Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connects to the stack's Redis");
    let mut times = Vec::with_capacity(500);
    for index in 0..500 {
        let started = Instant::now();
        let _: Vec<Option<String>> = redis::cmd("MGET")
            .arg("tg:probe:epoch")
            .arg("tg:probe:e:1")
            .arg(format!("tg:probe:t:{index}"))
            .query_async(&mut connection)
            .await
            .expect("MGET");
        times.push(started.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

#[allow(clippy::print_stdout)]
#[tokio::main]
async fn main() {
    let (uncached, _) = measure_all(false).await;
    let (cached, round_trip) = measure_all(true).await;
    let cpus = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);

    let rows: Vec<String> = PAGES
        .iter()
        .zip(&cached)
        .map(|(page, [small, large])| {
            format!(
                "| {page} | {} | {} | {} | {} | {:.1} ms | {:.1} ms |",
                small.touched.join(", "),
                small.fetches,
                small.statements,
                large.statements,
                milliseconds(small.median),
                milliseconds(large.median),
            )
        })
        .collect();
    let table = format!(
        "{TABLE_START}\n| page | subgraphs touched | fetches | SQL @10 | SQL @100 | median @10 | median @100 |\n|---|---|---|---|---|---|---|\n{}\n\n\
         Measured with `cargo run --release -p talentgraph-e2e --bin measure-pages` ({RUNS_PER_SIZE} runs per page size, \
         small demo world, production DataLoader batching, entity cache on (the SQL is a warm run's), {cpus} logical CPUs).\n{TABLE_END}",
        rows.join("\n"),
    );
    println!("{table}");
    talentgraph_e2e::write_docs_section("docs/performance.md", TABLE_START, TABLE_END, &table, "");

    let mut cache_rows = Vec::new();
    let (mut total_without, mut total_with) = (0, 0);
    for ((page, without), with) in PAGES.iter().zip(&uncached).zip(&cached) {
        let without = &without[0];
        let with = &with[0];
        total_without += without.statements_all_runs;
        total_with += with.statements_all_runs;
        let asked = with.cache.hits + with.cache.misses + with.cache.unavailable;
        let hit_rate = if asked == 0 {
            "–".to_owned()
        } else {
            format!("{:.0} %", 100.0 * with.cache.hits as f64 / asked as f64)
        };
        cache_rows.push(format!(
            "| {page} | {} | {} | {:+.0} % | {hit_rate} | {:.1} | {:.1} ms | {:.1} ms |",
            without.statements,
            with.statements,
            change(without.statements_all_runs, with.statements_all_runs),
            with.cache.lookups as f64 / RUNS_PER_SIZE as f64,
            milliseconds(without.median),
            milliseconds(with.median),
        ));
    }
    let cache_table = format!(
        "{CACHE_TABLE_START}\n| page @10 | SQL, no cache | SQL, cache (warm) | SQL, all {RUNS_PER_SIZE} runs | hit rate | Redis lookups per page | median, no cache | median, cache |\n|---|---|---|---|---|---|---|---|\n{}\n| all pages | | | {:+.0} % | | | | |\n\n\
         Measured with `cargo run --release -p talentgraph-e2e --bin measure-pages`: the same pages on two stacks started one after \
         the other, `ENTITY_CACHE_ENABLED=false` then `true` ({RUNS_PER_SIZE} runs per page, the first one cold). \
         One Redis lookup (`MGET` of three keys, median of 500 on one connection) took {:.3} ms; {cpus} logical CPUs.\n{CACHE_TABLE_END}",
        cache_rows.join("\n"),
        change(total_without, total_with),
        milliseconds(round_trip),
    );
    println!("{cache_table}");
    talentgraph_e2e::write_docs_section(
        "docs/performance.md",
        CACHE_TABLE_START,
        CACHE_TABLE_END,
        &cache_table,
        "",
    );
}

/// The change from `before` to `after`, in percent.
fn change(before: u64, after: u64) -> f64 {
    if before == 0 {
        0.0
    } else {
        100.0 * (after as f64 - before as f64) / before as f64
    }
}
