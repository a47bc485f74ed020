//! The registry's HTTP handlers. Errors are JSON objects
//! `{"error": {"code", "message"}}`, with the check report beside them when
//! a publication was refused; internal failures are logged and answered
//! with a generic message.
//!
//! This module holds what every handler shares (the error answer, the
//! `Authorized<Read>`/`Authorized<Write>` extractors, body and name
//! checks); the handlers live by resource in `subgraphs`, `supergraph` and
//! `operations`. Request and error bodies are the types of `crate::api`,
//! which the client serializes.

use std::path::{Path as FilePath, PathBuf};

use crate::sha256_hex;
use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::OperationType;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::RegistryState;
use super::store::{self, NewOperation, NewSubgraphVersion, OperationRow};
use super::tokens::{Caller, Scope, caller_for_token};
use crate::api::{
    DiffParameters, ErrorBody, ErrorDetail, PublishRequest, RegisterOperationsRequest,
};
use crate::check::{
    CheckReport, api_schema_of_supergraph, check_proposal, operations_valid_against,
};
use crate::operations::OperationDocument;
use crate::{RegistryError, SubgraphInput};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    report: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            report: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        // The details (SQL, paths) are for operators, not callers.
        tracing::error!(%error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error; the registry logged the details",
        )
    }
}

impl From<talentgraph_kit::DatabaseError> for ApiError {
    fn from(error: talentgraph_kit::DatabaseError) -> Self {
        Self::from(RegistryError::Database(error))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
            report: self.report,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"schema-registry\""),
            );
        }
        response
    }
}

type ApiResult = Result<Response, ApiError>;

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; the API is under /api")
}

/// The caller behind the `Authorization: Bearer` header, if its token
/// allows `needed`.
async fn authorize(
    state: &RegistryState,
    headers: &HeaderMap,
    needed: Scope,
) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "send a registry token as `Authorization: Bearer <token>`",
        ));
    };
    // The scheme name is case-insensitive (RFC 9110); the token is not.
    let token = value
        .to_str()
        .ok()
        .and_then(|text| text.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    let Some(caller) = caller_for_token(&state.database, token).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "the token is unknown or revoked",
        ));
    };
    if !caller.allows(needed) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "INSUFFICIENT_SCOPE",
            format!(
                "this needs a token with the {} scope; {} has {}",
                needed.as_str(),
                caller.token_name,
                caller
                    .scopes
                    .iter()
                    .map(|scope| scope.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(caller)
}

/// The scope an endpoint needs, as a type: `Authorized<Read>` or
/// `Authorized<Write>` in a handler's signature.
pub trait RequiredScope: Send + Sync + 'static {
    const SCOPE: Scope;
}

/// Reading the registry: supergraph, versions, checks, operations.
pub enum Read {}

/// Publishing subgraph schemas.
pub enum Write {}

/// Registering a client release's operations, which production's
/// trusted-document list is made from.
pub enum Register {}

impl RequiredScope for Read {
    const SCOPE: Scope = Scope::Read;
}

impl RequiredScope for Write {
    const SCOPE: Scope = Scope::Write;
}

impl RequiredScope for Register {
    const SCOPE: Scope = Scope::Register;
}

/// A caller whose token allows the scope `S`. As an extractor it runs
/// before the handler and before the body is read, so an endpoint states
/// what it needs in its signature and cannot forget the check.
pub struct Authorized<S: RequiredScope> {
    pub caller: Caller,
    scope: std::marker::PhantomData<S>,
}

impl<S: RequiredScope> axum::extract::FromRequestParts<RegistryState> for Authorized<S> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &RegistryState,
    ) -> Result<Self, Self::Rejection> {
        let caller = authorize(state, &parts.headers, S::SCOPE).await?;
        Ok(Self {
            caller,
            scope: std::marker::PhantomData,
        })
    }
}

/// A JSON request body, with the content type checked first.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the body as Content-Type: application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("the body is not valid: {error}")))
}

fn validate_subgraph_name(name: &str) -> Result<(), ApiError> {
    let mut characters = name.chars();
    let valid = characters
        .next()
        .is_some_and(|first| first.is_ascii_lowercase())
        && name.len() <= 63
        && characters.all(|character| {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || character == '_'
                || character == '-'
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{name:?} is not a subgraph name: lower-case letters, digits, `-` and `_`, starting with a letter"
        )))
    }
}

fn parse_version(text: &str) -> Result<i32, ApiError> {
    text.parse::<i32>()
        .ok()
        .filter(|version| *version > 0)
        .ok_or_else(|| ApiError::bad_request(format!("{text:?} is not a version number")))
}

fn entity_tag(sdl_sha256: &str) -> String {
    format!("\"{sdl_sha256}\"")
}

/// The JSON form of a check report (the same as `schema-check --format json`).
fn report_value(report: &CheckReport) -> Value {
    serde_json::from_str(&crate::report::json(report)).unwrap_or(Value::Null)
}

/// Registered operations (one per document) that validate against the
/// baseline's API schema; none when there is no baseline yet.
fn operations_valid_today(
    operations: &[OperationRow],
    baseline: Option<&store::SupergraphRow>,
) -> Vec<OperationDocument> {
    let Some(api) = baseline.and_then(|supergraph| {
        api_schema_of_supergraph(
            &supergraph.sdl,
            FilePath::new("registry-supergraph.graphql"),
        )
        .ok()
    }) else {
        return Vec::new();
    };
    let mut seen = std::collections::BTreeSet::new();
    let documents = operations
        .iter()
        .filter(|operation| seen.insert(operation.document_sha256.clone()))
        .map(|operation| OperationDocument {
            path: PathBuf::from(format!(
                "registry:{}@{}/{}",
                operation.client_name, operation.client_version, operation.operation_name
            )),
            source: operation.document.clone(),
        });
    operations_valid_against(&api, documents)
}

mod operations;
mod subgraphs;
mod supergraph;

pub use operations::{list_operations, operation_by_hash, register_operations, safelist};
pub use subgraphs::{check, diff_versions, history, list_subgraphs, publish, subgraph_version};
pub use supergraph::latest_supergraph;

#[cfg(test)]
mod tests {
    use super::supergraph::matches_if_none_match;
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = entity_tag("abc");
        let mut headers = HeaderMap::new();
        assert!(!matches_if_none_match(&headers, &tag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(matches_if_none_match(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_if_none_match(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abcd\""));
        assert!(!matches_if_none_match(&headers, &tag));
    }

    #[test]
    fn subgraph_names_are_checked() {
        for good in ["core", "job-seeker", "payment_v2"] {
            assert!(validate_subgraph_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Core", "1core", "core/../x", &"a".repeat(64)] {
            assert!(validate_subgraph_name(bad).is_err(), "{bad}");
        }
    }
}
