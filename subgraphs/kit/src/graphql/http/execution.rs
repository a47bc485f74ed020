//! Running a parsed request: the document, the operation limits, the
//! executor, and the errors as clients see them.

use std::time::Instant;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Executor, ServerError, Value, Variables};
use axum::response::Response;
use http::StatusCode;
use tracing::Instrument;

use super::observe_error_codes;
use super::request::{RawGraphqlRequest, ResponseMediaType, Transport};
use super::response::{
    TransportError, json_response, operation_response_body, request_error_response, set_code,
};
use crate::errors::{ErrorCode, MASKED_INTERNAL_MESSAGE};
use crate::graphql::GraphqlEndpoint;
use crate::graphql::limits::{
    check_operation, code_for_validation_message, refuse_service_sdl, root_fields, select_operation,
};
use crate::request::RequestContext;

/// Parses, checks and runs one GraphQL request and writes its response.
///
/// A pipeline of stages, each of which either hands the next what it
/// needs or refuses the request with a [`Refusal`], written in one place.
pub async fn execute<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    context: RequestContext,
    raw: RawGraphqlRequest,
    transport: Transport,
    media_type: ResponseMediaType,
) -> Response {
    let answered = async {
        let request = read_request(raw)?;
        let operation = check_operation_of(endpoint, &request, transport)?;
        admit(endpoint, &context, &operation).await?;
        let response = run_operation(endpoint, &context, request, operation).await?;
        write_response(endpoint, &context, media_type, &response)
    };
    answered
        .await
        .unwrap_or_else(|refusal| refusal.into_response(&context, media_type))
}

/// Why a request gets no operation response: one type for every stage,
/// carrying what its answer needs (as Hive Router's `PipelineError`
/// carries a status and a code).
enum Refusal {
    /// Not a GraphQL request, or one this transport cannot carry: the
    /// status and code come from the [`TransportError`].
    Transport(TransportError),
    /// A GraphQL request error: no data, only errors, each with its code.
    Request(Vec<ServerError>),
    /// The response would be larger than the limit.
    ResponseTooLarge {
        actual_bytes: usize,
        limit_bytes: usize,
    },
    /// The operation's class is over its rate limit for this caller.
    RateLimited { retry_after_seconds: u64 },
}

impl Refusal {
    /// A request error with one error of `code`.
    fn request_error(code: ErrorCode, message: &str) -> Self {
        let mut error = ServerError::new(message, None);
        set_code(&mut error, code);
        Self::Request(vec![error])
    }

    fn into_response(self, context: &RequestContext, media_type: ResponseMediaType) -> Response {
        match self {
            Self::Transport(error) => error.into_response(context),
            Self::Request(errors) => request_error_response(context, media_type, errors),
            Self::ResponseTooLarge {
                actual_bytes,
                limit_bytes,
            } => response_too_large(context, media_type, actual_bytes, limit_bytes),
            Self::RateLimited {
                retry_after_seconds,
            } => rate_limited(context, media_type, retry_after_seconds),
        }
    }
}

impl From<ServerError> for Refusal {
    fn from(error: ServerError) -> Self {
        Self::Request(vec![error])
    }
}

impl From<TransportError> for Refusal {
    fn from(error: TransportError) -> Self {
        Self::Transport(error)
    }
}

/// The request's parts, checked for shape.
struct ReadRequest {
    query: String,
    variables: Variables,
    operation_name: Option<String>,
}

/// Stage 1: a query, variables and extensions that are objects, and no
/// NUL character anywhere.
fn read_request(raw: RawGraphqlRequest) -> Result<ReadRequest, Refusal> {
    let Some(query) = raw.query.filter(|query| !query.trim().is_empty()) else {
        return Err(TransportError::malformed("The request has no `query`.").into());
    };
    let variables_hold_nul = variables_contain_nul(raw.variables.as_ref());
    let variables = match raw.variables {
        None | Some(Value::Null) => Variables::default(),
        Some(value @ Value::Object(_)) => Variables::from_value(value),
        Some(_) => {
            return Err(TransportError::malformed("`variables` must be a JSON object.").into());
        }
    };
    if raw
        .extensions
        .as_ref()
        .is_some_and(|value| !matches!(value, Value::Object(_) | Value::Null))
    {
        return Err(TransportError::malformed("`extensions` must be a JSON object.").into());
    }
    // PostgreSQL text cannot hold U+0000, so a NUL in any argument would
    // otherwise surface as a database error (a 500) wherever it is stored
    // or compared. Refused here once, for every field.
    if query.contains('\0') || query.contains("\\u0000") || variables_hold_nul {
        return Err(Refusal::request_error(
            ErrorCode::BadUserInput,
            "Strings may not contain the NUL character (U+0000).",
        ));
    }
    Ok(ReadRequest {
        query,
        variables,
        operation_name: raw.operation_name,
    })
}

