//! `bench`: the pages under load through the dev stack, with CPU time per
//! page by process.
//!
//!   cargo run --release -p talentgraph-e2e --bin bench -- [--seconds S] [--warm-up-seconds W]
//!       [--connections 1,8,32,64] [--page-sizes 10,100] [--pages JobSearchPage,...]
//!       [--variants 'LABEL:NAME=VALUE NAME=VALUE;LABEL:...'] [--direct]
//!
//! `--direct` adds a reference line: JobSearchPage's data fetched straight
//! from the subgraphs, as a client of separate services would, once with
//! one call per service and level (the router's four fetches, made by the
//! client) and once with one call per entity (one for the jobs, then one
//! per organization and two per job). The page's row says how many calls a
//! page took on average.
//!
//! `--variants` measures the same ladder against the stack started several
//! times in one run, each time with the environment variables its variant
//! names (for example `DATALOADER_DELAY_MS=2` against `=0`, or an allocator
//! preloaded with `LD_PRELOAD`), so a change is measured before and after
//! on the same machine in the same minutes.
//!
//! It builds and starts `devstack up` in release mode (the full demo world;
//! the six subgraphs in the devstack process, Apollo Router and PostgreSQL
//! as their own processes, all with `RUST_LOG=warn`), signs the demo
//! accounts in, and for each page, page size and number of connections runs
//! a closed-loop load for a fixed time after a discarded warm-up. The load
//! generator is this process: a tokio client, one HTTP/1.1 keep-alive
//! connection per simulated user, each sending its next request when the
//! last one answered, with every latency kept (exact percentiles, no
//! histogram buckets). It was chosen over `wrk` and `oha` because each
//! request needs its own variables (a random organization, job or slug), so
//! the router's deduplication of identical in-flight fetches cannot merge
//! requests, and because its own CPU time is measured the same way as the
//! stack's.
//!
//! CPU seconds per 1,000 pages come from `/proc/<pid>/stat` (user + system
//! time) before and after each measured window, for the router, the
//! devstack process (the subgraphs), every PostgreSQL process, NATS and the
//! load generator itself.
//!
//! Output: a markdown table between the `bench` markers of
//! `tests/README.md` and every figure as JSON in `target/bench/bench.json`.
//! The dev stack's ports (4000–4006, 4100, 4200, 54329, 54222) must be free.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use talentgraph_demo_world::{DEMO_PASSWORD, DemoWorld};
use talentgraph_e2e::{page_document, repository_root, write_tests_readme_section};

const TABLE_START: &str = "<!-- bench:start -->";
const TABLE_END: &str = "<!-- bench:end -->";
/// A run with several variants compares them; it has its own section so the
/// full table stays.
const VARIANTS_TABLE_START: &str = "<!-- bench-variants:start -->";
const VARIANTS_TABLE_END: &str = "<!-- bench-variants:end -->";
const ROUTER_URL: &str = "http://127.0.0.1:4000/";
const WORLD: DemoWorld = DemoWorld::STANDARD;

/// The pages measured: every page but CheckoutPage, whose one request is a
/// payment (measured by the payment tests, not under load).
const PAGES: [&str; 6] = [
    "JobSearchPage",
    "JobDetailPage",
    "OrganizationPage",
    "InternshipBrowsePage",
    "JobseekerDashboardPage",
    "EmployerDashboardPage",
];

/// One configuration of the stack: a label and the environment it runs in.
#[derive(Clone)]
struct Variant {
    label: String,
    environment: Vec<(String, String)>,
}

