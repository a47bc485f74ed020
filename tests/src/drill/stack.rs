//! The drill's stack, laid out as production lays it out: each subgraph as
//! two processes of its own behind HAProxy (health-checked on `/ready`,
//! where a Kubernetes Service stands), two Apollo Router replicas behind
//! the same proxy, PostgreSQL, a three-node NATS JetStream cluster with
//! streams replicated three times, and the local payment provider.
//!
//! Every service has three slots in the proxy: two serve, the third is
//! where a rolling deploy starts the new replica before the old one
//! drains (a surge of one, as a Deployment with `maxSurge: 1,
//! maxUnavailable: 0` rolls).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use schema_registry::SubgraphInput;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::local_postgres::PersistentCluster;
use talentgraph_launch::haproxy::{Haproxy, ProxiedService};
use talentgraph_launch::nats::NatsCluster;
use talentgraph_launch::provider::PaymentProvider;
use talentgraph_launch::subgraph::SubgraphReplica;
use talentgraph_launch::{
    ChildProcess, RouterAddresses, RouterKind, RouterLaunch, RunningRouter, workspace_root,
};
use talentgraph_subgraphs::SUBGRAPHS;

/// The client name the drill registers its documents under.
const DRILL_CLIENT: &str = "drill-web";

/// The subgraph whose rolling deploy brings a migration, and the migration.
pub const EXPAND_MIGRATION_SUBGRAPH: &str = "employer";
const EXPAND_MIGRATION: &str = include_str!("expand_migration.sql");
/// Later than any real migration's version, as the newest build's is.
const EXPAND_MIGRATION_FILE: &str = "29991231000001_drill_featured_until.sql";

/// Replicas that serve each service; one more slot is kept for a surge.
pub const REPLICAS: usize = 2;
const SLOTS: usize = REPLICAS + 1;

/// The drill's router secret (long and random enough for any profile).
pub const DRILL_ROUTER_SECRET: &str = "drill-router-secret-7f3a9c2e5b8d1f4a6c0e";
const WEBHOOK_SECRET: &str = "whsec_talentgraph_drill";

/// A service's slots: the address each listens on and the process in it.
struct Slots<Process> {
    addresses: Vec<SocketAddr>,
    processes: Vec<Option<Process>>,
    /// How many replicas were started so far (names the next one).
    started: usize,
}

impl<Process> Slots<Process> {
    fn new() -> Self {
        let unused = talentgraph_kit::local_ports::unused_loopback_address;
        Self {
            addresses: (0..SLOTS).map(|_| unused()).collect(),
            processes: (0..SLOTS).map(|_| None).collect(),
            started: 0,
        }
    }

    fn free_slot(&self) -> usize {
        self.processes
            .iter()
            .position(Option::is_none)
            .expect("a slot is kept free for the surge")
    }

    fn busy_slots(&self) -> Vec<usize> {
        (0..SLOTS)
            .filter(|slot| self.processes[*slot].is_some())
            .collect()
    }
}

/// The running stack.
pub struct DrillStack {
    pub directory: PathBuf,
    pub world: DemoWorld,
    pub router_url: String,
    pub postgres: PersistentCluster,
    postgres_directory: PathBuf,
    pub nats: NatsCluster,
    pub provider: PaymentProvider,
    subgraph_environment: BTreeMap<&'static str, Vec<(String, String)>>,
    replicas: BTreeMap<&'static str, Slots<ChildProcess>>,
    routers: Slots<RunningRouter>,
    router_health: Vec<SocketAddr>,
    router_launch: RouterLaunch,
    proxy: Haproxy,
    /// Where each database is, by subgraph.
    pub database_urls: BTreeMap<&'static str, String>,
    /// `debug` or `release`: which build of the subgraphs runs.
    profile: String,
    /// The schema registry the routers' supergraph file comes from.
    registry_url: String,
    registry_token: String,
    /// The subgraphs as published: name, routing URL, SDL.
    inputs: Vec<SubgraphInput>,
    /// How many compatible changes the drill has published.
    publications: usize,
    /// How many client releases the drill has registered.
    registrations: usize,
}

