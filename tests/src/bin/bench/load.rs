//! The load generator: one keep-alive connection per simulated user, each
//! request with its own variables, every latency kept.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ROUTER_URL;
use crate::WORLD;
use crate::cpu::CpuSeconds;
use crate::cpu::Processes;
use crate::direct::DirectFetches;
use crate::direct::direct_job_search;
use crate::options::Options;
use crate::routers::RouterCeiling;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use talentgraph_demo_world::DEMO_PASSWORD;
use talentgraph_e2e::page_document;
use talentgraph_e2e::recorded_subgraphs::recording_statistics;

/// What one page at one page size and one number of connections did.
#[derive(serde::Serialize)]
pub struct Measurement {
    pub variant: String,
    pub page: String,
    pub page_size: i64,
    pub connections: usize,
    pub pages: usize,
    pub errors: usize,
    pub pages_per_second: f64,
    pub p50_milliseconds: f64,
    pub p95_milliseconds: f64,
    pub p99_milliseconds: f64,
    /// CPU seconds per 1,000 pages, by process label.
    pub cpu_seconds_per_1000_pages: BTreeMap<String, f64>,
    /// The part of `cpu_seconds_per_1000_pages` the kernel spent on the
    /// process's behalf (system time), by process label.
    pub system_cpu_seconds_per_1000_pages: BTreeMap<String, f64>,
}

/// Variables and token for one request of `page`, varied per request so
/// identical requests are rare.
pub struct RequestFactory {
    pub slugs: Vec<String>,
    pub jobseeker_token: String,
    pub recruiter_token: String,
    pub direct: DirectFetches,
    /// The second Apollo Router's URL, in front of the recorded subgraphs,
    /// when the run measures the router's ceiling.
    pub ceiling_router_url: Option<String>,
    /// Hive Router's URL, when the run measures it.
    pub hive_router_url: Option<String>,
    /// The scale-out router's URL, when the run measures scale-out.
    pub scale_out_router_url: Option<String>,
    /// The URL of the router serving the compared supergraph.
    pub compared_router_url: Option<String>,
}

impl RequestFactory {
    /// The demo accounts signed in and the organizations' slugs read, with
    /// only the dev stack's router to send to; a run adds the others it
    /// started.
    pub async fn signed_in(client: &reqwest::Client) -> Self {
        Self {
            slugs: organization_slugs(client).await,
            jobseeker_token: sign_in(client, &WORLD.email(WORLD.demo_jobseeker())).await,
            recruiter_token: sign_in(client, &WORLD.email(WORLD.demo_recruiter())).await,
            direct: DirectFetches::new(),
            ceiling_router_url: None,
            hive_router_url: None,
            scale_out_router_url: None,
            compared_router_url: None,
        }
    }

    pub fn router_url(&self, router: RouterUnderTest) -> &str {
        let started = match router {
            RouterUnderTest::Apollo => Some(ROUTER_URL),
            RouterUnderTest::ApolloAgainstRecordedSubgraphs => self.ceiling_router_url.as_deref(),
            RouterUnderTest::Hive => self.hive_router_url.as_deref(),
            RouterUnderTest::ScaleOut { .. } => self.scale_out_router_url.as_deref(),
            RouterUnderTest::ApolloWithComparedSupergraph => self.compared_router_url.as_deref(),
        };
        started.expect("a run only targets a router it started")
    }

