//! The compose smoke: `docker-compose.yml` run for real, on a Docker engine
//! of its own, with the images built here ([`images`]).
//!
//! It brings the stack up with the production profile and waits for every
//! health check, loads the small demo world through the published
//! PostgreSQL port, then asks for the seven pages through the router's
//! published port by trusted-document id (Apollo's persisted-query
//! extension: the first request by id alone is refused as unknown, the one
//! with the document registers it, then the id alone is answered), signed
//! in where the page needs it, and checks each answer against the demo
//! data. Then it kills a subgraph's container, starts it again and asks
//! for the pages again; `compose down --volumes` and the engine's stop end
//! it, also when a step failed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use talentgraph_demo_world::DEMO_PASSWORD;
use talentgraph_kit::Database;
use talentgraph_launch::docker::{Dockerd, checked_output};
use talentgraph_subgraphs::SUBGRAPHS;

use crate::answers::post_to_router;
use crate::pages::{PAGES, operation_document, page_document, page_variables};
use crate::{DemoAccount, WORLD, repository_root};

pub mod images;

/// The host's release binaries the subgraph image is made of.
pub const RELEASE_BINARIES: [&str; 7] = [
    "talentgraph-core",
    "talentgraph-auth",
    "talentgraph-jobseeker",
    "talentgraph-employer",
    "talentgraph-payment",
    "talentgraph-internship",
    "schema-registry",
];

/// The compose project's name: its containers, networks and volumes are
/// named after it, in the smoke's own engine.
const PROJECT: &str = "talentgraph-smoke";

/// The subgraph whose container the smoke kills and starts again.
const KILLED_SUBGRAPH: &str = "employer";

/// What the smoke needs from the machine.
#[derive(Debug, Clone)]
pub struct SmokeTools {
    /// Docker Compose v2 (`scripts/install-compose.sh`).
    pub compose: PathBuf,
    /// The pinned Apollo Router binary (`scripts/install-router.sh`).
    pub router: PathBuf,
    /// Where the base images' tarballs are kept between runs.
    pub cache: PathBuf,
}

/// One finished step: what it was and how long it took.
#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub seconds: f64,
}

/// Runs the smoke in `directory` (the engine's data, logs); its steps, or
/// the first failure with the steps before it.
pub async fn run(directory: &Path, tools: &SmokeTools) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    // A previous run's logs and build context go; the engine's own folder
    // is emptied by the engine.
    if directory.exists() {
        std::fs::remove_dir_all(directory)
            .map_err(|error| format!("{}: {error}", directory.display()))?;
    }
    std::fs::create_dir_all(directory)
        .map_err(|error| format!("{}: {error}", directory.display()))?;
    let started = Instant::now();
    let engine = tokio::task::block_in_place(|| Dockerd::start(&directory.join("engine")))
        .map_err(|error| error.to_string())?;
    record(&mut steps, "a Docker engine of its own started", started);
    let project = ComposeProject::new(&engine, tools);
    let outcome = smoke(&engine, &project, tools, directory, &mut steps).await;
    if outcome.is_err() {
        let _ = std::fs::write(directory.join("compose.log"), project.logs());
    }
    let down = Instant::now();
    let removed = tokio::task::block_in_place(|| project.down());
    record(&mut steps, "compose down --volumes", down);
    let stopped = Instant::now();
    drop(engine);
    record(
        &mut steps,
        "the engine stopped and its folder removed",
        stopped,
    );
    outcome?;
    removed?;
    Ok(steps)
}

fn record(steps: &mut Vec<Step>, name: &str, since: Instant) {
    let seconds = since.elapsed().as_secs_f64();
    eprintln!("compose-smoke: {name} ({seconds:.1} s)");
    steps.push(Step {
        name: name.to_owned(),
        seconds,
    });
}

