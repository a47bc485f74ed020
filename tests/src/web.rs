//! The web app in a real browser against the end-to-end stack.
//!
//! [`serve_web_app`] serves the built app (`web/dist`, made by
//! `scripts/build-web.sh`) on a free port with `/config.js` pointing at the
//! stack's router. [`browser_expectations`] reads from the subgraphs'
//! databases what each page must show. [`run_browser_scenario`] runs
//! `web/tests/browser.mjs` (playwright-core driving Debian's Chromium) with
//! both and returns what it found and measured.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use talentgraph_demo_world::DEMO_PASSWORD;
use talentgraph_kit::testing::TestApp;

use crate::{DemoAccount, Stack, WORLD, repository_root};

/// The app as `scripts/build-web.sh` built it.
pub fn built_web_app() -> devstack::web::WebBuild {
    let build = devstack::web::WebBuild::in_repository(repository_root());
    assert!(
        build.app_directory.join("index.html").exists(),
        "the web app is not built: run `bash scripts/build-web.sh` (the test command does)"
    );
    build
}

/// Serves the built app, its `/config.js` naming the stack's router.
pub async fn serve_web_app(stack: &Stack) -> TestApp {
    TestApp::spawn(devstack::web::web_app(&built_web_app(), &stack.router_url))
        .await
        .expect("the web app's server starts")
}

async fn uuids(stack: &Stack, subgraph: &str, sql: &str, bind: uuid::Uuid) -> Vec<uuid::Uuid> {
    stack
        .subgraph(subgraph)
        .database
        .fetch_all(sqlx::query_as::<_, (uuid::Uuid,)>(sql).bind(bind))
        .await
        .unwrap_or_else(|error| panic!("{subgraph}: {sql}: {}", error.detail()))
        .into_iter()
        .map(|(id,)| id)
        .collect()
}

/// The first column of every row, as text.
fn first_column(rows: Vec<(String,)>) -> Vec<String> {
    rows.into_iter().map(|(value,)| value).collect()
}

/// The text column `sql` selects for one id.
async fn texts(stack: &Stack, subgraph: &str, sql: &str, bind: uuid::Uuid) -> Vec<String> {
    first_column(
        stack
            .subgraph(subgraph)
            .database
            .fetch_all(sqlx::query_as::<_, (String,)>(sql).bind(bind))
            .await
            .unwrap_or_else(|error| panic!("{subgraph}: {sql}: {}", error.detail())),
    )
}

async fn text(stack: &Stack, subgraph: &str, sql: &str, bind: uuid::Uuid) -> String {
    stack
        .subgraph(subgraph)
        .database
        .fetch_scalar(sqlx::query_scalar::<_, String>(sql).bind(bind))
        .await
        .unwrap_or_else(|error| panic!("{subgraph}: {sql}: {}", error.detail()))
}

async fn count(stack: &Stack, subgraph: &str, sql: &str, bind: uuid::Uuid) -> i64 {
    stack
        .subgraph(subgraph)
        .database
        .fetch_scalar(sqlx::query_scalar::<_, i64>(sql).bind(bind))
        .await
        .unwrap_or_else(|error| panic!("{subgraph}: {sql}: {}", error.detail()))
}

fn strings(ids: &[uuid::Uuid]) -> Vec<String> {
    ids.iter().map(uuid::Uuid::to_string).collect()
}

