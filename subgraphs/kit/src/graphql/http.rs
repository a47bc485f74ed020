//! The GraphQL-over-HTTP transport: `POST /graphql` and `GET /graphql`.
//!
//! Written against the GraphQL-over-HTTP specification rather than on top of
//! async-graphql-axum, because the spec's status codes depend on what went
//! wrong (415 for a wrong content type, 405 for a mutation over GET, 400 for
//! a request error under `application/graphql-response+json`) and every
//! such answer must be a JSON body with a stable code, never a bare text.

use std::collections::HashMap;
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::{Executor, ServerError, Value, Variables};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use tracing::Instrument;

use super::errors::{ErrorCode, MASKED_INTERNAL_MESSAGE};
use super::limits::{check_operation, code_for_validation_message, select_operation};
use super::{GraphqlEndpoint, RequestContext};
use crate::viewer::Viewer;

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
fn observe_error_codes(errors: &[ServerError]) {
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
    };
    transport_error(
        &context,
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::InternalServerError,
        MASKED_INTERNAL_MESSAGE.to_owned(),
    )
}

/// The media type the response is written in, chosen from `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMediaType {
    GraphqlResponseJson,
    Json,
}

impl ResponseMediaType {
    fn as_str(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            Self::Json => APPLICATION_JSON,
        }
    }

    /// Picks the media type per the spec: `application/graphql-response+json`
    /// when the client accepts it (or anything), `application/json` for
    /// legacy clients and when no `Accept` is sent; `None` means 406.
    fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let Some(accept) = headers.get(ACCEPT).and_then(|value| value.to_str().ok()) else {
            return Some(Self::Json);
        };
        let mut accepts_json = false;
        for entry in accept.split(',') {
            let mut parameters = entry.split(';');
            let media = parameters
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let refused = parameters.any(|parameter| {
                let parameter = parameter.trim().replace(' ', "");
                parameter == "q=0"
                    || parameter == "q=0.0"
                    || parameter == "q=0.00"
                    || parameter == "q=0.000"
            });
            if refused {
                continue;
            }
            match media.as_str() {
                GRAPHQL_RESPONSE_JSON | "*/*" | "application/*" => {
                    return Some(Self::GraphqlResponseJson);
                }
                APPLICATION_JSON => accepts_json = true,
                _ => {}
            }
        }
        accepts_json.then_some(Self::Json)
    }
}

/// The body of a GraphQL-over-HTTP request, before any GraphQL parsing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGraphqlRequest {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Value>,
}

/// Whether the transport may run mutations (GET may not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Post,
    Get,
}

async fn post_graphql<E: Executor>(
    State(endpoint): State<GraphqlEndpoint<E>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let context = match authenticated_context(&endpoint, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let Some(media_type) = ResponseMediaType::negotiate(&headers) else {
        return not_acceptable(&context);
    };
    if !is_json_content_type(&headers) {
        return transport_error(
            &context,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "POST requests must have Content-Type: application/json.".to_owned(),
        );
    }
    let limit = endpoint.max_request_body_bytes;
    let declared_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > limit) {
        return payload_too_large(&context, limit);
    }
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return payload_too_large(&context, limit),
    };
    let raw: RawGraphqlRequest = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Err(error) => {
            return transport_error(
                &context,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("The request body is not valid JSON: {error}."),
            );
        }
        Ok(value) if !value.is_object() => {
            return transport_error(
                &context,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "The request body must be a JSON object with a `query` string.".to_owned(),
            );
        }
        Ok(value) => match serde_json::from_value(value) {
            Ok(raw) => raw,
            Err(error) => {
                return transport_error(
                    &context,
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    format!("The request body is not a GraphQL request: {error}."),
                );
            }
        },
    };
    execute(&endpoint, context, raw, Transport::Post, media_type).await
}

