//! The routers: the pinned Apollo Router and Hive Router, each installed
//! by its script under `scripts/` and started from one [`RouterLaunch`].
//!
//! Both are told their ports, so a start can lose a port to another
//! process between the choice and the bind; [`RouterLaunch::start`] then
//! starts again on fresh ports.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{ChildProcess, Readiness, StartFailure};
use crate::{LaunchError, tools_directory};

mod apollo;
mod hive;

pub use apollo::copy_of_committed_rhai_scripts;
pub use hive::{HIVE_ROUTER_OVERRIDE_VARIABLES, hive_router_config};

/// The pinned Apollo Router version (`scripts/install-router.sh`).
pub const APOLLO_ROUTER_VERSION: &str = "2.17.0";

/// The pinned Hive Router version (`scripts/install-hive-router.sh`).
pub const HIVE_ROUTER_VERSION: &str = "0.2.0";

/// How long a router may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How many times [`RouterLaunch::start`] tries fresh ports when another
/// process took one of them first.
const START_ATTEMPTS: u32 = 5;

/// Which router serves a supergraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RouterKind {
    /// The pinned Apollo Router with a profile from `router/` (the
    /// default, and what production runs).
    #[default]
    Apollo,
    /// Hive Router with the equivalent configuration [`hive_router_config`]
    /// writes. It has no Rhai, so the query-plan bound and trusted
    /// documents are not applied, and 0.2.0 refuses `@defer`.
    Hive,
}

impl RouterKind {
    /// The installed binary: `TALENTGRAPH_ROUTER` or
    /// `TALENTGRAPH_HIVE_ROUTER` when set, else where the install script
    /// puts it (which may not exist yet; see [`RouterKind::install`]).
    pub fn binary(self) -> PathBuf {
        let (variable, relative) = match self {
            Self::Apollo => (
                "TALENTGRAPH_ROUTER",
                format!("apollo-router-{APOLLO_ROUTER_VERSION}/bin/router"),
            ),
            Self::Hive => (
                "TALENTGRAPH_HIVE_ROUTER",
                format!("hive-router-{HIVE_ROUTER_VERSION}/bin/hive_router"),
            ),
        };
        std::env::var_os(variable)
            .map(PathBuf::from)
            .unwrap_or_else(|| tools_directory().join(relative))
    }

    /// Runs the install script (which builds the router on first use and
    /// returns at once afterwards); returns the binary.
    pub fn install(self) -> Result<PathBuf, LaunchError> {
        crate::run_install_script(match self {
            Self::Apollo => "install-router.sh",
            Self::Hive => "install-hive-router.sh",
        })
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::Apollo => "Apollo Router",
            Self::Hive => "Hive Router",
        }
    }
}

/// A router's listening addresses. Hive Router serves GraphQL, health and
/// readiness on one address; `health` and `metrics` are Apollo Router's.
#[derive(Debug, Clone, Copy)]
pub struct RouterAddresses {
    pub listen: SocketAddr,
    pub health: SocketAddr,
    pub metrics: SocketAddr,
}

impl RouterAddresses {
    /// Loopback addresses nothing listens on now.
    pub fn unused() -> Self {
        let unused = talentgraph_kit::local_ports::unused_loopback_address;
        Self {
            listen: unused(),
            health: unused(),
            metrics: unused(),
        }
    }

    /// When `kind` is ready to serve: Apollo Router's health check, or
    /// Hive Router's `/readiness` (its `/health` answers before the
    /// supergraph is loaded, when requests still fail).
    pub fn readiness(&self, kind: RouterKind) -> Readiness {
        match kind {
            RouterKind::Apollo => Readiness::HttpOk {
                address: self.health,
                path: "/health".to_owned(),
            },
            RouterKind::Hive => Readiness::HttpOk {
                address: self.listen,
                path: "/readiness".to_owned(),
            },
        }
    }

    /// The readiness URL, for HTTP clients.
    pub fn readiness_url(&self, kind: RouterKind) -> String {
        match self.readiness(kind) {
            Readiness::HttpOk { address, path } => format!("http://{address}{path}"),
            Readiness::Listening(address) => format!("http://{address}/"),
            Readiness::LogLine(_) => String::new(),
        }
    }
}

/// Everything a router is started with but its addresses, so that a start
/// that lost a port can be repeated on others.
#[derive(Debug, Clone)]
pub struct RouterLaunch {
    pub kind: RouterKind,
    /// The binary; [`RouterKind::binary`] by default.
    pub binary: PathBuf,
    pub supergraph: PathBuf,
    /// Apollo Router's configuration file (`router/router.dev.yaml` or
    /// `router/router.yaml`); Hive Router's is written from the launch.
    pub apollo_config: PathBuf,
    /// The directory of the Rhai scripts (Apollo Router).
    pub rhai_scripts: PathBuf,
    /// The secret sent to the subgraphs as `x-talentgraph-router`.
    pub router_secret: String,
    /// `SUBGRAPH_<NAME>_URL` for the production profile, which routes by
    /// them rather than by the supergraph's URLs.
    pub subgraph_urls: Vec<(String, String)>,
    /// Reload the supergraph and scripts when their files change.
    pub hot_reload: bool,
    /// Where Apollo Router exports spans (OTLP/HTTP base URL).
    pub otlp_endpoint: Option<String>,
    /// How many proxies in front of the router append to
    /// `X-Forwarded-For`: the router sends the subgraphs the address the
    /// outermost of them saw, and none with 0 (Apollo Router's
    /// `ROUTER_TRUSTED_PROXY_HOPS`, a header rule in Hive Router's file).
    pub trusted_proxy_hops: u8,
    /// More environment: timeouts, CORS origins, `RUST_LOG`.
    pub environment: Vec<(String, String)>,
    /// The directory for the log (`<name>.log`) and Hive Router's
    /// configuration (`<name>.yaml`).
    pub directory: PathBuf,
    /// Names the log and configuration files.
    pub name: String,
}

