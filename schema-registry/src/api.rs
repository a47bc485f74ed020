//! The registry's HTTP API, typed once: the request bodies and query
//! parameters the server accepts and the client sends, and the error body
//! every refusal carries. The server deserializes these types and the
//! client serializes them, so the two cannot disagree on a field name.
//!
//! Routes (all under `/api/`, bearer token with the `read` or `write`
//! scope): `POST subgraphs/{name}/versions` (publish, [`PublishRequest`]),
//! `POST subgraphs/{name}/checks` (dry run, the same body),
//! `GET supergraph`, `GET subgraphs`, `GET subgraphs/{name}/versions`,
//! `GET subgraphs/{name}/versions/{version|latest}`,
//! `GET subgraphs/{name}/diff` ([`DiffParameters`]), `POST operations`
//! ([`RegisterOperationsRequest`]), `GET operations`,
//! `GET operations/{sha256}`, `GET safelist`.

use serde::{Deserialize, Serialize};

/// A subgraph version to publish or check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub sdl: String,
    /// Kept from the previous version when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_url: Option<String>,
    /// Publishes despite a failing check, recording why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRequest>,
}

/// Why a failing check is accepted; stored with the token's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    pub reason: String,
}

/// A client version's operations, for usage-aware checks and the safelist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterOperationsRequest {
    pub client: String,
    pub client_version: String,
    pub documents: Vec<String>,
}

/// `GET /api/subgraphs/{name}/diff?from=&to=`: versions by number or
/// `latest`; the defaults are the previous and the latest version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffParameters {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The body of every refusal: `{"error": {"code", "message"}}`, with the
/// check report beside it when a check refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable: `UNAUTHENTICATED`, `INSUFFICIENT_SCOPE`, `APPROVAL_REQUIRED`,
    /// `COMPOSITION_FAILED`, `BAD_REQUEST`, `NOT_FOUND`, `INTERNAL`, …
    pub code: String,
    pub message: String,
}
