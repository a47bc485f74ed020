//! An in-process OTLP/HTTP trace receiver: what an OpenTelemetry Collector
//! does with `POST /v1/traces`, minus everything but remembering the spans.
//!
//! It decodes `ExportTraceServiceRequest` protobuf bodies (what the router
//! and the subgraphs' exporters send) and keeps every span with its trace,
//! parent, service and attributes, so tests can assemble and check traces.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use talentgraph_kit::testing::TestApp;

/// One received span.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub service: String,
    pub attributes: BTreeMap<String, String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn text(value: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match value.and_then(|value| value.value.as_ref()) {
        Some(AnyValue::StringValue(text)) => text.clone(),
        Some(AnyValue::IntValue(number)) => number.to_string(),
        Some(AnyValue::BoolValue(flag)) => flag.to_string(),
        Some(AnyValue::DoubleValue(number)) => number.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|pair| (pair.key.clone(), text(pair.value.as_ref())))
        .collect()
}

type Spans = Arc<Mutex<Vec<ReceivedSpan>>>;

/// A running receiver; stops when dropped.
pub struct OtlpReceiver {
    app: TestApp,
    spans: Spans,
}

impl OtlpReceiver {
    pub async fn start() -> Self {
        let spans: Spans = Arc::default();
        let router = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(spans.clone());
        let app = TestApp::spawn(router).await.expect("the receiver starts");
        Self { app, spans }
    }

    /// The base URL exporters are given (they append `/v1/traces`).
    pub fn endpoint(&self) -> String {
        self.app.url("").trim_end_matches('/').to_owned()
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans
            .lock()
            .map(|spans| spans.clone())
            .unwrap_or_default()
    }
}

async fn receive(State(spans): State<Spans>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    let mut received = Vec::new();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .map(|resource| attributes(&resource.attributes))
            .and_then(|resource| resource.get("service.name").cloned())
            .unwrap_or_default();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                received.push(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name.clone(),
                    service: service.clone(),
                    attributes: attributes(&span.attributes),
                });
            }
        }
    }
    if let Ok(mut all) = spans.lock() {
        all.extend(received);
    }
    (
        StatusCode::OK,
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

/// Renders the spans of one trace as an indented tree, children under
/// their parents, for the closing note and for failure messages.
pub fn render_tree(spans: &[ReceivedSpan]) -> String {
    fn render(spans: &[ReceivedSpan], parent: &str, depth: usize, out: &mut String) {
        for span in spans.iter().filter(|span| span.parent_span_id == parent) {
            let detail = [
                "subgraph.name",
                "db.statement",
                "entity",
                "batch_size",
                "graphql.operation.name",
            ]
            .iter()
            .filter_map(|key| {
                span.attributes
                    .get(*key)
                    .map(|value| format!("{key}={value}"))
            })
            .collect::<Vec<_>>()
            .join(" ");
            out.push_str(&format!(
                "{}{} [{}] {}\n",
                "  ".repeat(depth),
                span.name,
                span.service,
                detail
            ));
            render(spans, &span.span_id, depth + 1, out);
        }
    }
    let known: std::collections::HashSet<&str> =
        spans.iter().map(|span| span.span_id.as_str()).collect();
    let mut out = String::new();
    // Roots: spans without a parent, or whose parent was not received.
    let mut roots: Vec<&str> = spans
        .iter()
        .filter(|span| {
            span.parent_span_id.is_empty() || !known.contains(span.parent_span_id.as_str())
        })
        .map(|span| span.parent_span_id.as_str())
        .collect();
    roots.sort_unstable();
    roots.dedup();
    for root in roots {
        render(spans, root, 0, &mut out);
    }
    out
}
