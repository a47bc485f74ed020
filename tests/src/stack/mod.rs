//! [`Stack`]: the whole stack for one test.
//!
//! Each subgraph gets a fresh database with the small demo world and is
//! served on a free loopback port (behind a counter of the GraphQL requests
//! it receives and an adjustable delay); a supergraph whose routing URLs
//! point at those ports is composed, and the router (Apollo Router or Hive
//! Router) is started on free ports by `talentgraph-launch`. Everything
//! stops when the `Stack` is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use schema_registry::{SubgraphInput, compose_subgraphs};
use talentgraph_demo_world::{DEMO_PASSWORD, DemoWorld};
use talentgraph_kit::testing::{TestApp, fresh_database, strict_test_config};
use talentgraph_kit::{Database, Subgraph};
use talentgraph_launch::provider::PaymentProvider;
use talentgraph_launch::{RouterKind, RouterLaunch, RunningRouter};
use talentgraph_subgraphs::SUBGRAPHS;

use crate::{DemoAccount, ROUTER_SECRET, Session, WORLD, repository_root};

mod requests;

pub use requests::Cost;

/// Options for [`Stack::start`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The router in front of the subgraphs: the pinned Apollo Router with
    /// `router_config`, or Hive Router with the configuration `devstack up
    /// --router hive` uses (then `router_config`, the Rhai options and the
    /// router's OTLP export do not apply).
    pub router: RouterKind,
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
    pub charge_retries: talentgraph_payment::settings::ChargeRetries,
    /// How long a subgraph request waits for a database connection.
    pub database_acquire_timeout: Duration,
    /// How long the test client waits for the router's answer.
    pub client_timeout: Duration,
    /// Every rate limit times this (`RATE_LIMIT_MULTIPLIER`); the suite's
    /// tests send many operations from one address, the rate-limit tests
    /// set 1.
    pub rate_limit_multiplier: u32,
    /// Whether the subgraphs read entities through the entity cache in
    /// the stack's Redis, as deployed ones do (`ENTITY_CACHE_ENABLED`).
    pub entity_cache: bool,
    /// Proxies the router trusts in front of it (`ROUTER_TRUSTED_PROXY_HOPS`):
    /// a test that plays the edge proxy appends to `X-Forwarded-For`.
    pub trusted_proxy_hops: u8,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            router: RouterKind::Apollo,
            router_config: "router.dev.yaml",
            subgraph_timeout: "2s",
            dataloader_delay: Duration::ZERO,
            router_otlp_endpoint: None,
            hot_reload: false,
            private_rhai_scripts: false,
            subgraph_limits: talentgraph_kit::LimitsConfig::default(),
            charge_retries: talentgraph_payment::settings::ChargeRetries {
                max_attempts: 4,
                first_retry_delay: Duration::from_millis(200),
                breaker_failure_threshold: 3,
                breaker_open_for: Duration::from_secs(1),
            },
            database_acquire_timeout: Duration::from_secs(10),
            client_timeout: Duration::from_secs(20),
            rate_limit_multiplier: 1_000,
            entity_cache: true,
            trusted_proxy_hops: 0,
        }
    }
}

/// The secret the stack's local provider signs webhooks with.
pub const PROVIDER_WEBHOOK_SECRET: &str = "whsec_talentgraph_tests";

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