/// What the pages must show, read from the databases that own each fact
/// with the same order the subgraphs page by.
pub async fn browser_expectations(stack: &Stack) -> Value {
    let nil = uuid::Uuid::nil();
    let open_jobs = uuids(
        stack,
        "employer",
        "SELECT id FROM jobs WHERE status = 'OPEN' AND id <> $1 ORDER BY posted_at DESC, id DESC LIMIT 20",
        nil,
    )
    .await;
    let first_job = open_jobs[0];
    let first_job_organization = organization_of_job(stack, first_job).await;
    let promoted_on_first_page: i64 = stack
        .subgraph("payment")
        .database
        .fetch_scalar(
            sqlx::query_scalar("SELECT count(*) FROM job_promotions WHERE job_id = ANY($1)")
                .bind(&open_jobs[..10]),
        )
        .await
        .expect("counts promotions");

    // The job detail page: the newest open job of an organization that
    // offers internships, so every part of the page has data.
    let organizations_with_internships = uuids(
        stack,
        "internship",
        "SELECT DISTINCT organization_id FROM internships WHERE organization_id <> $1",
        nil,
    )
    .await;
    let detail_job: uuid::Uuid = stack
        .subgraph("employer")
        .database
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT id FROM jobs WHERE status = 'OPEN' AND organization_id = ANY($1) \
                 ORDER BY posted_at DESC, id DESC LIMIT 1",
            )
            .bind(&organizations_with_internships),
        )
        .await
        .expect("an open job of an organization with internships");
    let detail_organization = organization_of_job(stack, detail_job).await;
    let internship_titles = texts(
        stack,
        "internship",
        "SELECT title FROM internships WHERE organization_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT 3",
        detail_organization,
    )
    .await;

    let internships = uuids(
        stack,
        "internship",
        "SELECT id FROM internships WHERE id <> $1 ORDER BY created_at DESC, id DESC LIMIT 11",
        nil,
    )
    .await;

    // The organization page: the demo recruiter's first organization.
    let recruiter = WORLD.user_id(DemoAccount::Recruiter.user());
    let recruiter_organizations = uuids(
        stack,
        "employer",
        "SELECT organization_id FROM recruiters WHERE user_id = $1 \
         ORDER BY added_at DESC, organization_id DESC LIMIT 5",
        recruiter,
    )
    .await;
    let organization = recruiter_organizations[0];
    let organization_job_titles = texts(
        stack,
        "employer",
        "SELECT title FROM jobs WHERE organization_id = $1 AND status = 'OPEN' \
         ORDER BY posted_at DESC, id DESC LIMIT 10",
        organization,
    )
    .await;
    let mut employer_organizations = Vec::new();
    for id in &recruiter_organizations {
        employer_organizations.push(json!({
            "id": id.to_string(),
            "name": text(stack, "core", "SELECT name FROM organizations WHERE id = $1", *id).await,
            "jobCredits": i64::from(stack
                .subgraph("payment")
                .database
                .fetch_scalar(
                    sqlx::query_scalar::<_, i32>(
                        "SELECT job_credits FROM credit_balances WHERE organization_id = $1",
                    )
                    .bind(id),
                )
                .await
                .expect("reads the credit balance")),
        }));
    }

    // The jobseeker dashboard: the newest ten applications' jobs.
    let jobseeker = WORLD.user_id(DemoAccount::Jobseeker.user());
    let applied_jobs = uuids(
        stack,
        "jobseeker",
        "SELECT job_id FROM applications WHERE applicant_id = $1 \
         ORDER BY applied_at DESC, id DESC LIMIT 10",
        jobseeker,
    )
    .await;
    let applied_job_titles = first_column(
        stack
            .subgraph("employer")
            .database
            .fetch_all(
                sqlx::query_as("SELECT title FROM jobs WHERE id = ANY($1)").bind(&applied_jobs),
            )
            .await
            .expect("reads the applied jobs' titles"),
    );
    let all_applied = uuids(
        stack,
        "jobseeker",
        "SELECT job_id FROM applications WHERE applicant_id = $1",
        jobseeker,
    )
    .await;
    let apply_job = open_jobs
        .iter()
        .find(|job| !all_applied.contains(job))
        .expect("an open job the demo jobseeker has not applied for");

    let account =
        |account: DemoAccount| json!({ "email": account.email(), "password": DEMO_PASSWORD });
    let lifetime = talentgraph_auth::settings::AuthSettings::defaults(
        talentgraph_kit::config::Environment::Development,
    )
    .access_token_lifetime
    .as_secs();
    json!({
        "accounts": {
            "jobseeker": account(DemoAccount::Jobseeker),
            "recruiter": account(DemoAccount::Recruiter),
            "admin": account(DemoAccount::Admin),
        },
        "accessTokenLifetimeSeconds": lifetime,
        "jobSearch": {
            "firstPageJobIds": strings(&open_jobs[..10]),
            "secondPageJobIds": strings(&open_jobs[10..20]),
            "firstJob": {
                "organizationName": text(stack, "core", "SELECT name FROM organizations WHERE id = $1", first_job_organization).await,
                "applicationCount": active_applications(stack, first_job).await,
            },
            "promotedOnFirstPage": promoted_on_first_page,
        },
        "jobDetail": {
            "jobId": detail_job.to_string(),
            "title": text(stack, "employer", "SELECT title FROM jobs WHERE id = $1", detail_job).await,
            "organizationName": text(stack, "core", "SELECT name FROM organizations WHERE id = $1", detail_organization).await,
            "openJobsCount": count(stack, "employer", "SELECT count(*) FROM jobs WHERE organization_id = $1 AND status = 'OPEN'", detail_organization).await,
            "applicationCount": active_applications(stack, detail_job).await,
            "internshipTitles": internship_titles,
        },
        "internships": {
            "firstPageIds": strings(&internships[..10]),
            "secondPageFirstId": internships[10].to_string(),
        },
        "organization": {
            "slug": text(stack, "core", "SELECT slug FROM organizations WHERE id = $1", organization).await,
            "name": text(stack, "core", "SELECT name FROM organizations WHERE id = $1", organization).await,
            "openJobsCount": count(stack, "employer", "SELECT count(*) FROM jobs WHERE organization_id = $1 AND status = 'OPEN'", organization).await,
            "jobTitles": organization_job_titles,
        },
        "jobseekerDashboard": {
            "displayName": text(stack, "core", "SELECT display_name FROM users WHERE id = $1", jobseeker).await,
            "applicationJobTitles": applied_job_titles,
        },
        "employerDashboard": { "organizations": employer_organizations },
        "applyJobId": apply_job.to_string(),
    })
}

