//! One database per subgraph on the stack's PostgreSQL, migrated and
//! seeded with the demo world; and the registry's database.

use std::time::Instant;

use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;
use talentgraph_launch::postgres::PostgresServer;
use talentgraph_subgraphs::SUBGRAPHS;

use crate::{DEVSTACK_TOKEN_NAME, DevstackError};

/// Refuses to seed when `TALENTGRAPH_ENV` says production: the demo world's
/// accounts share a password printed in the README.
pub fn refuse_production(lookup: impl Fn(&str) -> Option<String>) -> Result<(), DevstackError> {
    match lookup("TALENTGRAPH_ENV").as_deref().map(str::trim) {
        Some("production") => Err(DevstackError::ProductionEnvironment),
        _ => Ok(()),
    }
}

/// Creates (if needed), migrates and seeds one database per subgraph;
/// returns each subgraph's database URL.
pub async fn prepare_databases(
    server: &PostgresServer,
    world: &DemoWorld,
) -> Result<Vec<String>, DevstackError> {
    let mut urls = Vec::new();
    for subgraph in SUBGRAPHS {
        let name = format!("talentgraph_{}", subgraph.name);
        let (url, database) = server.open_database(&name).await?;
        database
            .run_migrations(subgraph.migrator)
            .await
            .map_err(talentgraph_kit::KitError::from)?;
        let started = Instant::now();
        let inserted = subgraph
            .seed_demo(&database, world)
            .await
            .map_err(|error| DevstackError::Seed {
                subgraph: subgraph.name,
                error,
            })?;
        eprintln!(
            "▸ {:<10} database {name}: migrated, {inserted} new demo rows ({:.1} s)",
            subgraph.name,
            started.elapsed().as_secs_f64()
        );
        database.close().await;
        urls.push(url);
    }
    Ok(urls)
}

/// Migrates the registry's database and issues this run's write token.
///
/// One token per run: the secret is rotated under the same name, so a
/// token printed by an earlier stack stops working and a second `up` on
/// the same data directory starts exactly like the first.
pub async fn prepare_registry_database(database: &Database) -> Result<String, DevstackError> {
    database
        .run_migrations(&schema_registry::server::MIGRATOR)
        .await
        .map_err(talentgraph_kit::KitError::from)?;
    schema_registry::server::tokens::rotate_token(
        database,
        DEVSTACK_TOKEN_NAME,
        &[
            schema_registry::server::Scope::Write,
            schema_registry::server::Scope::Approve,
            schema_registry::server::Scope::Register,
        ],
    )
    .await
    .map_err(|error| DevstackError::Registry(error.to_string()))
}
