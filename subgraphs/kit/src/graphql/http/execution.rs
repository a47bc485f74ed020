//! Running a parsed request: the document, the operation limits, the
//! executor, and the errors as clients see them.

use std::time::Instant;

use async_graphql::parser::types::OperationType;
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
    check_operation, code_for_validation_message, refuse_service_sdl, select_operation,
};
use crate::request::RequestContext;

/// Parses, checks and runs one GraphQL request and writes its response.
pub async fn execute<E: Executor>(
    endpoint: &GraphqlEndpoint<E>,
    context: RequestContext,
    raw: RawGraphqlRequest,
    transport: Transport,
    media_type: ResponseMediaType,
) -> Response {
    let Some(query) = raw.query.filter(|query| !query.trim().is_empty()) else {
        return TransportError::malformed("The request has no `query`.").into_response(&context);
    };
    let variables_hold_nul = variables_contain_nul(raw.variables.as_ref());
    let variables = match raw.variables {
        None | Some(Value::Null) => Variables::default(),
        Some(value @ Value::Object(_)) => Variables::from_value(value),
        Some(_) => {
            return TransportError::malformed("`variables` must be a JSON object.")
                .into_response(&context);
        }
    };
    if raw
        .extensions
        .as_ref()
        .is_some_and(|value| !matches!(value, Value::Object(_) | Value::Null))
    {
        return TransportError::malformed("`extensions` must be a JSON object.")
            .into_response(&context);
    }

    // PostgreSQL text cannot hold U+0000, so a NUL in any argument would
    // otherwise surface as a database error (a 500) wherever it is stored
    // or compared. Refused here once, for every field.
    if query.contains('\0') || query.contains("\\u0000") || variables_hold_nul {
        let mut error =
            ServerError::new("Strings may not contain the NUL character (U+0000).", None);
        set_code(&mut error, ErrorCode::BadUserInput);
        return request_error_response(&context, media_type, vec![error]);
    }
    let document = match endpoint.document_cache.parse(&query) {
        Ok((document, _)) => document,
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
        return TransportError::MethodNotAllowed { operation_type }.into_response(&context);
    }
    if !endpoint.service_sdl_exposed
        && let Err(error) = refuse_service_sdl(&document, operation)
    {
        return request_error_response(&context, media_type, vec![error]);
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
    let executor = match &endpoint.router_executor {
        Some(router_executor) if context.via_router => router_executor,
        _ => &endpoint.executor,
    };
    let started = Instant::now();
    let mut response = context
        .activity
        .track(executor.execute(request))
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
    let body = match operation_response_body(&response) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(request_id = %context.request_id, %error, "could not serialize a GraphQL response");
            return TransportError::Internal.into_response(&context);
        }
    };
    if body.len() > endpoint.limits.max_response_bytes {
        return response_too_large(
            &context,
            media_type,
            body.len(),
            endpoint.limits.max_response_bytes,
        );
    }
    json_response(&context, StatusCode::OK, media_type.as_str(), body)
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