/// The parsed document and the operation it runs.
struct CheckedOperation {
    document: ExecutableDocument,
    operation_type: OperationType,
    /// The operation's name for spans and metrics (empty when anonymous).
    label: String,
    /// What it costs against the rate limits.
    charges: Vec<crate::rate_limits::Charge>,
}

/// Stage 2: the document parses, names an operation this transport may
/// run, and stays within the limits.
fn check_operation_of<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    request: &ReadRequest,
    transport: Transport,
) -> Result<CheckedOperation, Refusal> {
    let document = match endpoint.document_cache.parse(&request.query) {
        Ok((document, _)) => document,
        Err(error) => {
            let mut error = ServerError::from(error);
            set_code(&mut error, ErrorCode::GraphqlParseFailed);
            return Err(error.into());
        }
    };
    let operation = select_operation(&document, request.operation_name.as_deref())?;
    let operation_type = operation.node.ty;
    if transport == Transport::Get && operation_type != OperationType::Query {
        return Err(TransportError::MethodNotAllowed { operation_type }.into());
    }
    if !endpoint.service_sdl_exposed {
        refuse_service_sdl(&document, operation)?;
    }
    check_operation(&document, operation, &request.variables, &endpoint.limits)?;
    let charges = match endpoint.rate_limiter {
        Some(_) => crate::rate_limits::charges(
            operation_type,
            &root_fields(&document, &operation.node.selection_set),
            &request.variables,
        ),
        None => Vec::new(),
    };
    let label = request
        .operation_name
        .clone()
        .or_else(|| operation_name_of(&document).map(str::to_owned))
        .unwrap_or_default();
    Ok(CheckedOperation {
        document,
        operation_type,
        label,
        charges,
    })
}

/// Stage 2b: the operation is within its class's rate limit for this
/// caller (checked after the operation checks, so a document they refuse
/// costs no budget, and before anything runs).
async fn admit<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    context: &RequestContext,
    operation: &CheckedOperation,
) -> Result<(), Refusal> {
    let Some(limiter) = &endpoint.rate_limiter else {
        return Ok(());
    };
    match limiter
        .admit(
            &operation.charges,
            &context.viewer,
            context.client_address.as_deref(),
        )
        .await
    {
        crate::rate_limits::Admission::Admitted => Ok(()),
        crate::rate_limits::Admission::Refused {
            class,
            retry_after_seconds,
        } => {
            tracing::info!(request_id = %context.request_id, class, retry_after_seconds, "rate limit reached");
            Err(Refusal::RateLimited {
                retry_after_seconds,
            })
        }
    }
}

/// Stage 3: runs the operation under its span, with this request's
/// loaders, on the executor for its caller; masks and codes the errors.
/// A response with errors and no data at all is a request error.
async fn run_operation<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    context: &RequestContext,
    request: ReadRequest,
    operation: CheckedOperation,
) -> Result<async_graphql::Response, Refusal> {
    let CheckedOperation {
        document,
        operation_type,
        label,
        charges: _,
    } = operation;
    let mut graphql_request =
        async_graphql::Request::new(request.query).variables(request.variables);
    if let Some(name) = request.operation_name {
        graphql_request = graphql_request.operation_name(name);
    }
    graphql_request.set_parsed_query(document);
    let span = tracing::info_span!(
        "graphql.operation",
        otel.name = %format!("{operation_type} {label}").trim_end(),
        graphql.operation.name = %label,
        graphql.operation.type = %operation_type,
        request_id = %context.request_id,
        graphql.errors = tracing::field::Empty,
    );
    // Loaders remember the span current when they are made, so their
    // batches (run in tasks the DataLoader spawns) nest under the operation.
    let graphql_request = span
        .in_scope(|| (endpoint.request_data)(context, graphql_request))
        .data(context.viewer.clone())
        .data(context.clone());
    let executor = match &endpoint.router_executor {
        Some(router_executor) if context.via_router => router_executor,
        _ => &endpoint.executor,
    };
    let started = Instant::now();
    let mut response = context
        .activity
        .track(executor.execute(graphql_request))
        .instrument(span.clone())
        .await;
    let is_request_error = response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty());
    finish_errors(context, &mut response.errors, is_request_error);
    span.record("graphql.errors", response.errors.len());
    if let Some(metrics) = crate::metrics::metrics() {
        metrics.record_operation(&operation_type.to_string(), &label, started.elapsed());
    }
    tracing::info!(
        parent: &span,
        duration_ms = started.elapsed().as_secs_f64() * 1_000.0,
        errors = response.errors.len(),
        "graphql request finished"
    );
    if is_request_error {
        return Err(Refusal::Request(response.errors));
    }
    Ok(response)
}