async fn smoke(
    engine: &Dockerd,
    project: &ComposeProject,
    tools: &SmokeTools,
    directory: &Path,
    steps: &mut Vec<Step>,
) -> Result<(), String> {
    let began = Instant::now();
    let images = tokio::task::block_in_place(|| {
        images::build_images(
            engine,
            repository_root(),
            &tools.router,
            directory,
            &tools.cache,
        )
    })?;
    record(
        steps,
        "images built (bases from the cache when there)",
        began,
    );

    let began = Instant::now();
    tokio::task::block_in_place(|| project.up(&images))?;
    record(steps, "compose up --wait: every health check passed", began);

    let began = Instant::now();
    let databases = project.seed().await?;
    crate::projections::wait_for_demo_projections(&WORLD, |name| databases[name].clone()).await;
    record(
        steps,
        "the small demo world loaded, its events projected",
        began,
    );

    let began = Instant::now();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|error| error.to_string())?;
    let router_url = project.router_url();
    let tokens = sign_in_demo_accounts(&client, &router_url).await?;
    let slug: String = databases["core"]
        .fetch_scalar(
            sqlx::query_scalar("SELECT slug FROM organizations WHERE id = $1")
                .bind(WORLD.organization_id(0)),
        )
        .await
        .map_err(|error| error.detail().to_string())?;
    for page in PAGES {
        let data = page_by_id(&client, &router_url, &tokens, page, &slug).await?;
        check_page(page, &data, &databases).await?;
    }
    record(
        steps,
        "the seven pages by trusted-document id, answers as the demo data",
        began,
    );

    let began = Instant::now();
    check_webhook_listener(&client, project.webhook_port).await?;
    record(
        steps,
        "the published webhook port: the webhook answers, nothing else does",
        began,
    );

    let began = Instant::now();
    tokio::task::block_in_place(|| project.kill_and_start(KILLED_SUBGRAPH))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    for page in PAGES {
        loop {
            match page_by_id(&client, &router_url, &tokens, page, &slug).await {
                Ok(data) => {
                    check_page(page, &data, &databases).await?;
                    break;
                }
                Err(error) if Instant::now() > deadline => {
                    return Err(format!(
                        "after {KILLED_SUBGRAPH} was killed and started: {error}"
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
    record(
        steps,
        &format!("{KILLED_SUBGRAPH}'s container killed and started: the pages answer again"),
        began,
    );
    for database in databases.values() {
        database.close().await;
    }
    Ok(())
}

/// The compose project in the smoke's engine.
struct ComposeProject {
    compose: PathBuf,
    docker_host: String,
    /// The variables compose interpolates: images, secrets, ports.
    variables: Vec<(&'static str, String)>,
    router_port: u16,
    /// Payment's published webhook listener (`PUBLIC_LISTEN_ADDR`).
    webhook_port: u16,
    postgres_port: u16,
    postgres_password: String,
    /// The images' names, once built.
    images: std::sync::OnceLock<images::SmokeImages>,
}

impl ComposeProject {
    fn new(engine: &Dockerd, tools: &SmokeTools) -> Self {
        let free = || talentgraph_kit::local_ports::unused_loopback_address().port();
        let (router_port, postgres_port, webhook_port) = (free(), free(), free());
        let postgres_password = random_hex(16);
        let variables = vec![
            ("ROUTER_SHARED_SECRET", random_hex(32)),
            ("POSTGRES_PASSWORD", postgres_password.clone()),
            // The provider is not reached: checkouts stay PENDING.
            (
                "PAYMENT_PROVIDER_SECRET_KEY",
                "sk_test_compose_smoke".to_owned(),
            ),
            (
                "PAYMENT_WEBHOOK_SECRET",
                format!("whsec_{}", random_hex(16)),
            ),
            ("ROUTER_PORT", router_port.to_string()),
            ("PAYMENT_WEBHOOK_PORT", webhook_port.to_string()),
            ("POSTGRES_PORT", postgres_port.to_string()),
            ("REGISTRY_PORT", free().to_string()),
            ("ROUTER_HEALTH_PORT", free().to_string()),
            ("ROUTER_METRICS_PORT", free().to_string()),
        ];
        Self {
            compose: tools.compose.clone(),
            docker_host: engine.host(),
            variables,
            router_port,
            webhook_port,
            postgres_port,
            postgres_password,
            images: std::sync::OnceLock::new(),
        }
    }

    fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.compose);
        command
            .env("DOCKER_HOST", &self.docker_host)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("COMPOSE_PROFILES")
            .env_remove("COMPOSE_FILE")
            .env("COMPOSE_PROJECT_NAME", PROJECT)
            .stdin(std::process::Stdio::null())
            .current_dir(repository_root())
            .args(["--file", "docker-compose.yml", "--project-name", PROJECT]);
        for (name, value) in &self.variables {
            command.env(name, value);
        }
        if let Some(images) = self.images.get() {
            for (name, value) in images.compose_variables() {
                command.env(name, value);
            }
        }
        command
    }

    fn run(&self, what: &str, arguments: &[&str]) -> Result<String, String> {
        let mut command = self.command();
        command.args(arguments);
        checked_output(what, command).map_err(|error| error.to_string())
    }

    fn up(&self, images: &images::SmokeImages) -> Result<(), String> {
        let _ = self.images.set(images.clone());
        self.run(
            "compose up",
            &[
                "up",
                "--detach",
                "--wait",
                "--wait-timeout",
                "240",
                "--no-build",
                "--pull",
                "never",
                "--quiet-pull",
            ],
        )
        .map(drop)
    }

    /// Kills `service`'s container (SIGKILL, as a crash ends it), starts it
    /// again and waits until its health check passes.
    fn kill_and_start(&self, service: &str) -> Result<(), String> {
        self.run("compose kill", &["kill", service])?;
        self.run(
            "compose up",
            &[
                "up",
                "--detach",
                "--wait",
                "--wait-timeout",
                "120",
                "--no-build",
                "--pull",
                "never",
                service,
            ],
        )
        .map(drop)
    }

    fn logs(&self) -> String {
        self.run("compose logs", &["logs", "--no-color", "--tail", "200"])
            .unwrap_or_else(|error| error)
    }

    fn down(&self) -> Result<(), String> {
        self.run(
            "compose down",
            &["down", "--volumes", "--remove-orphans", "--timeout", "10"],
        )
        .map(drop)
    }

    fn router_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.router_port)
    }

    /// Loads the small demo world into every subgraph's database through
    /// the published port (the migrate service has made the tables);
    /// returns a connection to each.
    async fn seed(&self) -> Result<std::collections::BTreeMap<&'static str, Database>, String> {
        let mut databases = std::collections::BTreeMap::new();
        for subgraph in SUBGRAPHS {
            let url = format!(
                "postgres://talentgraph:{}@127.0.0.1:{}/talentgraph_{}",
                self.postgres_password, self.postgres_port, subgraph.name
            );
            let database = Database::connect(&url, 2, Duration::from_secs(10))
                .await
                .map_err(|error| format!("{}: {error}", subgraph.name))?;
            subgraph
                .seed_demo(&database, &WORLD)
                .await
                .map_err(|error| format!("seeding {}: {}", subgraph.name, error.detail()))?;
            databases.insert(subgraph.name, database);
        }
        Ok(databases)
    }
}

/// Payment's published webhook listener serves the webhook (an unsigned
/// event is refused by the webhook itself, 400) and nothing else (404).
async fn check_webhook_listener(client: &reqwest::Client, port: u16) -> Result<(), String> {
    let base = format!("http://127.0.0.1:{port}");
    for (path, expected) in [
        ("/webhooks/provider", 400),
        ("/graphql", 404),
        ("/health", 404),
    ] {
        let status = client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
            .await
            .map_err(|error| format!("POST {path} on the webhook port: {error}"))?
            .status()
            .as_u16();
        if status != expected {
            return Err(format!(
                "POST {path} on the webhook port answered {status}, expected {expected}"
            ));
        }
    }
    Ok(())
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Signs the demo jobseeker and recruiter in through the router.
async fn sign_in_demo_accounts(
    client: &reqwest::Client,
    router_url: &str,
) -> Result<Vec<(DemoAccount, String)>, String> {
    let mut tokens = Vec::new();
    for account in [DemoAccount::Jobseeker, DemoAccount::Recruiter] {
        let body = json!({
            "query": operation_document("SignIn"),
            "operationName": "SignIn",
            "variables": { "input": { "email": account.email(), "password": DEMO_PASSWORD } },
        });
        let answer = post_to_router(client, router_url, None, &body, &[])
            .await
            .map_err(|error| format!("signing {account:?} in: {error}"))?;
        let (parsed, _) = answer
            .parsed
            .map_err(|error| format!("signing {account:?} in: {error}: {}", answer.text))?;
        let token = parsed["data"]["signIn"]["accessToken"]
            .as_str()
            .ok_or_else(|| format!("{account:?} could not sign in: {parsed}"))?;
        tokens.push((account, token.to_owned()));
    }
    Ok(tokens)
}

/// Asks for `page` by its trusted-document id: by id alone (refused as
/// not yet known), with the document, then by id alone again; the data of
/// the last answer, which must have no errors.
async fn page_by_id(
    client: &reqwest::Client,
    router_url: &str,
    tokens: &[(DemoAccount, String)],
    page: &str,
    organization_slug: &str,
) -> Result<Value, String> {
    let document = page_document(page);
    let id = schema_registry::trusted_documents::document_sha256(&document);
    let (account, variables) = page_variables(page, 10, organization_slug);
    let token = account.map(|account| {
        tokens
            .iter()
            .find(|(signed_in, _)| *signed_in == account)
            .map(|(_, token)| token.as_str())
            .expect("the page's account signed in")
    });
    let by_id = json!({
        "operationName": page,
        "variables": variables,
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": id } },
    });
    let mut with_document = by_id.clone();
    with_document["query"] = Value::String(document);
    let ask = |body: Value| async move {
        let answer = post_to_router(client, router_url, token, &body, &[])
            .await
            .map_err(|error| format!("{page}: {error}"))?;
        answer
            .parsed
            .map(|(parsed, _)| parsed)
            .map_err(|error| format!("{page}: {error}: {}", answer.text))
    };
    // The router's cache of ids may already know the page (the second
    // round, after a subgraph restart); only then is the id alone answered.
    let first = ask(by_id.clone()).await?;
    let known = first["errors"][0]["extensions"]["code"] != "PERSISTED_QUERY_NOT_FOUND";
    if !known {
        let registered = ask(with_document).await?;
        if registered.get("errors").is_some() {
            return Err(format!("{page} with its document: {registered}"));
        }
    }
    let answer = if known { first } else { ask(by_id).await? };
    if answer.get("errors").is_some() || answer["data"].is_null() {
        return Err(format!("{page} by id: {answer}"));
    }
    Ok(answer["data"].clone())
}

/// Ids of a connection's nodes.
fn ids(edges: &Value) -> Vec<String> {
    edges
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|edge| edge["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn column(database: &Database, sql: &'static str) -> Result<Vec<String>, String> {
    let rows: Vec<(uuid::Uuid,)> = database
        .fetch_all(sqlx::query_as(sql))
        .await
        .map_err(|error| error.detail().to_string())?;
    Ok(rows.into_iter().map(|(id,)| id.to_string()).collect())
}

/// Checks `page`'s data against the demo world and the databases.
async fn check_page(
    page: &str,
    data: &Value,
    databases: &std::collections::BTreeMap<&'static str, Database>,
) -> Result<(), String> {
    let expect = |holds: bool, what: &str| {
        if holds {
            Ok(())
        } else {
            Err(format!("{page}: {what}: {data}"))
        }
    };
    match page {
        "JobSearchPage" => {
            let newest = column(
                &databases["employer"],
                "SELECT id FROM jobs WHERE status = 'OPEN' ORDER BY posted_at DESC, id DESC LIMIT 10",
            )
            .await?;
            expect(
                ids(&data["jobs"]["edges"]) == newest,
                "the ten newest open jobs",
            )
        }
        "JobDetailPage" => expect(
            data["job"]["id"] == WORLD.job_id(0).to_string(),
            "the demo world's first job",
        ),
        "JobseekerDashboardPage" => expect(
            data["me"]["email"] == WORLD.email(WORLD.demo_jobseeker()),
            "the demo jobseeker's own dashboard",
        ),
        "EmployerDashboardPage" => expect(
            ids(&data["me"]["recruiterAt"]["edges"]) == vec![WORLD.organization_id(0).to_string()],
            "the demo recruiter's organization",
        ),
        "InternshipBrowsePage" => {
            let newest = column(
                &databases["internship"],
                "SELECT id FROM internships ORDER BY created_at DESC, id DESC LIMIT 10",
            )
            .await?;
            expect(
                ids(&data["internships"]["edges"]) == newest,
                "the ten newest internships",
            )
        }
        "OrganizationPage" => expect(
            data["organization"]["id"] == WORLD.organization_id(0).to_string(),
            "the demo world's first organization",
        ),
        "CheckoutPage" => expect(
            data["purchaseJobCredits"]["invoice"]["status"] == "PENDING",
            "an invoice waiting for the provider",
        ),
        other => Err(format!("no check for {other}")),
    }
}
