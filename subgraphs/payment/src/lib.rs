//! The payment subgraph: plans, subscriptions, job-posting credits,
//! invoices, the double-entry ledger, idempotent purchases charged through a
//! payment provider, and the events around them. Owns `Invoice`;
//! contributes `Organization.billing`, `Organization.invoices`,
//! `Organization.billingVerified` and `Job.promotion`.
//!
//! A purchase is accepted in one transaction (a `PENDING` invoice and a
//! `charge.requested` event); the charge worker in `consumers` charges it at
//! the provider (crate `talentgraph-payment-provider`) and settles the
//! invoice; `webhook` settles what the worker could not. Postings consume
//! credits through employer's `job.posted` event.
//!
//! `model` holds the GraphQL types, `query` and `mutation` the root
//! resolvers, `store` every SQL statement, `loaders` the per-request
//! batching; this file only wires them into the kit's descriptor.

pub mod consumers;
pub mod demo;
pub mod error;
pub mod loaders;
pub mod model;
pub mod mutation;
pub mod query;
pub mod reconcile;
pub mod settings;
pub mod store;
pub mod webhook;

use axum::Router;
use sqlx::migrate::Migrator;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;
use talentgraph_kit::auth::SharedAuthenticator;
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::subgraph::{SeedFuture, Subgraph, UsualSchema};

pub use error::PaymentError;
pub use store::{CREDIT_PRICE_CENTS, MAX_CREDITS_PER_PURCHASE, purchase_total_cents};

/// The subgraph's migrations, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/payment");

/// How the binary, the dev stack and the tests run this subgraph: the
/// usual GraphQL app plus the provider's webhook route.
pub static SUBGRAPH: Subgraph<DemoWorld> = Subgraph {
    app_builder: app,
    deployed_app_builder: deployed_app,
    ..Subgraph::usual::<query::Query, mutation::Mutation, loaders::Loaders>(
        "payment", 4005, &MIGRATOR, seed_demo,
    )
    .with_event_tasks(consumers::event_tasks)
    .with_domain_settings(settings::PAYMENT_SETTINGS)
    .with_public_paths(&[webhook::PATH])
};

type Schema = UsualSchema<query::Query, mutation::Mutation, loaders::Loaders>;

fn app(database: Database, config: &SubgraphConfig, authenticator: SharedAuthenticator) -> Router {
    talentgraph_kit::subgraph::app::<Schema>(database.clone(), config, authenticator)
        .merge(webhook::routes(database, config))
}

fn deployed_app(database: Database, config: &SubgraphConfig) -> Router {
    talentgraph_kit::subgraph::deployed_app::<Schema>(database.clone(), config)
        .merge(webhook::routes(database, config))
}

fn seed_demo<'a>(database: &'a Database, world: &'a DemoWorld) -> SeedFuture<'a> {
    Box::pin(demo::seed(database, world))
}