async fn organization_of_job(stack: &Stack, job: uuid::Uuid) -> uuid::Uuid {
    stack
        .subgraph("employer")
        .database
        .fetch_scalar(
            sqlx::query_scalar("SELECT organization_id FROM jobs WHERE id = $1").bind(job),
        )
        .await
        .expect("reads the job's organization")
}

async fn active_applications(stack: &Stack, job: uuid::Uuid) -> i64 {
    count(
        stack,
        "jobseeker",
        "SELECT count(*) FROM applications WHERE job_id = $1 AND status <> 'WITHDRAWN'",
        job,
    )
    .await
}

/// What one run of `web/tests/browser.mjs` printed and recorded.
pub struct BrowserRun {
    pub passed: bool,
    pub output: String,
    pub results: Value,
}

/// Which part of `web/tests/browser.mjs` to run.
#[derive(Debug, Clone, Copy)]
pub enum BrowserScenario {
    /// Every page, the sessions and checkout.
    Pages,
    /// The job detail page's deferred part, with the internship subgraph
    /// slowed down so the two parts arrive visibly apart.
    Defer,
    /// The job search with the payment subgraph stopped.
    PaymentDown,
}

impl BrowserScenario {
    fn name(self) -> &'static str {
        match self {
            Self::Pages => "pages",
            Self::Defer => "defer",
            Self::PaymentDown => "payment-down",
        }
    }
}

/// Where the browser tests write their screenshots.
pub fn screenshot_directory() -> PathBuf {
    repository_root().join("target").join("web-screenshots")
}

/// Runs a scenario of the browser tests; `measure_loads` full loads per page
/// are timed for the figures when above one.
pub async fn run_browser_scenario(
    scenario: BrowserScenario,
    web_url: &str,
    router_url: &str,
    expectations: &Value,
    measure_loads: u32,
) -> BrowserRun {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let expected_file = directory.path().join("expected.json");
    let result_file = directory.path().join("result.json");
    std::fs::write(&expected_file, expectations.to_string()).expect("writes the expectations");
    let web = repository_root().join("web");
    let mut command = Command::new("node");
    command
        .arg(web.join("tests").join("browser.mjs"))
        .current_dir(&web)
        .env("WEB_URL", web_url)
        .env("ROUTER_URL", router_url)
        .env("EXPECTED_FILE", &expected_file)
        .env("RESULT_FILE", &result_file)
        .env("SCENARIO", scenario.name())
        .env("SCREENSHOT_DIR", screenshot_directory())
        .env("MEASURE_LOADS", measure_loads.to_string());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the browser run finishes")
        .expect("node runs (Node.js is installed by scripts/build-web.sh)");
    let results = std::fs::read_to_string(&result_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    BrowserRun {
        passed: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        results,
    }
}