/// Parses `LABEL:NAME=VALUE NAME=VALUE;LABEL:...`.
fn parse_variants(text: &str) -> Vec<Variant> {
    text.split(';')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (label, assignments) = entry.split_once(':').unwrap_or((entry, ""));
            let environment = assignments
                .split_whitespace()
                .map(|assignment| {
                    let (name, value) = assignment.split_once('=').unwrap_or_else(|| {
                        panic!("variant {label}: `{assignment}` is not NAME=VALUE")
                    });
                    if name == "LD_PRELOAD" && !Path::new(value).exists() {
                        panic!(
                            "variant {label}: {value} does not exist (Debian: apt-get install libmimalloc2.0 libjemalloc2)"
                        );
                    }
                    (name.to_owned(), value.to_owned())
                })
                .collect();
            Variant {
                label: label.trim().to_owned(),
                environment,
            }
        })
        .collect()
}

struct Options {
    variants: Vec<Variant>,
    direct: bool,
    seconds: u64,
    warm_up_seconds: u64,
    connections: Vec<usize>,
    page_sizes: Vec<i64>,
    pages: Vec<String>,
}

fn parse_options() -> Options {
    let mut options = Options {
        variants: vec![Variant {
            label: "as configured".to_owned(),
            environment: Vec::new(),
        }],
        direct: false,
        seconds: 5,
        warm_up_seconds: 1,
        connections: vec![1, 8, 32, 64],
        page_sizes: vec![10, 100],
        pages: PAGES.iter().map(|page| (*page).to_owned()).collect(),
    };
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let mut index = 0;
    while index < arguments.len() {
        if arguments[index] == "--direct" {
            options.direct = true;
            index += 1;
            continue;
        }
        let value = arguments
            .get(index + 1)
            .unwrap_or_else(|| panic!("{} needs a value", arguments[index]));
        let list = || {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
        };
        match arguments[index].as_str() {
            "--seconds" => options.seconds = value.parse().expect("--seconds is a number"),
            "--warm-up-seconds" => {
                options.warm_up_seconds = value.parse().expect("--warm-up-seconds is a number");
            }
            "--connections" => {
                options.connections = list().map(|item| item.parse().expect("a number")).collect();
            }
            "--page-sizes" => {
                options.page_sizes = list().map(|item| item.parse().expect("a number")).collect();
            }
            "--pages" => options.pages = list().map(str::to_owned).collect(),
            "--variants" => options.variants = parse_variants(value),
            other => panic!("unknown option {other}"),
        }
        index += 2;
    }
    options
}

/// The processes whose CPU time is read, by label.
struct Processes {
    by_label: Vec<(&'static str, Vec<u32>)>,
}

fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((command, rest)) = stat
            .split_once(" (")
            .and_then(|(_, rest)| rest.rsplit_once(") "))
        else {
            continue;
        };
        let parent_pid: Option<u32> = rest.split(' ').nth(1).and_then(|field| field.parse().ok());
        if parent_pid == Some(parent) {
            children.push((pid, command.to_owned()));
        }
    }
    children
}

/// User plus system CPU time of a process, in seconds.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    // Fields after the command: state is field 3; utime and stime are
    // fields 14 and 15.
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
    };
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / ticks_per_second
}

impl Processes {
    fn find(devstack: u32, postmaster: u32) -> Self {
        let children = children_of(devstack);
        let pids_named = |name: &str| -> Vec<u32> {
            children
                .iter()
                .filter(|(_, command)| command.starts_with(name))
                .map(|(pid, _)| *pid)
                .collect()
        };
        let mut postgres = vec![postmaster];
        postgres.extend(children_of(postmaster).into_iter().map(|(pid, _)| pid));
        Self {
            by_label: vec![
                ("router", pids_named("router")),
                ("subgraphs", vec![devstack]),
                ("PostgreSQL", postgres),
                ("NATS", pids_named("nats-server")),
                ("load generator", vec![std::process::id()]),
            ],
        }
    }

    fn snapshot(&self, ticks_per_second: f64) -> Vec<f64> {
        self.by_label
            .iter()
            .map(|(_, pids)| {
                pids.iter()
                    .map(|pid| cpu_seconds(*pid, ticks_per_second))
                    .sum()
            })
            .collect()
    }
}

