//! Schema governance for the Talentgraph supergraph.
//!
//! Today: reading rover's `supergraph.yaml` and composing the subgraphs into
//! a supergraph with `apollo-federation`, pinned to the version the router
//! runs. The `schema-check` binary is a thin command line over this library.

pub mod cli;
pub mod compose;
pub mod config;
pub mod operations;

pub use compose::{
    ComposedSupergraph, CompositionDiagnostic, SubgraphInput, compose_from_config,
    compose_subgraphs,
};
pub use config::{SubgraphSource, SupergraphConfig};

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
}
