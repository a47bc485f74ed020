//! The local dev stack: everything Talentgraph needs, with one command.
//!
//! `up` starts PostgreSQL (a cluster kept under `target/devstack/` unless
//! `DATABASE_URL` names a server), creates one database per subgraph, runs
//! each subgraph's migrations, loads the demo data, serves the six
//! subgraphs on their ports (the README's port table), composes the
//! supergraph and runs the pinned Apollo Router in front of them
//! (installing it first if needed), starts the schema registry, and on
//! Ctrl-C stops all it started. The subgraphs come from the one list in
//! `talentgraph-subgraphs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sqlx::Connection;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::local_postgres::PersistentCluster;
use talentgraph_kit::{Database, DatabaseError, LogFormat, SubgraphConfig};
use talentgraph_subgraphs::SUBGRAPHS;

pub mod web;

/// The port of the dev stack's own PostgreSQL cluster (not 5432, so it
/// never collides with a system server).
pub const DEFAULT_POSTGRES_PORT: u16 = 54329;

/// The port of the dev stack's own NATS server (not 4222, so it never
/// collides with a system server).
pub const DEFAULT_NATS_PORT: u16 = 54222;

/// Each subgraph's pool of serving connections when `DATABASE_MAX_CONNECTIONS`
/// is not set. The six subgraphs share one PostgreSQL here, and a backend
/// more than PostgreSQL can run at once only adds switching: under
/// JobSearchPage and InternshipBrowsePage at 32 connections, pools of 3
/// cost PostgreSQL 17 and 22 % less CPU per page than the kit's default of
/// 10, measured A B B A with `bench --variants` (tests/README.md).
pub const DEVSTACK_DATABASE_MAX_CONNECTIONS: u32 = 3;

/// The worker threads of the runtime the six subgraphs share when
/// `ASYNC_WORKER_THREADS` is not set. tokio's default, one per core, makes
/// the subgraphs' threads take turns with the router's, PostgreSQL's and
/// the load's on a small machine: an idle worker parks, and waking it for
/// the next fetch cost about five context switches per `_entities` fetch.
/// Under JobSearchPage at 32 and 64 connections one thread spent 13 to 15 %
/// less subgraph CPU per page than two, at the same throughput, measured
/// A B B A with `bench --variants` (tests/README.md).
pub const DEVSTACK_ASYNC_WORKER_THREADS: usize = 1;

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
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("database {database}: {source}")]
    Database {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("seeding {subgraph}: {}", error.detail())]
    Seed {
        subgraph: &'static str,
        error: DatabaseError,
    },
    #[error(transparent)]
    Kit(#[from] talentgraph_kit::KitError),
    #[error("composition: {0}")]
    Composition(String),
    #[error("router: {0}")]
    Router(String),
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

/// What to do, once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Bring the whole stack up and serve until Ctrl-C (the default).
    Up {
        world: DemoWorld,
        router: RouterChoice,
    },
    /// Only create, migrate and seed the databases.
    Seed { world: DemoWorld },
    /// Write every subgraph's `schema.graphql` from the code.
    ExportSchemas,
    /// List the dead letters of a running stack's broker.
    DeadLetters,
    /// Publish a dead letter again on its original subject.
    Replay { sequence: u64 },
}

/// Runs Talentgraph locally: PostgreSQL, one database per subgraph, demo
/// data, the six subgraphs, the router and the schema registry.
#[derive(Debug, clap::Parser)]
#[command(
    name = "devstack",
    after_help = "Environment: DATABASE_URL (a server to use instead of the stack's own cluster \
                  under target/devstack/), DEVSTACK_POSTGRES_PORT (default 54329), NATS_URL (a NATS \
                  server to use instead of the stack's own), DEVSTACK_NATS_PORT (default 54222), RUST_LOG."
)]
struct DevstackCommandLine {
    #[command(subcommand)]
    command: Option<DevstackCommand>,
    /// Use the small demo world the tests use instead of the standard one.
    #[arg(long, global = true)]
    small: bool,
}

/// Which router serves the dev stack's supergraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RouterChoice {
    /// The pinned Apollo Router with `router/router.dev.yaml` (the default,
    /// and what production runs).
    #[default]
    Apollo,
    /// Hive Router (`scripts/install-hive-router.sh`) with the equivalent
    /// configuration [`hive_router_config`] writes. It has no Rhai, so the
    /// development profile's query-plan bound is not applied, and 0.2.0
    /// refuses `@defer` (JobDetailPage).
    Hive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
