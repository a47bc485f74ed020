//! Log lines written while serving a request carry the request's trace id
//! (the caller's, from `traceparent`) and the server span's id.

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use talentgraph_kit::graphql::http::routes;
use talentgraph_kit::testing::TestApp;
use talentgraph_kit::{GraphqlEndpoint, LimitsConfig};
use tracing_subscriber::layer::SubscriberExt;

struct Query;

#[Object]
impl Query {
    /// Fails with a code-less error, which the endpoint logs.
    async fn leaky(&self) -> async_graphql::Result<i32> {
        Err(async_graphql::Error::new("internal detail"))
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_trace_and_span_ids() {
    let captured = Captured::default();
    let writer = captured.clone();
    // A provider without an exporter: spans get real ids, nothing is sent.
    let provider = SdkTracerProvider::builder().build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(move || writer.clone()),
        );
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
    let app = TestApp::spawn(routes(GraphqlEndpoint::new(
        schema,
        LimitsConfig::default(),
        64 * 1024,
    )))
    .await
    .expect("the endpoint starts");
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .body(r#"{"query":"{ leaky }"}"#)
        .send()
        .await
        .expect("answers");
    assert!(response.status().is_success());

    let output =
        String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("UTF-8 logs");
    let line = output
        .lines()
        .find(|line| line.contains("internal error while resolving a field"))
        .unwrap_or_else(|| panic!("the error was logged:\n{output}"));
    let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    let request_span = entry["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|span| span["name"] == "http.request"))
        .unwrap_or_else(|| panic!("the request span is listed: {line}"));
    assert_eq!(request_span["trace_id"], trace_id, "{line}");
    let span_id = request_span["span_id"].as_str().unwrap_or_default();
    assert_eq!(span_id.len(), 16, "{line}");
    assert_ne!(
        span_id, "00f067aa0ba902b7",
        "the server span has its own id"
    );
}
