//! Observability through the real router: one page request is one trace
//! from the router down to SQL, received by an in-process OTLP receiver;
//! and the subgraphs and the router serve Prometheus metrics.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::json;
use talentgraph_e2e::otlp::{OtlpReceiver, ReceivedSpan, render_tree};
use talentgraph_e2e::{DemoAccount, Stack, StackOptions, page_document};
use talentgraph_kit::LogFormat;
use talentgraph_kit::telemetry::{TraceExport, init_telemetry};

const SUBGRAPH_SERVICE: &str = "talentgraph-subgraphs";
const ROUTER_SERVICE: &str = "talentgraph-router";

fn ancestors<'a>(
    span: &'a ReceivedSpan,
    by_id: &'a HashMap<&'a str, &'a ReceivedSpan>,
) -> Vec<&'a ReceivedSpan> {
    let mut chain = Vec::new();
    let mut current = span;
    while let Some(parent) = by_id.get(current.parent_span_id.as_str()) {
        chain.push(*parent);
        current = parent;
    }
    chain
}

/// JobSearchPage through the real router with a client `traceparent`
/// yields one trace: the router's spans, one router subgraph span per
/// fetch, each with the subgraph's request span (`POST /graphql`) under it (its parent
/// is the router's span, taken from the propagated `traceparent`), the
/// GraphQL operation, DataLoader batches and every SQL statement below.
// Several worker threads: flushing blocks a thread until the exporter has
// delivered to the receiver, which runs on this same runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_page_is_one_trace_from_router_to_sql() {
    let receiver = OtlpReceiver::start().await;
    let telemetry = init_telemetry(
        LogFormat::Pretty,
        Some(&TraceExport {
            traces_endpoint: format!("{}/v1/traces", receiver.endpoint()),
            service_name: SUBGRAPH_SERVICE.to_owned(),
        }),
    )
    .expect("telemetry starts");
    let stack = Stack::start(StackOptions {
        router_otlp_endpoint: Some(receiver.endpoint()),
        ..StackOptions::default()
    })
    .await;

    let trace_id = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    let client_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{client_span}-01");
    let (response, cost) = stack
        .request_with_headers(
            Some(stack.token(DemoAccount::Jobseeker)),
            &page_document("JobSearchPage"),
            Some("JobSearchPage"),
            json!({ "first": 10 }),
            &[("traceparent", traceparent.as_str())],
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    telemetry.flush();

    // The router exports in batches; wait until its spans and ours are in.
    let deadline = Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let spans: Vec<ReceivedSpan> = receiver
            .spans()
            .into_iter()
            .filter(|span| span.trace_id == trace_id)
            .collect();
        let sql = spans.iter().filter(|span| span.name == "sql").count() as u64;
        let has_router = spans.iter().any(|span| span.service == ROUTER_SERVICE);
        if (has_router && sql >= cost.total_statements()) || Instant::now() > deadline {
            break spans;
        }
        telemetry.flush();
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let tree = render_tree(&trace);
    println!("trace {trace_id}:\n{tree}");

    // One trace, one root: the router's, under the client's span.
    let by_id: HashMap<&str, &ReceivedSpan> = trace
        .iter()
        .map(|span| (span.span_id.as_str(), span))
        .collect();
    let roots: Vec<&ReceivedSpan> = trace
        .iter()
        .filter(|span| !by_id.contains_key(span.parent_span_id.as_str()))
        .collect();
    assert_eq!(roots.len(), 1, "one root span:\n{tree}");
    assert_eq!(roots[0].service, ROUTER_SERVICE, "{tree}");
    assert_eq!(roots[0].parent_span_id, client_span, "{tree}");

    // Every subgraph request span hangs under a router subgraph span, and
    // there is one per fetch the subgraphs counted.
    let requests: Vec<&ReceivedSpan> = trace
        .iter()
        .filter(|span| span.service == SUBGRAPH_SERVICE && span.name == "POST /graphql")
        .collect();
    assert_eq!(
        requests.len() as u64,
        cost.total_fetches(),
        "one subgraph request span per fetch:\n{tree}"
    );
    let mut fetched_subgraphs = Vec::new();
    for request in &requests {
        let parent = by_id
            .get(request.parent_span_id.as_str())
            .unwrap_or_else(|| panic!("the request span has its parent in the trace:\n{tree}"));
        assert_eq!(
            parent.service, ROUTER_SERVICE,
            "parent is the router's span:\n{tree}"
        );
        let subgraph = ancestors(request, &by_id)
            .into_iter()
            .find_map(|span| span.attributes.get("subgraph.name").cloned())
            .unwrap_or_else(|| panic!("a router subgraph span above:\n{tree}"));
        fetched_subgraphs.push(subgraph);
    }
    fetched_subgraphs.sort();
    let mut expected: Vec<String> = cost
        .fetches
        .iter()
        .flat_map(|(name, count)| std::iter::repeat_n((*name).to_owned(), *count as usize))
        .collect();
    expected.sort();
    assert_eq!(fetched_subgraphs, expected, "{tree}");

    // Under them: the operation, DataLoader batches and every statement.
    let request_ids: HashSet<&str> = requests.iter().map(|span| span.span_id.as_str()).collect();
    let under_a_request = |span: &ReceivedSpan| {
        ancestors(span, &by_id)
            .iter()
            .any(|ancestor| request_ids.contains(ancestor.span_id.as_str()))
    };
    let operations: Vec<&ReceivedSpan> = trace
        .iter()
        .filter(|span| span.service == SUBGRAPH_SERVICE && span.name.starts_with("query "))
        .collect();
    assert_eq!(operations.len(), requests.len(), "{tree}");
    assert!(operations.iter().all(|span| {
        under_a_request(span)
            && span
                .attributes
                .get("graphql.operation.type")
                .map(String::as_str)
                == Some("query")
    }));
    let batches: Vec<&ReceivedSpan> = trace
        .iter()
        .filter(|span| span.name == "dataloader.batch")
        .collect();
    assert!(!batches.is_empty(), "{tree}");
    let operation_ids: HashSet<&str> = operations
        .iter()
        .map(|span| span.span_id.as_str())
        .collect();
    assert!(
        batches
            .iter()
            .all(|span| span.attributes.contains_key("entity")
                && span.attributes.contains_key("batch_size")
                && operation_ids.contains(span.parent_span_id.as_str())),
        "batches sit under their operation:\n{tree}"
    );
    let statements: Vec<&ReceivedSpan> = trace.iter().filter(|span| span.name == "sql").collect();
    assert_eq!(statements.len() as u64, cost.total_statements(), "{tree}");
    assert!(
        statements
            .iter()
            .all(|span| under_a_request(span) && span.attributes.contains_key("db.statement"))
    );
    telemetry.shutdown();
}