    pub fn request(
        &self,
        page: &str,
        page_size: i64,
        random: &mut impl Rng,
    ) -> (Option<&str>, Value) {
        let organization = random.gen_range(0..WORLD.organizations);
        match page {
            "JobSearchPage" => (
                Some(&self.jobseeker_token),
                job_search_variables(page_size, organization),
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
                json!({ "first": page_size, "filter": { "organizationId": WORLD.organization_id(organization).to_string() } }),
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

/// JobSearchPage's variables for the organization with index `organization`.
pub fn job_search_variables(page_size: i64, organization: u64) -> Value {
    json!({ "first": page_size, "filter": { "organizationId": WORLD.organization_id(organization).to_string() } })
}

pub async fn post(
    client: &reqwest::Client,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    post_to(client, ROUTER_URL, token, body).await
}

pub async fn post_to(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    let answer = talentgraph_e2e::answers::post_to_router(client, url, token, body, &[])
        .await
        .map_err(|error| error.to_string())?;
    let status = answer.status;
    let text = answer.text;
    let (body, _) = answer
        .parsed
        .map_err(|error| format!("{status}: {error}: {text}"))?;
    if !(200..300).contains(&status) || body.get("errors").is_some() {
        return Err(format!("{status}: {body}"));
    }
    Ok(body)
}

pub async fn sign_in(client: &reqwest::Client, email: &str) -> String {
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

pub fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
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
pub struct LoadWindow {
    pub warm_up: Duration,
    pub duration: Duration,
}

/// Which router serves a page in a run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RouterUnderTest {
    /// The dev stack's Apollo Router in front of the real subgraphs.
    Apollo,
    /// A second Apollo Router, same binary and configuration, in front of
    /// subgraphs that answer from memory: the router's ceiling.
    ApolloAgainstRecordedSubgraphs,
    /// Hive Router in front of the real subgraphs.
    Hive,
    /// A second Apollo Router in front of the dev stack's subgraphs but
    /// one, which runs as standalone replicas sharing a port.
    ScaleOut { replicas: usize },
    /// A second Apollo Router in front of the dev stack's subgraphs,
    /// serving the supergraph of `--compare-supergraph`.
    ApolloWithComparedSupergraph,
}

/// How many replicas the scale-out run ends with.
pub const SCALE_OUT_REPLICAS: usize = 2;

/// How a page's data is fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// One request to a router, which plans the subgraph fetches.
    ThroughRouter(RouterUnderTest),
    /// The client makes the router's fetches itself: jobs with their
    /// organizations' cards from employer, then one call each to jobseeker
    /// and payment for all the jobs.
    DirectOneCallPerService,
    /// The client makes one call per entity in the second level, as a client
    /// of per-resource endpoints would.
    DirectOneCallPerEntity,
}

/// What one load run fetches, and how.
#[derive(Clone, Copy)]
pub struct LoadTarget<'a> {
    pub page: &'a str,
    pub route: Route,
}

/// One closed-loop run: `connections` users, each with its own keep-alive
/// connection, for the window's warm-up (discarded) and then its duration.
pub async fn run_load(
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
            // A user through a router holds one connection. A direct user
            // makes its second-level calls at once, so it keeps as many as
            // a page has calls in flight: with one idle connection kept,
            // every other call would open a new one, and the closed ones
            // pile up in TIME_WAIT until the machine runs out of ports.
            let idle_connections = match route {
                Route::ThroughRouter(_) => 1,
                Route::DirectOneCallPerService | Route::DirectOneCallPerEntity => 256,
            };
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(idle_connections)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client");
            let mut random = rand::rngs::StdRng::seed_from_u64(connection as u64);
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut first_error: Option<String> = None;
            let mut calls_made = 0_usize;
            loop {
                let sent = Instant::now();
                if sent >= stop_at {
                    break;
                }
                let (token, variables) = factory.request(&page, page_size, &mut random);
                let outcome = match route {
                    Route::ThroughRouter(router) => {
                        let body = json!({ "query": *document, "operationName": page, "variables": variables });
                        post_to(&client, factory.router_url(router), token, &body)
                            .await
                            .map(|_| 1)
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
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert(error);
                        }
                    }
                }
            }
            (latencies, errors, first_error, calls_made)
        }));
    }
    tokio::time::sleep_until((measure_from).into()).await;
    let cpu_before = processes.snapshot(ticks_per_second);
    tokio::time::sleep_until(stop_at.into()).await;
    let cpu_after = processes.snapshot(ticks_per_second);
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error: Option<String> = None;
    let mut calls_made = 0;
    for task in tasks {
        let (mut some, failed, error, calls) = task.await.expect("a load task");
        latencies.append(&mut some);
        errors += failed;
        if first_error.is_none() {
            first_error = error;
        }
        calls_made += calls;
    }
    // A failing run says why, so its error count can be looked into.
    if let Some(error) = first_error {
        #[allow(clippy::print_stdout)]
        {
            println!("{page}: {errors} errors; the first: {error}");
        }
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
    let cpu_seconds_by_label: Vec<(String, CpuSeconds)> = processes
        .by_label
        .iter()
        .zip(cpu_before.iter().zip(&cpu_after))
        .map(|((label, _), (before, after))| ((*label).to_owned(), after.seconds_since(before)))
        .collect();
    let cpu_seconds_per_1000_pages = cpu_seconds_by_label
        .iter()
        .map(|(label, seconds)| (label.clone(), per_thousand(seconds.total())))
        .collect();
    let system_cpu_seconds_per_1000_pages = cpu_seconds_by_label
        .iter()
        .map(|(label, seconds)| (label.clone(), per_thousand(seconds.system)))
        .collect();
    #[allow(clippy::cast_precision_loss)]
    Measurement {
        variant: String::new(),
        page: match route {
            Route::ThroughRouter(RouterUnderTest::Apollo) => page.to_owned(),
            Route::ThroughRouter(RouterUnderTest::ApolloAgainstRecordedSubgraphs) => {
                format!("{page}, Apollo Router against recorded subgraphs (the router's ceiling)")
            }
            Route::ThroughRouter(RouterUnderTest::Hive) => format!("{page} through Hive Router"),
            Route::ThroughRouter(RouterUnderTest::ScaleOut { replicas }) => {
                format!("{page}, scale-out with {replicas} replicas")
            }
            Route::ThroughRouter(RouterUnderTest::ApolloWithComparedSupergraph) => {
                format!("{page} through the compared supergraph")
            }
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
        system_cpu_seconds_per_1000_pages,
    }
}

/// What every load run of one stack shares.
pub struct RunContext<'a> {
    pub options: &'a Options,
    pub client: reqwest::Client,
    pub factory: Arc<RequestFactory>,
    pub ticks_per_second: f64,
    pub ceiling: Option<&'a RouterCeiling>,
}

