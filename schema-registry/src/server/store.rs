//! The registry's SQL, one function per statement.

use chrono::{DateTime, Utc};
use talentgraph_kit::Database;
use talentgraph_kit::database::Transaction;

use crate::RegistryError;

/// A published subgraph schema version.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct SubgraphVersionRow {
    pub id: i64,
    pub subgraph: String,
    pub version: i32,
    pub routing_url: String,
    pub sdl: String,
    pub sdl_sha256: String,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
    pub supergraph_version_id: i64,
    /// The check's changes at publication, as JSON text.
    pub changes: String,
}

/// A version in a subgraph's history, with its approval when it needed one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub version: i32,
    pub routing_url: String,
    pub sdl_sha256: String,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
    pub supergraph_version_id: i64,
    pub changes: String,
    pub approved_by: Option<String>,
    pub approval_reason: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
}

/// A composed supergraph.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SupergraphRow {
    pub id: i64,
    pub sdl: String,
    pub api_sdl: String,
    pub sdl_sha256: String,
    pub composed_at: DateTime<Utc>,
}

/// A registered client operation.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct OperationRow {
    pub client_name: String,
    pub client_version: String,
    pub operation_name: String,
    pub operation_type: String,
    pub document_sha256: String,
    pub document: String,
    pub registered_by: String,
    pub registered_at: DateTime<Utc>,
}

const SUBGRAPH_VERSION_COLUMNS: &str = "id, subgraph, version, routing_url, sdl, sdl_sha256, \
     published_by, published_at, supergraph_version_id, changes::text AS changes";

const LATEST_SUBGRAPH_VERSIONS: &str = "SELECT DISTINCT ON (subgraph) id, subgraph, version, \
     routing_url, sdl, sdl_sha256, published_by, published_at, supergraph_version_id, \
     changes::text AS changes FROM subgraph_versions ORDER BY subgraph, version DESC";

const LATEST_SUPERGRAPH: &str = "SELECT id, sdl, api_sdl, sdl_sha256, composed_at \
     FROM supergraph_versions ORDER BY id DESC LIMIT 1";

const ALL_OPERATIONS: &str = "SELECT client_name, client_version, operation_name, operation_type, \
     document_sha256, document, registered_by, registered_at FROM client_operations \
     ORDER BY client_name, client_version, operation_name";

/// Serialises publications: each one checks against, and then replaces,
/// the latest state, so two at once must not both see the same "latest".
#[tracing::instrument(skip_all)]
pub async fn lock_publications(transaction: &mut Transaction) -> Result<(), RegistryError> {
    // 4100 is the registry's port: an arbitrary but recognisable lock key.
    transaction
        .execute(sqlx::query("SELECT pg_advisory_xact_lock(4100)"))
        .await?;
    Ok(())
}

/// The newest version of every subgraph, by name.
#[tracing::instrument(skip_all)]
pub async fn latest_subgraph_versions(
    transaction: &mut Transaction,
) -> Result<Vec<SubgraphVersionRow>, RegistryError> {
    Ok(transaction
        .fetch_all(sqlx::query_as(LATEST_SUBGRAPH_VERSIONS))
        .await?)
}

/// The newest version of every subgraph, outside a transaction.
#[tracing::instrument(skip_all)]
pub async fn list_subgraphs(database: &Database) -> Result<Vec<SubgraphVersionRow>, RegistryError> {
    Ok(database
        .fetch_all(sqlx::query_as(LATEST_SUBGRAPH_VERSIONS))
        .await?)
}

/// The latest composed supergraph.
#[tracing::instrument(skip_all)]
pub async fn latest_supergraph(
    database: &Database,
) -> Result<Option<SupergraphRow>, RegistryError> {
    Ok(database
        .fetch_optional(sqlx::query_as(LATEST_SUPERGRAPH))
        .await?)
}

/// The latest composed supergraph, inside the publication's transaction.
#[tracing::instrument(skip_all)]
pub async fn latest_supergraph_locked(
    transaction: &mut Transaction,
) -> Result<Option<SupergraphRow>, RegistryError> {
    Ok(transaction
        .fetch_optional(sqlx::query_as(LATEST_SUPERGRAPH))
        .await?)
}

/// Stores a composed supergraph and returns its id.
#[tracing::instrument(skip_all)]
pub async fn insert_supergraph(
    transaction: &mut Transaction,
    sdl: &str,
    api_sdl: &str,
    sdl_sha256: &str,
) -> Result<i64, RegistryError> {
    Ok(transaction
        .fetch_scalar(
            sqlx::query_scalar(
                "INSERT INTO supergraph_versions (sdl, api_sdl, sdl_sha256) VALUES ($1, $2, $3) \
                 RETURNING id",
            )
            .bind(sdl)
            .bind(api_sdl)
            .bind(sdl_sha256),
        )
        .await?)
}

/// A new subgraph version, as the publication stores it.
#[derive(Debug, Clone)]
pub struct NewSubgraphVersion<'a> {
    pub subgraph: &'a str,
    pub version: i32,
    pub routing_url: &'a str,
    pub sdl: &'a str,
    pub sdl_sha256: &'a str,
    pub published_by: &'a str,
    pub supergraph_version_id: i64,
    pub changes_json: String,
}

