//! The schema registry server: axum over its own PostgreSQL database.
//!
//! It keeps every published subgraph schema version, runs the same check
//! as `schema-check check` on each publication (composition, API-schema
//! diff, usage by registered client operations), refuses a failing check
//! unless the publisher gives an approval with a reason, and records who
//! approved what. The latest composed supergraph is served with an entity
//! tag and, when `REGISTRY_SUPERGRAPH_PATH` is set, written to that file,
//! which a router started with `--hot-reload --supergraph <file>` polls.
//! Every route but the probes needs a bearer token (see [`tokens`]): read,
//! write, or write and approve for a publication that needs an approval.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sqlx::migrate::Migrator;
use talentgraph_kit::{Database, LogFormat};

use crate::RegistryError;

mod handlers;
pub mod store;
pub mod tokens;

pub use tokens::Scope;

/// The registry database's migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations/registry");

/// The registry's port in the README's port table.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:4100";

const DEFAULT_MAX_REQUEST_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The server's typed configuration, read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// `LISTEN_ADDR`, default 127.0.0.1:4100.
    pub listen_addr: SocketAddr,
    /// `DATABASE_URL`, required.
    pub database_url: String,
    /// `REGISTRY_SUPERGRAPH_PATH`: where the latest supergraph is written
    /// for a hot-reloading router; nothing is written when unset.
    pub supergraph_path: Option<PathBuf>,
    /// `REGISTRY_TRUSTED_DOCUMENTS_PATH`: where the registered operations are
    /// written as the router's Rhai module of trusted documents (normally
    /// `trusted_documents.rhai` in the router's script directory); nothing is
    /// written when unset.
    pub trusted_documents_path: Option<PathBuf>,
    /// `LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `REGISTRY_MAX_BODY_BYTES`: largest request body, default 4 MiB.
    pub max_request_body_bytes: usize,
}

impl RegistryConfig {
    /// Reads the configuration through `lookup` (the environment in
    /// production, a map in tests). Errors name the variable and never echo
    /// a database URL, which may hold a password.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, RegistryError> {
        let value = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let database_url = value("DATABASE_URL").ok_or_else(|| {
            RegistryError::ServerConfig(
                "DATABASE_URL is not set; it names the registry's PostgreSQL database".to_owned(),
            )
        })?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(RegistryError::ServerConfig(
                "DATABASE_URL must be a postgres:// or postgresql:// URL".to_owned(),
            ));
        }
        let listen_text = value("LISTEN_ADDR").unwrap_or_else(|| DEFAULT_LISTEN_ADDR.to_owned());
        let listen_addr = listen_text.parse().map_err(|_| {
            RegistryError::ServerConfig(format!(
                "LISTEN_ADDR {listen_text:?} is not a socket address such as 0.0.0.0:4100"
            ))
        })?;
        let output_path = |variable: &str| -> Result<Option<PathBuf>, RegistryError> {
            let Some(path) = value(variable).map(PathBuf::from) else {
                return Ok(None);
            };
            let directory = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .unwrap_or_else(|| std::path::Path::new("."));
            if !directory.is_dir() {
                return Err(RegistryError::ServerConfig(format!(
                    "{variable} {}: directory {} does not exist",
                    path.display(),
                    directory.display()
                )));
            }
            Ok(Some(path))
        };
        let supergraph_path = output_path("REGISTRY_SUPERGRAPH_PATH")?;
        let trusted_documents_path = output_path("REGISTRY_TRUSTED_DOCUMENTS_PATH")?;
        let log_format = match value("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(RegistryError::ServerConfig(format!(
                    "LOG_FORMAT {other:?} must be `json` or `pretty`"
                )));
            }
        };
        let max_request_body_bytes = match value("REGISTRY_MAX_BODY_BYTES") {
            None => DEFAULT_MAX_REQUEST_BODY_BYTES,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|bytes| *bytes >= 1024)
                .ok_or_else(|| {
                    RegistryError::ServerConfig(format!(
                        "REGISTRY_MAX_BODY_BYTES {text:?} must be a whole number of bytes, at least 1024"
                    ))
                })?,
        };
        Ok(Self {
            listen_addr,
            database_url,
            supergraph_path,
            trusted_documents_path,
            log_format,
            max_request_body_bytes,
        })
    }
}