enum DevstackCommand {
    /// PostgreSQL, databases, migrations, demo data, the six subgraphs, the
    /// router (hot-reloading) and the schema registry (the default).
    Up {
        /// The router in front of the subgraphs.
        #[arg(long, value_enum, default_value_t = RouterChoice::Apollo)]
        router: RouterChoice,
    },
    /// Only create, migrate and seed the databases.
    Seed,
    /// Regenerate subgraphs/*/schema.graphql from the code.
    ExportSchemas,
    /// The event bus of a running stack: dead letters and their replay.
    Events {
        #[command(subcommand)]
        action: EventsAction,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
enum EventsAction {
    /// List the messages consumers gave up on, with their errors.
    Dlq,
    /// Publish dead letter SEQUENCE (from `dlq`) again on its original
    /// subject, after the consumer was fixed.
    Replay { sequence: u64 },
}

/// Parses the command line (without the program name). `--help` and usage
/// mistakes come back as clap's error, which knows how to print itself and
/// which exit code it means.
pub fn parse_command(arguments: &[String]) -> Result<Command, clap::Error> {
    use clap::Parser;
    let parsed = DevstackCommandLine::try_parse_from(
        std::iter::once("devstack").chain(arguments.iter().map(String::as_str)),
    )?;
    let world = if parsed.small {
        DemoWorld::SMALL
    } else {
        DemoWorld::STANDARD
    };
    Ok(
        match parsed.command.unwrap_or(DevstackCommand::Up {
            router: RouterChoice::Apollo,
        }) {
            DevstackCommand::Up { router } => Command::Up { world, router },
            DevstackCommand::Seed => Command::Seed { world },
            DevstackCommand::ExportSchemas => Command::ExportSchemas,
            DevstackCommand::Events {
                action: EventsAction::Dlq,
            } => Command::DeadLetters,
            DevstackCommand::Events {
                action: EventsAction::Replay { sequence },
            } => Command::Replay { sequence },
        },
    )
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
            Command::Up { world, router } => up(world, router).await,
            Command::Seed { world } => {
                let server = DatabaseServer::start()?;
                let result = prepare_databases(&server, &world).await.map(|_| ());
                server.stop_if_started();
                result
            }
            Command::ExportSchemas => export_schemas(),
            Command::DeadLetters => list_dead_letters().await,
            Command::Replay { sequence } => replay_dead_letter(sequence).await,
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

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
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

/// Where the dev stack keeps its own PostgreSQL cluster, whose
/// Unix-domain socket is in this directory too.
pub fn postgres_directory() -> PathBuf {
    workspace_root()
        .join("target")
        .join("devstack")
        .join("postgres")
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
        let directory = postgres_directory();
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

    /// A connection to the maintenance database, to create others.
    async fn admin_connection(&self) -> Result<sqlx::PgConnection, DevstackError> {
        sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|source| DevstackError::Database {
                database: "postgres".to_owned(),
                source,
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

/// Creates database `name` unless it exists.
async fn ensure_database(admin: &mut sqlx::PgConnection, name: &str) -> Result<(), DevstackError> {
    let failed = |source| DevstackError::Database {
        database: name.to_owned(),
        source,
    };
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut *admin)
        .await
        .map_err(failed)?;
    if exists.is_none() {
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut *admin)
            .await
            .map_err(failed)?;
    }
    Ok(())
}

/// Creates database `name` if needed and connects to it; returns its URL too.
async fn open_database(
    server: &DatabaseServer,
    admin: &mut sqlx::PgConnection,
    name: &str,
) -> Result<(String, Database), DevstackError> {
    ensure_database(admin, name).await?;
    let url = talentgraph_kit::config::database_url_with_name(&server.admin_url, name);
    let database = Database::connect(&url, 4, Duration::from_secs(10))
        .await
        .map_err(|source| DevstackError::Database {
            database: name.to_owned(),
            source,
        })?;
    Ok((url, database))
}

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
async fn prepare_databases(
    server: &DatabaseServer,
    world: &DemoWorld,
) -> Result<Vec<String>, DevstackError> {
    let mut admin = server.admin_connection().await?;
    let mut urls = Vec::new();
    for subgraph in SUBGRAPHS {
        let name = format!("talentgraph_{}", subgraph.name);
        let (url, database) = open_database(server, &mut admin, &name).await?;
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

/// Brings everything up and serves until Ctrl-C.
async fn up(world: DemoWorld, router: RouterChoice) -> Result<(), DevstackError> {
    let server = DatabaseServer::start()?;
    let nats = match NatsProcess::start() {
        Ok(nats) => nats,
        Err(error) => {
            server.stop_if_started();
            return Err(error);
        }
    };
    let result = serve_subgraphs(&server, &nats.url, &world, router).await;
    drop(nats);
    server.stop_if_started();
    result
}

/// The NATS server the stack's events go through: `NATS_URL` when set,
/// otherwise a `nats-server -js` of the stack's own with its store under
/// `target/devstack/nats`, stopped with the stack.
struct NatsProcess {
    url: String,
    child: Option<std::process::Child>,
}

impl NatsProcess {
    fn start() -> Result<Self, DevstackError> {
        if let Ok(url) = std::env::var("NATS_URL")
            && !url.trim().is_empty()
        {
            eprintln!("▸ using the NATS server in NATS_URL");
            return Ok(Self { url, child: None });
        }
        let port = match std::env::var("DEVSTACK_NATS_PORT") {
            Ok(port) => port.parse().map_err(|_| {
                DevstackError::Usage(format!("DEVSTACK_NATS_PORT={port:?} is not a port number"))
            })?,
            Err(_) => DEFAULT_NATS_PORT,
        };
        let store = workspace_root()
            .join("target")
            .join("devstack")
            .join("nats");
        std::fs::create_dir_all(&store).map_err(|source| DevstackError::Write {
            path: store.clone(),
            source,
        })?;
        eprintln!(
            "▸ starting NATS (JetStream) in {} on port {port}",
            store.display()
        );
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .unwrap_or("nats-server");
        let child = std::process::Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&store)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|error| {
                DevstackError::Usage(format!(
                    "cannot start nats-server ({error}); install it (Debian: apt-get install nats-server) or set NATS_URL"
                ))
            })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(DevstackError::Usage(format!(
                    "nats-server did not start on port {port} within 10 s (is the port taken? set DEVSTACK_NATS_PORT)"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            url: format!("nats://127.0.0.1:{port}"),
            child: Some(child),
        })
    }
}

impl Drop for NatsProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            eprintln!("▸ stopping NATS");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The broker a running dev stack uses.
async fn running_broker() -> Result<talentgraph_kit::events::Broker, DevstackError> {
    let url = std::env::var("NATS_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| {
            let port = std::env::var("DEVSTACK_NATS_PORT")
                .ok()
                .and_then(|port| port.parse().ok())
                .unwrap_or(DEFAULT_NATS_PORT);
            format!("nats://127.0.0.1:{port}")
        });
    let address = url.trim_start_matches("nats://").to_owned();
    if std::net::TcpStream::connect(&address).is_err() {
        return Err(DevstackError::Usage(format!(
            "no NATS server at {url}: start the stack with `devstack up` first"
        )));
    }
    talentgraph_kit::events::Broker::connect(&url, "devstack-events")
        .await
        .map_err(|error| DevstackError::Usage(error.to_string()))
}

#[allow(clippy::print_stdout)]
async fn list_dead_letters() -> Result<(), DevstackError> {
    let letters = running_broker()
        .await?
        .dead_letters()
        .await
        .map_err(|error| DevstackError::Usage(error.to_string()))?;
    if letters.is_empty() {
        println!("no dead letters");
    }
    for letter in letters {
        println!(
            "{}\t{}\t{}\t{}",
            letter.sequence, letter.consumer, letter.original_subject, letter.error
        );
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn replay_dead_letter(sequence: u64) -> Result<(), DevstackError> {
    running_broker()
        .await?
        .replay_dead_letter(sequence)
        .await
        .map_err(|error| DevstackError::Usage(error.to_string()))?;
    println!("replayed dead letter {sequence}");
    Ok(())
}

async fn serve_subgraphs(
    server: &DatabaseServer,
    nats_url: &str,
    world: &DemoWorld,
    router_choice: RouterChoice,
) -> Result<(), DevstackError> {
    let urls = prepare_databases(server, world).await?;
    let provider = LocalPaymentProvider::start().await?;
    let mut tasks = Vec::new();
    for (subgraph, url) in SUBGRAPHS.into_iter().zip(urls) {
        // Each subgraph reads the same variables a deployed one would, except
        // its address and database, which the stack assigns.
        let config =
            SubgraphConfig::from_lookup(subgraph.default_port, |variable| match variable {
                "DATABASE_URL" => Some(url.clone()),
                "LISTEN_ADDR" => None,
                "ROUTER_SHARED_SECRET" => Some(router_secret()),
                "NATS_URL" => Some(nats_url.to_owned()),
                "DATABASE_MAX_CONNECTIONS" => std::env::var(variable)
                    .ok()
                    .or_else(|| Some(DEVSTACK_DATABASE_MAX_CONNECTIONS.to_string())),
                "PAYMENT_PROVIDER_URL" => Some(provider.url.clone()),
                "PAYMENT_PROVIDER_SECRET_KEY" => Some(provider.secret_key.clone()),
                "PAYMENT_WEBHOOK_SECRET" => Some(provider.webhook_secret.clone()),
                other => std::env::var(other).ok(),
            })
            .map_err(talentgraph_kit::KitError::from)?;
        let address = config.listen_address;
        tasks.push((
            subgraph.name,
            address,
            tokio::spawn(
                async move { talentgraph_kit::server::run_subgraph(subgraph, config).await },
            ),
        ));
    }
    wait_until_listening(&tasks).await;
    provider.register_webhook(&tasks).await;
    let inputs = running_subgraphs(&tasks);
    let router = match start_router(&inputs, router_choice) {
        Ok(router) => Some(router),
        Err(error) => {
            eprintln!("devstack: {error}\n  the subgraphs stay up without the router");
            None
        }
    };
    let registry = match start_registry(server, &inputs).await {
        Ok(registry) => Some(registry),
        Err(error) => {
            eprintln!("devstack: schema registry: {error}\n  the stack stays up without it");
            None
        }
    };
    let web_app_running =
        match start_web_app(registry.as_ref().map(|(_, token)| token.as_str())).await {
            Ok(()) => true,
            Err(error) => {
                eprintln!("devstack: {error}\n  the stack stays up without the web app");
                false
            }
        };
    print_summary(
        &tasks,
        world,
        router.is_some().then_some(router_choice),
        web_app_running,
        registry.as_ref().map(|(_, token)| token.as_str()),
    );
    println!("{}", provider.summary());
    let mut failure = None;
    let mut router = router;
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
    if let Some(child) = router.as_mut() {
        eprintln!("▸ stopping the router");
        let _ = child.kill();
        let _ = child.wait();
    }
    failure.map_or(Ok(()), Err)
}

/// The payment provider the stack's payment subgraph charges through:
/// `PAYMENT_PROVIDER_URL` (with `PAYMENT_PROVIDER_SECRET_KEY`) when set,
/// otherwise localstripe behind the idempotency and fault proxy, installed
/// on first use by `scripts/install-localstripe.sh` and stopped with the
/// stack.
struct LocalPaymentProvider {
    url: String,
    secret_key: String,
    webhook_secret: String,
    local: Option<talentgraph_payment_provider::local::LocalProvider>,
}

impl LocalPaymentProvider {
    async fn start() -> Result<Self, DevstackError> {
        let webhook_secret = std::env::var("PAYMENT_WEBHOOK_SECRET")
            .unwrap_or_else(|_| "whsec_talentgraph_devstack".to_owned());
        if let (Ok(url), Ok(secret_key)) = (
            std::env::var("PAYMENT_PROVIDER_URL"),
            std::env::var("PAYMENT_PROVIDER_SECRET_KEY"),
        ) {
            eprintln!("▸ using the payment provider in PAYMENT_PROVIDER_URL");
            return Ok(Self {
                url,
                secret_key,
                webhook_secret,
                local: None,
            });
        }
        if !talentgraph_payment_provider::local::localstripe_python().exists() {
            eprintln!(
                "▸ installing localstripe (the local payment provider) with scripts/install-localstripe.sh"
            );
            let status = std::process::Command::new("bash")
                .arg(workspace_root().join("scripts/install-localstripe.sh"))
                .stdout(std::process::Stdio::null())
                .status()
                .map_err(|error| {
                    DevstackError::Usage(format!(
                        "cannot run scripts/install-localstripe.sh: {error}"
                    ))
                })?;
            if !status.success() {
                return Err(DevstackError::Usage(
                    "scripts/install-localstripe.sh failed (see above); or set PAYMENT_PROVIDER_URL and PAYMENT_PROVIDER_SECRET_KEY"
                        .to_owned(),
                ));
            }
        }
        eprintln!(
            "▸ starting the local payment provider (localstripe behind the idempotency proxy)"
        );
        let local = talentgraph_payment_provider::local::LocalProvider::start()
            .await
            .map_err(DevstackError::Usage)?;
        Ok(Self {
            url: local.url(),
            secret_key: talentgraph_payment_provider::local::LOCAL_SECRET_KEY.to_owned(),
            webhook_secret,
            local: Some(local),
        })
    }

    /// Points localstripe's webhooks at the payment subgraph.
    async fn register_webhook(&self, tasks: &[SubgraphTask]) {
        let (Some(local), Some((_, address, _))) = (
            &self.local,
            tasks.iter().find(|(name, _, _)| *name == "payment"),
        ) else {
            return;
        };
        if let Err(error) = local
            .register_webhook(
                &format!("http://{address}/webhooks/provider"),
                &self.webhook_secret,
                &["payment_intent.succeeded", "payment_intent.payment_failed"],
            )
            .await
        {
            eprintln!("devstack: could not register payment's webhook with localstripe: {error}");
        }
    }

    fn summary(&self) -> String {
        match &self.local {
            Some(local) => format!(
                "Payments: localstripe at {} behind the idempotency proxy at {} (faults: POST {}/_proxy/faults).\n\
                 Test payment methods: pm_card_visa pays, pm_card_chargeCustomerFail is declined.",
                local.localstripe_url(),
                local.url(),
                local.url()
            ),
            None => format!("Payments: the provider at {}.", self.url),
        }
    }
}

/// The secret the router sends the subgraphs: `ROUTER_SHARED_SECRET` when
/// set, otherwise the development profile's default.
/// The secret the dev stack's router sends to the subgraphs
/// (`ROUTER_SHARED_SECRET`, or the development default).
pub fn router_secret() -> String {
    std::env::var("ROUTER_SHARED_SECRET")
        .ok()
        .filter(|secret| !secret.trim().is_empty())
        .unwrap_or_else(|| "talentgraph-development-router-secret".to_owned())
}

/// The schema registry's address in the dev stack (the README's port table).
const REGISTRY_LISTEN: &str = "127.0.0.1:4100";

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
        ],
    )
    .await
    .map_err(|error| DevstackError::Registry(error.to_string()))
}

/// The name of the registry token the dev stack issues itself.
pub const DEVSTACK_TOKEN_NAME: &str = "devstack";

/// Starts the schema registry on its own database, writing the supergraph
/// file the router hot-reloads, and publishes the six subgraphs as the code
/// defines them. Returns the serving task and a fresh write token.
async fn start_registry(
    server: &DatabaseServer,
    inputs: &[schema_registry::SubgraphInput],
) -> Result<(tokio::task::JoinHandle<()>, String), DevstackError> {
    let name = "talentgraph_registry";
    let mut admin = server.admin_connection().await?;
    let (_, database) = open_database(server, &mut admin, name).await?;
    let registry_error =
        |error: schema_registry::RegistryError| DevstackError::Registry(error.to_string());
    let token = prepare_registry_database(&database).await?;
    // Development runs any document, so the registry does not write the
    // trusted-documents module here (it would rewrite the committed one).
    let state = schema_registry::server::RegistryState::new(
        database,
        schema_registry::server::RouterFiles {
            supergraph: Some(supergraph_path()),
            trusted_documents: None,
        },
    );
    let address: std::net::SocketAddr = REGISTRY_LISTEN
        .parse()
        .map_err(|_| DevstackError::Registry(format!("{REGISTRY_LISTEN} is not an address")))?;
    let listener = talentgraph_kit::server::bind(address).await?;
    let task = tokio::spawn(async move {
        let served = talentgraph_kit::server::serve(
            listener,
            schema_registry::server::app(state, 4 * 1024 * 1024),
            talentgraph_kit::server::shutdown_signal(),
            Duration::from_secs(5),
        )
        .await;
        if let Err(error) = served {
            eprintln!("devstack: the schema registry stopped: {error}");
        }
    });
    // In the dev stack the code is the truth: whatever it changed since
    // the last run is published, approved as such.
    // Each stored version must compose with those already there, so the
    // subgraphs that extend others' entities go after them; by name works.
    let mut publications = inputs.to_vec();
    publications.sort_by(|a, b| a.name.cmp(&b.name));
    let publish_token = token.clone();
    tokio::task::spawn_blocking(move || {
        let client = schema_registry::client::RegistryClient::new(
            &format!("http://{REGISTRY_LISTEN}"),
            Some(publish_token),
        )?;
        for input in &publications {
            let answer = client.block_on(client.publish(
                &input.name,
                &schema_registry::api::PublishRequest {
                    sdl: input.sdl.clone(),
                    routing_url: Some(input.routing_url.clone()),
                    approval: Some(schema_registry::api::ApprovalRequest {
                        reason: "devstack: the local code is the truth".to_owned(),
                    }),
                },
                false,
            ))?;
            if answer.status >= 300 {
                return Err(schema_registry::RegistryError::Registry {
                    status: answer.status,
                    message: schema_registry::client::error_message(&answer.body),
                });
            }
        }
        Ok(())
    })
    .await
    .map_err(|error| DevstackError::Registry(error.to_string()))?
    .map_err(registry_error)?;
    eprintln!(
        "▸ the schema registry is up on http://{REGISTRY_LISTEN} with the six subgraphs published"
    );
    Ok((task, token))
}

/// The web app's address in the dev stack (the README's port table).
const WEB_LISTEN: &str = "127.0.0.1:4200";

/// Builds the web app (once; later runs reuse the build), registers the
/// documents it sends as the `web` client when the registry runs, and
/// serves the app and the development GraphiQL page on [`WEB_LISTEN`].
async fn start_web_app(registry_token: Option<&str>) -> Result<(), DevstackError> {
    let root = workspace_root();
    let build = tokio::task::spawn_blocking(move || web::build_web_app(&root))
        .await
        .map_err(|error| DevstackError::Web(error.to_string()))??;
    if let Some(token) = registry_token {
        register_web_operations(&build, token).await?;
    }
    let listener = talentgraph_kit::server::bind(
        WEB_LISTEN
            .parse()
            .map_err(|error| DevstackError::Web(format!("{WEB_LISTEN}: {error}")))?,
    )
    .await?;
    let app = web::web_app(&build, &format!("http://{ROUTER_LISTEN}/"));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("devstack: the web app's server stopped: {error}");
        }
    });
    Ok(())
}

