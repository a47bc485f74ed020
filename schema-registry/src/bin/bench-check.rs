//! Benchmark (not a test): `schema-check check` on this project's six
//! subgraphs and pages, next to `@apollo/composition` composing the same six
//! subgraphs in Node. Wall-clock figures; run on a quiet machine:
//!
//!   cargo run --release -p schema-registry --bin bench-check [-- ITERATIONS]
//!
//! Needs `scripts/install-oracles.sh` for the Node side.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use schema_registry::check::check_subgraph;
use schema_registry::operations::load_operations;
use schema_registry::{SubgraphInput, SupergraphConfig, compose_subgraphs};

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

fn describe(label: &str, mut milliseconds: Vec<f64>) -> String {
    milliseconds.sort_by(f64::total_cmp);
    format!(
        "| {label} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
        milliseconds.len(),
        percentile(&milliseconds, 0.5),
        percentile(&milliseconds, 0.95),
        milliseconds.first().copied().unwrap_or(f64::NAN)
    )
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|text| text.parse().ok())
        .unwrap_or(20);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let config = match SupergraphConfig::load(&root.join("router/supergraph.yaml")) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("bench-check: {error}");
            return ExitCode::from(2);
        }
    };
    let inputs: Vec<SubgraphInput> = config
        .subgraphs
        .iter()
        .map(|source| SubgraphInput {
            name: source.name.clone(),
            routing_url: source.routing_url.clone(),
            sdl: std::fs::read_to_string(&source.schema_file).unwrap_or_default(),
        })
        .collect();
    let baseline =
        std::fs::read_to_string(root.join("router/supergraph.graphql")).unwrap_or_default();
    let operations = load_operations(&root.join("pages")).unwrap_or_default();
    let proposed = std::fs::read_to_string(root.join("subgraphs/employer/schema.graphql"))
        .unwrap_or_default()
        .replacen("\ttitle: String!", "\theadline: String!", 1);

    let mut compose_times = Vec::new();
    let mut check_times = Vec::new();
    // One warm-up run of each, then the measured ones.
    for run in 0..=iterations {
        let started = Instant::now();
        if compose_subgraphs(&inputs).is_err() {
            eprintln!("bench-check: the committed subgraphs do not compose");
            return ExitCode::FAILURE;
        }
        let composed = started.elapsed().as_secs_f64() * 1_000.0;
        let started = Instant::now();
        let report = check_subgraph(
            &config,
            "employer",
            &proposed,
            &baseline,
            Path::new("router/supergraph.graphql"),
            &operations,
        );
        let checked = started.elapsed().as_secs_f64() * 1_000.0;
        if report.is_err() {
            eprintln!("bench-check: the check itself failed");
            return ExitCode::FAILURE;
        }
        if run > 0 {
            compose_times.push(composed);
            check_times.push(checked);
        }
    }

    let request = serde_json::json!({
        "kind": "bench-compose",
        "iterations": iterations,
        "subgraphs": inputs.iter().map(|input| serde_json::json!({
            "name": input.name, "url": input.routing_url, "sdl": input.sdl,
        })).collect::<Vec<_>>(),
    });
    let oracle = root.join("schema-registry/oracle");
    let node_times = Command::new("node")
        .arg(oracle.join("oracle.mjs"))
        .current_dir(&oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()
        .and_then(|mut child| {
            child
                .stdin
                .take()?
                .write_all(request.to_string().as_bytes())
                .ok()?;
            let output = child.wait_with_output().ok()?;
            let answer: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
            answer["milliseconds"].as_array().map(|values| {
                values
                    .iter()
                    .filter_map(serde_json::Value::as_f64)
                    .collect::<Vec<_>>()
            })
        });

    println!("| what (six subgraphs) | runs | median | p95 | fastest |");
    println!("|---|---|---|---|---|");
    println!(
        "{}",
        describe("compose, Rust (apollo-federation 2.17.0)", compose_times)
    );
    println!(
        "{}",
        describe(
            "check, Rust (compose + API diff + 7 pages' usage and validation)",
            check_times
        )
    );
    match node_times {
        Some(times) => println!(
            "{}",
            describe("compose, Node (@apollo/composition 2.14.4)", times)
        ),
        None => println!(
            "| compose, Node (@apollo/composition) | not run: install with scripts/install-oracles.sh | | | |"
        ),
    }
    ExitCode::SUCCESS
}
