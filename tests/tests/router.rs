//! The real Apollo Router in front of the subgraphs: its profiles, partial
//! failure, and bad input.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use talentgraph_e2e::{DemoAccount, Stack, StackOptions};

const INTROSPECTION: &str = "{ __schema { queryType { name } } }";

fn error_codes(body: &serde_json::Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["extensions"]["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Warnings Apollo Router 2.17.0 logs at every start whatever its
/// configuration, each with where its source says so; nothing else may be
/// logged at WARN or ERROR while a profile starts.
const UNCONDITIONAL_UPSTREAM_WARNINGS: [&str; 1] = [
    // apollo-router 2.17.0, src/axum_factory/axum_http_server_factory.rs:229,
    // logged right after "GraphQL endpoint exposed at", with no condition.
    "The `apollo.router.session.count.active` metric is deprecated",
];

/// The router logged no line at level WARN or ERROR (the JSON lines it
/// writes to a file, or text lines) until it was ready, but the
/// unconditional ones above, and nothing about a license: a profile must
/// start clean, so that a warning in a real start-up log is news.
fn assert_clean_start_up(stack: &Stack) {
    let log = stack.router_start_up_log();
    assert!(
        log.contains("GraphQL endpoint exposed at"),
        "the start-up log was read: {log}"
    );
    let complaints: Vec<&str> = log
        .lines()
        .filter(|line| {
            !UNCONDITIONAL_UPSTREAM_WARNINGS
                .iter()
                .any(|warning| line.contains(warning))
        })
        .filter(|line| {
            let level = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|entry| entry["level"].as_str().map(str::to_owned));
            match level {
                Some(level) => level == "WARN" || level == "ERROR",
                None => line.contains(" WARN ") || line.contains(" ERROR "),
            }
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "the router warned or failed at start-up:\n{}",
        complaints.join("\n")
    );
    let lowercase = stack.router_log().to_lowercase();
    assert!(
        !lowercase.contains("license violation") && !lowercase.contains("requires a license"),
        "{lowercase}"
    );
}

/// The development profile starts, answers introspection and shows
/// subgraph errors in full.
#[tokio::test]
async fn development_profile_starts_with_introspection() {
    let stack = Stack::start(StackOptions::default()).await;
    let (response, _) = stack.request(None, INTROSPECTION, None, json!({})).await;
    assert_eq!(
        response.body["data"]["__schema"]["queryType"]["name"], "Query",
        "{:#}",
        response.body
    );
    assert_clean_start_up(&stack);
}

/// The production profile starts without a license key, refuses
/// introspection, and still forwards the stable error codes clients need.
#[tokio::test]
async fn production_profile_starts_without_introspection() {
    let stack = Stack::start(StackOptions {
        router_config: "router.yaml",
        ..StackOptions::default()
    })
    .await;
    let (response, _) = stack.request(None, INTROSPECTION, None, json!({})).await;
    assert!(
        response.body["data"].is_null() || response.body.get("data").is_none(),
        "{:#}",
        response.body
    );
    assert!(
        response.body["errors"].is_array(),
        "introspection is refused: {:#}",
        response.body
    );

    // Only trusted documents run in production: a page with a forged
    // cursor reaches the subgraph, whose error code comes through.
    let (response, _) = stack
        .page(
            "JobSearchPage",
            None,
            json!({ "first": 5, "after": "forged" }),
        )
        .await;
    assert!(
        error_codes(&response.body).contains(&"INVALID_CURSOR".to_owned()),
        "{:#}",
        response.body
    );
    assert_clean_start_up(&stack);
}

/// With the payment subgraph down, JobSearchPage still returns its jobs,
/// with an error on the promotion path, and other pages keep working.
#[tokio::test]
async fn a_down_subgraph_gives_partial_data() {
    let mut stack = Stack::start(StackOptions::default()).await;
    stack.subgraph_mut("payment").stop();
    let (response, _) = stack
        .page(
            "JobSearchPage",
            Some(stack.token(DemoAccount::Jobseeker)),
            json!({ "first": 10 }),
        )
        .await;
    let edges = response.body["data"]["jobs"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 10, "{:#}", response.body);
    assert!(edges.iter().all(|edge| edge["node"]["promotion"].is_null()));
    assert!(
        edges
            .iter()
            .all(|edge| edge["node"]["organization"]["name"].is_string()),
        "other subgraphs still answer"
    );
    let errors = response.body["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !errors.is_empty(),
        "the failure is reported: {:#}",
        response.body
    );
    let mentions_promotion = errors.iter().any(|error| {
        error.to_string().contains("promotion") || error.to_string().contains("payment")
    });
    assert!(mentions_promotion, "{:#}", response.body);

    let (response, _) = stack
        .page("InternshipBrowsePage", None, json!({ "first": 5 }))
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
}

/// A subgraph slower than the router's subgraph timeout costs the page only
/// that subgraph's fields: the answer arrives when the timeout fires, long
/// before the slow subgraph would have answered.
#[tokio::test]
async fn a_slow_subgraph_times_out_into_partial_data() {
    let stack = Stack::start(StackOptions {
        subgraph_timeout: "1s",
        ..StackOptions::default()
    })
    .await;
    stack
        .subgraph("payment")
        .delay_milliseconds
        .store(15_000, Ordering::SeqCst);
    let started = Instant::now();
    let (response, _) = stack
        .page(
            "JobSearchPage",
            Some(stack.token(DemoAccount::Jobseeker)),
            json!({ "first": 10 }),
        )
        .await;
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(12),
        "the router waited for the slow subgraph ({waited:?})"
    );
    let edges = response.body["data"]["jobs"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edges.len(), 10, "{:#}", response.body);
    assert!(
        response.body["errors"]
            .as_array()
            .is_some_and(|errors| !errors.is_empty()),
        "{:#}",
        response.body
    );

    stack
        .subgraph("payment")
        .delay_milliseconds
        .store(0, Ordering::SeqCst);
    let (response, _) = stack
        .page("InternshipBrowsePage", None, json!({ "first": 5 }))
        .await;
    assert!(
        response.body.get("errors").is_none(),
        "the router keeps serving: {:#}",
        response.body
    );
}

/// Malformed and over-limit requests get clean GraphQL errors through the router.
#[tokio::test]
async fn bad_requests_get_clean_errors() {
    let stack = Stack::start(StackOptions::default()).await;
    let client = reqwest::Client::new();
    let response = client
        .post(&stack.router_url)
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .expect("the router answers");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("a JSON error");
    assert!(body["errors"].is_array(), "{body:#}");

    let (response, _) = stack.request(None, "{ jobs(first: ", None, json!({})).await;
    assert_eq!(response.status, 400, "{:#}", response.body);
    assert!(response.body["errors"].is_array());

    let (response, cost) = stack
        .request(
            None,
            "{ jobs(first: 101) { edges { cursor } } }",
            None,
            json!({}),
        )
        .await;
    assert!(
        error_codes(&response.body).contains(&"PAGE_SIZE_EXCEEDED".to_owned()),
        "{:#}",
        response.body
    );
    assert_eq!(
        cost.total_statements(),
        0,
        "an over-limit query runs no SQL"
    );

    let (response, _) = stack
        .request(None, "{ noSuchField }", None, json!({}))
        .await;
    assert!(response.body["errors"].is_array(), "{:#}", response.body);
    assert!(response.status < 500);
}

/// A `ROUTER_TRUSTED_PROXY_HOPS` that is not a number from 0 to 5 stops the
/// router at start-up, naming the variable, instead of trusting an address
/// nobody vouches for (`router/rhai/client_address.rhai`).
#[tokio::test]
async fn a_bad_trusted_proxy_hops_setting_stops_the_router() {
    use talentgraph_launch::router::{RouterKind, RouterLaunch};
    let directory = tempfile::tempdir().expect("a temporary directory");
    for bad in ["many", "9", "-1"] {
        let mut launch = RouterLaunch::development(
            RouterKind::Apollo,
            &talentgraph_e2e::repository_root().join("router/supergraph.graphql"),
            directory.path(),
        );
        launch
            .environment
            .push(("ROUTER_TRUSTED_PROXY_HOPS".to_owned(), bad.to_owned()));
        let error = launch
            .start()
            .await
            .expect_err("the router refuses to start");
        assert!(
            error
                .to_string()
                .contains("ROUTER_TRUSTED_PROXY_HOPS must be a whole number from 0 to 5"),
            "{bad}: {error}"
        );
    }
}
