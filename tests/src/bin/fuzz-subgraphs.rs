//! The long fuzzing run: generated valid documents against every subgraph
//! (see `talentgraph_e2e::fuzz`), then a table of what came back. Exits 1
//! when any answer was a 5xx, an internal error or later than the deadline.
//!
//!   cargo run --release -p talentgraph-e2e --bin fuzz-subgraphs -- [DOCUMENTS_PER_SUBGRAPH] [SEED]
//!
//! Defaults: 100,000 documents per subgraph, seed 1.

use std::process::ExitCode;
use std::time::Duration;

use talentgraph_e2e::fuzz::fuzz_stack;
use talentgraph_e2e::{Stack, StackOptions};

#[allow(clippy::print_stdout)]
#[tokio::main]
async fn main() -> ExitCode {
    let mut arguments = std::env::args().skip(1);
    let documents: u64 = arguments
        .next()
        .and_then(|text| text.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = arguments
        .next()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1);
    let stack = Stack::start(StackOptions::default()).await;
    let reports = fuzz_stack(&stack, documents, seed, Duration::from_secs(5)).await;
    println!("| subgraph | documents | 2xx | 4xx | 5xx | internal errors | over 5 s | time |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut failed = false;
    for (name, report) in &reports {
        let by_class = |low: u16, high: u16| -> u64 {
            report
                .statuses
                .iter()
                .filter(|(status, _)| (low..high).contains(*status))
                .map(|(_, count)| count)
                .sum()
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {:.0} s |",
            report.documents,
            by_class(200, 300),
            by_class(400, 500),
            by_class(500, 600),
            report.failure_count,
            report.over_deadline,
            report.elapsed.as_secs_f64()
        );
        failed |= report.failure_count > 0;
        for (document, answer) in &report.failures {
            println!("\n{name} failed on:\n{document}\n{answer}\n");
        }
    }
    let mut codes = std::collections::BTreeMap::<String, u64>::new();
    for (_, report) in &reports {
        for (code, count) in &report.codes {
            *codes.entry(code.clone()).or_default() += count;
        }
    }
    println!("\nerror codes seen: {codes:?}");
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
