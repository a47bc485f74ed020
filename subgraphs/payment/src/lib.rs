//! The payment subgraph: plans, subscriptions, job-posting credits,
//! invoices, the ledger, idempotent purchases and an outbox. Owns
//! `Invoice`; contributes `Organization.billing`, `Organization.invoices`,
//! `Organization.billingVerified` and `Job.promotion`.
//!
//! Money never moves here: an invoice for a purchase is issued as paid,
//! standing in for a payment provider's confirmation.
//!
//! `model` holds the GraphQL types, `query` and `mutation` the root
//! resolvers, `store` every SQL statement, `loaders` the per-request
//! batching; this file only wires them into the kit's descriptor.

pub mod demo;
pub mod error;
pub mod loaders;
pub mod model;
pub mod mutation;
pub mod query;
pub mod store;

use sqlx::migrate::Migrator;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;
use talentgraph_kit::subgraph::{SeedFuture, Subgraph};

pub use error::PaymentError;
pub use store::{CREDIT_PRICE_CENTS, MAX_CREDITS_PER_PURCHASE, purchase_total_cents};

/// The subgraph's migrations, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/payment");

/// How the binary, the dev stack and the tests run this subgraph.
pub static SUBGRAPH: Subgraph<DemoWorld> =
    Subgraph::usual::<query::Query, mutation::Mutation, loaders::Loaders>(
        "payment", 4005, &MIGRATOR, seed_demo,
    )
    .with_event_tasks(event_tasks);

/// Payment produces events: its outbox relay.
fn event_tasks(
    database: &Database,
    broker: &talentgraph_kit::events::Broker,
    stop: talentgraph_kit::events::StopSignal,
) -> Vec<talentgraph_kit::events::EventTask> {
    vec![talentgraph_kit::events::outbox_relay_task(
        database, broker, "payment", stop,
    )]
}

fn seed_demo<'a>(database: &'a Database, world: &'a DemoWorld) -> SeedFuture<'a> {
    Box::pin(demo::seed(database, world))
}
