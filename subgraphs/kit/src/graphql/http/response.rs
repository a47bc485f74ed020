//! Writing responses: the one transport error type, GraphQL request
//! errors, and the JSON body every answer carries.

use async_graphql::ServerError;
use async_graphql::parser::types::OperationType;
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use super::request::ResponseMediaType;
use super::{APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, REQUEST_ID_HEADER, observe_error_codes};
use crate::errors::{ErrorCode, MASKED_INTERNAL_MESSAGE};
use crate::request::RequestContext;

/// Everything wrong with a request at the HTTP level, before GraphQL runs
/// (or, for `Internal`, after it ran and its answer could not be written).
///
/// Each variant knows its status and code, so no handler picks them by
/// hand; every one is answered with a JSON body and a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Credentials were sent and could not be verified (401).
    Unauthenticated { reason: String },
    /// `Accept` allows neither response media type (406).
    NotAcceptable,
    /// A POST body that is not `application/json` (415).
    UnsupportedMediaType,
    /// A body over the configured limit (413).
    PayloadTooLarge { limit_bytes: usize },
    /// A body or query string that is not a GraphQL request (400).
    MalformedRequest { reason: String },
    /// A mutation sent with GET (405).
    MethodNotAllowed { operation_type: OperationType },
    /// A failure of ours; the detail was logged with the request id (500).
    Internal,
}

impl TransportError {
    pub fn malformed(reason: impl Into<String>) -> Self {
        Self::MalformedRequest {
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MalformedRequest { .. } => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated { .. } => ErrorCode::Unauthenticated,
            Self::NotAcceptable => ErrorCode::NotAcceptable,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::MalformedRequest { .. } => ErrorCode::BadRequest,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::Internal => ErrorCode::InternalServerError,
        }
    }

    /// The message the client reads.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated { reason } | Self::MalformedRequest { reason } => reason.clone(),
            Self::NotAcceptable => format!(
                "This endpoint answers in {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}; the Accept header allows neither."
            ),
            Self::UnsupportedMediaType => {
                "POST requests must have Content-Type: application/json.".to_owned()
            }
            Self::PayloadTooLarge { limit_bytes } => {
                format!("The request body exceeds {limit_bytes} bytes.")
            }
            Self::MethodNotAllowed { operation_type } => {
                format!("A {operation_type} cannot be sent with GET; use POST.")
            }
            Self::Internal => MASKED_INTERNAL_MESSAGE.to_owned(),
        }
    }

    /// The response: status, JSON body with the code, and the headers the
    /// status calls for (`WWW-Authenticate` with 401, `Allow` with 405).
    pub fn into_response(self, context: &RequestContext) -> Response {
        let code = self.code();
        crate::metrics::observe_error(code.as_str());
        let body = serde_json::json!({
            "errors": [{ "message": self.message(), "extensions": { "code": code.as_str() } }]
        });
        let mut response = json_response(
            context,
            self.status(),
            APPLICATION_JSON,
            body.to_string().into_bytes(),
        );
        match self {
            Self::Unauthenticated { .. } => {
                response
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::MethodNotAllowed { .. } => {
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("POST"));
            }
            _ => {}
        }
        response
    }
}