async fn get_graphql<E: Executor>(
    State(endpoint): State<GraphqlEndpoint<E>>,
    headers: HeaderMap,
    RawQuery(query_string): RawQuery,
) -> Response {
    let context = match authenticated_context(&endpoint, &headers).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let Some(media_type) = ResponseMediaType::negotiate(&headers) else {
        return not_acceptable(&context);
    };
    let parameters: HashMap<String, String> =
        match serde_urlencoded_pairs(query_string.as_deref().unwrap_or_default()) {
            Ok(parameters) => parameters,
            Err(message) => {
                return transport_error(
                    &context,
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    message,
                );
            }
        };
    let json_parameter = |name: &str| -> Result<Option<serde_json::Value>, String> {
        parameters
            .get(name)
            .map(|text| {
                serde_json::from_str(text)
                    .map_err(|error| format!("The `{name}` parameter is not valid JSON: {error}."))
            })
            .transpose()
    };
    let variables = match json_parameter("variables") {
        Ok(variables) => variables,
        Err(message) => {
            return transport_error(
                &context,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                message,
            );
        }
    };
    let extensions = match json_parameter("extensions") {
        Ok(extensions) => extensions,
        Err(message) => {
            return transport_error(
                &context,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                message,
            );
        }
    };
    let raw = RawGraphqlRequest {
        query: parameters.get("query").cloned(),
        operation_name: parameters.get("operationName").cloned(),
        variables,
        extensions,
    };
    execute(&endpoint, context, raw, Transport::Get, media_type).await
}

/// Decodes `application/x-www-form-urlencoded` pairs, refusing repeats so
/// that `?query=a&query=b` cannot smuggle a second document past a proxy.
fn serde_urlencoded_pairs(query_string: &str) -> Result<HashMap<String, String>, String> {
    let pairs: Vec<(String, String)> = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query_string}")
            .parse()
            .map_err(|_| "The query string is malformed.".to_owned())?,
    )
    .map(|query| query.0)
    .map_err(|_| "The query string is malformed.".to_owned())?;
    let mut parameters = HashMap::with_capacity(pairs.len());
    for (key, value) in pairs {
        if parameters.insert(key.clone(), value).is_some() {
            return Err(format!("The `{key}` parameter is given more than once."));
        }
    }
    Ok(parameters)
}

async fn execute<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    context: RequestContext,
    raw: RawGraphqlRequest,
    transport: Transport,
    media_type: ResponseMediaType,
) -> Response {
    let Some(query) = raw.query.filter(|query| !query.trim().is_empty()) else {
        return transport_error(
            &context,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "The request has no `query`.".to_owned(),
        );
    };
    let variables = match raw.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(value @ serde_json::Value::Object(_)) => Variables::from_json(value),
        Some(_) => {
            return transport_error(
                &context,
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "`variables` must be a JSON object.".to_owned(),
            );
        }
    };
    if raw
        .extensions
        .as_ref()
        .is_some_and(|value| !value.is_object() && !value.is_null())
    {
        return transport_error(
            &context,
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "`extensions` must be a JSON object.".to_owned(),
        );
    }

    let document = match async_graphql::parser::parse_query(&query) {
        Ok(document) => document,
        Err(error) => {
            let mut error = ServerError::from(error);
            set_code(&mut error, ErrorCode::GraphqlParseFailed);
            return request_error_response(&context, media_type, vec![error]);
        }
    };
    let operation = match select_operation(&document, raw.operation_name.as_deref()) {
        Ok(operation) => operation,
        Err(error) => return request_error_response(&context, media_type, vec![error]),
    };
    let operation_type = operation.node.ty;
    if transport == Transport::Get && operation_type != OperationType::Query {
        let mut response = transport_error(
            &context,
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            format!("A {operation_type} cannot be sent with GET; use POST."),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if let Err(error) = check_operation(&document, operation, &variables, &endpoint.limits) {
        return request_error_response(&context, media_type, vec![error]);
    }
    let operation_name = raw
        .operation_name
        .clone()
        .or_else(|| operation_name_of(&document).map(str::to_owned))
        .unwrap_or_default();

    let mut request = async_graphql::Request::new(query).variables(variables);
    if let Some(name) = &raw.operation_name {
        request = request.operation_name(name.clone());
    }
    request.set_parsed_query(document);
    let span = tracing::info_span!(
        "graphql.operation",
        otel.name = %format!("{operation_type} {operation_name}").trim_end(),
        graphql.operation.name = %operation_name,
        graphql.operation.type = %operation_type,
        request_id = %context.request_id,
        graphql.errors = tracing::field::Empty,
    );
    // Loaders remember the span current when they are made, so their
    // batches (run in tasks the DataLoader spawns) nest under the operation.
    let request = span
        .in_scope(|| (endpoint.request_data)(&context, request))
        .data(context.viewer.clone())
        .data(context.clone());
    let started = Instant::now();
    let mut response = endpoint
        .executor
        .execute(request)
        .instrument(span.clone())
        .await;
    let is_request_error = response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    finish_errors(&context, &mut response.errors, is_request_error);
    span.record("graphql.errors", response.errors.len());
    if let Some(metrics) = crate::metrics::metrics() {
        metrics.record_operation(
            &operation_type.to_string(),
            &operation_name,
            started.elapsed(),
        );
    }
    tracing::info!(
        parent: &span,
        duration_ms = started.elapsed().as_secs_f64() * 1_000.0,
        errors = response.errors.len(),
        "graphql request finished"
    );
    if is_request_error {
        return request_error_response(&context, media_type, response.errors);
    }
    observe_error_codes(&response.errors);
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(request_id = %context.request_id, %error, "could not serialize a GraphQL response");
            return transport_error(
                &context,
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::InternalServerError,
                MASKED_INTERNAL_MESSAGE.to_owned(),
            );
        }
    };
    json_response(&context, StatusCode::OK, media_type.as_str(), body)
}

