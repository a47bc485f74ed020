//! The employer subgraph: job postings and recruiters. Owns `Job`;
//! contributes `Organization.jobs`, `Organization.openJobsCount`,
//! `Organization.recruiters` and `User.recruiterAt`.
//!
//! `model` holds the GraphQL types, `query` and `mutation` the root
//! resolvers, `store` every SQL statement, `loaders` the per-request
//! batching, `visibility` who sees which jobs; this file only wires them into the kit's descriptor.

pub mod consumers;
pub mod demo;
pub mod error;
pub mod loaders;
pub mod model;
pub mod mutation;
pub mod query;
pub mod store;
pub mod visibility;

use sqlx::migrate::Migrator;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;
use talentgraph_kit::subgraph::{SeedFuture, Subgraph};

pub use error::EmployerError;

/// The subgraph's migrations, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/employer");

/// How the binary, the dev stack and the tests run this subgraph.
pub static SUBGRAPH: Subgraph<DemoWorld> =
    Subgraph::usual::<query::Query, mutation::Mutation, loaders::Loaders>(
        "employer", 4004, &MIGRATOR, seed_demo,
    )
    .with_event_tasks(consumers::event_tasks);

fn seed_demo<'a>(database: &'a Database, world: &'a DemoWorld) -> SeedFuture<'a> {
    Box::pin(demo::seed(database, world))
}