/// Stores a subgraph version and returns its id.
#[tracing::instrument(skip_all, fields(subgraph = new.subgraph, version = new.version))]
pub async fn insert_subgraph_version(
    transaction: &mut Transaction,
    new: &NewSubgraphVersion<'_>,
) -> Result<i64, RegistryError> {
    Ok(transaction
        .fetch_scalar(
            sqlx::query_scalar(
                "INSERT INTO subgraph_versions (subgraph, version, routing_url, sdl, sdl_sha256, \
                 published_by, supergraph_version_id, changes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING id",
            )
            .bind(new.subgraph)
            .bind(new.version)
            .bind(new.routing_url)
            .bind(new.sdl)
            .bind(new.sdl_sha256)
            .bind(new.published_by)
            .bind(new.supergraph_version_id)
            .bind(&new.changes_json),
        )
        .await?)
}

/// Records who approved a failing check, why, and the report they approved.
#[tracing::instrument(skip(transaction, report_json))]
pub async fn insert_approval(
    transaction: &mut Transaction,
    subgraph_version_id: i64,
    approved_by: &str,
    reason: &str,
    report_json: &str,
) -> Result<(), RegistryError> {
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO approvals (subgraph_version_id, approved_by, reason, approved_report) \
                 VALUES ($1, $2, $3, $4::jsonb)",
            )
            .bind(subgraph_version_id)
            .bind(approved_by)
            .bind(reason)
            .bind(report_json),
        )
        .await?;
    Ok(())
}

/// A subgraph's versions, newest first, with their approvals.
#[tracing::instrument(skip(database))]
pub async fn subgraph_history(
    database: &Database,
    subgraph: &str,
) -> Result<Vec<HistoryRow>, RegistryError> {
    Ok(database
        .fetch_all(
            sqlx::query_as(
                "SELECT v.version, v.routing_url, v.sdl_sha256, v.published_by, v.published_at, \
                 v.supergraph_version_id, v.changes::text AS changes, a.approved_by, \
                 a.reason AS approval_reason, a.approved_at \
                 FROM subgraph_versions v LEFT JOIN approvals a ON a.subgraph_version_id = v.id \
                 WHERE v.subgraph = $1 ORDER BY v.version DESC",
            )
            .bind(subgraph),
        )
        .await?)
}

/// One version of a subgraph; `None` for the latest.
#[tracing::instrument(skip(database))]
pub async fn subgraph_version(
    database: &Database,
    subgraph: &str,
    version: Option<i32>,
) -> Result<Option<SubgraphVersionRow>, RegistryError> {
    Ok(database
        .fetch_optional(
            sqlx::query_as(&format!(
                "SELECT {SUBGRAPH_VERSION_COLUMNS} FROM subgraph_versions \
                 WHERE subgraph = $1 AND ($2::integer IS NULL OR version = $2) \
                 ORDER BY version DESC LIMIT 1"
            ))
            .bind(subgraph)
            .bind(version),
        )
        .await?)
}

/// Every registered operation.
#[tracing::instrument(skip_all)]
pub async fn all_operations(database: &Database) -> Result<Vec<OperationRow>, RegistryError> {
    Ok(database.fetch_all(sqlx::query_as(ALL_OPERATIONS)).await?)
}

/// Every registered operation, inside the publication's transaction.
#[tracing::instrument(skip_all)]
pub async fn all_operations_locked(
    transaction: &mut Transaction,
) -> Result<Vec<OperationRow>, RegistryError> {
    Ok(transaction
        .fetch_all(sqlx::query_as(ALL_OPERATIONS))
        .await?)
}

/// The operations registered under a document digest.
#[tracing::instrument(skip(database))]
pub async fn operations_by_digest(
    database: &Database,
    document_sha256: &str,
) -> Result<Vec<OperationRow>, RegistryError> {
    Ok(database
        .fetch_all(
            sqlx::query_as(
                "SELECT client_name, client_version, operation_name, operation_type, \
                 document_sha256, document, registered_by, registered_at FROM client_operations \
                 WHERE document_sha256 = $1 ORDER BY client_name, client_version, operation_name",
            )
            .bind(document_sha256),
        )
        .await?)
}

/// A client operation to register.
#[derive(Debug, Clone)]
pub struct NewOperation<'a> {
    pub client_name: &'a str,
    pub client_version: &'a str,
    pub operation_name: &'a str,
    pub operation_type: &'a str,
    pub document_sha256: &'a str,
    pub document: &'a str,
    pub registered_by: &'a str,
}

/// Registers an operation unless its client version already has one by
/// that name; returns the digest stored under the name either way, so the
/// caller can tell "already there" from "changed".
#[tracing::instrument(skip_all, fields(client = new.client_name, operation = new.operation_name))]
pub async fn insert_operation(
    transaction: &mut Transaction,
    new: &NewOperation<'_>,
) -> Result<(bool, String), RegistryError> {
    let inserted = transaction
        .execute(
            sqlx::query(
                "INSERT INTO client_operations (client_name, client_version, operation_name, \
                 operation_type, document_sha256, document, registered_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (client_name, client_version, operation_name) DO NOTHING",
            )
            .bind(new.client_name)
            .bind(new.client_version)
            .bind(new.operation_name)
            .bind(new.operation_type)
            .bind(new.document_sha256)
            .bind(new.document)
            .bind(new.registered_by),
        )
        .await?;
    if inserted == 1 {
        return Ok((true, new.document_sha256.to_owned()));
    }
    let existing: String = transaction
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT document_sha256 FROM client_operations \
                 WHERE client_name = $1 AND client_version = $2 AND operation_name = $3",
            )
            .bind(new.client_name)
            .bind(new.client_version)
            .bind(new.operation_name),
        )
        .await?;
    Ok((false, existing))
}