fn operation_name_of(document: &async_graphql::parser::types::ExecutableDocument) -> Option<&str> {
    match &document.operations {
        async_graphql::parser::types::DocumentOperations::Single(_) => None,
        async_graphql::parser::types::DocumentOperations::Multiple(operations) => {
            operations.keys().next().map(|name| name.as_str())
        }
    }
}

/// Gives every error a code and masks internal ones.
///
/// Errors raised during execution keep the code their resolver set. An
/// execution error with no code did not come through our error helpers —
/// most likely a library error passed up with `?` — so its text may hold
/// internal detail: like an explicit internal error, it is logged in full
/// with the request id and replaced by a generic message.
fn finish_errors(context: &RequestContext, errors: &mut [ServerError], is_request_error: bool) {
    for error in errors.iter_mut() {
        let code = error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|value| match value {
                Value::String(code) => Some(code.clone()),
                _ => None,
            });
        match code {
            Some(code) if code != ErrorCode::InternalServerError.as_str() => {}
            None if is_request_error || error.path.is_empty() => {
                let code = code_for_validation_message(&error.message);
                set_code(error, code);
            }
            _ => {
                tracing::error!(
                    request_id = %context.request_id,
                    path = ?error.path,
                    detail = %error.message,
                    "internal error while resolving a field"
                );
                error.message = MASKED_INTERNAL_MESSAGE.to_owned();
                error.extensions = None;
                set_code(error, ErrorCode::InternalServerError);
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("requestId", context.request_id.as_str());
            }
        }
    }
}

fn set_code(error: &mut ServerError, code: ErrorCode) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}

/// A GraphQL request error: the operation never ran. Under
/// `application/graphql-response+json` that is a 400; legacy
/// `application/json` clients get 200, as the spec requires.
fn request_error_response(
    context: &RequestContext,
    media_type: ResponseMediaType,
    errors: Vec<ServerError>,
) -> Response {
    let status = match media_type {
        ResponseMediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        ResponseMediaType::Json => StatusCode::OK,
    };
    observe_error_codes(&errors);
    let body = serde_json::json!({ "errors": errors });
    json_response(
        context,
        status,
        media_type.as_str(),
        body.to_string().into_bytes(),
    )
}

/// An error about the HTTP request itself, before GraphQL is involved.
fn transport_error(
    context: &RequestContext,
    status: StatusCode,
    code: ErrorCode,
    message: String,
) -> Response {
    crate::metrics::observe_error(code.as_str());
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    json_response(
        context,
        status,
        APPLICATION_JSON,
        body.to_string().into_bytes(),
    )
}

fn not_acceptable(context: &RequestContext) -> Response {
    transport_error(
        context,
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::NotAcceptable,
        format!(
            "This endpoint answers in {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}; the Accept header allows neither."
        ),
    )
}

fn payload_too_large(context: &RequestContext, limit: usize) -> Response {
    transport_error(
        context,
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!("The request body exceeds {limit} bytes."),
    )
}

