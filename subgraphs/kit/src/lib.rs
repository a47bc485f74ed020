//! The domain-free platform that every Talentgraph subgraph is built on.
//!
//! A subgraph crate contributes only its domain: its async-graphql schema,
//! its SQL and its migrations. Everything a production service needs around
//! that lives here, once: typed configuration from the environment, the
//! PostgreSQL pool with statement counting, GraphQL over HTTP with the
//! spec's status codes, operation limits with stable error codes, error
//! masking, structured logs, graceful shutdown, the process's allocator
//! (jemalloc, see `allocator.rs`) and (behind the `testing` feature) a
//! harness that gives each test a fresh database.

mod allocator;
pub mod auth;
pub mod batching;
pub mod config;
pub mod connections;
pub mod database;
pub mod demo;
pub mod entity_cache;

pub mod errors;
pub mod events;
pub mod generational_cache;
pub mod graphql;
pub mod guards;
pub mod http_app;
pub mod identity;
pub mod input;
pub mod loaders;
mod local_binaries;
pub mod local_nats;
pub mod local_ports;
pub mod local_postgres;
pub mod local_redis;
pub mod metrics;
pub mod pagination;
pub mod rate_limits;
mod redis_connection;
pub mod request;
pub mod server;
pub mod subgraph;
pub mod telemetry;
pub mod tokens;

#[cfg(feature = "testing")]
pub mod testing;

/// Crates the kit's macros name, so a subgraph need not depend on them
/// under the same name.
#[doc(hidden)]
pub mod reexports {
    pub use chrono;
    pub use serde;
    pub use sqlx;
    pub use uuid;
}

pub use config::{Environment, LimitsConfig, LogFormat, SubgraphConfig};
pub use database::{Database, DatabaseError, PlanCacheMode, RandomPageCost, ServingPool};

pub use errors::{
    CommonError, ErrorCode, KitError, client_error, conflict_error, database_failure, input_error,
    internal_error,
};
pub use graphql::GraphqlEndpoint;
pub use guards::RoleGuard;
pub use identity::{Role, Viewer};
pub use pagination::{Cursor, PageArgs, PageInfo};
pub use request::RequestContext;
pub use server::run_subgraph_main;
pub use subgraph::{Subgraph, SubgraphSchema};