impl DrillStack {
    /// Starts everything in `directory` (kept for the logs), with the
    /// subgraphs' binaries of `profile`.
    pub async fn start(directory: &Path, world: DemoWorld, profile: &str) -> Self {
        let _ = std::fs::remove_dir_all(directory);
        std::fs::create_dir_all(directory).expect("creates the drill's directory");
        let postgres_directory = directory.join("postgres");
        let postgres = PersistentCluster::ensure_running(
            &postgres_directory,
            talentgraph_kit::local_ports::unused_loopback_port(),
        )
        .expect("PostgreSQL starts");
        let mut database_urls = BTreeMap::new();
        for subgraph in SUBGRAPHS {
            let name = format!("drill_{}", subgraph.name);
            create_database(&postgres, &name).await;
            let url = postgres.url_for(&name);
            let database = talentgraph_kit::Database::connect(&url, 2, Duration::from_secs(10))
                .await
                .expect("connects");
            database
                .run_migrations(subgraph.migrator)
                .await
                .expect("migrates");
            subgraph
                .seed_demo(&database, &world)
                .await
                .unwrap_or_else(|error| panic!("seeding {}: {}", subgraph.name, error.detail()));
            database.close().await;
            database_urls.insert(subgraph.name, url);
        }
        let nats = NatsCluster::start(&directory.join("nats"), 3).expect("NATS starts");
        let provider = PaymentProvider::local(WEBHOOK_SECRET)
            .await
            .expect("the local payment provider starts");

        let frontend = |_: &str| talentgraph_kit::local_ports::unused_loopback_address();
        let subgraph_frontends: BTreeMap<&'static str, SocketAddr> = SUBGRAPHS
            .iter()
            .map(|subgraph| (subgraph.name, frontend(subgraph.name)))
            .collect();
        let mut replicas: BTreeMap<&'static str, Slots<ChildProcess>> = SUBGRAPHS
            .iter()
            .map(|subgraph| (subgraph.name, Slots::new()))
            .collect();
        let routers: Slots<RunningRouter> = Slots::new();
        let router_health: Vec<SocketAddr> = (0..SLOTS)
            .map(|_| talentgraph_kit::local_ports::unused_loopback_address())
            .collect();
        let router_frontend = frontend("router");
        let mut services: Vec<ProxiedService> = SUBGRAPHS
            .iter()
            .map(|subgraph| ProxiedService {
                name: subgraph.name.to_owned(),
                frontend: subgraph_frontends[subgraph.name],
                replicas: replicas[subgraph.name]
                    .addresses
                    .iter()
                    .enumerate()
                    .map(|(slot, address)| (format!("{}-{slot}", subgraph.name), *address))
                    .collect(),
                health_path: "/ready".to_owned(),
                health_ports: None,
            })
            .collect();
        services.push(ProxiedService {
            name: "router".to_owned(),
            frontend: router_frontend,
            replicas: routers
                .addresses
                .iter()
                .enumerate()
                .map(|(slot, address)| (format!("router-{slot}"), *address))
                .collect(),
            health_path: "/health".to_owned(),
            health_ports: Some(router_health.iter().map(SocketAddr::port).collect()),
        });
        let proxy = Haproxy::start(&directory.join("haproxy"), &services).expect("HAProxy starts");

        let auth = subgraph_frontends["auth"];
        let mut subgraph_environment = BTreeMap::new();
        for subgraph in SUBGRAPHS {
            let environment = vec![
                ("TALENTGRAPH_ENV".to_owned(), "development".to_owned()),
                (
                    "RUST_LOG".to_owned(),
                    "warn,talentgraph_kit::server=info".to_owned(),
                ),
                (
                    "DATABASE_URL".to_owned(),
                    database_urls[subgraph.name].clone(),
                ),
                ("DATABASE_MAX_CONNECTIONS".to_owned(), "4".to_owned()),
                ("NATS_URL".to_owned(), nats.url()),
                ("NATS_STREAM_REPLICAS".to_owned(), "3".to_owned()),
                (
                    "ROUTER_SHARED_SECRET".to_owned(),
                    DRILL_ROUTER_SECRET.to_owned(),
                ),
                (
                    "AUTH_JWKS_URL".to_owned(),
                    format!("http://{auth}/.well-known/jwks.json"),
                ),
                ("ASYNC_WORKER_THREADS".to_owned(), "1".to_owned()),
                // Four of HAProxy's 250 ms checks see the replica leave.
                ("SHUTDOWN_DRAIN_SECONDS".to_owned(), "1".to_owned()),
                ("PAYMENT_PROVIDER_URL".to_owned(), provider.url.clone()),
                (
                    "PAYMENT_PROVIDER_SECRET_KEY".to_owned(),
                    provider.secret_key.clone(),
                ),
                (
                    "PAYMENT_WEBHOOK_SECRET".to_owned(),
                    WEBHOOK_SECRET.to_owned(),
                ),
            ];
            subgraph_environment.insert(subgraph.name, environment);
        }
        let inputs: Vec<SubgraphInput> = SUBGRAPHS
            .iter()
            .map(|subgraph| SubgraphInput {
                name: subgraph.name.to_owned(),
                routing_url: format!("http://{}/graphql", subgraph_frontends[subgraph.name]),
                sdl: subgraph.exported_sdl(),
            })
            .collect();
        let supergraph_path = directory.join("supergraph.graphql");
        // The routers run the production profile: only documents clients
        // registered run, checked by a script the registry rewrites.
        let rhai_scripts = talentgraph_launch::router::copy_of_committed_rhai_scripts(directory)
            .unwrap_or_else(|error| panic!("{error}"));
        let (registry_url, registry_token) = start_registry(
            &postgres,
            &supergraph_path,
            &rhai_scripts.join("trusted_documents.rhai"),
            &inputs,
        )
        .await;
        let mut router_launch =
            RouterLaunch::development(RouterKind::Apollo, &supergraph_path, directory);
        router_launch.apollo_config = workspace_root().join("router").join("router.yaml");
        router_launch.rhai_scripts = rhai_scripts;
        router_launch.router_secret = DRILL_ROUTER_SECRET.to_owned();
        router_launch.hot_reload = true;
        router_launch.subgraph_urls = inputs
            .iter()
            .map(|input| (input.name.clone(), input.routing_url.clone()))
            .collect();
        router_launch.environment = vec![("RUST_LOG".to_owned(), "warn".to_owned())];

        let mut stack = Self {
            directory: directory.to_path_buf(),
            world,
            router_url: format!("http://{router_frontend}/"),
            postgres,
            postgres_directory,
            nats,
            provider,
            subgraph_environment,
            replicas: BTreeMap::new(),
            routers,
            router_health,
            router_launch,
            proxy,
            database_urls,
            profile: profile.to_owned(),
            registry_url,
            registry_token,
            inputs,
            publications: 0,
            registrations: 0,
        };
        // Auth first: the others fetch its key set.
        let mut order: Vec<&'static str> = vec!["auth"];
        order.extend(
            SUBGRAPHS
                .iter()
                .map(|subgraph| subgraph.name)
                .filter(|name| *name != "auth"),
        );
        for name in order {
            let mut slots = replicas.remove(name).expect("slots for every subgraph");
            for _ in 0..REPLICAS {
                stack.start_replica(name, &mut slots);
            }
            stack.replicas.insert(name, slots);
        }
        stack
            .provider
            .register_webhook(&format!(
                "http://{}/webhooks/provider",
                subgraph_frontends["payment"]
            ))
            .await
            .expect("registers payment's webhook");
        for _ in 0..REPLICAS {
            stack.start_router().await;
        }
        stack
            .wait_until_served(&format!("http://{router_frontend}/"))
            .await;
        stack.wait_for_demo_projections().await;
        stack
    }

