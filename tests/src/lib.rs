//! The end-to-end harness: the whole stack, started per test.
//!
//! [`Stack::start`] gives each subgraph a fresh database with the small demo
//! world, serves the six subgraphs on free loopback ports (each behind a
//! counter of the GraphQL requests it receives and an adjustable delay),
//! composes a supergraph whose routing URLs point at those ports, and starts
//! the real, pinned Apollo Router on free ports with the development profile.
//! Everything stops when the `Stack` is dropped.
//!
//! Identity is real: the auth subgraph signs EdDSA access tokens, the other
//! subgraphs verify them against its JWKS, and the stack signs the three
//! demo accounts in through the router before any test runs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use schema_registry::{SubgraphInput, compose_subgraphs};
use talentgraph_demo_world::DEMO_PASSWORD;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::testing::{TestApp, fresh_database, strict_test_config};
use talentgraph_kit::{Database, Subgraph};
use talentgraph_subgraphs::SUBGRAPHS;

pub mod callgrind;
pub mod fuzz;
pub mod otlp;
pub mod recorded_subgraphs;
pub mod web;

pub const WORLD: DemoWorld = DemoWorld::SMALL;

/// The secret the router sends to the subgraphs in end-to-end tests.
pub const ROUTER_SECRET: &str = "e2e-router-secret-0123456789";

/// The demo accounts with known credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoAccount {
    Jobseeker,
    Recruiter,
    Admin,
}

impl DemoAccount {
    pub const ALL: [DemoAccount; 3] = [Self::Jobseeker, Self::Recruiter, Self::Admin];

    pub fn user(self) -> u64 {
        match self {
            Self::Jobseeker => WORLD.demo_jobseeker(),
            Self::Recruiter => WORLD.demo_recruiter(),
            Self::Admin => WORLD.demo_admin(),
        }
    }

    pub fn email(self) -> String {
        WORLD.email(self.user())
    }
}

/// Tokens from one sign-in.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
}

/// The pinned router version.
pub const ROUTER_VERSION: &str = "2.17.0";

/// The pinned Hive Router version (`scripts/install-hive-router.sh`).
pub const HIVE_ROUTER_VERSION: &str = "0.2.0";

pub use devstack::RouterChoice;

/// Runs each named test through both routers. For every `name`, the test
/// file defines `async fn name(router: RouterChoice)`; this generates the
/// tests `through_apollo_router::name` and `through_hive_router::name`.
#[macro_export]
macro_rules! test_through_both_routers {
    ($($test:ident),+ $(,)?) => {
        mod through_apollo_router {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::RouterChoice::Apollo).await;
                }
            )+
        }
        mod through_hive_router {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::RouterChoice::Hive).await;
                }
            )+
        }
    };
}

fn tools_directory() -> PathBuf {
    std::env::var("TALENTGRAPH_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".to_owned()))
                .join(".cache/talentgraph")
        })
}

/// Where `scripts/install-hive-router.sh` puts Hive Router, or
/// `TALENTGRAPH_HIVE_ROUTER`.
pub fn hive_router_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TALENTGRAPH_HIVE_ROUTER") {
        return PathBuf::from(path);
    }
    tools_directory()
        .join(format!("hive-router-{HIVE_ROUTER_VERSION}"))
        .join("bin/hive_router")
}

/// Where `scripts/install-router.sh` puts the router, or `TALENTGRAPH_ROUTER`.
pub fn router_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TALENTGRAPH_ROUTER") {
        return PathBuf::from(path);
    }
    tools_directory()
        .join(format!("apollo-router-{ROUTER_VERSION}"))
        .join("bin/router")
}

pub fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate sits in the repository")
}

/// A running subgraph and what the tests read from it.
pub struct RunningSubgraph {
    pub name: &'static str,
    pub database: Database,
    pub fetches: Arc<AtomicU64>,
    /// Milliseconds every GraphQL request waits before it is served.
    pub delay_milliseconds: Arc<AtomicU64>,
    app: Option<TestApp>,
}

impl RunningSubgraph {
    /// The address of `path` on this subgraph, for requests that bypass
    /// the router.
    pub fn url(&self, path: &str) -> String {
        self.app
            .as_ref()
            .map(|app| app.url(path))
            .unwrap_or_else(|| panic!("{} was stopped", self.name))
    }

    /// Stops serving: later requests to it are refused connections.
    pub fn stop(&mut self) {
        self.app = None;
    }
}

/// Counts of one page request: subgraph fetches and SQL statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cost {
    pub fetches: Vec<(&'static str, u64)>,
    pub statements: Vec<(&'static str, u64)>,
}

impl Cost {
    pub fn total_fetches(&self) -> u64 {
        self.fetches.iter().map(|(_, count)| count).sum()
    }
    pub fn total_statements(&self) -> u64 {
        self.statements.iter().map(|(_, count)| count).sum()
    }
    /// The subgraphs the request touched, in stack order.
    pub fn subgraphs_touched(&self) -> Vec<&'static str> {
        self.fetches
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(name, _)| *name)
            .collect()
    }
}