/// What one page at one page size and one number of connections did.
#[derive(serde::Serialize)]
struct Measurement {
    variant: String,
    page: String,
    page_size: i64,
    connections: usize,
    pages: usize,
    errors: usize,
    pages_per_second: f64,
    p50_milliseconds: f64,
    p95_milliseconds: f64,
    p99_milliseconds: f64,
    /// CPU seconds per 1,000 pages, by process label.
    cpu_seconds_per_1000_pages: BTreeMap<String, f64>,
}

/// Variables and token for one request of `page`, varied per request so
/// identical requests are rare.
struct RequestFactory {
    slugs: Vec<String>,
    jobseeker_token: String,
    recruiter_token: String,
    direct: DirectFetches,
}

impl RequestFactory {
    fn request(&self, page: &str, page_size: i64, random: &mut impl Rng) -> (Option<&str>, Value) {
        let organization = WORLD.organization_id(random.gen_range(0..WORLD.organizations));
        match page {
            "JobSearchPage" => (
                Some(&self.jobseeker_token),
                json!({ "first": page_size, "filter": { "organizationId": organization.to_string() } }),
            ),
            "JobDetailPage" => (
                Some(&self.jobseeker_token),
                json!({ "jobId": WORLD.job_id(random.gen_range(0..WORLD.jobs)).to_string(), "internshipsFirst": page_size }),
            ),
            "OrganizationPage" => (
                None,
                json!({
                    "slug": self.slugs[random.gen_range(0..self.slugs.len())],
                    "jobsFirst": page_size,
                    "internshipsFirst": page_size,
                }),
            ),
            "InternshipBrowsePage" => (
                None,
                json!({ "first": page_size, "filter": { "organizationId": organization.to_string() } }),
            ),
            // One demo account each: these requests repeat, so the router's
            // deduplication of identical in-flight fetches flatters them
            // above one connection.
            "JobseekerDashboardPage" => {
                (Some(&self.jobseeker_token), json!({ "first": page_size }))
            }
            "EmployerDashboardPage" => (
                Some(&self.recruiter_token),
                json!({ "jobsFirst": page_size, "applicationsFirst": 5 }),
            ),
            other => panic!("unknown page {other}"),
        }
    }
}

async fn post(
    client: &reqwest::Client,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    post_to(client, ROUTER_URL, token, body).await
}

async fn post_to(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "accept",
            "application/json, multipart/mixed;deferSpec=20220824;q=0.5",
        )
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.map_err(|error| error.to_string())?;
    let (body, _) = talentgraph_e2e::router_answer_body(&content_type, &text)
        .map_err(|error| format!("{status}: {error}: {text}"))?;
    if !status.is_success() || body.get("errors").is_some() {
        return Err(format!("{status}: {body}"));
    }
    Ok(body)
}

async fn sign_in(client: &reqwest::Client, email: &str) -> String {
    let body = json!({
        "query": "mutation SignIn($input: SignInInput!) { signIn(input: $input) { accessToken } }",
        "variables": { "input": { "email": email, "password": DEMO_PASSWORD } },
    });
    let answer = post(client, None, &body)
        .await
        .unwrap_or_else(|error| panic!("signing in {email}: {error}"));
    answer["data"]["signIn"]["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// How long one run lasts: a discarded warm-up, then the measured window.
#[derive(Clone, Copy)]
struct LoadWindow {
    warm_up: Duration,
    duration: Duration,
}

/// How a page's data is fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// One request to the router, which plans the subgraph fetches.
    ThroughRouter,
    /// The client makes the router's fetches itself: jobs from employer,
    /// then one call each to core, jobseeker and payment for all the jobs.
    DirectOneCallPerService,
    /// The client makes one call per entity in the second level, as a client
    /// of per-resource endpoints would.
    DirectOneCallPerEntity,
}

/// What one load run fetches, and how.
#[derive(Clone, Copy)]
struct LoadTarget<'a> {
    page: &'a str,
    route: Route,
}

