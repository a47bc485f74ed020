//! The registry's HTTP handlers. Errors are JSON objects
//! `{"error": {"code", "message"}}`, with the check report beside them when
//! a publication was refused; internal failures are logged and answered
//! with a generic message.

use std::path::{Path as FilePath, PathBuf};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::OperationType;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::RegistryState;
use super::store::{self, NewOperation, NewSubgraphVersion, OperationRow};
use super::tokens::{Caller, Scope, caller_for_token};
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
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(report) = self.report {
            body["report"] = report;
        }
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

/// Changing the registry: publishing, registering operations.
pub enum Write {}

impl RequiredScope for Read {
    const SCOPE: Scope = Scope::Read;
}

impl RequiredScope for Write {
    const SCOPE: Scope = Scope::Write;
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

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    sdl: String,
    routing_url: Option<String>,
    approval: Option<ApprovalRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    reason: String,
}

/// What a publication or check runs against: the proposal in place of the
/// subgraph's latest version, the others at their latest.
struct Proposal {
    inputs: Vec<SubgraphInput>,
    routing_url: String,
    current: Option<store::SubgraphVersionRow>,
}

fn proposal(
    name: &str,
    request: &PublishRequest,
    latest: Vec<store::SubgraphVersionRow>,
) -> Result<Proposal, ApiError> {
    if request.sdl.trim().is_empty() {
        return Err(ApiError::bad_request("sdl is empty"));
    }
    if let Some(url) = &request.routing_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(ApiError::bad_request(format!(
            "routing_url {url:?} must be an http(s) URL"
        )));
    }
    let current = latest.iter().find(|row| row.subgraph == name).cloned();
    let routing_url = match (&request.routing_url, &current) {
        (Some(url), _) => url.clone(),
        (None, Some(current)) => current.routing_url.clone(),
        (None, None) => {
            return Err(ApiError::bad_request(format!(
                "{name} has no published version yet, so its first publication needs routing_url"
            )));
        }
    };
    let mut inputs: Vec<SubgraphInput> = latest
        .into_iter()
        .filter(|row| row.subgraph != name)
        .map(|row| SubgraphInput {
            name: row.subgraph,
            routing_url: row.routing_url,
            sdl: row.sdl,
        })
        .collect();
    inputs.push(SubgraphInput {
        name: name.to_owned(),
        routing_url: routing_url.clone(),
        sdl: request.sdl.clone(),
    });
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Proposal {
        inputs,
        routing_url,
        current,
    })
}

/// Runs the check off the async threads: composition is CPU work.
async fn run_check(
    name: &str,
    inputs: Vec<SubgraphInput>,
    baseline: Option<store::SupergraphRow>,
    operations: Vec<OperationDocument>,
) -> Result<(CheckReport, Option<crate::ComposedSupergraph>), ApiError> {
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        check_proposal(
            &inputs,
            &name,
            baseline
                .as_ref()
                .map(|supergraph| (supergraph.sdl.as_str(), FilePath::new("registry"))),
            &operations,
        )
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "the check task failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error; the registry logged the details",
        )
    })?
    .map_err(ApiError::from)
}

fn summary(report: &CheckReport) -> String {
    let breaking = report
        .changes
        .iter()
        .filter(|checked| checked.change.criticality == crate::diff::Criticality::Breaking)
        .count();
    format!(
        "{breaking} breaking change(s) and {} operation(s) that would no longer validate",
        report.invalid_operations.len()
    )
}