/// The router's answer to one request.
#[derive(Debug)]
pub struct RouterResponse {
    pub status: u16,
    /// The answer; for an `@defer` operation, the parts of the multipart
    /// answer merged into one `{data, errors}` body.
    pub body: serde_json::Value,
    /// How many parts the answer came in: 1 for a JSON answer, more for a
    /// multipart (`@defer`) one.
    pub parts: usize,
}

/// The body of a router answer with the number of parts it came in: a
/// `multipart/mixed` (`@defer`) answer merged by [`merge_multipart_answer`],
/// anything else parsed as one JSON document.
pub fn router_answer_body(
    content_type: &str,
    text: &str,
) -> Result<(serde_json::Value, usize), serde_json::Error> {
    if content_type.starts_with("multipart/mixed") {
        Ok(merge_multipart_answer(content_type, text))
    } else {
        serde_json::from_str(text).map(|body| (body, 1))
    }
}

/// Merges the parts of a `multipart/mixed` answer (the router's `@defer`
/// delivery) into one `{data, errors}` body; returns it with the number of
/// parts that carried JSON.
pub fn merge_multipart_answer(content_type: &str, text: &str) -> (serde_json::Value, usize) {
    let boundary = content_type
        .split(';')
        .filter_map(|parameter| parameter.trim().strip_prefix("boundary="))
        .map(|value| value.trim_matches('"'))
        .next()
        .unwrap_or("-");
    let mut data = serde_json::Value::Null;
    let mut errors: Vec<serde_json::Value> = Vec::new();
    let mut parts = 0;
    for part in text.split(&format!("--{boundary}")) {
        let Some((_, json)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Ok(part) = serde_json::from_str::<serde_json::Value>(json.trim()) else {
            continue;
        };
        if part.as_object().is_some_and(serde_json::Map::is_empty) {
            continue;
        }
        parts += 1;
        // Only the first part carries the initial data: Apollo Router closes
        // some streams with a last part of `{"data": null, "hasNext": false}`.
        if data.is_null()
            && let Some(initial) = part.get("data")
        {
            data = initial.clone();
        }
        errors.extend(part["errors"].as_array().cloned().unwrap_or_default());
        for increment in part["incremental"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            errors.extend(increment["errors"].as_array().cloned().unwrap_or_default());
            let mut target = &mut data;
            for key in increment["path"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                target = match key {
                    serde_json::Value::Number(index) => {
                        &mut target[usize::try_from(index.as_u64().unwrap_or_default())
                            .unwrap_or_default()]
                    }
                    other => &mut target[other.as_str().unwrap_or_default()],
                };
            }
            if let (Some(target), Some(patch)) =
                (target.as_object_mut(), increment["data"].as_object())
            {
                target.extend(patch.clone());
            }
        }
    }
    let mut body = serde_json::json!({ "data": data });
    if !errors.is_empty() {
        body["errors"] = serde_json::Value::Array(errors);
    }
    (body, parts)
}

/// Options for [`Stack::start`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The router in front of the subgraphs: the pinned Apollo Router with
    /// `router_config`, or Hive Router with the configuration `devstack up
    /// --router hive` uses (then `router_config`, the Rhai options and the
    /// router's OTLP export do not apply).
    pub router: RouterChoice,
    /// `router.dev.yaml` or `router.yaml`.
    pub router_config: &'static str,
    /// The router's per-subgraph timeout.
    pub subgraph_timeout: &'static str,
    /// The subgraphs' DataLoader batching window. Zero, production's
    /// default, loads a batch when the request goes idle, which does not
    /// depend on machine load, so the statement counts the tests assert are
    /// the ones production runs.
    pub dataloader_delay: Duration,
    /// Where the router exports its spans (OTLP/HTTP base URL); none when
    /// `None`.
    pub router_otlp_endpoint: Option<String>,
    /// Starts the router with `--hot-reload`, so it reloads the supergraph
    /// file (see [`Stack::supergraph_path`]) and its Rhai scripts when they
    /// change.
    pub hot_reload: bool,
    /// A private copy of `router/rhai` for the router (see
    /// [`Stack::rhai_scripts_directory`]), so a test can rewrite the trusted
    /// documents without touching the committed ones. Without it the router
    /// runs the committed scripts.
    pub private_rhai_scripts: bool,
    /// The subgraphs' operation limits (production's by default).
    pub subgraph_limits: talentgraph_kit::LimitsConfig,
    /// How patiently payment's charge worker retries the provider; tests
    /// use a short version of production's policy.
    pub charge_retries: talentgraph_kit::config::ChargeRetries,
    /// How long a subgraph request waits for a database connection.
    pub database_acquire_timeout: Duration,
    /// How long the test client waits for the router's answer.
    pub client_timeout: Duration,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            router: RouterChoice::Apollo,
            router_config: "router.dev.yaml",
            subgraph_timeout: "2s",
            dataloader_delay: Duration::ZERO,
            router_otlp_endpoint: None,
            hot_reload: false,
            private_rhai_scripts: false,
            subgraph_limits: talentgraph_kit::LimitsConfig::default(),
            charge_retries: talentgraph_kit::config::ChargeRetries {
                max_attempts: 4,
                first_retry_delay: Duration::from_millis(200),
                breaker_failure_threshold: 3,
                breaker_open_for: Duration::from_secs(1),
            },
            database_acquire_timeout: Duration::from_secs(10),
            client_timeout: Duration::from_secs(20),
        }
    }
}