    /// Waits until the events of the seeded world have been projected (see
    /// `crate::projections`): the load's recruiter signs in once and keeps
    /// its token, which must carry the recruiter's organization.
    async fn wait_for_demo_projections(&self) {
        let mut databases = BTreeMap::new();
        for (name, url) in &self.database_urls {
            let database = talentgraph_kit::Database::connect(url, 1, Duration::from_secs(10))
                .await
                .expect("connects");
            databases.insert(*name, database);
        }
        crate::projections::wait_for_demo_projections(&self.world, |name| databases[name].clone())
            .await;
        for database in databases.into_values() {
            database.close().await;
        }
    }

    /// Starts a replica of `subgraph` in a free slot of `slots`.
    fn start_replica(&self, subgraph: &'static str, slots: &mut Slots<ChildProcess>) -> usize {
        let slot = slots.free_slot();
        slots.started += 1;
        let replica = SubgraphReplica {
            subgraph: subgraph.to_owned(),
            label: format!("replica-{}", slots.started),
            binary: SubgraphReplica::built_binary(&self.profile, subgraph),
            listen: slots.addresses[slot],
            environment: self.subgraph_environment[subgraph].clone(),
        };
        let process = replica
            .start(&self.directory.join("logs"))
            .unwrap_or_else(|error| panic!("{error}"));
        slots.processes[slot] = Some(process);
        slot
    }

