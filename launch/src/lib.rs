//! One way to start the parts of the stack.
//!
//! The dev stack, the end-to-end harness and the bench all run the same
//! parts: PostgreSQL, NATS, the payment provider, a router (Apollo Router
//! or Hive Router) and the schema registry. Each part is started here, once,
//! and each started process is a [`process::ChildProcess`], which is
//! stopped by its own pid when dropped, also when the caller fails.
//!
//! - [`process`]: a child process with its log file, a readiness wait and a
//!   stop by pid (SIGTERM, then SIGKILL after a grace period);
//! - [`postgres`]: the server in `DATABASE_URL` or a cluster kept in a
//!   directory, and the databases on it;
//! - [`nats`]: the server in `NATS_URL` or a local `nats-server -js`, or a
//!   JetStream cluster of them;
//! - [`provider`]: the provider in `PAYMENT_PROVIDER_URL` or localstripe
//!   behind the idempotency and fault proxy;
//! - [`router`]: Apollo Router and Hive Router, installed by their pinned
//!   scripts and started with one [`router::RouterLaunch`];
//! - [`registry`]: the schema registry served in-process and the
//!   subgraphs published to it;
//! - [`subgraph`]: a subgraph replica as its own process;
//! - [`haproxy`]: HAProxy in front of replicas, where a Kubernetes Service
//!   would stand;
//! - [`docker`]: a Docker engine of our own (its own socket, folder and no
//!   host networking rules), for the compose smoke.
//!
//! Where a part can come from the environment (a URL) or be started here,
//! the environment wins, so the same code serves a developer's own servers
//! and a machine that has none.

use std::path::{Path, PathBuf};

pub mod docker;
pub mod haproxy;
pub mod nats;
pub mod postgres;
pub mod process;
pub mod provider;
pub mod redis;
pub mod registry;
pub mod router;
pub mod subgraph;

pub use process::{ChildProcess, Readiness};
pub use router::{RouterAddresses, RouterKind, RouterLaunch, RunningRouter};

/// What went wrong starting a part.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A setting in the environment is not usable.
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
    #[error("NATS: {0}")]
    Nats(String),
    #[error("Redis: {0}")]
    Redis(String),
    #[error("payment provider: {0}")]
    Provider(String),
    #[error("{name}: {message}")]
    Process { name: String, message: String },
    #[error("schema registry: {0}")]
    Registry(String),
    #[error(transparent)]
    Kit(#[from] talentgraph_kit::KitError),
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The repository this crate was built from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where the install scripts put the pinned tools:
/// `TALENTGRAPH_TOOLS_DIR`, or `~/.cache/talentgraph`.
pub fn tools_directory() -> PathBuf {
    std::env::var_os("TALENTGRAPH_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/talentgraph")
        })
}

/// Runs `scripts/<script>`, which installs a pinned tool once and prints
/// the path of what it installed on its last line; returns that path.
pub fn run_install_script(script: &str) -> Result<PathBuf, LaunchError> {
    let failed = |message: String| LaunchError::Process {
        name: format!("scripts/{script}"),
        message,
    };
    let install = std::process::Command::new("bash")
        .arg(workspace_root().join("scripts").join(script))
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|error| failed(format!("cannot run it: {error}")))?;
    if !install.status.success() {
        return Err(failed("failed (see above)".to_owned()));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&install.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim(),
    ))
}

/// A port from the environment variable `name`, or `default`.
pub fn port_from_environment(name: &str, default: u16) -> Result<u16, LaunchError> {
    match std::env::var(name) {
        Ok(port) => port
            .trim()
            .parse()
            .map_err(|_| LaunchError::Usage(format!("{name}={port:?} is not a port number"))),
        Err(_) => Ok(default),
    }
}

/// The value of `name` when it is set to something other than blanks.
pub fn non_blank_variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}