/// The secret the stack's local provider signs webhooks with.
pub const PROVIDER_WEBHOOK_SECRET: &str = "whsec_talentgraph_tests";

/// The whole stack for one test.
pub struct Stack {
    pub subgraphs: Vec<RunningSubgraph>,
    pub router_url: String,
    pub health_url: String,
    /// The router's Prometheus endpoint.
    pub router_metrics_url: String,
    client: reqwest::Client,
    sessions: Vec<(DemoAccount, Session)>,
    router: Child,
    router_choice: RouterChoice,
    router_log: PathBuf,
    supergraph_path: PathBuf,
    rhai_scripts_directory: PathBuf,
    subgraph_inputs: Vec<SubgraphInput>,
    /// Stops the relays and consumers when the stack is dropped.
    _stop_events: tokio::sync::watch::Sender<bool>,
    /// The stack's broker; see [`Stack::nats`].
    nats: talentgraph_kit::testing::NatsServer,
    /// The stack's payment provider; see [`Stack::provider`].
    provider: talentgraph_payment_provider::local::LocalProvider,
    _directory: tempfile::TempDir,
}

/// A loopback address nobody listens on now, for a server a test starts
/// as a child process (see `talentgraph_kit::testing::ports` for why it is
/// not the kernel's choice).
pub fn free_address() -> SocketAddr {
    talentgraph_kit::testing::unused_loopback_address()
}

/// How many times [`Stack::start`] starts the router on fresh ports when
/// another process took one of them first.
const ROUTER_START_ATTEMPTS: u32 = 5;

/// The router's three listening addresses.
struct RouterAddresses {
    listen: SocketAddr,
    health: SocketAddr,
    metrics: SocketAddr,
}

impl RouterAddresses {
    fn unused() -> Self {
        Self {
            listen: free_address(),
            health: free_address(),
            metrics: free_address(),
        }
    }

    fn health_url(&self, router: RouterChoice) -> String {
        match router {
            RouterChoice::Apollo => format!("http://{}/health", self.health),
            // Hive Router's /health answers before it has loaded the
            // supergraph (requests then fail with NO_SUPERGRAPH_AVAILABLE);
            // /readiness waits for it.
            RouterChoice::Hive => format!("http://{}/readiness", self.listen),
        }
    }
}

/// Everything the router is started with but its addresses, so that a
/// start that lost a port can be repeated on others.
struct RouterLaunch<'a> {
    program: &'a Path,
    options: &'a StackOptions,
    inputs: &'a [SubgraphInput],
    directory: &'a Path,
    supergraph_path: &'a Path,
    rhai_scripts_directory: &'a Path,
}

impl RouterLaunch<'_> {
    /// Starts the router on `addresses`, writing its output to `log` (a
    /// fresh file each time).
    fn spawn(&self, addresses: &RouterAddresses, log: &Path) -> Child {
        let options = self.options;
        let log = std::fs::File::create(log).expect("creates the router log");
        let mut command = Command::new(self.program);
        if options.router == RouterChoice::Hive {
            let config = self.directory.join("hive-router.yaml");
            std::fs::write(
                &config,
                devstack::hive_router_config(addresses.listen, self.supergraph_path, ROUTER_SECRET),
            )
            .expect("writes Hive Router's configuration");
            command.env("ROUTER_CONFIG_FILE_PATH", &config);
            for variable in devstack::HIVE_ROUTER_OVERRIDE_VARIABLES {
                command.env_remove(variable);
            }
        } else {
            command
                .arg("--supergraph")
                .arg(self.supergraph_path)
                .arg("--config")
                .arg(repository_root().join("router").join(options.router_config));
            if options.hot_reload {
                command.arg("--hot-reload");
            }
        }
        // The production profile routes by SUBGRAPH_<NAME>_URL; point it at
        // this stack's ports as the composed supergraph does.
        for input in self.inputs {
            command.env(
                format!("SUBGRAPH_{}_URL", input.name.to_uppercase()),
                &input.routing_url,
            );
        }
        if let Some(endpoint) = &options.router_otlp_endpoint {
            command
                .env("ROUTER_OTLP_ENABLED", "true")
                .env("ROUTER_OTLP_ENDPOINT", endpoint);
        } else {
            command.env("ROUTER_OTLP_ENABLED", "false");
        }
        // The router refuses to start when the standard OTLP variables are
        // set; its endpoint comes from ROUTER_OTLP_ENDPOINT instead.
        for variable in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        ] {
            command.env_remove(variable);
        }
        command
            .env("ROUTER_RHAI_SCRIPTS", self.rhai_scripts_directory)
            .env("ROUTER_LISTEN", addresses.listen.to_string())
            .env("ROUTER_HEALTH_LISTEN", addresses.health.to_string())
            .env("ROUTER_METRICS_LISTEN", addresses.metrics.to_string())
            .env("ROUTER_SUBGRAPH_TIMEOUT", options.subgraph_timeout)
            .env("ROUTER_SHARED_SECRET", ROUTER_SECRET)
            // The browser tests serve the web app from a free loopback port;
            // both profiles must let it call the router.
            .env(
                "ROUTER_CORS_ORIGINS",
                "^http://(localhost|127[.]0[.]0[.]1):[0-9]+$",
            )
            .env("APOLLO_TELEMETRY_DISABLED", "true")
            .env_remove("APOLLO_KEY")
            .env_remove("APOLLO_GRAPH_REF")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clones the log handle"))
            .stderr(log)
            .spawn()
            .expect("starts the router")
    }
}

