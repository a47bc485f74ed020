//! Measures every page through the real router and rewrites the table in
//! `docs/performance.md`: subgraphs touched, fetches, SQL statements at page
//! size 10 and 100, and median latency on this machine (reported, never
//! asserted). Run: `cargo run --release -p talentgraph-e2e --bin measure-pages`.

use std::time::{Duration, Instant};

use talentgraph_e2e::{PAGES, Stack, StackOptions, page_request};

const RUNS_PER_SIZE: usize = 25;
const TABLE_START: &str = "<!-- measured-pages:start -->";
const TABLE_END: &str = "<!-- measured-pages:end -->";

#[allow(clippy::print_stdout)]
#[tokio::main]
async fn main() {
    // Production's batching, so latencies are what a deployment sees.
    let production = talentgraph_kit::SubgraphConfig::from_lookup(0, |name| {
        (name == "DATABASE_URL").then(|| "postgres://unused/unused".to_owned())
    })
    .expect("the default configuration is valid");
    let stack = Stack::start(StackOptions {
        dataloader_delay: production.dataloader_delay,
        ..StackOptions::default()
    })
    .await;
    let mut rows = Vec::new();
    for page in PAGES {
        let mut statements = Vec::new();
        let mut fetches = 0;
        let mut touched = Vec::new();
        let mut medians = Vec::new();
        for page_size in [10, 100] {
            let mut latencies: Vec<Duration> = Vec::with_capacity(RUNS_PER_SIZE);
            let mut last_cost = None;
            for _ in 0..RUNS_PER_SIZE {
                let (token, variables) = page_request(&stack, page, page_size).await;
                let started = Instant::now();
                let (response, cost) = stack.page(page, token, variables).await;
                latencies.push(started.elapsed());
                assert!(
                    response.body.get("errors").is_none(),
                    "{page}: {:#}",
                    response.body
                );
                last_cost = Some(cost);
            }
            latencies.sort();
            medians.push(latencies[latencies.len() / 2]);
            let cost = last_cost.expect("at least one run");
            statements.push(cost.total_statements());
            fetches = cost.total_fetches();
            touched = cost.subgraphs_touched();
        }
        rows.push(format!(
            "| {page} | {} | {fetches} | {} | {} | {:.1} ms | {:.1} ms |",
            touched.join(", "),
            statements[0],
            statements[1],
            medians[0].as_secs_f64() * 1_000.0,
            medians[1].as_secs_f64() * 1_000.0,
        ));
    }
    let table = format!(
        "{TABLE_START}\n| page | subgraphs touched | fetches | SQL @10 | SQL @100 | median @10 | median @100 |\n|---|---|---|---|---|---|---|\n{}\n\n\
         Measured with `cargo run --release -p talentgraph-e2e --bin measure-pages` ({RUNS_PER_SIZE} runs per page size, \
         small demo world, production DataLoader batching, {} logical CPUs).\n{TABLE_END}",
        rows.join("\n"),
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1),
    );
    println!("{table}");
    talentgraph_e2e::write_docs_section("docs/performance.md", TABLE_START, TABLE_END, &table, "");
}
