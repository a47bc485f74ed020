//! The local dev stack: everything Talentgraph needs, with one command.
//!
//! `up` starts PostgreSQL (a cluster kept under `target/devstack/` unless
//! `DATABASE_URL` names a server), creates one database per subgraph, runs
//! each subgraph's migrations, loads the demo data, serves the six
//! subgraphs on their ports (the README's port table), composes the
//! supergraph and runs the pinned Apollo Router in front of them
//! (installing it first if needed), starts the schema registry, and on
//! Ctrl-C stops all it started. The subgraphs come from the one list in
//! `talentgraph-subgraphs`; every other part is started by
//! `talentgraph-launch`.
//!
//! - `cli.rs`: the command line;
//! - `databases.rs`: one database per subgraph, migrated and seeded;
//! - `up.rs`: the running stack (subgraphs, router, registry, web app);
//! - `summary.rs`: what `up` prints once everything runs;
//! - `events.rs`: `devstack events dlq|replay`;
//! - `web.rs`: the built web app and the server that serves it.

use std::path::PathBuf;
use std::process::ExitCode;

use talentgraph_kit::{DatabaseError, LogFormat};
use talentgraph_launch::{LaunchError, workspace_root};
use talentgraph_subgraphs::SUBGRAPHS;

mod cli;
mod databases;
mod events;
mod summary;
mod up;
pub mod web;

pub use cli::{Command, parse_command};
pub use databases::{prepare_registry_database, refuse_production};
pub use up::router_secret;

/// The port of the dev stack's own PostgreSQL cluster (not 5432, so it
/// never collides with a system server).
pub const DEFAULT_POSTGRES_PORT: u16 = 54329;

/// The port of the dev stack's own NATS server (not 4222, so it never
/// collides with a system server).
pub const DEFAULT_NATS_PORT: u16 = 54222;

/// Where the dev stack's own Redis listens (`DEVSTACK_REDIS_PORT`): not
/// 6379, where a machine may run a Redis of its own.
pub const DEFAULT_REDIS_PORT: u16 = 56379;

/// Each subgraph's pool of serving connections when `DATABASE_MAX_CONNECTIONS`
/// is not set. The six subgraphs share one PostgreSQL here, and a backend
/// more than PostgreSQL can run at once only adds switching: under
/// JobSearchPage and InternshipBrowsePage at 32 connections, pools of 3
/// cost PostgreSQL 17 and 22 % less CPU per page than the kit's default of
/// 10, measured A B B A with `bench --variants` (docs/performance.md).
pub const DEVSTACK_DATABASE_MAX_CONNECTIONS: u32 = 3;

/// The worker threads of the runtime the six subgraphs share when
/// `ASYNC_WORKER_THREADS` is not set. tokio's default, one per core, makes
/// the subgraphs' threads take turns with the router's, PostgreSQL's and
/// the load's on a small machine: an idle worker parks, and waking it for
/// the next fetch cost about five context switches per `_entities` fetch.
/// Under JobSearchPage at 32 and 64 connections one thread spent 13 to 15 %
/// less subgraph CPU per page than two, at the same throughput, measured
/// A B B A with `bench --variants` (docs/performance.md).
pub const DEVSTACK_ASYNC_WORKER_THREADS: usize = 1;

/// The name of the registry token the dev stack issues itself.
pub const DEVSTACK_TOKEN_NAME: &str = "devstack";

/// The one error enum of this crate.
#[derive(Debug, thiserror::Error)]
pub enum DevstackError {
    #[error("{0}")]
    Usage(String),
    /// The environment says production, where demo accounts (whose
    /// passwords are in the README) must never exist.
    #[error(
        "TALENTGRAPH_ENV is production: devstack seeds demo accounts with published passwords and refuses to run there"
    )]
    ProductionEnvironment,
    #[error("seeding {subgraph}: {}", error.detail())]
    Seed {
        subgraph: &'static str,
        error: DatabaseError,
    },
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error(transparent)]
    Kit(#[from] talentgraph_kit::KitError),
    #[error("composition: {0}")]
    Composition(String),
    #[error("{0}")]
    Registry(String),
    #[error("web app: {0}")]
    Web(String),
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the command line; the body of `main`.
pub fn main_with_args(arguments: Vec<String>) -> ExitCode {
    let command = match parse_command(&arguments) {
        Ok(command) => command,
        Err(error) => return talentgraph_kit::server::command_line_exit(&error),
    };
    // The six subgraphs share this process, so they share one exporter: set
    // OTEL_EXPORTER_OTLP_ENDPOINT to see the dev stack's traces.
    let export =
        talentgraph_kit::telemetry::TraceExport::from_lookup("talentgraph-devstack", |name| {
            std::env::var(name).ok()
        });
    let telemetry =
        match talentgraph_kit::telemetry::init_telemetry(LogFormat::Pretty, export.as_ref()) {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("devstack: {error}");
                return ExitCode::FAILURE;
            }
        };
    let worker_threads = match talentgraph_kit::config::async_worker_threads_from_lookup(|name| {
        std::env::var(name).ok()
    }) {
        Ok(worker_threads) => worker_threads.unwrap_or(DEVSTACK_ASYNC_WORKER_THREADS),
        Err(error) => {
            eprintln!("devstack: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match talentgraph_kit::server::async_runtime(Some(worker_threads)) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("devstack: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if matches!(command, Command::Up { .. } | Command::Seed { .. }) {
            refuse_production(|name| std::env::var(name).ok())?;
        }
        match command {
            Command::Up { world, router } => up::up(world, router).await,
            Command::Seed { world } => {
                let server = postgres_server()?;
                let result = databases::prepare_databases(&server, &world)
                    .await
                    .map(|_| ());
                server.stop_if_started();
                result
            }
            Command::ExportSchemas => export_schemas(),
            Command::DeadLetters => events::list_dead_letters().await,
            Command::Replay { sequence } => events::replay_dead_letter(sequence).await,
        }
    });
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("devstack: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where the dev stack keeps its state: the PostgreSQL cluster, the NATS
/// store, the supergraph the router serves and the router's log.
pub fn devstack_directory() -> PathBuf {
    workspace_root().join("target").join("devstack")
}

/// Where the dev stack keeps its own PostgreSQL cluster, whose
/// Unix-domain socket is in this directory too.
pub fn postgres_directory() -> PathBuf {
    devstack_directory().join("postgres")
}

/// The server in `DATABASE_URL`, or the stack's own cluster on
/// `DEVSTACK_POSTGRES_PORT`.
fn postgres_server() -> Result<talentgraph_launch::postgres::PostgresServer, DevstackError> {
    let port =
        talentgraph_launch::port_from_environment("DEVSTACK_POSTGRES_PORT", DEFAULT_POSTGRES_PORT)?;
    Ok(
        talentgraph_launch::postgres::PostgresServer::from_environment_or_cluster(
            &postgres_directory(),
            port,
        )?,
    )
}

/// Every subgraph's federation SDL, exported from the code.
fn exported_schemas() -> Vec<(&'static str, String)> {
    SUBGRAPHS
        .iter()
        .map(|subgraph| (subgraph.name, subgraph.exported_sdl()))
        .collect()
}

/// Writes each subgraph's exported SDL next to its crate.
pub fn export_schemas() -> Result<(), DevstackError> {
    for (name, sdl) in exported_schemas() {
        let path = workspace_root()
            .join("subgraphs")
            .join(name)
            .join("schema.graphql");
        std::fs::write(&path, sdl).map_err(|source| DevstackError::Write {
            path: path.clone(),
            source,
        })?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