/// Why the router did not become healthy.
#[derive(Debug)]
enum RouterStartFailure {
    Exited(std::process::ExitStatus),
    TimedOut,
}

impl std::fmt::Display for RouterStartFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited(status) => write!(formatter, "the router exited with {status}"),
            Self::TimedOut => write!(formatter, "the router did not become healthy within 60 s"),
        }
    }
}

/// Polls `health_url` until the router answers it; a router still starting
/// after 60 s is killed.
async fn wait_until_healthy(
    router: &mut Child,
    client: &reqwest::Client,
    health_url: &str,
) -> Result<(), RouterStartFailure> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = router.try_wait() {
            return Err(RouterStartFailure::Exited(status));
        }
        if let Ok(response) = client.get(health_url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = router.kill();
    let _ = router.wait();
    Err(RouterStartFailure::TimedOut)
}

/// The subgraphs in stack order: auth first, because the others verify
/// tokens against its key set; then the rest in the list's order.
fn subgraphs_in_start_order() -> Vec<&'static Subgraph<DemoWorld>> {
    let (auth, others): (Vec<_>, Vec<_>) = SUBGRAPHS
        .iter()
        .copied()
        .partition(|subgraph| subgraph.name == "auth");
    auth.into_iter().chain(others).collect()
}

/// Counts GraphQL requests and applies the test-controlled delay.
fn instrument(router: Router, fetches: Arc<AtomicU64>, delay: Arc<AtomicU64>) -> Router {
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let fetches = fetches.clone();
            let delay = delay.clone();
            async move {
                if request.uri().path() == "/graphql" {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let milliseconds = delay.load(Ordering::SeqCst);
                    if milliseconds > 0 {
                        tokio::time::sleep(Duration::from_millis(milliseconds)).await;
                    }
                }
                next.run(request).await
            }
        },
    ))
}