/// A GraphQL request error: the operation never ran. Under
/// `application/graphql-response+json` that is a 400; legacy
/// `application/json` clients get 200, as the spec requires.
pub fn request_error_response(
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

/// The JSON text of an executed operation's response.
///
/// Written by sonic-rs rather than serde_json: the bytes are the same (the
/// test below holds the two to it), but sonic-rs scans strings for the
/// characters JSON must escape a block of bytes at a time with SIMD
/// instructions, where serde_json looks up each byte. A subgraph's answer is mostly short
/// strings (ids, cursors, names, the field names themselves), and writing
/// employer's JobSearchPage answer was a tenth of that fetch's
/// instructions, escaping alone 7 % (counted under callgrind).
pub fn operation_response_body(
    response: &async_graphql::Response,
) -> Result<Vec<u8>, sonic_rs::Error> {
    sonic_rs::to_vec(response)
}

/// A JSON body with its content type and the request id header.
pub fn json_response(
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

/// Sets an error's `extensions.code`.
pub fn set_code(error: &mut ServerError, code: ErrorCode) {
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}

#[cfg(test)]
mod tests {
    use super::{TransportError, operation_response_body};
    use async_graphql::parser::types::OperationType;
    use async_graphql::{Name, Pos, ServerError, Value};

    /// sonic-rs writes every response byte for byte as serde_json does:
    /// escapes (quotes, backslashes, control characters, the `\u` forms),
    /// text outside ASCII, the extremes of integers, nesting, nulls, errors
    /// with locations, paths and extensions.
    #[test]
    fn operation_responses_are_written_as_serde_json_writes_them() {
        let awkward_texts = [
            String::new(),
            "plain".to_owned(),
            "quote \" backslash \\ slash / tab \t newline \n return \r".to_owned(),
            (0_u8..0x20).map(char::from).collect::<String>(),
            "\u{7f} delete, \u{2028}\u{2029} separators, é, 中文, 🦀".to_owned(),
            "a long run of text before an escape at the end: ".repeat(8) + "\"",
        ];
        let mut object = async_graphql::indexmap::IndexMap::new();
        for (index, text) in awkward_texts.iter().enumerate() {
            object.insert(Name::new(format!("text{index}")), Value::from(text.clone()));
            object.insert(Name::new(text.clone()), Value::from(index as i32));
        }
        object.insert(Name::new("smallest"), Value::from(i64::MIN));
        object.insert(Name::new("largest"), Value::from(u64::MAX));
        object.insert(Name::new("flag"), Value::from(false));
        object.insert(Name::new("nothing"), Value::Null);
        object.insert(Name::new("empty list"), Value::List(Vec::new()));
        object.insert(
            Name::new("empty object"),
            Value::Object(async_graphql::indexmap::IndexMap::new()),
        );
        let nested = Value::List(vec![
            Value::Object(object.clone()),
            Value::List(vec![Value::Null, Value::from(1), Value::from("x")]),
        ]);
        object.insert(Name::new("nested"), nested);

        let mut error =
            ServerError::new("Something \"failed\"\n", Some(Pos { line: 3, column: 7 }));
        error.path = vec![
            async_graphql::PathSegment::Field("jobs".to_owned()),
            async_graphql::PathSegment::Index(4),
        ];
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", "NOT_FOUND");

        let responses = [
            async_graphql::Response::new(Value::Object(object.clone())),
            async_graphql::Response::new(Value::Object(object)).extension("cost", Value::from(12)),
            async_graphql::Response::from_errors(vec![error.clone()]),
            async_graphql::Response::new(Value::Null),
        ];
        for response in responses {
            let by_serde_json = serde_json::to_vec(&response).expect("serde_json writes it");
            let by_sonic_rs = operation_response_body(&response).expect("sonic-rs writes it");
            assert_eq!(
                String::from_utf8_lossy(&by_sonic_rs),
                String::from_utf8_lossy(&by_serde_json)
            );
        }
    }

    /// Every transport error answers with a client status and a code of its
    /// own, except the internal one.
    #[test]
    fn each_transport_error_has_its_status_and_code() {
        let errors = [
            TransportError::Unauthenticated {
                reason: "bad token".to_owned(),
            },
            TransportError::NotAcceptable,
            TransportError::UnsupportedMediaType,
            TransportError::PayloadTooLarge { limit_bytes: 10 },
            TransportError::malformed("not JSON"),
            TransportError::MethodNotAllowed {
                operation_type: OperationType::Mutation,
            },
        ];
        let mut codes: Vec<&str> = errors.iter().map(|error| error.code().as_str()).collect();
        for error in &errors {
            assert!(error.status().is_client_error(), "{error:?}");
            assert!(!error.message().is_empty());
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len(), "codes are distinct");
        assert!(TransportError::Internal.status().is_server_error());
    }
}
