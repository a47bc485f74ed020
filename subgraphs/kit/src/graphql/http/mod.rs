//! The GraphQL-over-HTTP transport: `POST /graphql` and `GET /graphql`.
//!
//! Written against the GraphQL-over-HTTP specification rather than on top of
//! async-graphql-axum, because the spec's status codes depend on what went
//! wrong (415 for a wrong content type, 405 for a mutation over GET, 400 for
//! a request error under `application/graphql-response+json`) and every
//! such answer must be a JSON body with a stable code, never a bare text.
//!
//! `request` reads and checks what arrived, `execution` runs it, and
//! `response` writes every answer; what can go wrong before execution is
//! one type, [`TransportError`], whose variants carry their status and code.

mod execution;
mod request;
mod response;

use async_graphql::{Executor, ServerError, Value};
use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use tracing::Instrument;

pub use response::TransportError;

use self::request::{ResponseMediaType, Transport};
use super::GraphqlEndpoint;
use crate::identity::Viewer;
use crate::request::RequestContext;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const APPLICATION_JSON: &str = "application/json";
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The routes of a GraphQL endpoint: `/graphql` for GET and POST.
///
/// A panic while serving a request (a bug, never a client's doing) is
/// caught, logged, and answered with a masked JSON 500 instead of a dropped
/// connection.
pub fn routes<E: Executor>(endpoint: GraphqlEndpoint<E>) -> Router {
    Router::new()
        .route("/graphql", get(get_graphql::<E>).post(post_graphql::<E>))
        .with_state(endpoint)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(axum::middleware::from_fn(trace_http_request))
}

/// Reads the W3C trace context of an incoming request.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Opens the request's server span as a child of the caller's
/// `traceparent` (the router's subgraph fetch), so the subgraph's spans
/// join the router's trace, and records the trace and span ids on it for
/// the log lines written inside.
async fn trace_http_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let span = tracing::info_span!(
        "http.request",
        otel.name = %format!("{method} {path}"),
        otel.kind = "server",
        http.request.method = %method,
        url.path = %path,
        http.response.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    let incoming_trace = parent.span().span_context().trace_id();
    let _ = span.set_parent(parent);
    let own = span.context().span().span_context().clone();
    let trace_id = if own.is_valid() {
        own.trace_id()
    } else {
        incoming_trace
    };
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
    if own.is_valid() {
        span.record("span_id", tracing::field::display(own.span_id()));
    }
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if let Some(metrics) = crate::metrics::metrics() {
        metrics.record_http_request(status);
    }
    response
}

/// Counts the codes of errors sent to a client.
pub(crate) fn observe_error_codes(errors: &[ServerError]) {
    for error in errors {
        if let Some(Value::String(code)) = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
        {
            crate::metrics::observe_error(code);
        }
    }
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    let request_id = uuid::Uuid::new_v4().to_string();
    tracing::error!(%request_id, %detail, "a request handler panicked");
    let context = RequestContext {
        request_id,
        viewer: Viewer::Anonymous,
        via_router: false,
        client_address: None,
        activity: crate::batching::RequestActivity::default(),
    };
    TransportError::Internal.into_response(&context)
}

/// `POST /graphql`: the JSON body.
async fn post_graphql<E: Executor>(
    State(endpoint): State<GraphqlEndpoint<E>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = endpoint.max_request_body_bytes;
    let read = request::read_post_request(&headers, body, limit);
    respond(&endpoint, &headers, Transport::Post, read).await
}

/// `GET /graphql`: the query string (queries only).
async fn get_graphql<E: Executor>(
    State(endpoint): State<GraphqlEndpoint<E>>,
    headers: HeaderMap,
    RawQuery(query_string): RawQuery,
) -> Response {
    let read = async { request::read_get_request(query_string.as_deref().unwrap_or_default()) };
    respond(&endpoint, &headers, Transport::Get, read).await
}

/// The path every request takes: credentials, then `Accept` negotiation,
/// then reading the request (`read` runs only after both passed), then
/// execution; anything refused on the way answers as its transport error.
async fn respond<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    headers: &HeaderMap,
    transport: Transport,
    read: impl Future<Output = Result<request::RawGraphqlRequest, TransportError>>,
) -> Response {
    let mut context = request::request_context(headers, endpoint.router_secret.as_deref());
    let prepared = async {
        context.viewer =
            request::authenticate(endpoint.authenticator.as_ref(), headers, &context).await?;
        let media_type =
            ResponseMediaType::negotiate(headers).ok_or(TransportError::NotAcceptable)?;
        Ok::<_, TransportError>((media_type, read.await?))
    }
    .await;
    match prepared {
        Ok((media_type, raw)) => {
            execution::execute(endpoint, context, raw, transport, media_type).await
        }
        Err(error) => error.into_response(&context),
    }
}
