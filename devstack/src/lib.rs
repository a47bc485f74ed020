//! The local dev stack: everything Talentgraph needs, with one command.
//!
//! `up` starts PostgreSQL (a cluster kept under `target/devstack/` unless
//! `DATABASE_URL` names a server), creates one database per subgraph, runs
//! each subgraph's migrations, loads the demo data, and serves the six
//! subgraphs on their DESIGN.md ports until Ctrl-C, when it stops all it
//! started. This crate and `schema-registry` are the only places that know
//! the full list of subgraphs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sqlx::Connection;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::local_postgres::PersistentCluster;
use talentgraph_kit::{Database, DatabaseError, LogFormat, SubgraphConfig, SubgraphDefinition};

/// The subgraphs, in DESIGN.md's port order.
pub const SUBGRAPHS: [&SubgraphDefinition; 6] = [
    &talentgraph_core::DEFINITION,
    &talentgraph_auth::DEFINITION,
    &talentgraph_jobseeker::DEFINITION,
    &talentgraph_employer::DEFINITION,
    &talentgraph_payment::DEFINITION,
    &talentgraph_internship::DEFINITION,
];

/// The port of the dev stack's own PostgreSQL cluster (not 5432, so it
/// never collides with a system server).
pub const DEFAULT_POSTGRES_PORT: u16 = 54329;

/// The one error enum of this crate.
#[derive(Debug, thiserror::Error)]
pub enum DevstackError {
    #[error("{0}")]
    Usage(String),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("database {database}: {source}")]
    Database {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("seeding {subgraph}: {source}")]
    Seed {
        subgraph: &'static str,
        #[source]
        source: DatabaseError,
    },
    #[error(transparent)]
    Kit(#[from] talentgraph_kit::KitError),
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Bring the whole stack up and serve until Ctrl-C (the default).
    Up {
        world: DemoWorld,
    },
    /// Only create, migrate and seed the databases.
    Seed {
        world: DemoWorld,
    },
    /// Write every subgraph's `schema.graphql` from the code.
    ExportSchemas,
    Help,
}