fn json_response(
    context: &RequestContext,
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&context.request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    response
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|media| {
            media.type_() == mime::APPLICATION
                && media.subtype() == mime::JSON
                && media
                    .get_param(mime::CHARSET)
                    .is_none_or(|charset| charset == mime::UTF_8)
        })
}

/// The request context with a verified viewer, or the 401 response.
async fn authenticated_context<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    headers: &HeaderMap,
) -> Result<RequestContext, Response> {
    let mut context = request_context(headers, endpoint.router_secret.as_deref());
    match endpoint.authenticator.authenticate(headers).await {
        Ok(viewer) => {
            context.viewer = viewer;
            Ok(context)
        }
        Err(failure) => {
            tracing::info!(request_id = %context.request_id, reason = %failure.message, "refused credentials");
            let mut response = transport_error(
                &context,
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                failure.message,
            );
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
            Err(response)
        }
    }
}

/// The request id to log and return: the caller's when it looks like an id
/// (so one id follows a request through the router), otherwise a new one.
fn request_context(headers: &HeaderMap, router_secret: Option<&str>) -> RequestContext {
    let request_id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            !value.is_empty()
                && value.len() <= 128
                && value.bytes().all(|byte| {
                    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':')
                })
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let via_router = router_secret.is_some_and(|secret| {
        headers
            .get(super::ROUTER_SECRET_HEADER)
            .is_some_and(|value| constant_time_equal(value.as_bytes(), secret.as_bytes()))
    });
    // The edge proxy appends the address it saw, so the last entry is the
    // one nobody in front of it could forge.
    let client_address = via_router
        .then(|| headers.get("x-forwarded-for"))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.rsplit(',').next())
        .map(str::trim)
        .filter(|address| address.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_owned);
    RequestContext {
        request_id,
        viewer: Viewer::Anonymous,
        via_router,
        client_address,
    }
}

/// Compares secrets in time independent of where they first differ.
fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with_accept(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(accept).expect("valid header"));
        headers
    }

    /// Accept negotiation follows the GraphQL-over-HTTP spec.
    #[test]
    fn negotiates_the_response_media_type() {
        assert_eq!(
            ResponseMediaType::negotiate(&HeaderMap::new()),
            Some(ResponseMediaType::Json)
        );
        assert_eq!(
            ResponseMediaType::negotiate(&headers_with_accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(ResponseMediaType::GraphqlResponseJson)
        );
        assert_eq!(
            ResponseMediaType::negotiate(&headers_with_accept("application/json")),
            Some(ResponseMediaType::Json)
        );
        assert_eq!(
            ResponseMediaType::negotiate(&headers_with_accept("text/html")),
            None
        );
        assert_eq!(
            ResponseMediaType::negotiate(&headers_with_accept(
                "application/graphql-response+json;q=0, text/html"
            )),
            None
        );
    }

    /// Only well-formed request ids are trusted.
    #[test]
    fn request_ids_from_headers_are_sanitized() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(request_context(&headers, None).request_id, "abc-123");
        headers.insert(
            REQUEST_ID_HEADER,
            HeaderValue::from_static("bad id with spaces"),
        );
        assert_ne!(
            request_context(&headers, None).request_id,
            "bad id with spaces"
        );
    }

    /// The router secret must match exactly; only then is the forwarded
    /// client address believed, and then only its last, edge-written entry.
    #[test]
    fn router_secret_gates_trust_in_forwarded_data() {
        let secret = "router-secret-of-some-length";
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("10.9.9.9, 203.0.113.7"),
        );
        let direct = request_context(&headers, Some(secret));
        assert!(!direct.via_router);
        assert_eq!(direct.client_address, None);
        headers.insert(
            super::super::ROUTER_SECRET_HEADER,
            HeaderValue::from_static("router-secret-of-some-lengtX"),
        );
        assert!(!request_context(&headers, Some(secret)).via_router);
        headers.insert(
            super::super::ROUTER_SECRET_HEADER,
            HeaderValue::from_static("router-secret-of-some-length"),
        );
        let routed = request_context(&headers, Some(secret));
        assert!(routed.via_router);
        assert_eq!(routed.client_address.as_deref(), Some("203.0.113.7"));
        assert!(!request_context(&headers, None).via_router);
    }
}