impl Stack {
    /// Starts databases, subgraphs and the router; panics with the router's
    /// log when it does not become healthy.
    pub async fn start(options: StackOptions) -> Self {
        let router = match options.router {
            RouterChoice::Apollo => router_binary(),
            RouterChoice::Hive => hive_router_binary(),
        };
        assert!(
            router.exists(),
            "the router is not installed at {}. Install it with scripts/install-router.sh or \
             scripts/install-hive-router.sh (or point TALENTGRAPH_ROUTER or TALENTGRAPH_HIVE_ROUTER at a binary).",
            router.display()
        );
        let mut subgraphs = Vec::new();
        let mut inputs = Vec::new();
        let mut jwks_url = String::new();
        // A broker of the stack's own; every subgraph's relay and consumers
        // run against it, as in production.
        let nats = talentgraph_kit::testing::NatsServer::start();
        let broker = talentgraph_kit::events::Broker::connect(&nats.url(), "talentgraph-e2e")
            .await
            .expect("connects to the stack's NATS server");
        let (stop_events, event_stop_signal) = talentgraph_kit::events::StopSignal::new();
        // localstripe behind the idempotency and fault proxy, as in the dev
        // stack; payment charges through it.
        let provider = talentgraph_payment_provider::local::LocalProvider::start()
            .await
            .unwrap_or_else(|error| panic!("the local payment provider: {error}"));
        for subgraph in subgraphs_in_start_order() {
            let name = subgraph.name;
            let (seeding, url) = fresh_database(subgraph.migrator)
                .await
                .expect("a fresh database");
            subgraph
                .seed_demo(&seeding, &WORLD)
                .await
                .unwrap_or_else(|error| panic!("seeding {name}: {}", error.detail()));
            seeding.close().await;
            // The pool the subgraph serves with, as a deployed one sizes it
            // (ten connections) with the stack's acquire timeout.
            let database = Database::connect(&url, 10, options.database_acquire_timeout)
                .await
                .expect("connects the serving pool");
            let mut config = strict_test_config(&url);
            // The router's plans nest deeper and cost more than a single
            // subgraph's unit tests; production limits apply here.
            config.limits = options.subgraph_limits.clone();
            config.dataloader_delay = options.dataloader_delay;
            config.router_secret = Some(ROUTER_SECRET.to_owned());
            config.tokens.jwks_url.clone_from(&jwks_url);
            config.payment.provider = Some(talentgraph_kit::config::PaymentProviderConfig {
                url: provider.url(),
                secret_key: talentgraph_payment_provider::local::LOCAL_SECRET_KEY.to_owned(),
            });
            config.payment.webhook_secret = Some(PROVIDER_WEBHOOK_SECRET.to_owned());
            config.payment.charge_retries = options.charge_retries;
            let fetches = Arc::new(AtomicU64::new(0));
            let delay = Arc::new(AtomicU64::new(0));
            let app = instrument(
                subgraph.deployed_app(database.clone(), &config),
                fetches.clone(),
                delay.clone(),
            );
            let app = TestApp::spawn(app).await.expect("the subgraph starts");
            subgraph.spawn_event_tasks(&database, &broker, &config, event_stop_signal.clone());
            if name == "auth" {
                jwks_url = app.url("/.well-known/jwks.json");
            }
            if name == "payment" {
                provider
                    .register_webhook(
                        &app.url("/webhooks/provider"),
                        PROVIDER_WEBHOOK_SECRET,
                        &["payment_intent.succeeded", "payment_intent.payment_failed"],
                    )
                    .await
                    .expect("registers payment's webhook with localstripe");
            }
            inputs.push(SubgraphInput {
                name: name.to_owned(),
                routing_url: app.url("/graphql"),
                sdl: subgraph.exported_sdl(),
            });
            subgraphs.push(RunningSubgraph {
                name,
                database,
                fetches,
                delay_milliseconds: delay,
                app: Some(app),
            });
        }
        let supergraph = compose_subgraphs(&inputs)
            .unwrap_or_else(|error| panic!("composition failed: {error:?}"));
        let directory = tempfile::tempdir().expect("a temporary directory");
        let supergraph_path = directory.path().join("supergraph.graphql");
        std::fs::write(&supergraph_path, &supergraph.sdl).expect("writes the supergraph");
        let committed_scripts = repository_root().join("router").join("rhai");
        let rhai_scripts_directory = if options.private_rhai_scripts {
            let copy = directory.path().join("rhai");
            std::fs::create_dir(&copy).expect("creates the script directory");
            for entry in std::fs::read_dir(&committed_scripts).expect("reads router/rhai") {
                let path = entry.expect("a directory entry").path();
                std::fs::copy(&path, copy.join(path.file_name().expect("a file name")))
                    .expect("copies a script");
            }
            copy
        } else {
            committed_scripts
        };
        let router_log = directory.path().join("router.log");
        let client = reqwest::Client::builder()
            .timeout(options.client_timeout)
            .build()
            .expect("an HTTP client");
        let launch = RouterLaunch {
            program: &router,
            options: &options,
            inputs: &inputs,
            directory: directory.path(),
            supergraph_path: &supergraph_path,
            rhai_scripts_directory: &rhai_scripts_directory,
        };
        // The router is told its ports, so another process can bind one of
        // them between the choice and the router's start; the router then
        // exits, and starting it again on fresh ports is all it takes.
        let mut attempt = 1;
        let (child, addresses) = loop {
            let addresses = RouterAddresses::unused();
            let mut child = launch.spawn(&addresses, &router_log);
            let health_url = addresses.health_url(options.router);
            match wait_until_healthy(&mut child, &client, &health_url).await {
                Ok(()) => break (child, addresses),
                Err(failure) => {
                    let log = std::fs::read_to_string(&router_log).unwrap_or_default();
                    let port_taken = matches!(failure, RouterStartFailure::Exited(_))
                        && log.contains("Address already in use");
                    if port_taken && attempt < ROUTER_START_ATTEMPTS {
                        attempt += 1;
                        continue;
                    }
                    panic!("{failure}; its log:\n{log}");
                }
            }
        };
        let mut stack = Self {
            subgraphs,
            router_url: format!("http://{}/", addresses.listen),
            health_url: addresses.health_url(options.router),
            router_metrics_url: format!("http://{}/metrics", addresses.metrics),
            client,
            sessions: Vec::new(),
            router: child,
            router_choice: options.router,
            router_log,
            supergraph_path,
            rhai_scripts_directory,
            subgraph_inputs: inputs,
            _stop_events: stop_events,
            nats,
            provider,
            _directory: directory,
        };
        stack.wait_for_demo_memberships().await;
        stack.wait_for_organization_cards().await;
        for account in DemoAccount::ALL {
            let session = stack
                .sign_in(&account.email(), DEMO_PASSWORD)
                .await
                .unwrap_or_else(|body| panic!("{account:?} cannot sign in: {body}"));
            stack.sessions.push((account, session));
        }
        stack.warm_key_caches().await;
        stack
    }