    /// Starts a router replica in a free slot.
    async fn start_router(&mut self) -> usize {
        let slot = self.routers.free_slot();
        self.routers.started += 1;
        let mut launch = self.router_launch.clone();
        launch.name = format!("router-{}", self.routers.started);
        let router = launch
            .start_on(RouterAddresses {
                listen: self.routers.addresses[slot],
                health: self.router_health[slot],
                metrics: talentgraph_kit::local_ports::unused_loopback_address(),
            })
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        self.routers.processes[slot] = Some(router);
        slot
    }

    /// Waits until the proxy routes `url` to a replica that answers.
    async fn wait_until_served(&self, url: &str) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answered = client
                .post(url)
                .json(&self.probe_page())
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if answered {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{url} was not served within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Replaces each replica of `subgraph` in turn with a new process of
    /// the same build: the new one starts in the free slot and becomes
    /// ready (the proxy brings it in after two good checks), then the old
    /// one is sent SIGTERM and drains.
    ///
    /// Employer's deploy brings a migration ([`EXPAND_MIGRATION`]), applied
    /// first while the old replicas serve, as a deploy pipeline's migration
    /// step does; the replicas then start against a database one migration
    /// ahead of their build (the drill's new build is the same binary),
    /// which is what an old replica restarting mid-deploy meets too.
    pub async fn rolling_deploy(&mut self, subgraph: &'static str) {
        if subgraph == EXPAND_MIGRATION_SUBGRAPH {
            self.apply_expand_migration().await;
        }
        let mut slots = self.replicas.remove(subgraph).expect("a known subgraph");
        for old in slots.busy_slots() {
            let new = self.start_replica(subgraph, &mut slots);
            self.wait_for_the_proxy(subgraph, &format!("{subgraph}-{new}"))
                .await;
            let mut process = slots.processes[old].take().expect("a busy slot");
            tokio::task::spawn_blocking(move || process.stop())
                .await
                .expect("the stop completes");
        }
        self.replicas.insert(subgraph, slots);
    }

    /// Applies employer's migrations plus [`EXPAND_MIGRATION`]: the new
    /// build's migration set, read from a folder as `sqlx migrate` reads
    /// one.
    async fn apply_expand_migration(&self) {
        let folder = self.directory.join("new-build-migrations");
        std::fs::create_dir_all(&folder).expect("creates the migrations folder");
        let committed = workspace_root()
            .join("migrations")
            .join(EXPAND_MIGRATION_SUBGRAPH);
        for entry in std::fs::read_dir(&committed).expect("reads employer's migrations") {
            let path = entry.expect("a directory entry").path();
            std::fs::copy(&path, folder.join(path.file_name().expect("a file name")))
                .expect("copies a migration");
        }
        std::fs::write(folder.join(EXPAND_MIGRATION_FILE), EXPAND_MIGRATION)
            .expect("writes the drill's migration");
        let new_build = sqlx::migrate::Migrator::new(folder.as_path())
            .await
            .expect("reads the new build's migrations");
        let database = talentgraph_kit::Database::connect(
            &self.database_urls[EXPAND_MIGRATION_SUBGRAPH],
            1,
            Duration::from_secs(10),
        )
        .await
        .expect("connects to employer's database");
        database
            .run_migrations(&new_build)
            .await
            .unwrap_or_else(|error| panic!("the drill's migration: {error}"));
        database.close().await;
    }

    /// Runs `payment-reconcile` (the build the replicas run) as an operator
    /// would, with payment's configuration: `Ok` with its report when the
    /// books agree with the provider, `Err` with it otherwise.
    pub fn reconcile_payments(&self) -> Result<String, String> {
        let binary = workspace_root()
            .join("target")
            .join(&self.profile)
            .join("payment-reconcile");
        let output = std::process::Command::new(&binary)
            .env_clear()
            .envs(self.subgraph_environment["payment"].iter().cloned())
            .output()
            .map_err(|error| format!("{}: {error}", binary.display()))?;
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .trim()
        .to_owned();
        if output.status.success() {
            Ok(report)
        } else {
            Err(format!("{} ({})", report, output.status))
        }
    }

    /// Whether employer's database has the drill migration's column.
    pub async fn expand_migration_applied(&self) -> bool {
        let database = talentgraph_kit::Database::connect(
            &self.database_urls[EXPAND_MIGRATION_SUBGRAPH],
            1,
            Duration::from_secs(10),
        )
        .await
        .expect("connects to employer's database");
        let columns: i64 = database
            .fetch_scalar(sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.columns \
                 WHERE table_name = 'jobs' AND column_name = 'featured_until'",
            ))
            .await
            .unwrap_or(0);
        database.close().await;
        columns == 1
    }