/// What `npm run register` does in a deployment pipeline: the registry
/// records the web client's documents, which makes schema checks count
/// them and puts them on the safelist.
async fn register_web_operations(build: &web::WebBuild, token: &str) -> Result<(), DevstackError> {
    let manifest = build.persisted_query_manifest();
    let version = web_app_version()?;
    let token = token.to_owned();
    tokio::task::spawn_blocking(move || {
        let documents = schema_registry::operations::load_operations(&manifest)?
            .into_iter()
            .map(|document| document.source)
            .collect();
        let client = schema_registry::client::RegistryClient::new(
            &format!("http://{REGISTRY_LISTEN}"),
            Some(token),
        )?;
        let answer = client.block_on(client.register_operations(
            &schema_registry::api::RegisterOperationsRequest {
                client: "web".to_owned(),
                client_version: version.clone(),
                documents,
            },
        ))?;
        if answer.status >= 300 {
            return Err(schema_registry::RegistryError::Registry {
                status: answer.status,
                message: schema_registry::client::error_message(&answer.body),
            });
        }
        eprintln!("▸ registered the web app's documents as client web {version}");
        Ok(())
    })
    .await
    .map_err(|error| DevstackError::Web(error.to_string()))?
    .map_err(|error| DevstackError::Web(format!("registering its documents: {error}")))
}