/// Every subgraph serves Prometheus metrics (requests, operations with
/// their duration histogram, errors by code, DataLoader batch sizes, pool
/// connections), and so does the router.
#[tokio::test]
async fn subgraphs_and_router_serve_prometheus_metrics() {
    let stack = Stack::start(StackOptions::default()).await;
    let (response, _) = stack
        .page(
            "JobSearchPage",
            Some(stack.token(DemoAccount::Jobseeker)),
            json!({ "first": 10 }),
        )
        .await;
    assert!(response.body.get("errors").is_none());
    let (_, _) = stack
        .request(
            Some(stack.token(DemoAccount::Jobseeker)),
            "{ invoice(id: \"x\") { id } }",
            None,
            json!({}),
        )
        .await;
    let text = reqwest::get(stack.subgraph("employer").url("/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("text");
    for expected in [
        "talentgraph_http_requests_total{status=\"200\"}",
        "talentgraph_graphql_operations_total{operation=\"JobSearchPage__employer__0\",operation_type=\"query\"}",
        "talentgraph_graphql_operation_duration_seconds_bucket{operation=\"JobSearchPage__employer__0\",operation_type=\"query\"",
        "talentgraph_graphql_errors_total{code=\"FORBIDDEN\"}",
        "talentgraph_dataloader_batch_size_bucket{entity=",
        "talentgraph_db_pool_connections{database=",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    let router = reqwest::get(&stack.router_metrics_url)
        .await
        .expect("router metrics answer")
        .text()
        .await
        .expect("text");
    assert!(router.contains("http_server_request_duration"), "{router}");
}