    /// Registers a new release of the drill's client with the registry: the
    /// documents the load sends and one renamed page. The registry rewrites
    /// `trusted_documents.rhai` and the routers reload their scripts.
    /// Returns the new document.
    pub async fn register_client_release(&mut self) -> String {
        self.registrations += 1;
        let (documents, renamed) = client_release(self.registrations);
        talentgraph_launch::registry::register_operations(
            &self.registry_url,
            &self.registry_token,
            schema_registry::api::RegisterOperationsRequest {
                client: DRILL_CLIENT.to_owned(),
                client_version: format!("1.{}.0", self.registrations),
                documents,
            },
        )
        .await
        .unwrap_or_else(|error| panic!("registering the drill's client: {error}"));
        renamed
    }

    /// Waits until every router replica runs `document` (its scripts were
    /// reloaded with the registry's new list). Fails after 30 s.
    pub async fn wait_until_the_routers_trust(&self, document: &str) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut body = self.probe_page();
        body["query"] = serde_json::Value::String(document.to_owned());
        body["operationName"] = serde_json::Value::Null;
        for router in self.routers.processes.iter().flatten() {
            loop {
                let answered = client
                    .post(router.url())
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|response| response.status().is_success());
                if answered {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "router {} did not trust the registered document within 30 s",
                    router.url()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// Restarts each router replica in turn, the new one first.
    pub async fn rolling_router_restart(&mut self) {
        for old in self.routers.busy_slots() {
            let new = self.start_router().await;
            self.wait_for_the_proxy("router", &format!("router-{new}"))
                .await;
            let router = self.routers.processes[old].take().expect("a busy slot");
            tokio::task::spawn_blocking(move || drop(router))
                .await
                .expect("the stop completes");
        }
    }

    /// Publishes a compatible change of employer's schema through the
    /// registry (one more nullable field on `Job`, which no client asks
    /// for yet): the registry writes the supergraph file, and the routers,
    /// run with `--hot-reload`, load it.
    pub async fn publish_compatible_change(&mut self) {
        self.publications += 1;
        let mut input = self
            .inputs
            .iter()
            .find(|input| input.name == "employer")
            .expect("employer is published")
            .clone();
        let fields: String = (1..=self.publications)
            .map(|number| format!("  drillProbe{number}: String\n"))
            .collect();
        input.sdl = input.sdl.replacen(
            "type Job @key(fields: \"id\") {\n",
            &format!("type Job @key(fields: \"id\") {{\n{fields}"),
            1,
        );
        talentgraph_launch::registry::publish_subgraphs(
            &self.registry_url,
            &self.registry_token,
            &[input],
            "drill: a compatible change",
        )
        .await
        .unwrap_or_else(|error| panic!("publishing employer: {error}"));
    }

    /// Waits until every router replica serves the last field the drill
    /// published: the hot reload happened. Fails after 30 s.
    ///
    /// The production profile runs registered documents only, so the
    /// drill asks for the field with a document nobody registered: the
    /// router validates a document against its schema before the script
    /// checks whether it is trusted, so before the reload the answer is a
    /// validation error naming the unknown field, after it the script's
    /// `OPERATION_NOT_TRUSTED`, which does not name it.
    pub async fn wait_until_the_routers_reloaded(&self) {
        let field = format!("drillProbe{}", self.publications);
        let document = format!(
            "query DrillReloadProbe {{ job(id: \"{}\") {{ {field} }} }}",
            uuid::Uuid::nil()
        );
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        for router in self.routers.processes.iter().flatten() {
            loop {
                let answer: Option<serde_json::Value> = match client
                    .post(router.url())
                    .json(&serde_json::json!({ "query": document }))
                    .send()
                    .await
                {
                    Ok(response) => response.json().await.ok(),
                    Err(_) => None,
                };
                if answer.is_some_and(|answer| !answer.to_string().contains(&field)) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "router {} did not load the published {field} within 30 s",
                    router.url()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// Which NATS member leads the stream of `producer`'s events.
    pub async fn stream_leader(&self, producer: &str) -> usize {
        let broker = talentgraph_kit::events::Broker::connect(&self.nats.url(), "drill")
            .await
            .expect("connects to NATS");
        let mut stream = broker
            .jetstream()
            .get_stream(talentgraph_kit::events::broker::stream_name(producer))
            .await
            .expect("the stream exists");
        let info = stream.info().await.expect("the stream's info");
        let leader = info
            .cluster
            .as_ref()
            .and_then(|cluster| cluster.leader.clone())
            .expect("a clustered stream has a leader");
        self.nats
            .members()
            .iter()
            .position(|member| member.name() == leader)
            .unwrap_or_else(|| panic!("the leader {leader} is one of the drill's members"))
    }

    /// A registered page that reads the databases and needs no sign-in
    /// (InternshipBrowsePage), to see whether the stack serves.
    fn probe_page(&self) -> serde_json::Value {
        serde_json::json!({
            "query": crate::pages::page_document("InternshipBrowsePage"),
            "operationName": "InternshipBrowsePage",
            "variables": { "first": 10, "filter": { "organizationId": self.world.organization_id(0).to_string() } },
        })
    }

    /// After PostgreSQL's return: seconds until a page that reads the
    /// databases (InternshipBrowsePage, signed out) is answered without
    /// errors through the router; `None` when that takes over ten.
    pub async fn seconds_until_a_page_succeeds(&self) -> Option<f64> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let body = self.probe_page();
        while started.elapsed() < Duration::from_secs(10) {
            let answer = client.post(&self.router_url).json(&body).send().await;
            if let Ok(response) = answer
                && response.status().is_success()
                && let Ok(answer) = response.json::<serde_json::Value>().await
                && answer.get("errors").is_none()
                && answer.get("data").is_some_and(|data| !data.is_null())
            {
                return Some(started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// After a NATS node's return: seconds until a new sign-up's
    /// `account.created` is applied by core within one second again, the
    /// consumers' lag back to normal; `None` when that takes over ten.
    pub async fn seconds_until_events_are_prompt(&self) -> Option<f64> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let core = talentgraph_kit::Database::connect(
            &self.database_urls["core"],
            1,
            Duration::from_secs(10),
        )
        .await
        .expect("connects to core's database");
        let auth = talentgraph_kit::Database::connect(
            &self.database_urls["auth"],
            1,
            Duration::from_secs(10),
        )
        .await
        .expect("connects to auth's database");
        while started.elapsed() < Duration::from_secs(10) {
            let email = format!(
                "lag-{}@drill.talentgraph.dev",
                uuid::Uuid::new_v4().simple()
            );
            let body = serde_json::json!({
                "query": crate::pages::operation_document("SignUp"),
                "operationName": "SignUp",
                "variables": { "input": { "email": email, "password": "drill passphrase 1", "role": "JOBSEEKER" } },
            });
            let signed_up = client.post(&self.router_url).json(&body).send().await;
            if !signed_up.is_ok_and(|response| response.status().is_success()) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let committed = Instant::now();
            let user: Option<(uuid::Uuid,)> = auth
                .fetch_optional(
                    sqlx::query_as("SELECT user_id FROM accounts WHERE email = $1").bind(&email),
                )
                .await
                .unwrap_or(None);
            let Some((user,)) = user else { continue };
            while committed.elapsed() < Duration::from_secs(1) {
                let profiles: i64 = core
                    .fetch_scalar(
                        sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1").bind(user),
                    )
                    .await
                    .unwrap_or(0);
                if profiles == 1 {
                    return Some(started.elapsed().as_secs_f64());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        None
    }

    /// PostgreSQL's fast restart (`pg_ctl restart -m fast`): sessions end,
    /// the server stops and starts again on its port and data. Returns how
    /// long it did not accept connections.
    pub fn restart_postgres(&mut self) -> Duration {
        let started = Instant::now();
        self.postgres.stop().expect("PostgreSQL stops");
        self.postgres =
            PersistentCluster::ensure_running(&self.postgres_directory, self.postgres.port)
                .expect("PostgreSQL starts again");
        started.elapsed()
    }

    /// Waits until the proxy's checks have brought `server` of `backend`
    /// into rotation (two good checks of 250 ms).
    async fn wait_for_the_proxy(&self, backend: &str, server: &str) {
        assert!(
            self.proxy
                .wait_until_up(backend, server, Duration::from_secs(20))
                .await,
            "HAProxy did not take {server} into {backend} within 20 s"
        );
    }

    /// The pids of every process of the stack the drill started.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .replicas
            .values()
            .flat_map(|slots| {
                slots
                    .processes
                    .iter()
                    .flatten()
                    .filter_map(ChildProcess::pid)
            })
            .collect();
        pids.extend(
            self.routers
                .processes
                .iter()
                .flatten()
                .filter_map(RunningRouter::pid),
        );
        pids
    }

    /// The router log files, for a failure's evidence.
    pub fn log_directory(&self) -> PathBuf {
        self.directory.join("logs")
    }
}

impl Drop for DrillStack {
    fn drop(&mut self) {
        // Replicas and routers stop by their pids when their slots drop;
        // PostgreSQL is this stack's own cluster.
        self.replicas.clear();
        let _ = self.postgres.stop();
    }
}

/// The repository's drill directory for a run of `name`.
pub fn drill_directory(name: &str) -> PathBuf {
    workspace_root().join("target").join("drill").join(name)
}

/// Creates the database `name` on `postgres`.
async fn create_database(postgres: &PersistentCluster, name: &str) {
    let admin = talentgraph_kit::Database::connect(
        &postgres.url_for("postgres"),
        1,
        Duration::from_secs(10),
    )
    .await
    .expect("connects to PostgreSQL");
    admin
        .execute(sqlx::query(&format!("CREATE DATABASE \"{name}\"")))
        .await
        .unwrap_or_else(|error| panic!("creating the database {name}: {}", error.detail()));
    admin.close().await;
}

/// Serves the schema registry on a database of `postgres`, writing the
/// supergraph to `supergraph_path`, and publishes `inputs` to it; returns
/// its URL and a write-and-approve token.
async fn start_registry(
    postgres: &PersistentCluster,
    supergraph_path: &Path,
    trusted_documents_path: &Path,
    inputs: &[SubgraphInput],
) -> (String, String) {
    create_database(postgres, "drill_registry").await;
    let database = talentgraph_kit::Database::connect(
        &postgres.url_for("drill_registry"),
        4,
        Duration::from_secs(10),
    )
    .await
    .expect("connects to the registry's database");
    let registry = talentgraph_launch::registry::serve(
        database.clone(),
        schema_registry::server::RouterFiles {
            supergraph: Some(supergraph_path.to_path_buf()),
            trusted_documents: Some(trusted_documents_path.to_path_buf()),
        },
        talentgraph_kit::local_ports::unused_loopback_address(),
        std::future::pending(),
    )
    .await
    .expect("the registry starts");
    let token = talentgraph_launch::registry::create_publisher_token(&database, "drill")
        .await
        .expect("a registry token");
    talentgraph_launch::registry::publish_subgraphs(
        &registry.url(),
        &token,
        inputs,
        "drill: the graph",
    )
    .await
    .expect("publishes the subgraphs");
    assert!(
        supergraph_path.exists(),
        "the registry wrote the supergraph"
    );
    // The drill's client registers what the load sends before any router
    // starts: the registry's list replaces the committed one.
    let (documents, _) = client_release(0);
    talentgraph_launch::registry::register_operations(
        &registry.url(),
        &token,
        schema_registry::api::RegisterOperationsRequest {
            client: DRILL_CLIENT.to_owned(),
            client_version: "1.0.0".to_owned(),
            documents,
        },
    )
    .await
    .expect("registers the drill's client");
    (registry.url(), token)
}

/// The documents of release `release` of the drill's client: every page
/// and operation of the repository (what the load sends), and from release
/// 1 on JobSearchPage renamed `JobSearchPageR<release>` (returned apart),
/// as a client release that renames an operation registers it.
fn client_release(release: usize) -> (Vec<String>, String) {
    let mut documents: Vec<String> = ["pages", "operations"]
        .iter()
        .flat_map(|folder| {
            schema_registry::operations::load_operations(&workspace_root().join(folder))
                .unwrap_or_else(|error| panic!("{folder}: {error}"))
        })
        .map(|document| document.source)
        .collect();
    let renamed = crate::pages::page_document("JobSearchPage").replacen(
        "query JobSearchPage",
        &format!("query JobSearchPageR{release}"),
        1,
    );
    if release > 0 {
        documents.push(renamed.clone());
    }
    (documents, renamed)
}