/// The version in `web/package.json`, which the registry records the
/// web client's documents under.
fn web_app_version() -> Result<String, DevstackError> {
    let path = workspace_root().join("web").join("package.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| DevstackError::Web(format!("{}: {error}", path.display())))?;
    let package: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| DevstackError::Web(format!("{}: {error}", path.display())))?;
    package["version"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| DevstackError::Web(format!("{} has no version", path.display())))
}

/// The router's GraphQL and health addresses in the dev stack (the README's
/// port table).
const ROUTER_LISTEN: &str = "127.0.0.1:4000";
const ROUTER_HEALTH_LISTEN: &str = "127.0.0.1:8088";

/// The subgraphs as they run in the stack: name, routing URL, SDL.
fn running_subgraphs(tasks: &[SubgraphTask]) -> Vec<schema_registry::SubgraphInput> {
    exported_schemas()
        .into_iter()
        .map(|(name, sdl)| {
            let address = tasks
                .iter()
                .find(|(task_name, _, _)| *task_name == name)
                .map(|(_, address, _)| *address)
                .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
            schema_registry::SubgraphInput {
                name: name.to_owned(),
                routing_url: format!("http://{address}/graphql"),
                sdl,
            }
        })
        .collect()
}

/// Where the dev stack keeps the supergraph the router serves.
fn supergraph_path() -> PathBuf {
    workspace_root()
        .join("target")
        .join("devstack")
        .join("supergraph.graphql")
}