/// JobSearchPage's first fetch, as the router sends it to employer.
const DIRECT_JOBS: &str = "query($first: Int!, $after: String, $filter: JobFilter) { jobs(first: $first, after: $after, filter: $filter) { edges { cursor node { __typename id title location remote employmentType postedAt salaryRange { min max currency } organization { __typename id } } } pageInfo { hasNextPage endCursor } } }";
/// The second level: (subgraph, selection on the entity, which entity).
const DIRECT_ENTITY_FETCHES: [(&str, &str, DirectEntity); 3] = [
    (
        "core",
        "... on Organization { name slug logoUrl verified }",
        DirectEntity::Organization,
    ),
    (
        "jobseeker",
        "... on Job { applicationCount viewerHasApplied }",
        DirectEntity::Job,
    ),
    (
        "payment",
        "... on Job { promotion { tier endsAt } }",
        DirectEntity::Job,
    ),
];

#[derive(Clone, Copy)]
enum DirectEntity {
    Organization,
    Job,
}

fn subgraph_url(name: &str) -> String {
    let port = talentgraph_subgraphs::subgraph_named(name)
        .unwrap_or_else(|| panic!("a subgraph named {name}"))
        .default_port;
    format!("http://127.0.0.1:{port}/graphql")
}

/// The direct route's URLs and queries, built once per run so the load
/// generator's own CPU (a measured column) is spent on requests alone.
struct DirectFetches {
    jobs_url: String,
    /// The second level: (subgraph URL, `_entities` query, which entity).
    entity_fetches: Vec<(String, String, DirectEntity)>,
}

impl DirectFetches {
    fn new() -> Self {
        Self {
            jobs_url: subgraph_url("employer"),
            entity_fetches: DIRECT_ENTITY_FETCHES
                .iter()
                .map(|(subgraph, selection, entity)| {
                    (
                        subgraph_url(subgraph),
                        format!(
                            "query($representations: [_Any!]!) {{ _entities(representations: $representations) {{ {selection} }} }}"
                        ),
                        *entity,
                    )
                })
                .collect(),
        }
    }
}

/// Fetches JobSearchPage's data from the subgraphs without the router and
/// checks that every representation got its entity.
/// Returns the number of calls it made.
async fn direct_job_search(
    client: &reqwest::Client,
    fetches: &DirectFetches,
    token: Option<&str>,
    variables: &Value,
    route: Route,
) -> Result<usize, String> {
    let jobs = post_to(
        client,
        &fetches.jobs_url,
        token,
        &json!({ "query": DIRECT_JOBS, "variables": variables }),
    )
    .await?;
    let edges = jobs["data"]["jobs"]["edges"]
        .as_array()
        .ok_or("employer answered without jobs")?;
    let job_representations: Vec<Value> = edges
        .iter()
        .map(|edge| json!({ "__typename": "Job", "id": edge["node"]["id"] }))
        .collect();
    let mut organization_representations: Vec<Value> = edges
        .iter()
        .map(|edge| json!({ "__typename": "Organization", "id": edge["node"]["organization"]["id"] }))
        .collect();
    organization_representations.sort_by_key(ToString::to_string);
    organization_representations.dedup();
    let mut calls = Vec::new();
    for (url, query, entity) in &fetches.entity_fetches {
        let representations = match entity {
            DirectEntity::Organization => &organization_representations,
            DirectEntity::Job => &job_representations,
        };
        if representations.is_empty() {
            continue;
        }
        let groups: Vec<Vec<Value>> = if route == Route::DirectOneCallPerEntity {
            representations
                .iter()
                .map(|one| vec![one.clone()])
                .collect()
        } else {
            vec![representations.clone()]
        };
        for group in groups {
            calls.push(async move {
                let expected = group.len();
                let answer = post_to(
                    client,
                    url,
                    token,
                    &json!({ "query": query, "variables": { "representations": group } }),
                )
                .await?;
                let found = answer["data"]["_entities"]
                    .as_array()
                    .map_or(0, |entities| {
                        entities.iter().filter(|entity| !entity.is_null()).count()
                    });
                if found == expected {
                    Ok(())
                } else {
                    Err(format!("{url}: {found} of {expected} entities"))
                }
            });
        }
    }
    let second_level = calls.len();
    futures::future::try_join_all(calls).await?;
    Ok(1 + second_level)
}

