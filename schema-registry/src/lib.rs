//! Schema governance for the Talentgraph supergraph.
//!
//! Reading rover's `supergraph.yaml`, composing the subgraphs into a
//! supergraph with `apollo-federation` (pinned to the version the router
//! runs), classifying schema changes, validating client operations, and
//! planning them with the same query planner to hold pages to fetch
//! budgets. `server` is the schema registry (axum and PostgreSQL) and
//! `client` the CLI's side of its HTTP API. The `schema-check` and
//! `schema-registry` binaries are thin command lines over this library.

pub mod api;
pub mod check;
pub mod cli;
pub mod client;
pub mod compose;
pub mod config;
pub mod diff;
pub mod operations;
pub mod plan;
pub mod remote;
pub mod report;
pub mod server;
pub mod trust;
pub mod trusted_documents;

pub use compose::{
    ComposedSupergraph, CompositionDiagnostic, SubgraphInput, compose_from_config,
    compose_subgraphs,
};
pub use config::{SubgraphSource, SupergraphConfig};

/// The lowercase hexadecimal SHA-256 of `text`: how the registry names SDL
/// versions, supergraphs and client documents.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The one error enum of this crate.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid supergraph configuration: {message}")]
    Config {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("composition failed with {} error(s)", .0.len())]
    Composition(Vec<CompositionDiagnostic>),
    #[error("cannot plan {path}: {message}")]
    Plan {
        path: std::path::PathBuf,
        message: String,
    },
    /// The registry answered with an error status.
    #[error("the registry refused the request ({status}): {message}")]
    Registry { status: u16, message: String },
    /// The registry could not be reached or answered something unreadable.
    #[error("cannot talk to the registry at {url}: {message}")]
    RegistryUnreachable { url: String, message: String },
    /// Bad configuration or environment at the registry server's start-up.
    #[error("configuration error: {0}")]
    ServerConfig(String),
    #[error("database error: {}", .0.detail())]
    Database(talentgraph_kit::DatabaseError),
    #[error("cannot connect to the database: {0}")]
    DatabaseConnect(sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Kit(#[from] talentgraph_kit::KitError),
}

impl From<talentgraph_kit::DatabaseError> for RegistryError {
    fn from(error: talentgraph_kit::DatabaseError) -> Self {
        Self::Database(error)
    }
}