/// Composes the supergraph from the running subgraphs' SDL, installs the
/// pinned router if needed, and starts it with the development profile and
/// `--hot-reload`, so publications to the stack's registry reach it.
fn start_router(
    inputs: &[schema_registry::SubgraphInput],
    choice: RouterChoice,
) -> Result<std::process::Child, DevstackError> {
    let supergraph = schema_registry::compose_subgraphs(inputs).map_err(|error| match error {
        schema_registry::RegistryError::Composition(diagnostics) => DevstackError::Composition(
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        other => DevstackError::Composition(other.to_string()),
    })?;
    let supergraph_path = supergraph_path();
    let directory = supergraph_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    std::fs::write(&supergraph_path, &supergraph.sdl).map_err(|source| DevstackError::Write {
        path: supergraph_path.clone(),
        source,
    })?;
    eprintln!(
        "▸ composed the supergraph into {}",
        supergraph_path.display()
    );
    if choice == RouterChoice::Hive {
        return start_hive_router(&supergraph_path);
    }

    eprintln!(
        "▸ checking the pinned Apollo Router (the first install builds it: about 14 minutes)"
    );
    let binary = install_router("install-router.sh")?;
    let (log_path, log, log_for_stderr) = router_log(&directory)?;
    let child = std::process::Command::new(&binary)
        .arg("--hot-reload")
        .arg("--supergraph")
        .arg(&supergraph_path)
        .arg("--config")
        .arg(workspace_root().join("router/router.dev.yaml"))
        .env("ROUTER_RHAI_SCRIPTS", workspace_root().join("router/rhai"))
        .env("ROUTER_LISTEN", ROUTER_LISTEN)
        .env("ROUTER_HEALTH_LISTEN", ROUTER_HEALTH_LISTEN)
        .env("ROUTER_SHARED_SECRET", router_secret())
        .env("APOLLO_TELEMETRY_DISABLED", "true")
        .stdout(log)
        .stderr(log_for_stderr)
        .spawn()
        .map_err(|error| DevstackError::Router(format!("cannot start {binary}: {error}")))?;
    wait_for_router(
        child,
        ROUTER_HEALTH_LISTEN,
        "/health",
        "the router",
        &log_path,
    )
}

/// Runs `scripts/<script>`, which installs a pinned router once and prints
/// its binary's path on its last line; returns that path.
pub fn install_router(script: &str) -> Result<String, DevstackError> {
    let install = std::process::Command::new("bash")
        .arg(workspace_root().join("scripts").join(script))
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|error| DevstackError::Router(format!("cannot run scripts/{script}: {error}")))?;
    if !install.status.success() {
        return Err(DevstackError::Router(format!(
            "scripts/{script} failed (see above)"
        )));
    }
    Ok(String::from_utf8_lossy(&install.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// The router's log file in `directory`, opened twice: for its standard
/// output and its standard error.
fn router_log(directory: &Path) -> Result<(PathBuf, std::fs::File, std::fs::File), DevstackError> {
    let log_path = directory.join("router.log");
    let log = std::fs::File::create(&log_path).map_err(|source| DevstackError::Write {
        path: log_path.clone(),
        source,
    })?;
    let log_for_stderr = log.try_clone().map_err(|source| DevstackError::Write {
        path: log_path.clone(),
        source,
    })?;
    Ok((log_path, log, log_for_stderr))
}

/// Whether `GET path` on `address` answers 200, asked over a plain
/// HTTP/1.1 connection (this runs before any async client exists).
pub fn answers_ok(address: &str, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut status_line = [0_u8; 12];
    stream.read_exact(&mut status_line).is_ok() && status_line.ends_with(b" 200")
}

/// Waits until `GET probe` on `address` answers 200, or fails with the
/// router's log's path when it exits or a minute passes.
fn wait_for_router(
    mut child: std::process::Child,
    address: &str,
    probe: &str,
    name: &str,
    log_path: &Path,
) -> Result<std::process::Child, DevstackError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(DevstackError::Router(format!(
                "{name} exited with {status}; see {}",
                log_path.display()
            )));
        }
        if answers_ok(address, probe) {
            eprintln!("▸ {name} is up; its log is {}", log_path.display());
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(DevstackError::Router(format!(
                "{name} did not start within 60 s; see {}",
                log_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Hive Router's configuration, equivalent to `router/router.dev.yaml`
/// where Hive Router has the feature: it listens on `listen` (GraphQL at
/// `/`, health at `/health`), serves `supergraph` and reloads it when the
/// file changes (the registry's publications), sends the caller's token,
/// request id and address and the router secret to every subgraph, merges
/// identical in-flight subgraph fetches, and lets local browser origins
/// call it. What it lacks is the Rhai query-plan bound.
pub fn hive_router_config(listen: std::net::SocketAddr, supergraph: &Path, secret: &str) -> String {
    format!(
        r#"# Written by devstack (devstack/src/lib.rs, hive_router_config).
supergraph:
  source: file
  path: {supergraph}
  poll_interval: 1s
http:
  host: "{host}"
  port: {port}
  graphql_endpoint: /
log:
  level: warn
traffic_shaping:
  all:
    dedupe_enabled: true
headers:
  all:
    request:
      - propagate:
          named: [authorization, x-request-id, x-forwarded-for]
      - insert:
          name: x-talentgraph-router
          value: {secret}
cors:
  enabled: true
  allow_credentials: false
  policies:
    - match_origin: ['^http://(localhost|127\.0\.0\.1)(:[0-9]+)?$']
      allow_headers: [content-type, authorization, x-request-id, apollo-require-preflight, x-apollo-operation-name]
      methods: [GET, POST, OPTIONS]
csrf:
  enabled: true
  required_headers: [x-apollo-operation-name, apollo-require-preflight]
# As the development profile's include_subgraph_errors: the subgraphs mask
# their internal errors themselves.
error_masking:
  enabled: false
"#,
        // JSON strings are YAML double-quoted scalars, so a path or
        // secret with quotes, colons or backslashes stays one value.
        supergraph = serde_json::Value::from(supergraph.display().to_string()),
        secret = serde_json::Value::from(secret),
        host = listen.ip(),
        port = listen.port(),
    )
}

/// Environment variables Hive Router reads as overrides of its
/// configuration file. Names as common as `PORT`, `HOST` and `LOG_FORMAT`
/// (which the subgraphs read too, with other values) would silently move
/// or break it, so every place that starts it removes them.
pub const HIVE_ROUTER_OVERRIDE_VARIABLES: [&str; 8] = [
    "PORT",
    "HOST",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "LOG_FILTER",
    "SUPERGRAPH_FILE_PATH",
    "DISABLE_SUBGRAPH_ERROR_MASKING",
    "ROUTER_HTTP_WORKERS",
];

/// Installs Hive Router if needed and starts it on the router's address
/// with [`hive_router_config`].
fn start_hive_router(supergraph_path: &Path) -> Result<std::process::Child, DevstackError> {
    eprintln!("▸ checking Hive Router (the first install builds it)");
    let binary = install_router("install-hive-router.sh")?;
    let directory = supergraph_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let listen: std::net::SocketAddr = ROUTER_LISTEN
        .parse()
        .map_err(|_| DevstackError::Router(format!("{ROUTER_LISTEN} is not an address")))?;
    let config_path = directory.join("hive-router.yaml");
    std::fs::write(
        &config_path,
        hive_router_config(listen, supergraph_path, &router_secret()),
    )
    .map_err(|source| DevstackError::Write {
        path: config_path.clone(),
        source,
    })?;
    let (log_path, log, log_for_stderr) = router_log(&directory)?;
    let mut command = std::process::Command::new(&binary);
    for variable in HIVE_ROUTER_OVERRIDE_VARIABLES {
        command.env_remove(variable);
    }
    let child = command
        .env("ROUTER_CONFIG_FILE_PATH", &config_path)
        .stdout(log)
        .stderr(log_for_stderr)
        .spawn()
        .map_err(|error| DevstackError::Router(format!("cannot start {binary}: {error}")))?;
    // Its /health answers before the supergraph is loaded; /readiness
    // waits for it.
    wait_for_router(child, ROUTER_LISTEN, "/readiness", "Hive Router", &log_path)
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
fn print_summary(
    tasks: &[SubgraphTask],
    world: &DemoWorld,
    router: Option<RouterChoice>,
    web_app_running: bool,
    registry_token: Option<&str>,
) {
    println!();
    println!("Talentgraph dev stack is up. Press Ctrl-C to stop everything it started.");
    println!();
    if web_app_running {
        println!("  web app    http://{WEB_LISTEN}/   (sign in with a demo account below)");
        println!("  GraphiQL   http://{WEB_LISTEN}/graphiql/   (development only)");
    }
    match router {
        Some(RouterChoice::Apollo) => println!(
            "  router     http://{ROUTER_LISTEN}/   (health: http://{ROUTER_HEALTH_LISTEN}/health)"
        ),
        Some(RouterChoice::Hive) => println!(
            "  router     http://{ROUTER_LISTEN}/   (Hive Router; health: http://{ROUTER_LISTEN}/health)"
        ),
        None => {}
    }
    if let Some(token) = registry_token {
        println!(
            "  registry   http://{REGISTRY_LISTEN}/api   (the router reloads what it publishes)"
        );
        println!("             export SCHEMA_REGISTRY_TOKEN={token}");
    }
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
    println!(
        "Demo accounts (password for all three: {}):",
        talentgraph_demo_world::DEMO_PASSWORD
    );
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
    println!("Sign in (prints an access token):");
    println!("  curl -s http://{ROUTER_LISTEN}/ -H 'content-type: application/json' \\");
    println!(
        "    -d '{{\"query\":\"mutation {{ signIn(input: {{email: \\\"{}\\\", password: \\\"{}\\\"}}) {{ accessToken }} }}\"}}'",
        world.email(world.demo_jobseeker()),
        talentgraph_demo_world::DEMO_PASSWORD
    );
    println!(
        "Then send it as 'Authorization: Bearer <accessToken>'; README.md runs a page with it."
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
                world: DemoWorld::STANDARD,
                router: RouterChoice::Apollo,
            }
        );
        assert_eq!(
            parse(&["up", "--router", "hive", "--small"]).expect("valid"),
            Command::Up {
                world: DemoWorld::SMALL,
                router: RouterChoice::Hive,
            }
        );
        assert!(parse(&["up", "--router", "nginx"]).is_err());
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
        assert_eq!(
            parse(&["events", "dlq"]).expect("valid"),
            Command::DeadLetters
        );
        assert_eq!(
            parse(&["events", "replay", "7"]).expect("valid"),
            Command::Replay { sequence: 7 }
        );
        assert!(parse(&["events", "replay", "seven"]).is_err());
        assert!(matches!(
            refuse_production(|_| Some("production".to_owned())),
            Err(DevstackError::ProductionEnvironment)
        ));
        assert!(refuse_production(|_| Some("development".to_owned())).is_ok());
        assert!(refuse_production(|_| None).is_ok());
        assert!(parse(&["up", "--fast"]).is_err());
        assert!(parse(&["up", "seed"]).is_err());
        assert_eq!(
            parse(&["--help"])
                .expect_err("help is not a command")
                .exit_code(),
            0
        );
    }
}
