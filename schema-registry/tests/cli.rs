//! The `schema-check` binary: output, diagnostics and exit codes.

use std::process::Command;

fn schema_check(arguments: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_schema-check"))
        .args(arguments)
        .output()
        .expect("runs schema-check")
}

/// `compose` writes the supergraph and exits 0.
#[test]
fn compose_writes_the_supergraph() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let output = directory.path().join("supergraph.graphql");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../router/supergraph.yaml");
    let result = schema_check(&[
        "compose",
        "--config",
        config,
        "--output",
        output.to_str().expect("utf-8 path"),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let written = std::fs::read_to_string(&output).expect("the supergraph was written");
    assert!(written.contains("join__Graph"));
}

/// A composition failure exits 1 and prints the code, the subgraph and the location.
#[test]
fn composition_errors_exit_1_with_diagnostics() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let link = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.5\", import: [\"@key\"])\n";
    for name in ["left", "right"] {
        std::fs::write(
            directory.path().join(format!("{name}.graphql")),
            format!("{link}type Query {{ {name}: Thing }}\ntype Thing @key(fields: \"id\") {{\n  id: ID!\n  label: String\n}}\n"),
        )
        .expect("writes a subgraph");
    }
    let config = directory.path().join("supergraph.yaml");
    std::fs::write(
        &config,
        "federation_version: =2.17.0\nsubgraphs:\n  left:\n    routing_url: http://left/graphql\n    schema:\n      file: left.graphql\n  right:\n    routing_url: http://right/graphql\n    schema:\n      file: right.graphql\n",
    )
    .expect("writes the configuration");
    let result = schema_check(&["compose", "--config", config.to_str().expect("utf-8 path")]);
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("INVALID_FIELD_SHARING"), "{stderr}");
    assert!(
        stderr.contains("--> left:5:") && stderr.contains("--> right:5:"),
        "{stderr}"
    );
}

/// Usage and input mistakes exit 2.
#[test]
fn usage_errors_exit_2() {
    assert_eq!(schema_check(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        schema_check(&["compose", "--config"]).status.code(),
        Some(2)
    );
    assert_eq!(
        schema_check(&["compose", "--config", "/nonexistent/supergraph.yaml"])
            .status
            .code(),
        Some(2)
    );
}

/// Every command answers `--help` on standard output with exit code 0, and
/// a value `--format` does not know is a usage error.
#[test]
fn every_command_has_help() {
    for verb in [
        "check",
        "compose",
        "plan",
        "publish",
        "fetch",
        "history",
        "diff",
        "register-operations",
    ] {
        let result = schema_check(&[verb, "--help"]);
        assert_eq!(result.status.code(), Some(0), "{verb} --help");
        assert!(
            String::from_utf8_lossy(&result.stdout).contains("Usage: schema-check"),
            "{verb} --help prints its usage"
        );
    }
    assert_eq!(schema_check(&["--help"]).status.code(), Some(0));
    assert_eq!(
        schema_check(&["plan", "--format", "yaml"]).status.code(),
        Some(2)
    );
    let registry = Command::new(env!("CARGO_BIN_EXE_schema-registry"))
        .args(["token", "create", "--help"])
        .output()
        .expect("runs schema-registry");
    assert_eq!(registry.status.code(), Some(0));
}
