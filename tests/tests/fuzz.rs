//! The short fuzzing run CI does on every change: generated valid documents
//! with awkward values against every subgraph (the long run is the
//! `fuzz-subgraphs` binary; see docs/attacks.md). No answer may be a 5xx,
//! an internal error, or later than the router's subgraph timeout.

use std::time::Duration;

use talentgraph_e2e::fuzz::fuzz_stack;
use talentgraph_e2e::{Stack, StackOptions};

const DOCUMENTS_PER_SUBGRAPH: u64 = 400;

#[tokio::test(flavor = "multi_thread")]
async fn generated_documents_get_clean_answers_from_every_subgraph() {
    let stack = Stack::start(StackOptions::default()).await;
    // A different seed each day covers new ground while a failure stays
    // reproducible from the seed printed with it.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() / 86_400);
    let reports = fuzz_stack(&stack, DOCUMENTS_PER_SUBGRAPH, seed, Duration::from_secs(5)).await;
    for (name, report) in &reports {
        println!(
            "{name}: {} documents, statuses {:?}, {} failures, {} over the deadline (seed {seed})",
            report.documents, report.statuses, report.failure_count, report.over_deadline
        );
        assert_eq!(report.documents, DOCUMENTS_PER_SUBGRAPH);
        assert!(
            report.failure_count == 0 && report.over_deadline == 0,
            "{name} (seed {seed}): {:#?}",
            report.failures
        );
    }
}