/// The files the registry keeps in line with its database for a router
/// that reloads them (`--hot-reload`). Either may be absent.
#[derive(Clone, Debug, Default)]
pub struct RouterFiles {
    /// The latest composed supergraph.
    pub supergraph: Option<PathBuf>,
    /// The Rhai module of trusted documents.
    pub trusted_documents: Option<PathBuf>,
}

/// How many dry-run checks (`POST /api/subgraphs/{name}/checks`) may
/// compose at once. Composition is CPU work and any read token may ask for
/// it; beyond this the registry answers 429 instead of queueing, so readers
/// cannot starve publications or the machine.
pub const MAX_CONCURRENT_DRY_RUN_CHECKS: usize = 2;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct RegistryState {
    pub database: Database,
    router_files: Arc<RouterFiles>,
    pub(crate) dry_run_checks: Arc<tokio::sync::Semaphore>,
    /// Held from reading the database to renaming the file, so two
    /// publications or registrations that commit at once cannot write in
    /// the other order and leave the router an older file than the
    /// database holds.
    router_file_writes: Arc<tokio::sync::Mutex<()>>,
}

impl RegistryState {
    pub fn new(database: Database, router_files: RouterFiles) -> Self {
        Self {
            database,
            router_files: Arc::new(router_files),
            dry_run_checks: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_DRY_RUN_CHECKS)),
            router_file_writes: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Writes the latest supergraph where the hot-reloading router reads
    /// it. The file is replaced by a rename, so the router (which polls the
    /// file's contents every few seconds) never reads a half-written
    /// supergraph; the latest is read under the writers' lock rather than
    /// passed in, so the last write is of the newest version.
    #[tracing::instrument(skip_all)]
    pub async fn write_supergraph_file(&self) -> Result<(), RegistryError> {
        let Some(path) = self.router_files.supergraph.clone() else {
            return Ok(());
        };
        let _writing = self.router_file_writes.lock().await;
        let Some(latest) = store::latest_supergraph(&self.database).await? else {
            return Ok(());
        };
        replace_file_off_the_runtime(path.clone(), latest.sdl).await?;
        tracing::info!(path = %path.display(), "wrote the latest supergraph");
        Ok(())
    }

    /// Rewrites the router's trusted-documents module from every registered
    /// operation. Called after each registration that committed and at
    /// start-up, so the file always lists exactly what the database holds.
    #[tracing::instrument(skip_all)]
    pub async fn write_trusted_documents_file(&self) -> Result<(), RegistryError> {
        let Some(path) = self.router_files.trusted_documents.clone() else {
            return Ok(());
        };
        let _writing = self.router_file_writes.lock().await;
        let rows = store::all_operations(&self.database).await?;
        let documents = crate::trusted_documents::group_by_digest(
            rows.into_iter()
                .map(|row| (row.document_sha256, row.operation_name)),
        );
        let count = documents.len();
        let module = crate::trusted_documents::rhai_module(&documents);
        replace_file_off_the_runtime(path.clone(), module).await?;
        tracing::info!(path = %path.display(), documents = count, "wrote the trusted documents");
        Ok(())
    }

    /// Brings the router's files in line with the database, at start-up.
    pub async fn sync_router_files(&self) -> Result<(), RegistryError> {
        self.write_supergraph_file().await?;
        self.write_trusted_documents_file().await
    }
}

/// [`crate::trusted_documents::replace_file`] on a blocking thread, so a
/// slow disk does not stall the request threads.
async fn replace_file_off_the_runtime(
    path: PathBuf,
    contents: String,
) -> Result<(), RegistryError> {
    tokio::task::spawn_blocking(move || crate::trusted_documents::replace_file(&path, &contents))
        .await
        .map_err(|error| RegistryError::ServerConfig(format!("the file writer failed: {error}")))?
}

