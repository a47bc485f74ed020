//! Measures the cross-subgraph amplification query (issue 11, item 4)
//! through the real router, before and after the bounds, and rewrites the
//! table in `docs/attacks.md`: response bytes, time, subgraph fetches and
//! the router's resident memory. Latency and memory are reported, never
//! asserted. Run: `cargo run --release -p talentgraph-e2e --bin measure-attacks`.
//!
//! "Before" is this code with the bounds lifted to what the code at
//! `3fe3d4f` had: no router script (development.rhai emptied), no
//! representation cap (100,000) or cost per representation, no selection
//! budget and no response byte limit (1 GiB).
//! "After" is the shipped development profile (the fetch bound), and
//! "production profile" adds the trusted-documents check.

use std::time::Instant;

use talentgraph_e2e::{DemoAccount, Stack, StackOptions};
use talentgraph_kit::LimitsConfig;

const TABLE_START: &str = "<!-- measured-attacks:start -->";
const TABLE_END: &str = "<!-- measured-attacks:end -->";

/// How many organization -> job -> organization -> internship cycles the
/// measured documents nest; each multiplies the answer about twentyfold on
/// the small world.
const CYCLES: [usize; 3] = [1, 2, 3];

/// The same shape as the trusted-documents test: organizations -> jobs ->
/// organization -> internships -> organization -> jobs ..., each level
/// asking for up to 100 items.
fn alternating_document(cycles: usize, page_size: usize) -> String {
    let mut inner = String::from("name");
    for _ in 0..cycles {
        inner = format!(
            "name jobs(first: {page_size}) {{ edges {{ node {{ title organization {{ name internships(first: {page_size}) {{ edges {{ node {{ title organization {{ {inner} }} }} }} }} }} }} }} }}"
        );
    }
    format!("{{ organizations(first: {page_size}) {{ edges {{ node {{ {inner} }} }} }} }}")
}

/// Sends the bomb straight to the core subgraph; returns the status, the
/// code and how long the answer took, with a 120 s ceiling.
async fn bomb_core(stack: &Stack) -> (String, f64) {
    let document = talentgraph_kit::testing::fragment_fan_out(7, 10);
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("a client");
    let started = Instant::now();
    let answer = client
        .post(stack.subgraph("core").url("/graphql"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": document }).to_string())
        .send()
        .await;
    let milliseconds = started.elapsed().as_secs_f64() * 1_000.0;
    let outcome = match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("answered")
                .to_owned();
            format!("{status} {code}")
        }
        Err(error) if error.is_timeout() => "no answer within 120 s".to_owned(),
        Err(error) => format!("failed: {error}"),
    };
    (outcome, milliseconds)
}

/// Resident memory of a process in MiB, from /proc.
fn resident_mebibytes(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kibibytes| kibibytes / 1024.0)
}

struct Measurement {
    configuration: &'static str,
    cycles: usize,
    status: u16,
    bytes: usize,
    milliseconds: f64,
    fetches: u64,
    rss_before: f64,
    rss_after: f64,
    outcome: String,
}

async fn measure(
    stack: &Stack,
    configuration: &'static str,
    cycles: usize,
    page_size: usize,
) -> Measurement {
    let document = alternating_document(cycles, page_size);
    let token = stack.token(DemoAccount::Jobseeker);
    let rss_before = resident_mebibytes(stack.router_pid());
    let started = Instant::now();
    let (response, cost) = stack
        .request(Some(token), &document, None, serde_json::json!({}))
        .await;
    let milliseconds = started.elapsed().as_secs_f64() * 1_000.0;
    let rss_after = resident_mebibytes(stack.router_pid());
    let codes: std::collections::BTreeSet<String> = response.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|error| error["extensions"]["code"].as_str().map(str::to_owned))
        .collect();
    let outcome = if codes.is_empty() {
        "full answer".to_owned()
    } else {
        codes.into_iter().collect::<Vec<_>>().join(", ")
    };
    Measurement {
        configuration,
        cycles,
        status: response.status,
        bytes: response.body.to_string().len(),
        milliseconds,
        fetches: cost.total_fetches(),
        rss_before,
        rss_after,
        outcome,
    }
}

#[allow(clippy::print_stdout)]
#[tokio::main]
async fn main() {
    let mut rows = Vec::new();

    // The router starts with the shipped scripts; an empty main script is
    // written into its private copy and picked up by --hot-reload.
    let unbounded = Stack::start(StackOptions {
        private_rhai_scripts: true,
        hot_reload: true,
        subgraph_limits: LimitsConfig {
            max_representations: 100_000,
            max_response_bytes: 1024 * 1024 * 1024,
            // No selection budget: the walk expands fragments as the code
            // at 3fe3d4f did.
            max_selections: usize::MAX,
            // Representations did not pay for their selections then; this
            // limit now also bounds what they cost.
            max_complexity: 10_000_000,
            ..LimitsConfig::default()
        },
        ..StackOptions::default()
    })
    .await;
    std::fs::write(
        unbounded.rhai_scripts_directory().join("development.rhai"),
        "// emptied by measure-attacks: no router-side bound\n",
    )
    .expect("rewrites the script");
    // Wait until the router serves a document the bound would refuse.
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let probe = measure(&unbounded, "probe", 4, 1).await;
        if probe.outcome != "QUERY_PLAN_TOO_LARGE" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the router did not reload its script"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    for cycles in CYCLES {
        rows.push(measure(&unbounded, "before (no bounds)", cycles, 100).await);
    }
    let bomb_before = bomb_core(&unbounded).await;
    drop(unbounded);

    let bounded = Stack::start(StackOptions::default()).await;
    for cycles in CYCLES {
        rows.push(measure(&bounded, "after (shipped)", cycles, 100).await);
    }
    let bomb_after = bomb_core(&bounded).await;
    drop(bounded);

    let production = Stack::start(StackOptions {
        router_config: "router.yaml",
        ..StackOptions::default()
    })
    .await;
    for cycles in CYCLES {
        rows.push(measure(&production, "production profile", cycles, 100).await);
    }
    drop(production);

    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "| {} | {} | {} | {} | {:.1} MB | {:.0} ms | {} | {:.0} → {:.0} MiB | {} |",
                row.configuration,
                row.cycles,
                1 + 4 * row.cycles,
                row.status,
                row.bytes as f64 / 1_000_000.0,
                row.milliseconds,
                row.fetches,
                row.rss_before,
                row.rss_after,
                row.outcome,
            )
        })
        .collect();
    let table = format!(
        "{TABLE_START}\n| configuration | cycles (`first: 100`) | planned fetches | status | response | time | subgraph fetches made | router RSS | outcome |\n|---|---|---|---|---|---|---|---|---|\n{}\n\n\
         Measured with `cargo run --release -p talentgraph-e2e --bin measure-attacks` (small demo world, {} logical CPUs). \
         One request per row, after the stack's start-up; RSS is the router's resident memory just before and just after it.\n\n\
         The fragment bomb (7 fragments, each spreading the next 10 times, 10^6 expansions) sent straight to core: \
         before (no selection budget) {} in {:.0} ms; after {} in {:.0} ms.\n{TABLE_END}",
        lines.join("\n"),
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1),
        bomb_before.0,
        bomb_before.1,
        bomb_after.0,
        bomb_after.1,
    );
    println!("{table}");
    talentgraph_e2e::write_docs_section(
        "docs/attacks.md",
        TABLE_START,
        TABLE_END,
        &table,
        "## Measured attacks\n\n",
    );
}