/// Stage 4: the response body, within the byte limit.
fn write_response<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    context: &RequestContext,
    media_type: ResponseMediaType,
    response: &async_graphql::Response,
) -> Result<Response, Refusal> {
    observe_error_codes(&response.errors);
    let body = operation_response_body(response).map_err(|error| {
        tracing::error!(request_id = %context.request_id, %error, "could not serialize a GraphQL response");
        TransportError::Internal
    })?;
    let limit_bytes = endpoint.limits.max_response_bytes;
    if body.len() > limit_bytes {
        return Err(Refusal::ResponseTooLarge {
            actual_bytes: body.len(),
            limit_bytes,
        });
    }
    // A response that met an unavailable dependency (the database
    // restarting) says so at the HTTP level too: 503 with `Retry-After`,
    // what load balancers, the router and clients know to retry.
    let unavailable = response
        .errors
        .iter()
        .any(|error| error_code(error) == Some(ErrorCode::ServiceUnavailable.as_str()));
    if !unavailable {
        return Ok(json_response(
            context,
            StatusCode::OK,
            media_type.as_str(),
            body,
        ));
    }
    let mut answer = json_response(
        context,
        StatusCode::SERVICE_UNAVAILABLE,
        media_type.as_str(),
        body,
    );
    answer.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from(crate::errors::RETRY_AFTER_UNAVAILABLE_SECONDS),
    );
    Ok(answer)
}

/// A rate-limit refusal: 429 with `Retry-After`, and `RATE_LIMITED` with
/// `retryAfterSeconds` in the body, which the router passes on.
fn rate_limited(
    context: &RequestContext,
    media_type: ResponseMediaType,
    retry_after_seconds: u64,
) -> Response {
    let mut error = ServerError::new(
        "Too many requests of this kind; retry after the time in retryAfterSeconds.",
        None,
    );
    set_code(&mut error, ErrorCode::RateLimited);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("retryAfterSeconds", retry_after_seconds);
    observe_error_codes(std::slice::from_ref(&error));
    let body = serde_json::json!({ "errors": [error] });
    let mut answer = json_response(
        context,
        StatusCode::TOO_MANY_REQUESTS,
        media_type.as_str(),
        body.to_string().into_bytes(),
    );
    answer.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from(retry_after_seconds),
    );
    answer
}

/// An error's `extensions.code`, when it has one.
fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// The answer that replaces a response over the byte limit: no data and one
/// error, so the router (or client) gets a small, explicit refusal instead
/// of megabytes it would have to hold and stitch.
fn response_too_large(
    context: &RequestContext,
    media_type: ResponseMediaType,
    actual_bytes: usize,
    limit_bytes: usize,
) -> Response {
    tracing::warn!(
        request_id = %context.request_id,
        actual_bytes,
        limit_bytes,
        "refused to send a response over the size limit"
    );
    let code = ErrorCode::ResponseTooLarge;
    crate::metrics::observe_error(code.as_str());
    let body = serde_json::json!({
        "data": null,
        "errors": [{
            "message": format!(
                "The response would be {actual_bytes} bytes; the limit is {limit_bytes}. Ask for fewer items or fields."
            ),
            "extensions": { "code": code.as_str() }
        }]
    });
    json_response(
        context,
        StatusCode::OK,
        media_type.as_str(),
        body.to_string().into_bytes(),
    )
}

/// Whether any string (or object key) in the variables holds U+0000.
fn variables_contain_nul(variables: Option<&Value>) -> bool {
    fn walk(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::List(items) => items.iter().any(walk),
            Value::Object(fields) => fields
                .iter()
                .any(|(key, value)| key.contains('\0') || walk(value)),
            _ => false,
        }
    }
    variables.is_some_and(walk)
}

fn operation_name_of(document: &ExecutableDocument) -> Option<&str> {
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
        let code = error_code(error).map(str::to_owned);
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