impl RunContext<'_> {
    /// Runs `target` at every page size and connection count.
    #[allow(clippy::print_stdout)]
    pub async fn measure(&self, target: LoadTarget<'_>, processes: &Processes) -> Vec<Measurement> {
        let mut measurements = Vec::new();
        for page_size in &self.options.page_sizes {
            for connections in &self.options.connections {
                let recorded_before = self.recording_statistics().await;
                let mut measurement = run_load(
                    self.factory.clone(),
                    target,
                    *page_size,
                    *connections,
                    LoadWindow {
                        warm_up: Duration::from_secs(self.options.warm_up_seconds),
                        duration: Duration::from_secs(self.options.seconds),
                    },
                    processes,
                    self.ticks_per_second,
                )
                .await;
                match target.route {
                    Route::ThroughRouter(RouterUnderTest::ApolloAgainstRecordedSubgraphs) => {
                        if let (Some(before), Some(after)) =
                            (recorded_before, self.recording_statistics().await)
                        {
                            measurement.page.push_str(&format!(
                                "; {} of {} subgraph requests missed the recording",
                                after.forwarded - before.forwarded,
                                (after.forwarded + after.answered_from_memory)
                                    - (before.forwarded + before.answered_from_memory)
                            ));
                        }
                    }
                    Route::ThroughRouter(RouterUnderTest::Hive) => {
                        measurement
                            .page
                            .push_str(" (answers equal Apollo Router's)");
                    }
                    Route::ThroughRouter(RouterUnderTest::ApolloWithComparedSupergraph) => {
                        if let Some((label, _)) = &self.options.compare_supergraph {
                            measurement.page = format!("{} through {label}", target.page);
                        }
                    }
                    _ => {}
                }
                println!(
                    "{} size {page_size} connections {connections}: {:.0} pages/s, p50 {:.1} ms, p99 {:.1} ms, {} errors, CPU s/1000 pages {:?}, of it system {:?}",
                    measurement.page,
                    measurement.pages_per_second,
                    measurement.p50_milliseconds,
                    measurement.p99_milliseconds,
                    measurement.errors,
                    measurement.cpu_seconds_per_1000_pages,
                    measurement.system_cpu_seconds_per_1000_pages
                );
                measurements.push(measurement);
            }
        }
        measurements
    }

    /// Signs the demo accounts in again before each target: a full run
    /// outlasts an access token (15 minutes), after which every signed-in
    /// request would fail as UNAUTHENTICATED.
    pub async fn sign_in_again(&mut self) {
        let jobseeker_token = sign_in(&self.client, &WORLD.email(WORLD.demo_jobseeker())).await;
        let recruiter_token = sign_in(&self.client, &WORLD.email(WORLD.demo_recruiter())).await;
        let factory = Arc::get_mut(&mut self.factory)
            .expect("no load task holds the request factory between targets");
        factory.jobseeker_token = jobseeker_token;
        factory.recruiter_token = recruiter_token;
    }

    pub async fn recording_statistics(
        &self,
    ) -> Option<talentgraph_e2e::recorded_subgraphs::RecordingStatistics> {
        let ceiling = self.ceiling?;
        recording_statistics(&self.client, ceiling.recorded_subgraphs_address)
            .await
            .ok()
    }
}

/// The slugs of the organizations OrganizationPage's requests pick from.
pub async fn organization_slugs(client: &reqwest::Client) -> Vec<String> {
    let slugs_answer = post(
        client,
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
    slugs
}