/// `POST /api/subgraphs/{name}/versions`: check and publish.
#[tracing::instrument(skip(state, headers, body))]
pub async fn publish(
    State(state): State<RegistryState>,
    Authorized { caller, .. }: Authorized<Write>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let request: PublishRequest = json_body(&headers, &body)?;
    let approval_reason = match &request.approval {
        Some(approval) if approval.reason.trim().is_empty() => {
            return Err(ApiError::bad_request(
                "an approval needs a reason: say why breaking these clients is acceptable",
            ));
        }
        Some(approval) => Some(approval.reason.trim().to_owned()),
        None => None,
    };
    let mut transaction = state.database.begin().await?;
    store::lock_publications(&mut transaction).await?;
    let latest = store::latest_subgraph_versions(&mut transaction).await?;
    let Proposal {
        inputs,
        routing_url,
        current,
    } = proposal(&name, &request, latest)?;
    let sdl_sha256 = sha256_hex(&request.sdl);
    if let Some(current) = &current
        && current.sdl_sha256 == sdl_sha256
        && current.routing_url == routing_url
    {
        return Ok((
            StatusCode::OK,
            Json(json!({
                "subgraph": name,
                "version": current.version,
                "unchanged": true,
                "message": format!("{name} version {} already has this schema", current.version),
            })),
        )
            .into_response());
    }
    let baseline = store::latest_supergraph_locked(&mut transaction).await?;
    let registered = store::all_operations_locked(&mut transaction).await?;
    let operations = operations_valid_today(&registered, baseline.as_ref());
    let (report, composed) = run_check(&name, inputs, baseline.clone(), operations).await?;
    let report_json = report_value(&report);
    if !report.composition_errors.is_empty() {
        return Err(ApiError {
            report: Some(report_json),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "COMPOSITION_FAILED",
                format!(
                    "{name} does not compose with the other subgraphs ({} error(s)); nothing was published",
                    report.composition_errors.len()
                ),
            )
        });
    }
    let Some(composed) = composed else {
        return Err(
            RegistryError::ServerConfig("composition gave no supergraph".to_owned()).into(),
        );
    };
    let passed = report.passed();
    if !passed && approval_reason.is_none() {
        return Err(ApiError {
            report: Some(report_json),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "APPROVAL_REQUIRED",
                format!(
                    "the check failed with {}; publish again with an approval and its reason to accept it",
                    summary(&report)
                ),
            )
        });
    }
    let supergraph_sha256 = sha256_hex(&composed.sdl);
    let supergraph_id = match &baseline {
        Some(baseline) if baseline.sdl_sha256 == supergraph_sha256 => baseline.id,
        _ => {
            store::insert_supergraph(
                &mut transaction,
                &composed.sdl,
                &composed.api_sdl,
                &supergraph_sha256,
            )
            .await?
        }
    };
    let version = current.as_ref().map_or(1, |current| current.version + 1);
    let subgraph_version_id = store::insert_subgraph_version(
        &mut transaction,
        &NewSubgraphVersion {
            subgraph: &name,
            version,
            routing_url: &routing_url,
            sdl: &request.sdl,
            sdl_sha256: &sdl_sha256,
            published_by: &caller.token_name,
            supergraph_version_id: supergraph_id,
            changes_json: report_json["changes"].to_string(),
        },
    )
    .await?;
    let approval = match (&approval_reason, passed) {
        (Some(reason), false) => {
            store::insert_approval(
                &mut transaction,
                subgraph_version_id,
                &caller.token_name,
                reason,
                &report_json.to_string(),
            )
            .await?;
            json!({ "approved_by": caller.token_name, "reason": reason })
        }
        _ => Value::Null,
    };
    transaction.commit().await?;
    // The database is the record; a failed file write is logged and retried
    // at the next publication or restart rather than undoing the publication.
    if let Err(error) = state.write_supergraph_file(&composed.sdl).await {
        tracing::error!(%error, "could not write the supergraph file");
    }
    tracing::info!(subgraph = %name, version, publisher = %caller.token_name, approved = !approval.is_null(), "published");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "subgraph": name,
            "version": version,
            "unchanged": false,
            "supergraph": { "version": supergraph_id, "etag": entity_tag(&supergraph_sha256) },
            "approval": approval,
            "approval_needed": !passed,
            "report": report_json,
        })),
    )
        .into_response())
}

