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
//!
//! `publishing.rs` holds what goes through the schema registry (the
//! subgraphs' and the client's publications, and the waits for the routers
//! to load them), `probes.rs` what the drill asks the stack to measure and
//! check it.

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

mod probes;
mod publishing;

use publishing::start_registry;

/// The client name the drill registers its documents under.
const DRILL_CLIENT: &str = "drill-web";

/// The subgraph whose rolling deploy brings a migration, and the migration.
pub const EXPAND_MIGRATION_SUBGRAPH: &str = "employer";
const EXPAND_MIGRATION: &str = include_str!("../expand_migration.sql");
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
    /// The Redis both replicas of every subgraph share their rate-limit
    /// windows in.
    pub redis: talentgraph_kit::local_redis::RedisServer,
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

        let redis = talentgraph_kit::local_redis::RedisServer::start();
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
                ("REDIS_URL".to_owned(), redis.url()),
                // The load's clients share one address, and the full drill
                // signs up thousands of accounts from it: limits stay on
                // (each operation pays its Redis round trip), high enough
                // never to refuse the drill's own load.
                ("RATE_LIMIT_MULTIPLIER".to_owned(), "10000".to_owned()),
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
            redis,
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