/// One closed-loop run: `connections` users, each with its own keep-alive
/// connection, for the window's warm-up (discarded) and then its duration.
async fn run_load(
    factory: Arc<RequestFactory>,
    target: LoadTarget<'_>,
    page_size: i64,
    connections: usize,
    window: LoadWindow,
    processes: &Processes,
    ticks_per_second: f64,
) -> Measurement {
    let LoadWindow { warm_up, duration } = window;
    let LoadTarget { page, route } = target;
    let document = Arc::new(page_document(page));
    let started = Instant::now();
    let measure_from = started + warm_up;
    let stop_at = measure_from + duration;
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let factory = factory.clone();
        let document = document.clone();
        let page = page.to_owned();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client");
            let mut random = rand::rngs::StdRng::seed_from_u64(connection as u64);
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut calls_made = 0_usize;
            loop {
                let sent = Instant::now();
                if sent >= stop_at {
                    break;
                }
                let (token, variables) = factory.request(&page, page_size, &mut random);
                let outcome = match route {
                    Route::ThroughRouter => {
                        let body = json!({ "query": *document, "operationName": page, "variables": variables });
                        post(&client, token, &body).await.map(|_| 1)
                    }
                    Route::DirectOneCallPerService | Route::DirectOneCallPerEntity => {
                        direct_job_search(&client, &factory.direct, token, &variables, route).await
                    }
                };
                let answered = Instant::now();
                if sent >= measure_from && answered <= stop_at {
                    match outcome {
                        Ok(calls) => {
                            latencies.push(answered - sent);
                            calls_made += calls;
                        }
                        Err(_) => errors += 1,
                    }
                }
            }
            (latencies, errors, calls_made)
        }));
    }
    tokio::time::sleep_until((measure_from).into()).await;
    let cpu_before = processes.snapshot(ticks_per_second);
    tokio::time::sleep_until(stop_at.into()).await;
    let cpu_after = processes.snapshot(ticks_per_second);
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut calls_made = 0;
    for task in tasks {
        let (mut some, failed, calls) = task.await.expect("a load task");
        latencies.append(&mut some);
        errors += failed;
        calls_made += calls;
    }
    latencies.sort();
    let pages = latencies.len();
    #[allow(clippy::cast_precision_loss)]
    let per_page = |calls: usize| {
        if pages == 0 {
            0.0
        } else {
            calls as f64 / pages as f64
        }
    };
    #[allow(clippy::cast_precision_loss)]
    let per_thousand = |seconds: f64| {
        if pages == 0 {
            0.0
        } else {
            seconds * 1000.0 / pages as f64
        }
    };
    let cpu_seconds_per_1000_pages = processes
        .by_label
        .iter()
        .zip(cpu_before.iter().zip(&cpu_after))
        .map(|((label, _), (before, after))| ((*label).to_owned(), per_thousand(after - before)))
        .collect();
    #[allow(clippy::cast_precision_loss)]
    Measurement {
        variant: String::new(),
        page: match route {
            Route::ThroughRouter => page.to_owned(),
            Route::DirectOneCallPerService => format!(
                "{page} direct, one call per service and level ({:.1} calls per page)",
                per_page(calls_made)
            ),
            Route::DirectOneCallPerEntity => format!(
                "{page} direct, one call per entity ({:.1} calls per page)",
                per_page(calls_made)
            ),
        },
        page_size,
        connections,
        pages,
        errors,
        pages_per_second: pages as f64 / duration.as_secs_f64(),
        p50_milliseconds: percentile(&latencies, 0.50),
        p95_milliseconds: percentile(&latencies, 0.95),
        p99_milliseconds: percentile(&latencies, 0.99),
        cpu_seconds_per_1000_pages,
    }
}

