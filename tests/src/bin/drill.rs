//! `drill`: deploys and faults under load (see `talentgraph_e2e::drill`).
//!
//!   cargo run --release -p talentgraph-e2e --bin drill -- [--seconds S] [--clients N] [--standard]
//!       [--only TEXT] [--repeat N] [--debug]
//!
//! Builds the subgraphs in release mode, starts the stack (each subgraph as
//! two processes behind HAProxy, two Apollo Routers behind it, PostgreSQL,
//! a three-node NATS cluster, the local payment provider), loads it, and
//! performs each operation with S seconds of load before and after it. The
//! table goes between the `drill` markers of `docs/drill.md`, every figure
//! to `target/drill/drill.json`; the exit code is 1 when an operation or a
//! data check failed its criterion. HAProxy comes from Debian (`haproxy`).
//!
//! `--only` and `--repeat` chase one kind of failure: the operations whose
//! name contains TEXT, N times over on one stack (`--only NATS --repeat
//! 10`); such a run prints its table and leaves the docs alone. `--debug`
//! runs the debug build of the subgraphs, as the short drill does.

use std::process::ExitCode;
use std::time::Duration;

use talentgraph_demo_world::DemoWorld;
use talentgraph_e2e::drill::{DrillOptions, Operation, run};
use talentgraph_e2e::{repository_root, write_docs_section};

#[derive(Debug, clap::Parser)]
#[command(name = "drill")]
struct Arguments {
    /// Seconds of load before and after each operation.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// The standard demo world instead of the small one.
    #[arg(long)]
    standard: bool,
    /// Only the operations whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    /// Every selected operation this many times over, on one stack.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// The debug build of the subgraphs instead of the release build.
    #[arg(long)]
    debug: bool,
}

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() -> ExitCode {
    use clap::Parser;
    let arguments = Arguments::parse();
    // One cargo invocation for all six: built together, they share one
    // resolution of their dependencies' features (one at a time, each
    // could rebuild them).
    let mut build = std::process::Command::new("cargo");
    build.arg("build");
    if !arguments.debug {
        build.arg("--release");
    }
    for subgraph in talentgraph_subgraphs::SUBGRAPHS {
        build.args(["-p", &format!("talentgraph-{}", subgraph.name)]);
    }
    let status = build
        .current_dir(repository_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the subgraphs failed");
    let options = DrillOptions {
        world: if arguments.standard {
            DemoWorld::STANDARD
        } else {
            DemoWorld::SMALL
        },
        profile: if arguments.debug { "debug" } else { "release" }.to_owned(),
        clients: arguments.clients,
        window: Duration::from_secs(arguments.seconds),
        operations: selected_operations(&arguments),
        name: "full".to_owned(),
    };
    if options.operations.is_empty() {
        eprintln!("drill: no operation's name contains {:?}", arguments.only);
        return ExitCode::FAILURE;
    }
    let result = run(&options).await;
    let table = result.markdown();
    println!("{table}");
    let whole_drill = arguments.only.is_none() && arguments.repeat == 1 && !arguments.debug;
    if !whole_drill {
        return exit_code(result.passed());
    }
    let directory = repository_root().join("target/drill");
    let _ = std::fs::create_dir_all(&directory);
    let _ = std::fs::write(
        directory.join("drill.json"),
        serde_json::to_string_pretty(&result.reports).unwrap_or_default(),
    );
    write_docs_section(
        "docs/drill.md",
        "<!-- drill:start -->",
        "<!-- drill:end -->",
        &format!(
            "<!-- drill:start -->\n{table}\nMeasured with `cargo run --release -p talentgraph-e2e --bin drill -- --seconds {} --clients {}{}`.\n<!-- drill:end -->",
            arguments.seconds,
            arguments.clients,
            if arguments.standard {
                " --standard"
            } else {
                ""
            }
        ),
        "## The last run\n\n",
    );
    exit_code(result.passed())
}

/// The operations `--only` selects, `--repeat` times over.
fn selected_operations(arguments: &Arguments) -> Vec<Operation> {
    let selected: Vec<Operation> = Operation::all()
        .into_iter()
        .filter(|operation| {
            arguments
                .only
                .as_deref()
                .is_none_or(|text| operation.name().contains(text))
        })
        .collect();
    std::iter::repeat_n(selected, arguments.repeat.max(1))
        .flatten()
        .collect()
}

fn exit_code(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