/// The HTTP routes. `max_request_body_bytes` bounds every request body.
pub fn app(state: RegistryState, max_request_body_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(|| async { (StatusCode::OK, "ok") }))
        .route("/ready", get(ready))
        .route("/api/supergraph", get(handlers::latest_supergraph))
        .route("/api/subgraphs", get(handlers::list_subgraphs))
        .route(
            "/api/subgraphs/{name}/versions",
            get(handlers::history).post(handlers::publish),
        )
        .route(
            "/api/subgraphs/{name}/versions/{version}",
            get(handlers::subgraph_version),
        )
        .route("/api/subgraphs/{name}/diff", get(handlers::diff_versions))
        .route("/api/subgraphs/{name}/checks", post(handlers::check))
        .route(
            "/api/operations",
            get(handlers::list_operations).post(handlers::register_operations),
        )
        .route("/api/operations/{sha256}", get(handlers::operation_by_hash))
        .route("/api/safelist", get(handlers::safelist))
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(max_request_body_bytes))
        .with_state(state)
}

async fn ready(State(state): State<RegistryState>) -> impl IntoResponse {
    match tokio::time::timeout(Duration::from_secs(2), state.database.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(error)) => {
            tracing::warn!(error = %error.detail(), "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out"),
    }
}

/// Connects, migrates, writes the supergraph file and serves until SIGTERM
/// or Ctrl-C.
pub async fn serve(config: RegistryConfig) -> Result<(), RegistryError> {
    let database = Database::connect(&config.database_url, 8, Duration::from_secs(10))
        .await
        .map_err(RegistryError::DatabaseConnect)?;
    database.run_migrations(&MIGRATOR).await?;
    let state = RegistryState::new(
        database,
        RouterFiles {
            supergraph: config.supergraph_path.clone(),
            trusted_documents: config.trusted_documents_path.clone(),
        },
    );
    state.sync_router_files().await?;
    let listener = talentgraph_kit::server::bind(config.listen_addr).await?;
    tracing::info!(address = %config.listen_addr, "schema registry listening");
    talentgraph_kit::server::serve(
        listener,
        app(state, config.max_request_body_bytes),
        talentgraph_kit::server::shutdown_signal(),
        Duration::from_secs(10),
    )
    .await?;
    Ok(())
}

/// A command of the server binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerCommand {
    Serve,
    Migrate,
    CreateToken { name: String, scopes: Vec<Scope> },
    RevokeToken { name: String },
}

/// The schema registry server: stores subgraph versions, checks and
/// composes them, and serves the supergraph.
#[derive(Debug, clap::Parser)]
#[command(
    name = "schema-registry",
    after_help = "Environment: DATABASE_URL (required), LISTEN_ADDR (default 127.0.0.1:4100), \
                  REGISTRY_SUPERGRAPH_PATH (file a hot-reloading router reads), LOG_FORMAT, \
                  REGISTRY_MAX_BODY_BYTES, and the standard OTEL_* variables for traces."
)]
struct ServerCommandLine {
    #[command(subcommand)]
    command: Option<ServerVerb>,
}

#[derive(Debug, clap::Subcommand)]
enum ServerVerb {
    /// Apply pending migrations, then serve (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenVerb),
}