/// `POST /api/subgraphs/{name}/checks`: the publication's check, storing nothing.
#[tracing::instrument(skip(state, headers, body, _access))]
pub async fn check(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let request: PublishRequest = json_body(&headers, &body)?;
    let latest = store::list_subgraphs(&state.database).await?;
    let Proposal { inputs, .. } = proposal(&name, &request, latest)?;
    let baseline = store::latest_supergraph(&state.database).await?;
    let registered = store::all_operations(&state.database).await?;
    let operations = operations_valid_today(&registered, baseline.as_ref());
    let (report, _) = run_check(&name, inputs, baseline, operations).await?;
    Ok(Json(json!({
        "subgraph": name,
        "passed": report.passed(),
        "report": report_value(&report),
    }))
    .into_response())
}

/// Whether an `If-None-Match` header matches `tag` (weak comparison, as
/// RFC 9110 asks for this header).
fn matches_if_none_match(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == "*" || candidate == tag)
}

/// `GET /api/supergraph`: the latest composed supergraph, with an ETag.
#[tracing::instrument(skip_all)]
pub async fn latest_supergraph(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    headers: HeaderMap,
) -> ApiResult {
    let Some(supergraph) = store::latest_supergraph(&state.database).await? else {
        return Err(ApiError::not_found(
            "no supergraph has been composed yet: publish a subgraph first",
        ));
    };
    let tag = entity_tag(&supergraph.sdl_sha256);
    let common = [
        (header::ETAG, tag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (
            header::HeaderName::from_static("x-supergraph-version"),
            supergraph.id.to_string(),
        ),
    ];
    if matches_if_none_match(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        supergraph.sdl,
    )
        .into_response())
}

