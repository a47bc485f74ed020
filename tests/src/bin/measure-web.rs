//! Measures the web app in Debian's Chromium against the end-to-end stack
//! and rewrites the table in `web/README.md`: per page, the GraphQL requests
//! one view sends, the bytes that request moved (headers and bodies, both
//! ways), and the median time from starting a page load to its data on
//! screen over N full loads. Reported, never asserted (the browser tests
//! assert the request counts).
//!
//!   bash scripts/build-web.sh
//!   cargo run --release -p talentgraph-e2e --bin measure-web -- [N]
//!
//! Default N: 15 loads per page. The screenshots land in
//! target/web-screenshots/.

use talentgraph_e2e::web::{
    BrowserScenario, browser_expectations, run_browser_scenario, serve_web_app,
};
use talentgraph_e2e::{Stack, StackOptions, write_docs_section};

const TABLE_START: &str = "<!-- web-measurements:start -->";
const TABLE_END: &str = "<!-- web-measurements:end -->";

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() {
    let loads: u32 = std::env::args()
        .nth(1)
        .map(|argument| argument.parse().expect("N is a number of loads"))
        .unwrap_or(15);
    // The harness's defaults are production's batching.
    let stack = Stack::start(StackOptions::default()).await;
    let web = serve_web_app(&stack).await;
    let expectations = browser_expectations(&stack).await;
    let run = run_browser_scenario(
        BrowserScenario::Pages,
        &web.url(""),
        &stack.router_url,
        &expectations,
        loads.max(2),
    )
    .await;
    assert!(run.passed, "the browser scenario failed:\n{}", run.output);
    let figures = run.results["figures"]
        .as_object()
        .cloned()
        .expect("the scenario measured the pages");
    let mut table = String::from(
        "| page | GraphQL requests per view | bytes per view (request + response) | median time to data on screen |\n|---|---|---|---|\n",
    );
    for (page, figure) in &figures {
        table.push_str(&format!(
            "| {page} | {} | {} | {} ms |\n",
            figure["requestsPerView"], figure["bytesPerView"], figure["medianRenderMilliseconds"]
        ));
    }
    let section = format!(
        "{TABLE_START}\n{table}\nMeasured with `cargo run --release -p talentgraph-e2e --bin measure-web -- {loads}` \
         ({loads} full loads of each page in one Chromium tab, the app's files cached, the small demo world, \
         subgraphs in the test process with production's DataLoader batching, the pinned Apollo Router, \
         one 2-core machine). A full load restores the session through `refreshSession` first, which is not \
         counted as a page request but is inside the time. Checkout is not here: its one request is a payment, \
         measured by the payment tests.\n{TABLE_END}"
    );
    write_docs_section(
        "web/README.md",
        TABLE_START,
        TABLE_END,
        &section,
        "## Measured\n\n",
    );
    println!("{table}");
}
