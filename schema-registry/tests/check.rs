//! `schema-check check` on this repository's own subgraphs and pages:
//! exit codes, classification, the operations a change breaks, and the
//! three output formats.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the repository")
        .to_path_buf()
}

fn employer_sdl() -> String {
    std::fs::read_to_string(repository().join("subgraphs/employer/schema.graphql"))
        .expect("the employer schema")
}

/// Runs `check` for employer with `sdl` as the proposal; returns (exit
/// code, standard output, standard error).
fn check(sdl: &str, extra: &[&str]) -> (i32, String, String) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let proposed = directory.path().join("employer.graphql");
    std::fs::write(&proposed, sdl).expect("writes the proposal");
    let output = Command::new(env!("CARGO_BIN_EXE_schema-check"))
        .current_dir(repository())
        .args([
            "check",
            "--subgraph",
            "employer",
            "--schema",
            proposed.to_str().expect("utf-8"),
            "--operations",
            "pages",
        ])
        .args(extra)
        .output()
        .expect("runs schema-check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The committed schema against the committed supergraph: no changes, exit 0.
#[test]
fn an_unchanged_schema_passes() {
    let (code, stdout, stderr) = check(&employer_sdl(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("PASS: 0 composition error(s), 0 breaking"),
        "{stdout}"
    );
}

/// Renaming `Job.title` is BREAKING, names every page and field path it
/// breaks, points at the source, and the pages that select it are reported
/// invalid; exit 1. The markdown and JSON reports say the same.
#[test]
fn a_removed_field_names_the_pages_it_breaks() {
    let proposal = employer_sdl().replacen("\ttitle: String!", "\theadline: String!", 1);
    let (code, stdout, _) = check(&proposal, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("error[FIELD_REMOVED] BREAKING: field `Job.title` was removed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("= breaks JobSearchPage at jobs.edges.node.title"),
        "{stdout}"
    );
    assert!(
        stdout.contains("= breaks JobDetailPage at job.title"),
        "{stdout}"
    );
    assert!(
        stdout.contains("--> ") && stdout.contains("| type Job"),
        "points at the source: {stdout}"
    );
    assert!(stdout.contains("error[OPERATION_INVALID]"), "{stdout}");

    let (code, markdown, _) = check(&proposal, &["--format", "markdown"]);
    assert_eq!(code, 1);
    assert!(markdown.contains("❌ failed"));
    assert!(
        markdown.contains("| 🔴 BREAKING | field `Job.title` was removed | `Job.title` |"),
        "{markdown}"
    );

    let (code, json, _) = check(&proposal, &["--format", "json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(report["passed"], false);
    let removed = report["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|change| change["kind"] == "FIELD_REMOVED")
        .expect("the removal");
    assert_eq!(removed["criticality"], "BREAKING");
    assert!(
        removed["affected_operations"]
            .as_array()
            .map_or(0, Vec::len)
            >= 4
    );
}

/// A breaking change no page uses still fails, and says nobody uses it.
#[test]
fn an_unused_breaking_change_says_so() {
    // No page closes jobs: renaming the mutation removes a field no
    // operation uses.
    let proposal = employer_sdl().replacen("\tcloseJob(", "\tcloseJobNow(", 1);
    let (code, stdout, _) = check(&proposal, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("field `Mutation.closeJob` was removed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("= no known operation uses this"),
        "{stdout}"
    );
}

/// A new enum value is DANGEROUS, not breaking: exit 0, and the pages that
/// read the enum are named as affected.
#[test]
fn a_new_enum_value_is_dangerous() {
    let proposal = employer_sdl().replacen("\tTEMPORARY\n", "\tTEMPORARY\n\tINTERNSHIP\n", 1);
    let (code, stdout, _) = check(&proposal, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("warning[ENUM_VALUE_ADDED] DANGEROUS"),
        "{stdout}"
    );
    assert!(stdout.contains("= affects JobSearchPage"), "{stdout}");
}

/// A proposal that does not compose fails with Apollo's error code; a
/// registry baseline is a usage error until the registry exists; a git
/// baseline reads the committed supergraph at that revision.
#[test]
fn composition_failures_and_baselines() {
    let proposal = employer_sdl().replacen(
        "type Job @key(fields: \"id\")",
        "type Job @key(fields: \"nope\")",
        1,
    );
    let (code, stdout, _) = check(&proposal, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("error["), "{stdout}");
    assert!(
        stdout.contains("1 composition error(s)") || stdout.contains("composition error(s)"),
        "{stdout}"
    );

    let (code, _, stderr) = check(
        &employer_sdl(),
        &["--baseline", "registry:http://localhost:4100"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("registry"), "{stderr}");

    let (code, stdout, stderr) = check(&employer_sdl(), &["--baseline", "git:HEAD"]);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    assert!(stdout.contains("composition error(s)"), "{stdout}{stderr}");
}