/// The running dev stack; dropping it stops it the way Ctrl-C does, so
/// PostgreSQL, NATS and the router stop with it even when the bench fails.
struct RunningDevstack(Child);

impl Drop for RunningDevstack {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Builds `devstack` in release mode.
fn build_devstack() {
    let status = Command::new("cargo")
        .args(["build", "--release", "-p", "devstack"])
        .current_dir(repository_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building devstack failed");
}

/// Starts `devstack up` (release) in `variant`'s environment; returns it
/// once it printed that the stack is up.
fn start_devstack(variant: &Variant) -> RunningDevstack {
    let root = repository_root();
    let mut child = Command::new(root.join("target/release/devstack"))
        .arg("up")
        .current_dir(root)
        .env("RUST_LOG", "warn")
        .envs(
            variant
                .environment
                .iter()
                .map(|(name, value)| (name, value)),
        )
        .env_remove("DATABASE_URL")
        .env_remove("NATS_URL")
        .env_remove("PAYMENT_PROVIDER_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("devstack starts");
    let stdout = child.stdout.take().expect("devstack's output");
    let (ready, is_ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("dev stack is up") {
                let _ = ready.send(());
            }
        }
    });
    let devstack = RunningDevstack(child);
    is_ready
        .recv_timeout(Duration::from_secs(900))
        .expect("devstack comes up within 15 minutes");
    devstack
}

fn postmaster_pid(root: &Path) -> u32 {
    let file = root.join("target/devstack/postgres/data/postmaster.pid");
    std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| {
            text.lines()
                .next()
                .and_then(|line| line.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("{} names the PostgreSQL server", file.display()))
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn comma_separated<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn markdown(measurements: &[Measurement], options: &Options, (start, end): (&str, &str)) -> String {
    let labels: Vec<String> = measurements
        .first()
        .map(|measurement| {
            measurement
                .cpu_seconds_per_1000_pages
                .keys()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let by_variant = options.variants.len() > 1;
    let mut table = format!(
        "| {}page | size | connections | pages/s | p50 ms | p95 ms | p99 ms | errors | {} |\n|---|---|---|---|---|---|---|---|{}\n",
        if by_variant { "variant | " } else { "" },
        labels
            .iter()
            .map(|label| format!("CPU s/1000 pages: {label}"))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(labels.len() + usize::from(by_variant))
    );
    for measurement in measurements {
        table.push_str(&format!(
            "| {}{} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            if by_variant {
                format!("{} | ", measurement.variant)
            } else {
                String::new()
            },
            measurement.page,
            measurement.page_size,
            measurement.connections,
            measurement.pages_per_second,
            measurement.p50_milliseconds,
            measurement.p95_milliseconds,
            measurement.p99_milliseconds,
            measurement.errors,
            labels
                .iter()
                .map(|label| format!("{:.2}", measurement.cpu_seconds_per_1000_pages[label]))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    format!(
        "{start}\n{table}\nMeasured with `cargo run --release -p talentgraph-e2e --bin bench -- --seconds {} --warm-up-seconds {} --connections {} --page-sizes {}{}` \
         on one 2-core machine: `devstack up` in release mode with `RUST_LOG=warn` (the full demo world; the six subgraphs \
         share the devstack process), the pinned Apollo Router with the development profile, the load generator in the same \
         machine. JobSearchPage and InternshipBrowsePage filter by a random organization per request, JobDetailPage and \
         OrganizationPage take a random job or organization; the dashboards repeat one demo account's request.{}\n",
        options.seconds,
        options.warm_up_seconds,
        comma_separated(&options.connections),
        comma_separated(&options.page_sizes),
        if options.direct { " --direct" } else { "" },
        if by_variant {
            format!(
                " The stack was started once per variant, in this order, with `--variants '{}'`.",
                options
                    .variants
                    .iter()
                    .map(|variant| format!(
                        "{}:{}",
                        variant.label,
                        variant
                            .environment
                            .iter()
                            .map(|(name, value)| format!("{name}={value}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ))
                    .collect::<Vec<_>>()
                    .join(";")
            )
        } else {
            String::new()
        }
    ) + end
}

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() {
    let options = parse_options();
    let root = repository_root();
    build_devstack();
    let mut measurements = Vec::new();
    for variant in &options.variants {
        println!("variant {}: starting the stack", variant.label);
        let devstack = start_devstack(variant);
        for mut measurement in measure_variant(&devstack, &options).await {
            measurement.variant.clone_from(&variant.label);
            measurements.push(measurement);
        }
        // Ctrl-C stops everything devstack started (PostgreSQL, NATS, router).
        drop(devstack);
    }
    let output: PathBuf = root.join("target/bench");
    std::fs::create_dir_all(&output).expect("creates target/bench");
    std::fs::write(
        output.join("bench.json"),
        serde_json::to_string_pretty(&measurements).expect("serializes"),
    )
    .expect("writes target/bench/bench.json");
    let (start, end, heading) = if options.variants.len() > 1 {
        (
            VARIANTS_TABLE_START,
            VARIANTS_TABLE_END,
            "## Pages under load: variants compared\n\n",
        )
    } else {
        (TABLE_START, TABLE_END, "## Pages under load\n\n")
    };
    write_tests_readme_section(
        start,
        end,
        &markdown(&measurements, &options, (start, end)),
        heading,
    );
}

/// Runs every page, page size and connection count against a running stack.
#[allow(clippy::print_stdout)]
async fn measure_variant(devstack: &RunningDevstack, options: &Options) -> Vec<Measurement> {
    let root = repository_root();
    let client = reqwest::Client::new();
    let processes = Processes::find(devstack.0.id(), postmaster_pid(root));
    let ticks = ticks_per_second();
    let slugs_answer = post(
        &client,
        None,
        &json!({ "query": "{ jobs(first: 100) { edges { node { organization { slug } } } } }" }),
    )
    .await
    .expect("reads organization slugs");
    let mut slugs: Vec<String> = slugs_answer["data"]["jobs"]["edges"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|edge| {
            edge["node"]["organization"]["slug"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    slugs.sort();
    slugs.dedup();
    let factory = Arc::new(RequestFactory {
        slugs,
        jobseeker_token: sign_in(&client, &WORLD.email(WORLD.demo_jobseeker())).await,
        recruiter_token: sign_in(&client, &WORLD.email(WORLD.demo_recruiter())).await,
        direct: DirectFetches::new(),
    });
    let mut targets: Vec<LoadTarget<'_>> = options
        .pages
        .iter()
        .map(|page| LoadTarget {
            page,
            route: Route::ThroughRouter,
        })
        .collect();
    if options.direct {
        for route in [
            Route::DirectOneCallPerService,
            Route::DirectOneCallPerEntity,
        ] {
            targets.push(LoadTarget {
                page: "JobSearchPage",
                route,
            });
        }
    }
    let mut measurements = Vec::new();
    for target in targets {
        for page_size in &options.page_sizes {
            for connections in &options.connections {
                let measurement = run_load(
                    factory.clone(),
                    target,
                    *page_size,
                    *connections,
                    LoadWindow {
                        warm_up: Duration::from_secs(options.warm_up_seconds),
                        duration: Duration::from_secs(options.seconds),
                    },
                    &processes,
                    ticks,
                )
                .await;
                println!(
                    "{} size {page_size} connections {connections}: {:.0} pages/s, p50 {:.1} ms, p99 {:.1} ms, {} errors, CPU s/1000 pages {:?}",
                    measurement.page,
                    measurement.pages_per_second,
                    measurement.p50_milliseconds,
                    measurement.p99_milliseconds,
                    measurement.errors,
                    measurement.cpu_seconds_per_1000_pages
                );
                measurements.push(measurement);
            }
        }
    }
    measurements
}
