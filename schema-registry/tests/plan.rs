//! Query plans of the pages: what the router's planner does with them, the
//! committed budgets and accepted plans, and `schema-check plan`'s exit
//! codes and side-by-side report.

use std::path::{Path, PathBuf};
use std::process::Command;

use schema_registry::operations::load_operations;
use schema_registry::plan::{check_budgets, load_budgets, plan_operations};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the repository")
        .to_path_buf()
}

fn path(relative: &str) -> String {
    repository().join(relative).to_string_lossy().into_owned()
}

fn schema_check(arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_schema-check"))
        .args(arguments)
        .output()
        .expect("runs schema-check")
}

fn page_plans() -> Vec<schema_registry::plan::PlanSummary> {
    let supergraph = std::fs::read_to_string(repository().join("router/supergraph.graphql"))
        .expect("the committed supergraph");
    let operations = load_operations(&repository().join("pages")).expect("the pages");
    plan_operations(&supergraph, &operations).expect("every page plans")
}

/// Every page is within its committed budget, and the planner's fetch count
/// is exactly the budget: the same number the end-to-end tests count at the
/// subgraphs, so the plan check and the measurement agree.
#[test]
fn pages_plan_within_their_budgets() {
    let plans = page_plans();
    let budgets = load_budgets(&repository().join("pages/budgets.json")).expect("budgets");
    assert_eq!(plans.len(), budgets.len(), "one budget per page");
    assert_eq!(check_budgets(&plans, &budgets), Vec::new());
    for plan in &plans {
        assert_eq!(
            plan.fetches, budgets[&plan.operation].fetches,
            "{}",
            plan.operation
        );
        assert!(plan.longest_chain >= 1 && plan.longest_chain <= plan.fetches);
    }
    let search = plans
        .iter()
        .find(|plan| plan.operation == "JobSearchPage")
        .expect("JobSearchPage");
    // Employer provides the organizations' cards, so core is not asked.
    assert_eq!(search.subgraphs, ["employer", "jobseeker", "payment"]);
    assert_eq!(
        search.longest_chain, 2,
        "employer first, then the rest in parallel"
    );
}

/// The accepted plans in `pages/plans/` are what the planner produces now;
/// a change in a subgraph schema that reshapes a plan must be accepted on
/// purpose.
#[test]
fn accepted_plans_are_current() {
    for plan in page_plans() {
        let file = repository().join(format!("pages/plans/{}.plan", plan.operation));
        let accepted = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            accepted == plan.plan,
            "{} is not the current plan of {}. If the change is intended, run\n  \
             cargo run -p schema-registry --bin schema-check -- plan --budgets pages/budgets.json --plans pages/plans --update-plans",
            file.display(),
            plan.operation
        );
    }
}

/// A page over its budget exits 1, names the page and shows its accepted
/// plan next to the new one; within budget exits 0; a missing file is a
/// usage error (2).
#[test]
fn plan_over_budget_exits_1_with_plans_side_by_side() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let budgets = directory.path().join("budgets.json");
    std::fs::write(
        &budgets,
        std::fs::read_to_string(repository().join("pages/budgets.json"))
            .expect("budgets")
            .replace(
                r#""JobSearchPage": { "fetches": 3"#,
                r#""JobSearchPage": { "fetches": 2"#,
            ),
    )
    .expect("writes budgets");
    let result = schema_check(&[
        "plan",
        "--supergraph",
        &path("router/supergraph.graphql"),
        "--operations",
        &path("pages"),
        "--budgets",
        budgets.to_str().expect("utf-8"),
        "--plans",
        &path("pages/plans"),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("over budget: JobSearchPage makes 3 subgraph fetches; its budget is 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("accepted") && stderr.contains("│ new"),
        "{stderr}"
    );
    assert!(stderr.contains("Fetch(service: \"employer\")"), "{stderr}");

    let result = schema_check(&[
        "plan",
        "--supergraph",
        &path("router/supergraph.graphql"),
        "--operations",
        &path("pages"),
        "--budgets",
        &path("pages/budgets.json"),
        "--format",
        "json",
    ]);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).expect("a JSON report");
    assert_eq!(report["operations"].as_array().map(Vec::len), Some(7));
    assert_eq!(report["violations"], serde_json::json!([]));

    let result = schema_check(&["plan", "--supergraph", "/no/such/supergraph.graphql"]);
    assert_eq!(result.status.code(), Some(2));
}

/// `compose --check` passes for the committed supergraph and fails with
/// the regenerate command for a stale copy.
#[test]
fn compose_check_detects_a_stale_supergraph() {
    let config = path("router/supergraph.yaml");
    let result = schema_check(&[
        "compose",
        "--config",
        &config,
        "--check",
        &path("router/supergraph.graphql"),
    ]);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let directory = tempfile::tempdir().expect("a temporary directory");
    let stale = directory.path().join("supergraph.graphql");
    std::fs::write(
        &stale,
        std::fs::read_to_string(repository().join("router/supergraph.graphql"))
            .expect("supergraph")
            + "\n# edited by hand\n",
    )
    .expect("writes");
    let result = schema_check(&[
        "compose",
        "--config",
        &config,
        "--check",
        stale.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is stale") && stderr.contains("--output"),
        "{stderr}"
    );
}
