//! Test harness: real PostgreSQL, a fresh database per test, spawned apps.
//!
//! - [`postgres`]: where test databases come from (a throwaway cluster, or
//!   the server in `DATABASE_URL`);
//! - [`app`]: a subgraph served on a free port, and how tests talk to it;
//! - [`conformance`]: the checks every subgraph runs (operation limits,
//!   malformed HTTP input);
//! - [`schema`]: committed SDL freshness, schema ↔ database agreement, and
//!   README tables rendered from the code.

pub mod app;
pub mod conformance;
pub mod postgres;
pub mod schema;

pub use app::{StaticBearerTokens, TEST_ROUTER_SECRET, TestApp, TestResponse, count_statements};
pub use conformance::{
    LimitProbes, assert_bad_http_input_rejected, assert_limits_enforced, batching_limits,
    fragment_fan_out, strict_test_config,
};
// The local servers tests start live beside the PostgreSQL launcher, since
// the dev stack and the launch crate start them too.
pub use crate::local_nats::NatsServer;
pub use crate::local_ports::{unused_loopback_address, unused_loopback_port};
pub use postgres::{PostgresServer, fresh_database, fresh_event_database};
pub use schema::{assert_committed_schema, assert_nullability_agrees, assert_readme_table};