/// The whole stack for one test.
pub struct Stack {
    pub subgraphs: Vec<RunningSubgraph>,
    pub router_url: String,
    /// Apollo Router's health check, or Hive Router's readiness.
    pub health_url: String,
    /// The router's Prometheus endpoint.
    pub router_metrics_url: String,
    client: reqwest::Client,
    sessions: Vec<(DemoAccount, Session)>,
    router: RunningRouter,
    supergraph_path: PathBuf,
    rhai_scripts_directory: PathBuf,
    subgraph_inputs: Vec<SubgraphInput>,
    /// Stops the relays and consumers when the stack is dropped.
    _stop_events: tokio::sync::watch::Sender<bool>,
    /// The stack's broker; see [`Stack::nats`].
    nats: talentgraph_kit::testing::NatsServer,
    /// The Redis the subgraphs' rate-limit windows are shared in.
    redis: talentgraph_kit::local_redis::RedisServer,
    /// The stack's payment provider; see [`Stack::provider`].
    provider: PaymentProvider,
    _directory: tempfile::TempDir,
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
    /// log when it does not become ready.
    pub async fn start(options: StackOptions) -> Self {
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
        let redis = talentgraph_kit::local_redis::RedisServer::start();
        // localstripe behind the idempotency and fault proxy, as in the dev
        // stack; payment charges through it.
        let provider = PaymentProvider::local(PROVIDER_WEBHOOK_SECRET)
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
            config.rate_limits.redis_url = Some(redis.url());
            config.rate_limits.multiplier = options.rate_limit_multiplier;
            config.entity_cache.enabled = options.entity_cache;
            config.entity_cache.redis_url = Some(redis.url());
            let database = database.with_configured_entity_cache(name, &config.entity_cache);
            config.tokens.jwks_url.clone_from(&jwks_url);
            config
                .read_domain_settings(subgraph.domain_settings.as_ref(), |_| None)
                .expect("the domain settings' defaults are valid");
            config
                .domain
                .insert(talentgraph_payment::settings::PaymentSettings {
                    provider: Some(talentgraph_payment::settings::ProviderAccount {
                        url: provider.url.clone(),
                        secret_key: provider.secret_key.clone(),
                    }),
                    webhook_secret: Some(PROVIDER_WEBHOOK_SECRET.to_owned()),
                    charge_retries: options.charge_retries,
                    ..talentgraph_payment::settings::PaymentSettings::of(&config)
                });
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
                    .register_webhook(&app.url("/webhooks/provider"))
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
        let rhai_scripts_directory = if options.private_rhai_scripts {
            talentgraph_launch::router::copy_of_committed_rhai_scripts(directory.path())
                .unwrap_or_else(|error| panic!("{error}"))
        } else {
            repository_root().join("router").join("rhai")
        };
        let client = reqwest::Client::builder()
            .timeout(options.client_timeout)
            .build()
            .expect("an HTTP client");
        let router = router_launch(
            &options,
            &inputs,
            directory.path(),
            &supergraph_path,
            &rhai_scripts_directory,
        )
        .start()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
        let mut stack = Self {
            subgraphs,
            router_url: router.url(),
            health_url: router.readiness_url(),
            router_metrics_url: router.metrics_url(),
            client,
            sessions: Vec::new(),
            router,
            supergraph_path,
            rhai_scripts_directory,
            subgraph_inputs: inputs,
            _stop_events: stop_events,
            nats,
            redis,
            provider,
            _directory: directory,
        };
        crate::projections::wait_for_demo_projections(&WORLD, |name| {
            stack.subgraph(name).database.clone()
        })
        .await;
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

    /// Which router this stack runs.
    pub fn router(&self) -> RouterKind {
        self.router.kind
    }

    /// What the router logged until it was ready.
    pub fn router_start_up_log(&self) -> &str {
        &self.router.start_up_log
    }

    /// What the router has logged so far (since its last start, when a
    /// start on taken ports had to be repeated).
    pub fn router_log(&self) -> String {
        self.router.process.log()
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
        let token = talentgraph_launch::registry::create_publisher_token(&database, "e2e-lead")
            .await
            .expect("a write-and-approve token");
        let state = schema_registry::server::RegistryState::new(database, router_files);
        let registry = TestApp::spawn(schema_registry::server::app(
            state,
            talentgraph_launch::registry::REGISTRY_BODY_LIMIT,
        ))
        .await
        .expect("the registry starts");
        talentgraph_launch::registry::publish_subgraphs(
            registry.url("").trim_end_matches('/'),
            &token,
            self.subgraph_inputs(),
            "initial population of the graph",
        )
        .await
        .unwrap_or_else(|error| panic!("publishing the stack's subgraphs: {error}"));
        (registry, token)
    }

    /// The stack's payment provider, to inject faults and count charges.
    pub fn provider(&self) -> &talentgraph_payment_provider::local::LocalProvider {
        self.provider
            .local_provider()
            .expect("the stack's provider is local")
    }

    /// The stack's broker URL, for a test's own connection.
    pub fn nats_url(&self) -> String {
        self.nats.url()
    }

    /// The stack's NATS server, to stop and resume in fault tests.
    pub fn nats(&mut self) -> &mut talentgraph_kit::testing::NatsServer {
        &mut self.nats
    }

    /// Waits until every entity-cache fill the subgraphs sent has been
    /// answered: every page answered before is then cached for the next.
    pub async fn until_cache_fills_landed(&self) {
        for subgraph in &self.subgraphs {
            if let Some(cache) = subgraph.database.entity_cache() {
                while cache.fills_in_flight() > 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
    }

    /// Empties the stack's Redis, so the next page finds the entity cache
    /// cold (and the rate-limit windows empty): the page tests count what a
    /// page costs the databases with nothing cached.
    pub async fn empty_redis(&self) {
        // A fill of the previous page that lands after the flush would
        // leave the next page partly warm.
        self.until_cache_fills_landed().await;
        let mut connection = redis::Client::open(self.redis.url())
            .expect("the stack's Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("connects to the stack's Redis");
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut connection)
            .await
            .expect("FLUSHALL");
    }

    /// The stack's Redis, to stop and resume it.
    pub fn redis(&mut self) -> &mut talentgraph_kit::local_redis::RedisServer {
        &mut self.redis
    }

    /// The router's process id (to read its memory and CPU from /proc).
    pub fn router_pid(&self) -> u32 {
        self.router.pid().expect("the router runs")
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
}

/// The router launch a stack's options describe.
fn router_launch(
    options: &StackOptions,
    inputs: &[SubgraphInput],
    directory: &Path,
    supergraph_path: &Path,
    rhai_scripts_directory: &Path,
) -> RouterLaunch {
    let mut launch = RouterLaunch::development(options.router, supergraph_path, directory);
    launch.apollo_config = repository_root().join("router").join(options.router_config);
    launch.rhai_scripts = rhai_scripts_directory.to_path_buf();
    launch.router_secret = ROUTER_SECRET.to_owned();
    launch.hot_reload = options.hot_reload;
    launch.trusted_proxy_hops = options.trusted_proxy_hops;
    launch
        .otlp_endpoint
        .clone_from(&options.router_otlp_endpoint);
    // The production profile routes by SUBGRAPH_<NAME>_URL; point it at
    // this stack's ports as the composed supergraph does.
    launch.subgraph_urls = inputs
        .iter()
        .map(|input| (input.name.clone(), input.routing_url.clone()))
        .collect();
    launch.environment = vec![
        (
            "ROUTER_SUBGRAPH_TIMEOUT".to_owned(),
            options.subgraph_timeout.to_owned(),
        ),
        // The browser tests serve the web app from a free loopback port;
        // both profiles must let it call the router.
        (
            "ROUTER_CORS_ORIGINS".to_owned(),
            "^http://(localhost|127[.]0[.]0[.]1):[0-9]+$".to_owned(),
        ),
    ];
    launch
}
