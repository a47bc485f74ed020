//! Reading requests: content negotiation, the body or query string, the
//! credentials, and the request's context.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use http::HeaderMap;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use serde::Deserialize;

use super::response::TransportError;
use super::{APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, REQUEST_ID_HEADER};
use crate::auth::Authenticator;
use crate::identity::Viewer;
use crate::request::{CLIENT_ADDRESS_HEADER, ROUTER_SECRET_HEADER, RequestContext};

/// The media type the response is written in, chosen from `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMediaType {
    GraphqlResponseJson,
    Json,
}

impl ResponseMediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            Self::Json => APPLICATION_JSON,
        }
    }

    /// Picks the media type per the spec: `application/graphql-response+json`
    /// when the client names it, `application/json` for legacy clients, a
    /// wildcard, or no `Accept` at all; `None` means 406.
    pub fn negotiate(headers: &HeaderMap) -> Option<Self> {
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
                GRAPHQL_RESPONSE_JSON => return Some(Self::GraphqlResponseJson),
                // A wildcard is what fetch() and curl send when the caller
                // named nothing; the spec says such clients get the legacy
                // type, whose status codes they understand.
                APPLICATION_JSON | "*/*" | "application/*" => accepts_json = true,
                _ => {}
            }
        }
        accepts_json.then_some(Self::Json)
    }
}

/// The body of a GraphQL-over-HTTP request, before any GraphQL parsing.
///
/// `variables` is read straight into async-graphql's value type, which is
/// what execution takes: reading a `serde_json::Value` first and converting
/// it built every variable twice, and an `_entities` fetch carries all its
/// representations there.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawGraphqlRequest {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Option<async_graphql::Value>,
    pub extensions: Option<async_graphql::Value>,
}

/// Whether the transport may run mutations (GET may not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Post,
    Get,
}

/// Reads a POST request: JSON content type, a body within `limit` bytes
/// (refused early when `Content-Length` already says more), and a JSON
/// object shaped like a GraphQL request.
pub async fn read_post_request(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<RawGraphqlRequest, TransportError> {
    if !is_json_content_type(headers) {
        return Err(TransportError::UnsupportedMediaType);
    }
    let too_large = TransportError::PayloadTooLarge { limit_bytes: limit };
    let declared_length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > limit) {
        return Err(too_large);
    }
    let bytes: Bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large)?;
    // A struct also deserializes from a JSON array (field by position), so
    // the body's shape is checked first; only then is it read in one pass.
    let opens_an_object = bytes
        .iter()
        .find(|byte| !byte.is_ascii_whitespace())
        .is_some_and(|byte| *byte == b'{');
    if !opens_an_object {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                Err(error) => not_json(&error),
                Ok(_) => TransportError::malformed(
                    "The request body must be a JSON object with a `query` string.",
                ),
            },
        );
    }
    serde_json::from_slice::<RawGraphqlRequest>(&bytes).map_err(|error| {
        if error.is_data() {
            TransportError::malformed(format!(
                "The request body is not a GraphQL request: {error}."
            ))
        } else {
            not_json(&error)
        }
    })
}

fn not_json(error: &serde_json::Error) -> TransportError {
    TransportError::malformed(format!("The request body is not valid JSON: {error}."))
}

/// Reads a GET request's query string: `query`, `operationName`, and
/// `variables`/`extensions` as JSON text.
pub fn read_get_request(query_string: &str) -> Result<RawGraphqlRequest, TransportError> {
    let parameters = urlencoded_pairs(query_string).map_err(TransportError::malformed)?;
    let json_parameter = |name: &str| -> Result<Option<async_graphql::Value>, TransportError> {
        parameters
            .get(name)
            .map(|text| {
                serde_json::from_str(text).map_err(|error| {
                    TransportError::malformed(format!(
                        "The `{name}` parameter is not valid JSON: {error}."
                    ))
                })
            })
            .transpose()
    };
    Ok(RawGraphqlRequest {
        query: parameters.get("query").cloned(),
        operation_name: parameters.get("operationName").cloned(),
        variables: json_parameter("variables")?,
        extensions: json_parameter("extensions")?,
    })
}