impl RouterLaunch {
    /// A launch of `kind` for `supergraph` with the development profile,
    /// the committed Rhai scripts and nothing else set.
    pub fn development(kind: RouterKind, supergraph: &Path, directory: &Path) -> Self {
        let root = crate::workspace_root();
        Self {
            kind,
            binary: kind.binary(),
            supergraph: supergraph.to_path_buf(),
            apollo_config: root.join("router/router.dev.yaml"),
            rhai_scripts: root.join("router/rhai"),
            router_secret: String::new(),
            subgraph_urls: Vec::new(),
            hot_reload: false,
            otlp_endpoint: None,
            trusted_proxy_hops: 0,
            environment: Vec::new(),
            directory: directory.to_path_buf(),
            name: "router".to_owned(),
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.directory.join(format!("{}.log", self.name))
    }

    /// The command that starts the router on `addresses`.
    fn command(&self, addresses: &RouterAddresses) -> Result<Command, LaunchError> {
        let mut command = match self.kind {
            RouterKind::Apollo => apollo::command(self, addresses),
            RouterKind::Hive => hive::command(self, addresses)?,
        };
        for (name, value) in &self.environment {
            command.env(name, value);
        }
        Ok(command)
    }

    /// Starts the router on `addresses` without waiting for it.
    pub fn spawn(&self, addresses: RouterAddresses) -> Result<RunningRouter, LaunchError> {
        if !self.binary.exists() {
            return Err(LaunchError::Process {
                name: self.kind.display_name().to_owned(),
                message: format!(
                    "not installed at {}: run scripts/install-router.sh or scripts/install-hive-router.sh \
                     (or point TALENTGRAPH_ROUTER or TALENTGRAPH_HIVE_ROUTER at a binary)",
                    self.binary.display()
                ),
            });
        }
        let process = ChildProcess::spawn(
            self.kind.display_name(),
            self.command(&addresses)?,
            &self.log_path(),
        )?;
        Ok(RunningRouter {
            kind: self.kind,
            addresses,
            process,
            start_up_log: String::new(),
        })
    }

    /// Starts the router on `addresses` and waits until it is ready.
    pub async fn start_on(&self, addresses: RouterAddresses) -> Result<RunningRouter, LaunchError> {
        self.start_and_wait(addresses)
            .await?
            .map_err(|(failure, router)| self.start_failed(&failure, &router.process))
    }

    /// Starts the router on fresh loopback ports and waits until it is
    /// ready; a start whose port was taken meanwhile is repeated.
    pub async fn start(&self) -> Result<RunningRouter, LaunchError> {
        let mut attempt = 1;
        loop {
            match self.start_and_wait(RouterAddresses::unused()).await? {
                Ok(router) => return Ok(router),
                Err((failure, router)) => {
                    let port_taken = matches!(failure, StartFailure::Exited(_))
                        && router.process.log().contains("Address already in use");
                    if !port_taken || attempt == START_ATTEMPTS {
                        return Err(self.start_failed(&failure, &router.process));
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// Spawns the router on `addresses` and waits for it: the ready router,
    /// or why it is not with the process (for its log).
    async fn start_and_wait(
        &self,
        addresses: RouterAddresses,
    ) -> Result<Result<RunningRouter, (StartFailure, RunningRouter)>, LaunchError> {
        let mut router = self.spawn(addresses)?;
        let readiness = addresses.readiness(self.kind);
        Ok(
            match router
                .process
                .wait_until_ready_async(&readiness, START_TIMEOUT)
                .await
            {
                Ok(()) => Ok(router.ready()),
                Err(failure) => Err((failure, router)),
            },
        )
    }

    fn start_failed(&self, failure: &StartFailure, process: &ChildProcess) -> LaunchError {
        LaunchError::Process {
            name: self.kind.display_name().to_owned(),
            message: format!(
                "{failure}; its log ({}):\n{}",
                process.log_path().display(),
                process.log()
            ),
        }
    }
}

/// A started router; stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct RunningRouter {
    pub kind: RouterKind,
    pub addresses: RouterAddresses,
    pub process: ChildProcess,
    /// What it logged until it was ready (empty for a router only
    /// spawned, not waited for).
    pub start_up_log: String,
}

impl RunningRouter {
    /// Keeps what the router logged until now as its start-up log.
    fn ready(mut self) -> Self {
        self.start_up_log = self.process.log();
        self
    }

    /// The GraphQL endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addresses.listen)
    }

    pub fn readiness_url(&self) -> String {
        self.addresses.readiness_url(self.kind)
    }

    /// Apollo Router's Prometheus endpoint.
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.addresses.metrics)
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }
}