    /// Waits until auth has projected every demo recruiter membership from
    /// employer's `recruiter.added` events, so the demo recruiter's token
    /// carries its organization.
    async fn wait_for_demo_memberships(&self) {
        let expected = (0..WORLD.users)
            .filter(|user| WORLD.recruiter_organization(*user).is_some())
            .count() as i64;
        self.wait_for_projection(
            "auth",
            "SELECT count(*) FROM account_organizations",
            expected,
        )
        .await;
    }

    /// Waits until employer and internship keep the card of every demo
    /// organization (core's `organization.changed` events), which the pages
    /// read there instead of from core.
    async fn wait_for_organization_cards(&self) {
        for subgraph in ["employer", "internship"] {
            self.wait_for_projection(
                subgraph,
                "SELECT count(*) FROM organization_cards",
                WORLD.organizations as i64,
            )
            .await;
        }
    }

    /// Polls `count_sql` in `subgraph`'s database until it reaches
    /// `expected`; a projection that takes over 30 s fails the test.
    async fn wait_for_projection(&self, subgraph: &str, count_sql: &'static str, expected: i64) {
        let database = self.subgraph(subgraph).database.clone();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let projected: i64 = database
                .fetch_scalar(sqlx::query_scalar(count_sql))
                .await
                .unwrap_or_else(|error| panic!("{count_sql}: {}", error.detail()));
            if projected >= expected {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{subgraph} projected {projected} of {expected} rows ({count_sql}) within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Has every subgraph verify one token, so each has fetched the key set
    /// before a test counts requests and statements.
    async fn warm_key_caches(&self) {
        let token = self.token(DemoAccount::Jobseeker);
        for subgraph in &self.subgraphs {
            let Some(app) = &subgraph.app else { continue };
            let response = self
                .client
                .post(app.url("/graphql"))
                .bearer_auth(token)
                .json(&serde_json::json!({ "query": "{ __typename }" }))
                .send()
                .await
                .expect("the subgraph answers");
            assert!(
                response.status().is_success(),
                "{} refused a fresh token: {}",
                subgraph.name,
                response.text().await.unwrap_or_default()
            );
        }
    }

    /// The access token of a demo account, signed in at start.
    pub fn token(&self, account: DemoAccount) -> &str {
        &self
            .sessions
            .iter()
            .find(|(signed_in, _)| *signed_in == account)
            .expect("every demo account is signed in at start")
            .1
            .access_token
    }

    /// Signs in through the router; the error is the response body.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Session, serde_json::Value> {
        let (response, _) = self
            .request(
                None,
                &operation_document("SignIn"),
                Some("SignIn"),
                serde_json::json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        Self::session_from(&response.body, "signIn").ok_or(response.body)
    }

    /// Signs a new account up through the router with a fixed password;
    /// panics when sign-up fails.
    pub async fn sign_up(&self, email: &str, role: &str) -> Session {
        let (response, _) = self
            .request(
                None,
                &operation_document("SignUp"),
                Some("SignUp"),
                serde_json::json!({ "input": { "email": email, "password": "e2e test passphrase", "role": role } }),
            )
            .await;
        Self::session_from(&response.body, "signUp")
            .unwrap_or_else(|| panic!("sign-up failed: {:#}", response.body))
    }

    /// Reads the tokens of an `AuthPayload` at `data.<field>`.
    pub fn session_from(body: &serde_json::Value, field: &str) -> Option<Session> {
        let payload = &body["data"][field];
        Some(Session {
            access_token: payload["accessToken"].as_str()?.to_owned(),
            refresh_token: payload["refreshToken"].as_str()?.to_owned(),
        })
    }

    /// Which router this stack runs.
    pub fn router(&self) -> RouterChoice {
        self.router_choice
    }

    /// What the router has logged so far (since its last start, when a
    /// start on taken ports had to be repeated).
    pub fn router_log(&self) -> String {
        std::fs::read_to_string(&self.router_log).unwrap_or_default()
    }

    /// A schema registry of this stack's own (fresh database, free port)
    /// that writes `router_files`, with every subgraph of the stack
    /// published in name order (a subgraph that extends another's entity
    /// comes after it), each after the first approved as new to the graph.
    /// Returns the registry and its write-and-approve token.
    pub async fn start_registry(
        &self,
        router_files: schema_registry::server::RouterFiles,
    ) -> (TestApp, String) {
        let (database, _) = fresh_database(&schema_registry::server::MIGRATOR)
            .await
            .expect("a registry database");
        let token = schema_registry::server::tokens::create_token(
            &database,
            "e2e-lead",
            &[
                schema_registry::server::Scope::Write,
                schema_registry::server::Scope::Approve,
            ],
        )
        .await
        .expect("a write-and-approve token");
        let state = schema_registry::server::RegistryState::new(database, router_files);
        let registry = TestApp::spawn(schema_registry::server::app(state, 4 * 1024 * 1024))
            .await
            .expect("the registry starts");
        let mut inputs = self.subgraph_inputs().to_vec();
        inputs.sort_by(|a, b| a.name.cmp(&b.name));
        for input in &inputs {
            let response = self
                .client
                .post(registry.url(&format!("/api/subgraphs/{}/versions", input.name)))
                .bearer_auth(&token)
                .json(&serde_json::json!({
                    "sdl": input.sdl,
                    "routing_url": input.routing_url,
                    "approval": { "reason": "initial population of the graph" },
                }))
                .send()
                .await
                .expect("the registry answers");
            assert_eq!(response.status().as_u16(), 201, "publishing {}", input.name);
        }
        (registry, token)
    }

    /// The stack's payment provider, to inject faults and count charges.
    pub fn provider(&self) -> &talentgraph_payment_provider::local::LocalProvider {
        &self.provider
    }

    /// The stack's broker URL, for a test's own connection.
    pub fn nats_url(&self) -> String {
        self.nats.url()
    }

    /// The stack's NATS server, to stop and resume in fault tests.
    pub fn nats(&mut self) -> &mut talentgraph_kit::testing::NatsServer {
        &mut self.nats
    }

    /// The router's process id (to read its memory and CPU from /proc).
    pub fn router_pid(&self) -> u32 {
        self.router.id()
    }

    /// The directory of the router's Rhai scripts; with
    /// [`StackOptions::private_rhai_scripts`] a copy this test may rewrite.
    pub fn rhai_scripts_directory(&self) -> &Path {
        &self.rhai_scripts_directory
    }

    /// The supergraph file the router was started with.
    pub fn supergraph_path(&self) -> &Path {
        &self.supergraph_path
    }

    /// Each subgraph's name, routing URL in this stack and exported SDL.
    pub fn subgraph_inputs(&self) -> &[SubgraphInput] {
        &self.subgraph_inputs
    }

    pub fn subgraph(&self, name: &str) -> &RunningSubgraph {
        self.subgraphs
            .iter()
            .find(|subgraph| subgraph.name == name)
            .unwrap_or_else(|| panic!("no subgraph {name}"))
    }

    pub fn subgraph_mut(&mut self, name: &str) -> &mut RunningSubgraph {
        self.subgraphs
            .iter_mut()
            .find(|subgraph| subgraph.name == name)
            .unwrap_or_else(|| panic!("no subgraph {name}"))
    }

    /// SQL statements run so far by every subgraph's database together.
    pub fn total_statements(&self) -> u64 {
        self.snapshot().total_statements()
    }

    fn snapshot(&self) -> Cost {
        Cost {
            fetches: self
                .subgraphs
                .iter()
                .map(|subgraph| (subgraph.name, subgraph.fetches.load(Ordering::SeqCst)))
                .collect(),
            statements: self
                .subgraphs
                .iter()
                .map(|subgraph| (subgraph.name, subgraph.database.statements_executed()))
                .collect(),
        }
    }

    /// Sends one operation through the router and returns the answer with
    /// what it cost at the subgraphs.
    pub async fn request(
        &self,
        token: Option<&str>,
        query: &str,
        operation_name: Option<&str>,
        variables: serde_json::Value,
    ) -> (RouterResponse, Cost) {
        self.request_with_headers(token, query, operation_name, variables, &[])
            .await
    }

    /// Like [`Stack::request`], with extra request headers (a `traceparent`,
    /// say).
    pub async fn request_with_headers(
        &self,
        token: Option<&str>,
        query: &str,
        operation_name: Option<&str>,
        variables: serde_json::Value,
        headers: &[(&str, &str)],
    ) -> (RouterResponse, Cost) {
        let mut body = serde_json::json!({ "query": query, "variables": variables });
        if let Some(name) = operation_name {
            body["operationName"] = serde_json::Value::String(name.to_owned());
        }
        self.send_body(token, &body, headers).await
    }

    /// Posts any JSON body to the router (an id-only persisted query, say)
    /// and counts the fetches and statements it caused; panics with the
    /// router's log when the router does not answer.
    pub async fn send_body(
        &self,
        token: Option<&str>,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> (RouterResponse, Cost) {
        self.try_send_body(token, body, headers)
            .await
            .unwrap_or_else(|error| panic!("the router answers: {error}\n{}", self.router_log()))
    }

    /// [`Stack::send_body`] that returns a failed connection instead of
    /// panicking: a router that hot-reloads replaces its HTTP server, and a
    /// request in that moment can find the connection closed.
    pub async fn try_send_body(
        &self,
        token: Option<&str>,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Result<(RouterResponse, Cost), reqwest::Error> {
        let before = self.snapshot();
        let mut request = self
            .client
            .post(&self.router_url)
            .header("content-type", "application/json")
            // Operations with `@defer` (JobDetailPage) are answered in parts,
            // which the router sends only to clients that accept them.
            .header(
                "accept",
                "application/graphql-response+json, application/json;q=0.9, multipart/mixed;deferSpec=20220824;q=0.8",
            )
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await?;
        let (body, parts) = router_answer_body(&content_type, &text)
            .unwrap_or_else(|_| panic!("the router answered non-JSON ({status}): {text}"));
        let after = self.snapshot();
        let difference = |before: &[(&'static str, u64)], after: &[(&'static str, u64)]| {
            before
                .iter()
                .zip(after)
                .map(|((name, earlier), (_, later))| (*name, later - earlier))
                .collect()
        };
        let cost = Cost {
            fetches: difference(&before.fetches, &after.fetches),
            statements: difference(&before.statements, &after.statements),
        };
        Ok((
            RouterResponse {
                status,
                body,
                parts,
            },
            cost,
        ))
    }

    /// Sends a page operation from `pages/<name>.graphql`.
    pub async fn page(
        &self,
        name: &str,
        token: Option<&str>,
        variables: serde_json::Value,
    ) -> (RouterResponse, Cost) {
        let document = page_document(name);
        self.request(token, &document, Some(name), variables).await
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.router.kill();
        let _ = self.router.wait();
    }
}

/// Replaces the part of `tests/README.md` between `start` and `end` (the
/// markers included) with `section`, which carries the markers; when the
/// markers are missing, appends `heading` and the section. The measuring
/// binaries keep their tables current this way.
pub fn write_tests_readme_section(start: &str, end: &str, section: &str, heading: &str) {
    write_readme_section("tests/README.md", start, end, section, heading);
}

/// [`write_tests_readme_section`] for any markdown file of the repository
/// (`readme`, relative to its root).
pub fn write_readme_section(readme: &str, start: &str, end: &str, section: &str, heading: &str) {
    let path = repository_root().join(readme);
    let readme = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = match (readme.find(start), readme.find(end)) {
        (Some(first), Some(last)) => format!(
            "{}{section}{}",
            &readme[..first],
            &readme[last + end.len()..]
        ),
        _ => format!("{readme}\n{heading}{section}\n"),
    };
    std::fs::write(&path, updated)
        .unwrap_or_else(|error| panic!("writes {}: {error}", path.display()));
}

/// The text of `pages/<name>.graphql`.
pub fn page_document(name: &str) -> String {
    read_document("pages", name)
}

/// The text of `operations/<name>.graphql`: the web client's actions.
pub fn operation_document(name: &str) -> String {
    read_document("operations", name)
}

fn read_document(directory: &str, name: &str) -> String {
    let path = repository_root()
        .join(directory)
        .join(format!("{name}.graphql"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// A page's committed budget from `pages/budgets.json`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PageBudget {
    /// Subgraph GraphQL requests the router makes for the page, exactly.
    pub fetches: u64,
    /// SQL statements the page may cost across all subgraphs, at most.
    pub max_sql_statements: u64,
}

/// Reads `pages/budgets.json`.
pub fn page_budgets() -> std::collections::BTreeMap<String, PageBudget> {
    let path = repository_root().join("pages/budgets.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid: {error}", path.display()))
}

/// The pages of `pages/`, in the README's order.
pub const PAGES: [&str; 7] = [
    "JobSearchPage",
    "JobDetailPage",
    "JobseekerDashboardPage",
    "EmployerDashboardPage",
    "InternshipBrowsePage",
    "OrganizationPage",
    "CheckoutPage",
];

/// Who requests a page in the tests and the measurements, and with which
/// variables at a given page size.
pub async fn page_request<'stack>(
    stack: &'stack Stack,
    page: &str,
    page_size: i64,
) -> (Option<&'stack str>, serde_json::Value) {
    use serde_json::json;
    let jobseeker = Some(stack.token(DemoAccount::Jobseeker));
    let recruiter = Some(stack.token(DemoAccount::Recruiter));
    match page {
        "JobSearchPage" => (jobseeker, json!({ "first": page_size })),
        "JobDetailPage" => (
            jobseeker,
            json!({ "jobId": WORLD.job_id(0).to_string(), "internshipsFirst": page_size }),
        ),
        "JobseekerDashboardPage" => (jobseeker, json!({ "first": page_size })),
        "EmployerDashboardPage" => (
            recruiter,
            json!({ "jobsFirst": page_size, "applicationsFirst": 5 }),
        ),
        "InternshipBrowsePage" => (None, json!({ "first": page_size })),
        "OrganizationPage" => {
            let slug: String = stack
                .subgraph("core")
                .database
                .fetch_scalar(
                    sqlx::query_scalar("SELECT slug FROM organizations WHERE id = $1")
                        .bind(WORLD.organization_id(0)),
                )
                .await
                .expect("reads a slug");
            (
                jobseeker,
                json!({ "slug": slug, "jobsFirst": page_size, "internshipsFirst": page_size }),
            )
        }
        "CheckoutPage" => (
            recruiter,
            json!({
                "input": { "organizationId": WORLD.organization_id(0).to_string(), "credits": 3, "paymentMethod": "pm_card_visa" },
                "idempotencyKey": uuid::Uuid::new_v4().to_string(),
            }),
        ),
        other => panic!("unknown page {other}"),
    }
}
