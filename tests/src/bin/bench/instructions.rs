//! `--count-instructions`: instructions and allocations per page of one
//! subgraph under callgrind.

use crate::load::RequestFactory;
use crate::load::RouterUnderTest;
use crate::load::post_to;
use crate::options::Options;
use crate::routers::ScaleOut;
use rand::SeedableRng;
use serde_json::json;
use talentgraph_e2e::{page_document, repository_root};

/// Pages sent before each count, one at a time, so the counted ones find
/// the subgraph's parsed documents, pooled connections and remembered
/// tokens as a warm process has them.
pub const COUNTED_WARM_UP_PAGES: usize = 20;

/// Instructions and allocations per page in one subgraph process.
#[derive(serde::Serialize)]
pub struct InstructionCount {
    pub subgraph: String,
    pub page: String,
    pub page_size: i64,
    pub pages: usize,
    pub instructions_per_page: u64,
    pub allocations_per_page: u64,
}

/// `--count-instructions SUBGRAPH`: the subgraph as one standalone replica
/// under callgrind behind a second Apollo Router (as `--scale-out` runs
/// it); for each page and page size, [`COUNTED_WARM_UP_PAGES`] pages and
/// then `--counted-pages` counted ones, one at a time, with the same
/// seeded variables on every run.
#[allow(clippy::print_stdout)]
pub async fn count_instructions(options: &Options, subgraph: &str) -> Vec<InstructionCount> {
    let dump_file = repository_root().join(format!("target/bench/callgrind-{subgraph}.out"));
    let counted = ScaleOut::start_counted(subgraph, &dump_file).await;
    let replica_pid = counted.replicas[0].pid().expect("the counted replica runs");
    let mut process = talentgraph_e2e::callgrind::CountedProcess::new(replica_pid, dump_file);
    let client = reqwest::Client::new();
    let factory = RequestFactory {
        scale_out_router_url: Some(counted.router.url()),
        ..RequestFactory::signed_in(&client).await
    };
    let router_url = factory.router_url(RouterUnderTest::ScaleOut { replicas: 1 });
    let mut counts = Vec::new();
    for page in &options.pages {
        let document = page_document(page);
        for page_size in &options.page_sizes {
            let mut random = rand::rngs::StdRng::seed_from_u64(0);
            for index in 0..COUNTED_WARM_UP_PAGES + options.counted_pages {
                if index == COUNTED_WARM_UP_PAGES {
                    process
                        .start_counting()
                        .unwrap_or_else(|error| panic!("{error}"));
                }
                let (token, variables) = factory.request(page, *page_size, &mut random);
                let body =
                    json!({ "query": document, "operationName": page, "variables": variables });
                post_to(&client, router_url, token, &body)
                    .await
                    .unwrap_or_else(|error| panic!("{page} under callgrind: {error}"));
            }
            let totals = process
                .stop_counting()
                .unwrap_or_else(|error| panic!("{error}"));
            let pages = options.counted_pages as u64;
            let count = InstructionCount {
                subgraph: subgraph.to_owned(),
                page: page.clone(),
                page_size: *page_size,
                pages: options.counted_pages,
                instructions_per_page: totals.instructions / pages,
                allocations_per_page: totals.allocations / pages,
            };
            println!(
                "{page} size {page_size}: {subgraph} executed {} instructions and {} allocations per page",
                count.instructions_per_page, count.allocations_per_page
            );
            counts.push(count);
        }
    }
    counts
}
