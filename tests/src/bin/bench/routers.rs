//! The routers and subgraphs a run starts beside the dev stack: the
//! router's ceiling (recorded subgraphs), a compared supergraph, Hive
//! Router and scale-out replicas. Every process is started by
//! `talentgraph-launch` and stopped by its pid when dropped.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rand::SeedableRng;
use serde_json::json;
use talentgraph_e2e::{page_document, repository_root};
use talentgraph_launch::{ChildProcess, Readiness, RouterKind, RouterLaunch, RunningRouter};

use crate::WORLD;
use crate::load::{RequestFactory, RouterUnderTest, job_search_variables, post_to};
use crate::options::Options;

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    talentgraph_e2e::free_address().port()
}

/// Where the bench keeps the logs, supergraphs and dumps of what it starts.
pub fn bench_directory() -> std::path::PathBuf {
    repository_root().join("target/bench")
}

/// The supergraph the dev stack composed and its router serves.
pub fn devstack_supergraph() -> String {
    let path = repository_root().join("target/devstack/supergraph.graphql");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Each subgraph's name and routing URL, from the supergraph's
/// `@join__graph(name: "…", url: "…")` lines.
pub fn routing_urls(supergraph: &str) -> Vec<(String, String)> {
    supergraph
        .lines()
        .filter_map(|line| {
            let arguments = line.split_once("@join__graph(name: \"")?.1;
            let (name, rest) = arguments.split_once('"')?;
            let url = rest.split_once("url: \"")?.1.split_once('"')?.0;
            Some((name.to_owned(), url.to_owned()))
        })
        .collect()
}

/// Starts `command` as `name`, logging to `target/bench/<name>.log`, and
/// waits until `readiness` holds.
fn start_process(
    name: &str,
    command: Command,
    readiness: &Readiness,
    timeout: Duration,
) -> ChildProcess {
    let mut process = ChildProcess::spawn(
        name,
        command,
        &bench_directory().join(format!("{name}.log")),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    if let Err(failure) = process.wait_until_ready(readiness, timeout) {
        panic!("{name} {failure}; see {}", process.log_path().display());
    }
    process
}

/// The router's ceiling: subgraphs answering from memory (this binary
/// with `serve-recorded-subgraphs`, its own process so its CPU is read
/// apart) and a second Apollo Router, same binary and configuration as the
/// dev stack's, whose supergraph routes every subgraph to them.
pub struct RouterCeiling {
    pub recorded_subgraphs: ChildProcess,
    pub recorded_subgraphs_address: std::net::SocketAddr,
    pub router: RunningRouter,
}

pub async fn start_router_ceiling() -> RouterCeiling {
    let supergraph = devstack_supergraph();
    let upstreams = routing_urls(&supergraph);
    assert_eq!(
        upstreams.len(),
        talentgraph_subgraphs::SUBGRAPHS.len(),
        "the dev stack's supergraph names every subgraph"
    );
    let recorded_subgraphs_address = talentgraph_e2e::free_address();
    let mut command = Command::new(std::env::current_exe().expect("the bench binary's path"));
    command
        .arg("serve-recorded-subgraphs")
        .arg(recorded_subgraphs_address.to_string())
        .args(upstreams.iter().map(|(name, url)| format!("{name}={url}")));
    let recorded_subgraphs = start_process(
        "recorded-subgraphs",
        command,
        &Readiness::Listening(recorded_subgraphs_address),
        Duration::from_secs(60),
    );
    let mut rerouted = supergraph;
    for (name, url) in &upstreams {
        rerouted = rerouted.replace(
            &format!("url: \"{url}\""),
            &format!("url: \"http://{recorded_subgraphs_address}/{name}/graphql\""),
        );
    }
    let router = start_apollo_router(&rerouted, "recorded-subgraphs").await;
    RouterCeiling {
        recorded_subgraphs,
        recorded_subgraphs_address,
        router,
    }
}

/// A second Apollo Router serving the supergraph in `path` (composed from
/// the same subgraphs at another commit, say), with each subgraph's routing
/// URL replaced by the dev stack's, so both routers reach the same
/// processes and only the query plans differ.
pub async fn start_compared_supergraph(path: &Path) -> RunningRouter {
    let mut supergraph = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("--compare-supergraph {}: {error}", path.display()));
    let devstack_urls = routing_urls(&devstack_supergraph());
    for (name, url) in routing_urls(&supergraph) {
        let (_, devstack_url) = devstack_urls
            .iter()
            .find(|(devstack_name, _)| *devstack_name == name)
            .unwrap_or_else(|| panic!("the dev stack has no subgraph {name}"));
        supergraph = supergraph.replace(
            &format!("url: \"{url}\""),
            &format!("url: \"{devstack_url}\""),
        );
    }
    start_apollo_router(&supergraph, "compared").await
}

/// A second router of `kind` beside the dev stack's, with its binary,
/// development profile and secret, on free ports, serving the supergraph
/// file `supergraph`.
async fn start_second_router(kind: RouterKind, supergraph: &Path, name: &str) -> RunningRouter {
    let mut launch = RouterLaunch::development(kind, supergraph, &bench_directory());
    launch.name = name.to_owned();
    launch.router_secret = devstack::router_secret();
    launch.binary = kind
        .install()
        .unwrap_or_else(|error| panic!("installing {}: {error}", kind.display_name()));
    launch.environment = vec![("RUST_LOG".to_owned(), "warn".to_owned())];
    launch
        .start()
        .await
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Starts a second Apollo Router serving `supergraph` (written under
/// `target/bench/supergraph-{name}.graphql`).
pub async fn start_apollo_router(supergraph: &str, name: &str) -> RunningRouter {
    let supergraph_path = bench_directory().join(format!("supergraph-{name}.graphql"));
    std::fs::write(&supergraph_path, supergraph).expect("writes the rerouted supergraph");
    start_second_router(
        RouterKind::Apollo,
        &supergraph_path,
        &format!("router-{name}"),
    )
    .await
}

/// Hive Router in front of the dev stack's subgraphs, on free ports, with
/// the configuration `devstack up --router hive` uses.
pub async fn start_hive_router() -> RunningRouter {
    start_second_router(
        RouterKind::Hive,
        &repository_root().join("target/devstack/supergraph.graphql"),
        "hive-router",
    )
    .await
}

/// Scale-out: the dev stack's subgraphs, except one subgraph served by
/// standalone replicas (its release binary, the dev stack's database, NATS
/// and secret) that share one port with SO_REUSEPORT
/// (`LISTEN_REUSE_PORT=true`), so the kernel spreads the router's
/// connections across them with nothing in between. A second Apollo
/// Router routes that subgraph to the shared port.
pub struct ScaleOut {
    pub subgraph: String,
    pub port: u16,
    pub replicas: Vec<ChildProcess>,
    pub router: RunningRouter,
}

impl ScaleOut {
    pub async fn start(subgraph: &str) -> Self {
        Self::start_with_first_replica(subgraph, None).await
    }

    /// One replica, run under callgrind with its dumps in `dump_file`, for
    /// `--count-instructions`.
    pub async fn start_counted(subgraph: &str, dump_file: &Path) -> Self {
        Self::start_with_first_replica(subgraph, Some(dump_file)).await
    }

    async fn start_with_first_replica(subgraph: &str, callgrind_dump_file: Option<&Path>) -> Self {
        let supergraph = devstack_supergraph();
        let (_, url) = routing_urls(&supergraph)
            .into_iter()
            .find(|(name, _)| name == subgraph)
            .unwrap_or_else(|| panic!("--scale-out {subgraph}: no such subgraph"));
        let port = free_port();
        let rerouted = supergraph.replace(
            &format!("url: \"{url}\""),
            &format!("url: \"http://127.0.0.1:{port}/graphql\""),
        );
        let router = start_apollo_router(&rerouted, &format!("scale-out-{subgraph}")).await;
        let mut scale_out = Self {
            subgraph: subgraph.to_owned(),
            port,
            replicas: Vec::new(),
            router,
        };
        scale_out.add_replica_running(callgrind_dump_file);
        scale_out
    }

    /// Starts one more replica and waits until it serves.
    pub fn add_replica(&mut self) {
        self.add_replica_running(None);
    }

    /// Starts one more replica, under callgrind when `callgrind_dump_file`
    /// is given, and waits until it serves.
    fn add_replica_running(&mut self, callgrind_dump_file: Option<&Path>) {
        let binary =
            repository_root().join(format!("target/release/talentgraph-{}", self.subgraph));
        let replica = self.replicas.len() + 1;
        let mut command = match callgrind_dump_file {
            Some(dump_file) => {
                let mut command = Command::new("valgrind");
                command
                    .args(talentgraph_e2e::callgrind::valgrind_arguments(dump_file))
                    .arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        command
            .env("TALENTGRAPH_ENV", "development")
            // Warnings only, as the dev stack runs, plus the one line
            // that says the replica listens.
            .env("RUST_LOG", "warn,talentgraph_kit::server=info")
            // The dev stack's cluster, by its socket as the dev stack's
            // own subgraphs reach it.
            .env(
                "DATABASE_URL",
                talentgraph_kit::local_postgres::local_cluster_url(
                    devstack::DEFAULT_POSTGRES_PORT,
                    &devstack::postgres_directory(),
                    &format!("talentgraph_{}", self.subgraph),
                ),
            )
            .env(
                "NATS_URL",
                format!("nats://127.0.0.1:{}", devstack::DEFAULT_NATS_PORT),
            )
            // The dev stack's Redis: the replicas share its windows.
            .env(
                "REDIS_URL",
                format!("redis://127.0.0.1:{}", devstack::DEFAULT_REDIS_PORT),
            )
            .env(
                "RATE_LIMIT_MULTIPLIER",
                crate::stack_under_test::BENCH_RATE_LIMIT_MULTIPLIER,
            )
            .env("LISTEN_ADDR", format!("127.0.0.1:{}", self.port))
            .env("LISTEN_REUSE_PORT", "true")
            // The secret the second router sends, as the dev stack's
            // subgraphs know it: requests from it are the router's.
            .env("ROUTER_SHARED_SECRET", devstack::router_secret())
            .env_remove("METRICS_LISTEN_ADDR");
        // The shared port already answers from the first replica; wait for
        // this one by its log line instead. Under valgrind, start-up runs
        // several times slower.
        let start_up = if callgrind_dump_file.is_some() {
            Duration::from_secs(600)
        } else {
            Duration::from_secs(60)
        };
        self.replicas.push(start_process(
            &format!("{}-replica-{replica}", self.subgraph),
            command,
            &Readiness::LogLine("subgraph listening".to_owned()),
            start_up,
        ));
    }
}

/// `serve-recorded-subgraphs ADDRESS NAME=URL...`: see
/// [`talentgraph_e2e::recorded_subgraphs`].
pub async fn serve_recorded_subgraphs(arguments: &[String]) {
    let address = arguments
        .first()
        .expect("serve-recorded-subgraphs ADDRESS NAME=URL...");
    let upstreams = arguments[1..]
        .iter()
        .map(|argument| {
            let (name, url) = argument
                .split_once('=')
                .unwrap_or_else(|| panic!("`{argument}` is not NAME=URL"));
            (name.to_owned(), url.to_owned())
        })
        .collect();
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .unwrap_or_else(|error| panic!("binds {address}: {error}"));
    talentgraph_e2e::recorded_subgraphs::serve_recorded_subgraphs(listener, upstreams)
        .await
        .expect("serves the recorded subgraphs");
}

/// Sends one request of JobSearchPage per organization and page size
/// through the ceiling's router, so the recorded subgraphs hold every
/// answer the measured load asks for.
pub async fn record_job_search(
    client: &reqwest::Client,
    factory: &RequestFactory,
    page_sizes: &[i64],
) {
    let url = factory.router_url(RouterUnderTest::ApolloAgainstRecordedSubgraphs);
    let document = page_document("JobSearchPage");
    for page_size in page_sizes {
        for organization in 0..WORLD.organizations {
            let body = json!({
                "query": document,
                "operationName": "JobSearchPage",
                "variables": job_search_variables(*page_size, organization),
            });
            post_to(client, url, Some(&factory.jobseeker_token), &body)
                .await
                .unwrap_or_else(|error| panic!("recording JobSearchPage: {error}"));
        }
    }
}

/// The pages Hive Router answers as Apollo Router does: one request per
/// page at each page size, compared as JSON.
#[allow(clippy::print_stdout)]
pub async fn pages_hive_answers_alike(
    client: &reqwest::Client,
    factory: &RequestFactory,
    options: &Options,
) -> std::collections::BTreeSet<String> {
    let mut alike: std::collections::BTreeSet<String> = options.pages.iter().cloned().collect();
    for page in &options.pages {
        let document = page_document(page);
        for page_size in &options.page_sizes {
            let mut random = rand::rngs::StdRng::seed_from_u64(7);
            let (token, variables) = factory.request(page, *page_size, &mut random);
            let body = json!({ "query": document, "operationName": page, "variables": variables });
            let apollo = post_to(
                client,
                factory.router_url(RouterUnderTest::Apollo),
                token,
                &body,
            )
            .await;
            let hive = post_to(
                client,
                factory.router_url(RouterUnderTest::Hive),
                token,
                &body,
            )
            .await;
            if apollo.is_ok() && apollo == hive {
                println!("{page} size {page_size}: Hive Router's answer equals Apollo Router's");
            } else {
                println!(
                    "{page} size {page_size}: the answers differ\n  Apollo Router: {apollo:?}\n  Hive Router: {hive:?}"
                );
                alike.remove(page);
            }
        }
    }
    alike
}
