//! The one error enum of the kit crate.

use crate::config::ConfigError;

/// Everything that can stop a subgraph from starting or serving.
///
/// Request-level problems never surface as `KitError`: they become GraphQL
/// errors with a stable `extensions.code` (see [`crate::ErrorCode`]).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not connect to the database: {0}")]
    DatabaseConnect(#[source] sqlx::Error),
    #[error("could not run the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not bind {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("could not set up logging: {0}")]
    Logging(String),
    #[error("events: {0}")]
    Events(String),
    #[cfg(feature = "testing")]
    #[error("test harness: {0}")]
    TestHarness(String),
}
