//! The short drill: every operation of the full drill once, on the small
//! world, with a few seconds of load around each, against the debug build
//! of the subgraphs (which `cargo test --workspace` builds). It fails when
//! any operation fails its criterion or a data check fails, and prints the
//! table either way. The full drill is `cargo run --release -p
//! talentgraph-e2e --bin drill` (docs/drill.md).

use std::time::Duration;

use talentgraph_demo_world::DemoWorld;
use talentgraph_e2e::drill::{DrillOptions, Operation, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_and_faults_under_load_fail_no_request() {
    let options = DrillOptions {
        world: DemoWorld::SMALL,
        profile: "debug".to_owned(),
        clients: 4,
        window: Duration::from_secs(3),
        operations: Operation::all(),
        name: "short".to_owned(),
    };
    let result = run(&options).await;
    let table = result.markdown();
    println!("{table}");
    assert!(result.passed(), "the short drill failed:\n{table}");
}