#[derive(Debug, clap::Subcommand)]
enum TokenVerb {
    /// Create a token and print it once; only its SHA-256 digest is stored.
    Create {
        /// The token's name, recorded with every approval it gives.
        #[arg(long, value_parser = non_blank)]
        name: String,
        /// A comma-separated list of `read`, `write` and `approve` (any
        /// token reads; approving someone's change needs `approve`).
        #[arg(long, value_parser = parse_scopes)]
        scopes: ScopeList,
    },
    /// Revoke the active token with this name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

/// The scopes of a new token, as `--scopes` spells them.
#[derive(Debug, Clone)]
struct ScopeList(Vec<Scope>);

fn parse_scopes(text: &str) -> Result<ScopeList, String> {
    Scope::parse_list(text).map(ScopeList)
}

fn non_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be blank".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// Parses the server binary's arguments (without the program name).
pub fn parse_server_arguments(arguments: &[String]) -> Result<ServerCommand, clap::Error> {
    use clap::Parser;
    let parsed = ServerCommandLine::try_parse_from(
        std::iter::once("schema-registry").chain(arguments.iter().map(String::as_str)),
    )?;
    Ok(match parsed.command.unwrap_or(ServerVerb::Serve) {
        ServerVerb::Serve => ServerCommand::Serve,
        ServerVerb::Migrate => ServerCommand::Migrate,
        ServerVerb::Token(TokenVerb::Create { name, scopes }) => ServerCommand::CreateToken {
            name,
            scopes: scopes.0,
        },
        ServerVerb::Token(TokenVerb::Revoke { name }) => ServerCommand::RevokeToken { name },
    })
}

/// The whole body of the `schema-registry` binary's `main`.
#[allow(clippy::print_stdout)]
pub fn run_main(arguments: Vec<String>) -> ExitCode {
    let command = match parse_server_arguments(&arguments) {
        Ok(command) => command,
        Err(error) => return talentgraph_kit::server::command_line_exit(&error),
    };
    let config = match RegistryConfig::from_lookup(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("schema-registry: {error}");
            return ExitCode::from(2);
        }
    };
    let export = talentgraph_kit::telemetry::TraceExport::from_lookup(
        "talentgraph-schema-registry",
        |name| std::env::var(name).ok(),
    );
    let telemetry =
        match talentgraph_kit::telemetry::init_telemetry(config.log_format, export.as_ref()) {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("schema-registry: {error}");
                return ExitCode::from(2);
            }
        };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("schema-registry: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            ServerCommand::Serve => serve(config).await,
            ServerCommand::Migrate => {
                let database = connect_once(&config).await?;
                database.run_migrations(&MIGRATOR).await?;
                database.close().await;
                eprintln!("schema-registry: migrations applied");
                Ok(())
            }
            ServerCommand::CreateToken { name, scopes } => {
                let database = connect_once(&config).await?;
                database.run_migrations(&MIGRATOR).await?;
                let token = tokens::create_token(&database, &name, &scopes).await?;
                database.close().await;
                println!("{token}");
                Ok(())
            }
            ServerCommand::RevokeToken { name } => {
                let database = connect_once(&config).await?;
                let revoked = tokens::revoke_token(&database, &name).await?;
                database.close().await;
                if revoked {
                    eprintln!("schema-registry: revoked token {name}");
                    Ok(())
                } else {
                    Err(RegistryError::ServerConfig(format!(
                        "no active token is named {name}"
                    )))
                }
            }
        }
    });
    let exit = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "schema registry stopped with an error");
            eprintln!("schema-registry: {error}");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    exit
}

async fn connect_once(config: &RegistryConfig) -> Result<Database, RegistryError> {
    Database::connect(&config.database_url, 1, Duration::from_secs(10))
        .await
        .map_err(RegistryError::DatabaseConnect)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<RegistryConfig, RegistryError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        RegistryConfig::from_lookup(|name| map.get(name).cloned())
    }

    /// Start-up refuses bad environment with the variable named and the
    /// database URL (which may hold a password) not echoed.
    #[test]
    fn configuration_errors_name_the_variable() {
        let missing = config(&[]).expect_err("DATABASE_URL is required");
        assert!(missing.to_string().contains("DATABASE_URL"), "{missing}");
        let secret = config(&[("DATABASE_URL", "mysql://user:hunter2@db/registry")])
            .expect_err("not PostgreSQL");
        assert!(!secret.to_string().contains("hunter2"), "{secret}");
        let base = [("DATABASE_URL", "postgres://registry@127.0.0.1/registry")];
        let defaults = config(&base).expect("defaults");
        assert_eq!(defaults.listen_addr.port(), 4100);
        assert_eq!(defaults.supergraph_path, None);
        for (variable, value) in [
            ("LISTEN_ADDR", "port-4100"),
            ("LOG_FORMAT", "xml"),
            ("REGISTRY_MAX_BODY_BYTES", "12"),
            (
                "REGISTRY_SUPERGRAPH_PATH",
                "/no/such/directory/supergraph.graphql",
            ),
        ] {
            let error = config(&[base[0], (variable, value)]).expect_err(variable);
            assert!(error.to_string().contains(variable), "{error}");
        }
    }

    #[test]
    fn server_arguments() {
        let words = |text: &str| {
            text.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(parse_server_arguments(&[]).ok(), Some(ServerCommand::Serve));
        assert_eq!(
            parse_server_arguments(&words("token create --name ci --scopes read,write")).ok(),
            Some(ServerCommand::CreateToken {
                name: "ci".to_owned(),
                scopes: vec![Scope::Read, Scope::Write],
            })
        );
        assert!(parse_server_arguments(&words("token create --name ci --scopes admin")).is_err());
        assert!(parse_server_arguments(&words("token create --name ci")).is_err());
        assert!(parse_server_arguments(&words("serve --now")).is_err());
    }
}