/// `GET /api/subgraphs`: every subgraph's latest version.
#[tracing::instrument(skip_all)]
pub async fn list_subgraphs(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
) -> ApiResult {
    let rows = store::list_subgraphs(&state.database).await?;
    Ok(Json(json!({
        "subgraphs": rows.iter().map(|row| json!({
            "name": row.subgraph,
            "version": row.version,
            "routing_url": row.routing_url,
            "sdl_sha256": row.sdl_sha256,
            "published_by": row.published_by,
            "published_at": row.published_at,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/subgraphs/{name}/versions`: history, newest first.
#[tracing::instrument(skip(state, _access))]
pub async fn history(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let rows = store::subgraph_history(&state.database, &name).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!(
            "{name} has no published version"
        )));
    }
    let versions: Vec<Value> = rows
        .iter()
        .map(|row| {
            let changes: Value = serde_json::from_str(&row.changes).unwrap_or(Value::Null);
            json!({
                "version": row.version,
                "routing_url": row.routing_url,
                "sdl_sha256": row.sdl_sha256,
                "published_by": row.published_by,
                "published_at": row.published_at,
                "supergraph_version": row.supergraph_version_id,
                "changes": changes,
                "approval": row.approved_by.as_ref().map(|approved_by| json!({
                    "approved_by": approved_by,
                    "reason": row.approval_reason,
                    "approved_at": row.approved_at,
                })),
            })
        })
        .collect();
    Ok(Json(json!({ "subgraph": name, "versions": versions })).into_response())
}

/// `GET /api/subgraphs/{name}/versions/{version}` (`latest` allowed).
#[tracing::instrument(skip(state, _access))]
pub async fn subgraph_version(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let wanted = match version.as_str() {
        "latest" => None,
        text => Some(parse_version(text)?),
    };
    let Some(row) = store::subgraph_version(&state.database, &name, wanted).await? else {
        return Err(ApiError::not_found(format!(
            "{name} has no version {version}"
        )));
    };
    Ok(Json(json!({
        "subgraph": row.subgraph,
        "version": row.version,
        "routing_url": row.routing_url,
        "sdl": row.sdl,
        "sdl_sha256": row.sdl_sha256,
        "published_by": row.published_by,
        "published_at": row.published_at,
        "supergraph_version": row.supergraph_version_id,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct DiffParameters {
    from: Option<String>,
    to: Option<String>,
}

/// A published subgraph SDL as a valid schema (federation definitions
/// expanded), for diffing two versions.
fn subgraph_schema(
    name: &str,
    routing_url: &str,
    sdl: &str,
) -> Result<apollo_compiler::validation::Valid<apollo_compiler::Schema>, String> {
    let subgraph = apollo_federation::subgraph::typestate::Subgraph::parse(name, routing_url, sdl)
        .map_err(|error| error.to_string())?
        .expand_links()
        .map_err(|error| error.to_string())?
        .assume_upgraded()
        .validate()
        .map_err(|error| error.to_string())?;
    Ok(subgraph.validated_schema().schema().clone())
}

/// `GET /api/subgraphs/{name}/diff?from=N&to=M`: the classified changes
/// between two versions of a subgraph's schema (`to` defaults to the
/// latest, `from` to the version before `to`).
#[tracing::instrument(skip(state, _access))]
pub async fn diff_versions(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(name): Path<String>,
    Query(parameters): Query<DiffParameters>,
    headers: HeaderMap,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let to_version = parameters.to.as_deref().map(parse_version).transpose()?;
    let Some(to) = store::subgraph_version(&state.database, &name, to_version).await? else {
        return Err(ApiError::not_found(format!(
            "{name} has no version {}",
            parameters.to.as_deref().unwrap_or("at all")
        )));
    };
    let from_version = match parameters.from.as_deref() {
        Some(text) => parse_version(text)?,
        None if to.version > 1 => to.version - 1,
        None => {
            return Err(ApiError::bad_request(format!(
                "{name} version {} is the first; name a `from` version",
                to.version
            )));
        }
    };
    let Some(from) = store::subgraph_version(&state.database, &name, Some(from_version)).await?
    else {
        return Err(ApiError::not_found(format!(
            "{name} has no version {from_version}"
        )));
    };
    let (from_number, to_number) = (from.version, to.version);
    let changes = tokio::task::spawn_blocking(move || {
        let old = subgraph_schema(&from.subgraph, &from.routing_url, &from.sdl)?;
        let new = subgraph_schema(&to.subgraph, &to.routing_url, &to.sdl)?;
        Ok::<_, String>(crate::diff::diff_schemas(&old, &new))
    })
    .await
    .map_err(|error| RegistryError::ServerConfig(error.to_string()))?
    .map_err(|message| RegistryError::ServerConfig(format!("stored schema invalid: {message}")))?;
    Ok(Json(json!({
        "subgraph": name,
        "from": from_number,
        "to": to_number,
        "changes": changes,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterOperationsRequest {
    client: String,
    client_version: String,
    documents: Vec<String>,
}

fn operation_type_name(operation_type: OperationType) -> &'static str {
    match operation_type {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// `POST /api/operations`: registers a client version's operations. Each
/// document must be valid against the latest supergraph's API schema and
/// name its operations; a name already registered for this client version
/// with another document is refused, since released clients do not change.
#[tracing::instrument(skip(state, headers, body))]
pub async fn register_operations(
    State(state): State<RegistryState>,
    Authorized { caller, .. }: Authorized<Write>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: RegisterOperationsRequest = json_body(&headers, &body)?;
    let client = request.client.trim();
    let client_version = request.client_version.trim();
    if client.is_empty() || client_version.is_empty() {
        return Err(ApiError::bad_request(
            "client and client_version must not be empty",
        ));
    }
    if request.documents.is_empty() {
        return Err(ApiError::bad_request("documents is empty"));
    }
    let Some(baseline) = store::latest_supergraph(&state.database).await? else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "NO_SUPERGRAPH",
            "no supergraph has been composed yet, so operations cannot be validated: publish the subgraphs first",
        ));
    };
    let api = api_schema_of_supergraph(&baseline.sdl, FilePath::new("registry"))?;
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for (index, document) in request.documents.iter().enumerate() {
        let origin = format!("documents[{index}]");
        match ExecutableDocument::parse_and_validate(&api, document, &origin) {
            Err(errors) => {
                problems.push(json!({ "document": index, "message": errors.to_string() }))
            }
            Ok(valid) => {
                if valid.operations.anonymous.is_some() {
                    problems.push(json!({
                        "document": index,
                        "message": "an anonymous operation cannot be registered: name it",
                    }));
                    continue;
                }
                let digest = sha256_hex(document);
                for (name, operation) in valid.operations.named.iter() {
                    parsed.push((
                        name.to_string(),
                        operation_type_name(operation.operation_type),
                        digest.clone(),
                        document.clone(),
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError {
            report: Some(json!({ "invalid_documents": problems })),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_OPERATION",
                format!(
                    "{} document(s) do not validate against the latest supergraph; nothing was registered",
                    problems.len()
                ),
            )
        });
    }
    let mut transaction = state.database.begin().await?;
    let mut registered = Vec::new();
    let mut already = 0_usize;
    let mut new = 0_usize;
    for (name, operation_type, digest, document) in &parsed {
        let (inserted, stored_digest) = store::insert_operation(
            &mut transaction,
            &NewOperation {
                client_name: client,
                client_version,
                operation_name: name,
                operation_type,
                document_sha256: digest,
                document,
                registered_by: &caller.token_name,
            },
        )
        .await?;
        if !inserted && stored_digest != *digest {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "OPERATION_CHANGED",
                format!(
                    "{client} {client_version} already registered {name} with another document; register a new client version instead"
                ),
            ));
        }
        if inserted {
            new += 1;
        } else {
            already += 1;
        }
        registered.push(json!({ "name": name, "type": operation_type, "document_sha256": digest }));
    }
    transaction.commit().await?;
    Ok((
        if new > 0 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(json!({
            "client": client,
            "client_version": client_version,
            "registered": new,
            "already_registered": already,
            "operations": registered,
        })),
    )
        .into_response())
}

fn operation_json(row: &OperationRow, with_document: bool) -> Value {
    let mut value = json!({
        "client": row.client_name,
        "client_version": row.client_version,
        "name": row.operation_name,
        "type": row.operation_type,
        "document_sha256": row.document_sha256,
        "registered_by": row.registered_by,
        "registered_at": row.registered_at,
    });
    if with_document {
        value["document"] = Value::String(row.document.clone());
    }
    value
}

/// `GET /api/operations`: every registered operation with its document.
#[tracing::instrument(skip_all)]
pub async fn list_operations(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
) -> ApiResult {
    let rows = store::all_operations(&state.database).await?;
    Ok(Json(json!({
        "operations": rows.iter().map(|row| operation_json(row, true)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/operations/{sha256}`: the safelist lookup. 200 with who
/// registered the document, 404 when it is not on the list.
#[tracing::instrument(skip(state, _access))]
pub async fn operation_by_hash(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let digest = sha256.to_ascii_lowercase();
    if digest.len() != 64
        || !digest
            .chars()
            .all(|character| character.is_ascii_hexdigit())
    {
        return Err(ApiError::bad_request(
            "a document digest is 64 hexadecimal characters of SHA-256",
        ));
    }
    let rows = store::operations_by_digest(&state.database, &digest).await?;
    let Some(first) = rows.first() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_REGISTERED",
            "no client registered this document: it is not on the safelist",
        ));
    };
    Ok(Json(json!({
        "document_sha256": digest,
        "document": first.document,
        "operations": rows.iter().map(|row| operation_json(row, false)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/safelist`: every registered document as an Apollo persisted
/// query manifest (`id` is the document's SHA-256), the format routers and
/// gateways that enforce safelists read.
#[tracing::instrument(skip_all)]
pub async fn safelist(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
) -> ApiResult {
    let rows = store::all_operations(&state.database).await?;
    let mut seen = std::collections::BTreeSet::new();
    let operations: Vec<Value> = rows
        .iter()
        .filter(|row| seen.insert((row.document_sha256.clone(), row.operation_name.clone())))
        .map(|row| {
            json!({
                "id": row.document_sha256,
                "name": row.operation_name,
                "type": row.operation_type,
                "body": row.document,
            })
        })
        .collect();
    Ok(Json(json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": operations,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
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
