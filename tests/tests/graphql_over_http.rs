//! The GraphQL-over-HTTP audit of `graphql-http` (the spec's reference
//! implementation; installed with the other npm references by
//! `scripts/install-oracles.sh`) against every subgraph and the router.
//!
//! Every subgraph passes every audit, recommendations included. The router
//! must pass every requirement; its remaining recommendations are Apollo
//! Router's own behaviour (listed in docs/attacks.md), counted here so a
//! change in either direction is noticed.

use std::process::Command;

use serde_json::Value;
use talentgraph_e2e::{Stack, StackOptions, repository_root};

fn audit(urls: &[String]) -> Vec<Value> {
    let directory = repository_root().join("schema-registry/oracle");
    assert!(
        directory.join("node_modules/graphql-http").exists(),
        "graphql-http is not installed; run scripts/install-oracles.sh"
    );
    let output = Command::new("node")
        .arg(directory.join("graphql-http-audit.mjs"))
        .args(urls)
        .current_dir(&directory)
        .output()
        .expect("node runs (install Node.js)");
    assert!(
        output.status.success(),
        "the audit failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Value>(&output.stdout)
        .expect("the audit prints JSON")
        .as_array()
        .cloned()
        .expect("one report per URL")
}

fn count(report: &Value, status: &str) -> u64 {
    report["counts"][status].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_passes_the_graphql_over_http_audit() {
    let stack = Stack::start(StackOptions::default()).await;
    let mut urls: Vec<String> = stack
        .subgraphs
        .iter()
        .map(|subgraph| subgraph.url("/graphql"))
        .collect();
    urls.push(stack.router_url.clone());
    let reports = audit(&urls);
    assert_eq!(reports.len(), urls.len());
    for (report, subgraph) in reports.iter().zip(&stack.subgraphs) {
        println!(
            "{}: {} audits, ok {}, warn {}, error {}",
            subgraph.name,
            report["total"],
            count(report, "ok"),
            count(report, "warn"),
            count(report, "error")
        );
        assert_eq!(
            count(report, "ok"),
            report["total"].as_u64().unwrap_or(0),
            "{}: {:#}",
            subgraph.name,
            report["failures"]
        );
    }
    let router = reports.last().expect("the router's report");
    println!(
        "router: {} audits, ok {}, notice {}, warn {}, error {}",
        router["total"],
        count(router, "ok"),
        count(router, "notice"),
        count(router, "warn"),
        count(router, "error")
    );
    assert_eq!(count(router, "error"), 0, "{:#}", router["failures"]);
    assert!(
        count(router, "warn") <= 4,
        "the router's recommendations got worse: {:#}",
        router["failures"]
    );
}