/// Decodes `application/x-www-form-urlencoded` pairs, refusing repeats so
/// that `?query=a&query=b` cannot smuggle a second document past a proxy.
fn urlencoded_pairs(query_string: &str) -> Result<HashMap<String, String>, String> {
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

/// The viewer of a request, or `Unauthenticated` when it sent credentials
/// that cannot be verified.
pub async fn authenticate(
    authenticator: &dyn Authenticator,
    headers: &HeaderMap,
    context: &RequestContext,
) -> Result<Viewer, TransportError> {
    authenticator.authenticate(headers).await.map_err(|failure| {
        tracing::info!(request_id = %context.request_id, reason = %failure.message, "refused credentials");
        TransportError::Unauthenticated {
            reason: failure.message,
        }
    })
}

/// The request id to log and return: the caller's when it looks like an id
/// (so one id follows a request through the router), otherwise a new one;
/// whether the request came through the router; and the client address
/// the router's edge recorded.
pub fn request_context(headers: &HeaderMap, router_secret: Option<&str>) -> RequestContext {
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
            .get(ROUTER_SECRET_HEADER)
            .is_some_and(|value| constant_time_equal(value.as_bytes(), secret.as_bytes()))
    });
    // The router sends the address its trusted proxies vouch for (never
    // the client's own X-Forwarded-For); believed only beside the secret.
    let client_address = via_router
        .then(|| headers.get(CLIENT_ADDRESS_HEADER))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .and_then(|address| address.parse::<std::net::IpAddr>().ok())
        .map(|address| address.to_string());
    RequestContext {
        request_id,
        viewer: Viewer::Anonymous,
        via_router,
        client_address,
        activity: crate::batching::RequestActivity::default(),
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
    use http::HeaderValue;

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
            ResponseMediaType::negotiate(&headers_with_accept("*/*")),
            Some(ResponseMediaType::Json)
        );
        assert_eq!(
            ResponseMediaType::negotiate(&headers_with_accept(
                "*/*, application/graphql-response+json"
            )),
            Some(ResponseMediaType::GraphqlResponseJson)
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

    /// The router secret must match exactly; only then is the client
    /// address the router vouches for believed. A client's own
    /// `X-Forwarded-For` is never read, and a value that is not an address
    /// is dropped.
    #[test]
    fn router_secret_gates_trust_in_forwarded_data() {
        let secret = "router-secret-of-some-length";
        let mut headers = HeaderMap::new();
        headers.insert(
            CLIENT_ADDRESS_HEADER,
            HeaderValue::from_static(" 203.0.113.7 "),
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.9.9.9"));
        let direct = request_context(&headers, Some(secret));
        assert!(!direct.via_router);
        assert_eq!(direct.client_address, None);
        headers.insert(
            crate::request::ROUTER_SECRET_HEADER,
            HeaderValue::from_static("router-secret-of-some-lengtX"),
        );
        assert!(!request_context(&headers, Some(secret)).via_router);
        headers.insert(
            crate::request::ROUTER_SECRET_HEADER,
            HeaderValue::from_static("router-secret-of-some-length"),
        );
        let routed = request_context(&headers, Some(secret));
        assert!(routed.via_router);
        assert_eq!(routed.client_address.as_deref(), Some("203.0.113.7"));
        assert!(!request_context(&headers, None).via_router);
        headers.insert(
            CLIENT_ADDRESS_HEADER,
            HeaderValue::from_static("10.0.0.1, 203.0.113.7"),
        );
        assert_eq!(request_context(&headers, Some(secret)).client_address, None);
        headers.remove(CLIENT_ADDRESS_HEADER);
        assert_eq!(request_context(&headers, Some(secret)).client_address, None);
    }
}