const USAGE: &str = "usage: cargo run -p devstack -- [up|seed|export-schemas|help] [--small]

  up              PostgreSQL, databases, migrations, demo data and the six subgraphs (default)
  seed            only create, migrate and seed the databases
  export-schemas  regenerate subgraphs/*/schema.graphql
  --small         use the small demo world the tests use instead of the standard one

Environment: DATABASE_URL (a server to use instead of the stack's own cluster under
target/devstack/), DEVSTACK_POSTGRES_PORT (default 54329), RUST_LOG.";

/// Parses the command line.
pub fn parse_command(arguments: &[String]) -> Result<Command, DevstackError> {
    let small = arguments.iter().any(|argument| argument == "--small");
    let world = if small {
        DemoWorld::SMALL
    } else {
        DemoWorld::STANDARD
    };
    let verbs: Vec<&String> = arguments
        .iter()
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    if let Some(unknown) = arguments
        .iter()
        .find(|argument| argument.starts_with("--") && *argument != "--small")
    {
        return Err(DevstackError::Usage(format!(
            "unknown option {unknown}\n\n{USAGE}"
        )));
    }
    match verbs.as_slice() {
        [] => Ok(Command::Up { world }),
        [verb] => match verb.as_str() {
            "up" => Ok(Command::Up { world }),
            "seed" => Ok(Command::Seed { world }),
            "export-schemas" => Ok(Command::ExportSchemas),
            "help" => Ok(Command::Help),
            other => Err(DevstackError::Usage(format!(
                "unknown command {other}\n\n{USAGE}"
            ))),
        },
        _ => Err(DevstackError::Usage(format!(
            "one command at a time\n\n{USAGE}"
        ))),
    }
}

/// Runs the command line; the body of `main`.
pub fn main_with_args(arguments: Vec<String>) -> ExitCode {
    let command = match parse_command(&arguments) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("devstack: {error}");
            return ExitCode::from(2);
        }
    };
    if command == Command::Help {
        eprintln!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if let Err(error) = talentgraph_kit::telemetry::init_logging(LogFormat::Pretty) {
        eprintln!("devstack: {error}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("devstack: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Up { world } => up(world).await,
            Command::Seed { world } => {
                let server = DatabaseServer::start()?;
                let result = prepare_databases(&server, &world).await.map(|_| ());
                server.stop_if_started();
                result
            }
            Command::ExportSchemas => export_schemas(),
            Command::Help => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("devstack: {error}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Writes each subgraph's exported SDL next to its crate.
pub fn export_schemas() -> Result<(), DevstackError> {
    let schemas: [(&str, String); 6] = [
        ("core", talentgraph_core::exported_sdl()),
        ("auth", talentgraph_auth::exported_sdl()),
        ("jobseeker", talentgraph_jobseeker::exported_sdl()),
        ("employer", talentgraph_employer::exported_sdl()),
        ("payment", talentgraph_payment::exported_sdl()),
        ("internship", talentgraph_internship::exported_sdl()),
    ];
    for (name, sdl) in schemas {
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

/// The PostgreSQL server the stack uses.
struct DatabaseServer {
    admin_url: String,
    cluster: Option<PersistentCluster>,
}

impl DatabaseServer {
    fn start() -> Result<Self, DevstackError> {
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.trim().is_empty()
        {
            eprintln!("▸ using the PostgreSQL server in DATABASE_URL");
            return Ok(Self {
                admin_url: url,
                cluster: None,
            });
        }
        let port = match std::env::var("DEVSTACK_POSTGRES_PORT") {
            Ok(port) => port.parse().map_err(|_| {
                DevstackError::Usage(format!(
                    "DEVSTACK_POSTGRES_PORT={port:?} is not a port number"
                ))
            })?,
            Err(_) => DEFAULT_POSTGRES_PORT,
        };
        let directory = workspace_root()
            .join("target")
            .join("devstack")
            .join("postgres");
        eprintln!(
            "▸ starting PostgreSQL in {} on port {port}",
            directory.display()
        );
        let cluster =
            PersistentCluster::ensure_running(&directory, port).map_err(DevstackError::Postgres)?;
        if !cluster.started_here {
            eprintln!("  (it was already running; it will be left running)");
        }
        Ok(Self {
            admin_url: cluster.url_for("postgres"),
            cluster: Some(cluster),
        })
    }

    fn stop_if_started(&self) {
        if let Some(cluster) = self.cluster.as_ref().filter(|cluster| cluster.started_here) {
            eprintln!("▸ stopping PostgreSQL");
            if let Err(error) = cluster.stop() {
                eprintln!("devstack: {error}");
            }
        }
    }
}

/// Creates (if needed), migrates and seeds one database per subgraph;
/// returns each subgraph's database URL.
async fn prepare_databases(
    server: &DatabaseServer,
    world: &DemoWorld,
) -> Result<Vec<String>, DevstackError> {
    let mut admin = sqlx::PgConnection::connect(&server.admin_url)
        .await
        .map_err(|source| DevstackError::Database {
            database: "postgres".to_owned(),
            source,
        })?;
    let mut urls = Vec::new();
    for definition in SUBGRAPHS {
        let name = format!("talentgraph_{}", definition.name);
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_optional(&mut admin)
            .await
            .map_err(|source| DevstackError::Database {
                database: name.clone(),
                source,
            })?;
        if exists.is_none() {
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
                .map_err(|source| DevstackError::Database {
                    database: name.clone(),
                    source,
                })?;
        }
        let url = talentgraph_kit::config::database_url_with_name(&server.admin_url, &name);
        let database = Database::connect(&url, 4, Duration::from_secs(10))
            .await
            .map_err(|source| DevstackError::Database {
                database: name.clone(),
                source,
            })?;
        database
            .run_migrations(definition.migrator)
            .await
            .map_err(talentgraph_kit::KitError::from)?;
        let started = Instant::now();
        let inserted = seed(definition.name, &database, world)
            .await
            .map_err(|source| DevstackError::Seed {
                subgraph: definition.name,
                source,
            })?;
        eprintln!(
            "▸ {:<10} database {name}: migrated, {inserted} new demo rows ({:.1} s)",
            definition.name,
            started.elapsed().as_secs_f64()
        );
        database.close().await;
        urls.push(url);
    }
    Ok(urls)
}

async fn seed(
    subgraph: &str,
    database: &Database,
    world: &DemoWorld,
) -> Result<u64, DatabaseError> {
    match subgraph {
        "core" => talentgraph_core::demo::seed(database, world).await,
        "auth" => talentgraph_auth::demo::seed(database, world).await,
        "jobseeker" => talentgraph_jobseeker::demo::seed(database, world).await,
        "employer" => talentgraph_employer::demo::seed(database, world).await,
        "payment" => talentgraph_payment::demo::seed(database, world).await,
        "internship" => talentgraph_internship::demo::seed(database, world).await,
        _ => Ok(0),
    }
}

/// Brings everything up and serves until Ctrl-C.
async fn up(world: DemoWorld) -> Result<(), DevstackError> {
    let server = DatabaseServer::start()?;
    let result = serve_subgraphs(&server, &world).await;
    server.stop_if_started();
    result
}

async fn serve_subgraphs(server: &DatabaseServer, world: &DemoWorld) -> Result<(), DevstackError> {
    let urls = prepare_databases(server, world).await?;
    let mut tasks = Vec::new();
    for (definition, url) in SUBGRAPHS.into_iter().zip(urls) {
        // Each subgraph reads the same variables a deployed one would, except
        // its address and database, which the stack assigns.
        let config =
            SubgraphConfig::from_lookup(definition.default_port, |variable| match variable {
                "DATABASE_URL" => Some(url.clone()),
                "LISTEN_ADDR" => None,
                other => std::env::var(other).ok(),
            })
            .map_err(talentgraph_kit::KitError::from)?;
        let address = config.listen_address;
        tasks.push((
            definition.name,
            address,
            tokio::spawn(
                async move { talentgraph_kit::server::run_subgraph(definition, config).await },
            ),
        ));
    }
    wait_until_listening(&tasks).await;
    print_summary(&tasks, world);
    let mut failure = None;
    for (name, _, task) in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("devstack: {name} stopped: {error}");
                failure.get_or_insert(DevstackError::Kit(error));
            }
            Err(error) => eprintln!("devstack: {name} crashed: {error}"),
        }
    }
    failure.map_or(Ok(()), Err)
}

type SubgraphTask = (
    &'static str,
    std::net::SocketAddr,
    tokio::task::JoinHandle<Result<(), talentgraph_kit::KitError>>,
);

async fn wait_until_listening(tasks: &[SubgraphTask]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for (_, address, task) in tasks {
        while Instant::now() < deadline && !task.is_finished() {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[allow(clippy::print_stdout)]
fn print_summary(tasks: &[SubgraphTask], world: &DemoWorld) {
    println!();
    println!("Talentgraph dev stack is up. Press Ctrl-C to stop everything it started.");
    println!();
    for (name, address, task) in tasks {
        let state = if task.is_finished() {
            "FAILED (see the log above)"
        } else {
            "ready"
        };
        println!("  {name:<10} http://{address}/graphql   ({state})");
    }
    println!();
    println!(
        "Demo data: {} users, {} organizations, {} jobs, {} applications, {} internships, {} invoices.",
        world.users,
        world.organizations,
        world.jobs,
        world.applications,
        world.internships,
        world.organizations * 3
    );
    println!("Demo accounts (sign-in arrives with token issuing; ids for now):");
    for (label, user) in [
        ("jobseeker", world.demo_jobseeker()),
        ("recruiter", world.demo_recruiter()),
        ("admin", world.demo_admin()),
    ] {
        println!(
            "  {label:<10} {:<34} user id {}",
            world.email(user),
            world.user_id(user)
        );
    }
    println!();
    println!("Try: curl -s http://127.0.0.1:4004/graphql -H 'content-type: application/json' \\");
    println!(
        "       -d '{{\"query\":\"{{ jobs(first: 3) {{ edges {{ node {{ title location }} }} }} }}\"}}'"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line parses into commands, and mistakes are usage errors.
    #[test]
    fn parses_the_command_line() {
        let parse = |words: &[&str]| {
            parse_command(
                &words
                    .iter()
                    .map(|word| (*word).to_owned())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            parse(&[]).expect("valid"),
            Command::Up {
                world: DemoWorld::STANDARD
            }
        );
        assert_eq!(
            parse(&["seed", "--small"]).expect("valid"),
            Command::Seed {
                world: DemoWorld::SMALL
            }
        );
        assert_eq!(
            parse(&["export-schemas"]).expect("valid"),
            Command::ExportSchemas
        );
        assert!(parse(&["launch"]).is_err());
        assert!(parse(&["up", "--fast"]).is_err());
        assert!(parse(&["up", "seed"]).is_err());
    }

    /// Every subgraph has a distinct port and name.
    #[test]
    fn subgraph_ports_and_names_are_distinct() {
        let mut ports: Vec<u16> = SUBGRAPHS
            .iter()
            .map(|definition| definition.default_port)
            .collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports, vec![4001, 4002, 4003, 4004, 4005, 4006]);
    }
}
