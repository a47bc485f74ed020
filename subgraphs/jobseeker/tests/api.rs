//! The jobseeker subgraph against a real PostgreSQL database, over real HTTP.

use serde_json::{Value, json};
use talentgraph_demo_world::DemoWorld;
use talentgraph_jobseeker::{MIGRATOR, SUBGRAPH, demo};
use talentgraph_kit::testing::{
    LimitProbes, StaticBearerTokens, TestApp, assert_bad_http_input_rejected,
    assert_limits_enforced, count_statements, fresh_database, strict_test_config,
};
use talentgraph_kit::{Database, Role, Viewer};

const WORLD: DemoWorld = DemoWorld::SMALL;

fn viewer(user: u64, role: Role) -> Viewer {
    Viewer::User {
        id: WORLD.user_id(user),
        roles: vec![role],
        organizations: WORLD.recruited_organization_ids(user),
    }
}

fn jobseeker_a() -> u64 {
    WORLD.demo_jobseeker()
}
fn jobseeker_b() -> u64 {
    WORLD.demo_jobseeker() + 1
}

async fn seeded_jobseeker() -> (TestApp, Database) {
    seeded_jobseeker_with(|_| {}).await
}

/// Like [`seeded_jobseeker`], with the configuration adjusted first.
async fn seeded_jobseeker_with(
    adjust: impl FnOnce(&mut talentgraph_kit::SubgraphConfig),
) -> (TestApp, Database) {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh jobseeker database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    let tokens = StaticBearerTokens::default()
        .with("jobseeker-a", viewer(jobseeker_a(), Role::Jobseeker))
        .with("jobseeker-b", viewer(jobseeker_b(), Role::Jobseeker))
        .with("recruiter", viewer(0, Role::Employer))
        .with("admin", viewer(WORLD.demo_admin(), Role::Admin));
    let app = TestApp::spawn(SUBGRAPH.app(
        database.clone(),
        &{
            let mut config = strict_test_config(&url);
            adjust(&mut config);
            config
        },
        tokens.shared(),
    ))
    .await
    .expect("the jobseeker app starts");
    (app, database)
}

const APPLICATION_ENTITIES: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { \
    ... on Application { id status job { id } applicant { id } } } }";

fn application_representations(size: u64) -> (Vec<Value>, Vec<Value>) {
    let mut representations = Vec::new();
    let mut expected = Vec::new();
    for index in 0..size {
        if index % 10 == 4 {
            representations.push(
                json!({ "__typename": "Application", "id": uuid::Uuid::new_v4().to_string() }),
            );
            expected.push(Value::Null);
        } else {
            let id = WORLD.application_id(index).to_string();
            representations.push(json!({ "__typename": "Application", "id": id }));
            expected.push(Value::String(id));
        }
    }
    (representations, expected)
}

/// Application entity batches of 10 and 100 resolve in order, nulls for
/// unknown ids, in one statement — and to nobody but the applicant or an
/// admin: calling `_entities` directly is no way around the rule.
#[tokio::test]
async fn application_entities_are_batched_and_guarded() {
    let (app, database) = seeded_jobseeker().await;
    for size in [10_u64, 100] {
        let (representations, expected) = application_representations(size);
        let variables = json!({ "representations": representations });
        let (response, statements) = count_statements(
            &database,
            app.graphql_as("admin", APPLICATION_ENTITIES, variables.clone()),
        )
        .await;
        let ids: Vec<Value> = response.body["data"]["_entities"]
            .as_array()
            .expect("entities")
            .iter()
            .map(|entity| entity.get("id").cloned().unwrap_or(Value::Null))
            .collect();
        assert_eq!(ids, expected, "{:#}", response.body);
        assert_eq!(statements, 1);
        println!("jobseeker _entities batch of {size} Application: {statements} SQL statement(s)");

        let response = app
            .graphql_as("recruiter", APPLICATION_ENTITIES, variables)
            .await;
        let entities = response.body["data"]["_entities"]
            .as_array()
            .expect("entities");
        assert!(
            entities.iter().all(Value::is_null),
            "a non-applicant sees nothing: {:#}",
            response.body
        );
    }
    let (job, applicant) = WORLD.application(0);
    let token = if applicant == jobseeker_a() {
        "jobseeker-a"
    } else {
        "jobseeker-b"
    };
    assert!(
        applicant == jobseeker_a() || applicant == jobseeker_b(),
        "application 0 belongs to a demo jobseeker"
    );
    let response = app
        .graphql_as(token, APPLICATION_ENTITIES, json!({ "representations": [{ "__typename": "Application", "id": WORLD.application_id(0).to_string() }] }))
        .await;
    assert_eq!(
        response.body["data"]["_entities"][0]["job"]["id"],
        WORLD.job_id(job).to_string()
    );
}

/// Job.applicationCount and Job.viewerHasApplied for many jobs cost one
/// statement together, signed in or not; counts and flags agree with the
/// database.
#[tokio::test]
async fn job_contributions_are_batched() {
    let (app, database) = seeded_jobseeker().await;
    let representations: Vec<Value> = (0..100)
        .map(|index| json!({ "__typename": "Job", "id": WORLD.job_id(index).to_string() }))
        .collect();
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { \
        ... on Job { id applicationCount viewerHasApplied } } }";
    let (response, statements) = count_statements(
        &database,
        app.graphql_as(
            "jobseeker-a",
            query,
            json!({ "representations": representations }),
        ),
    )
    .await;
    assert_eq!(statements, 1, "{:#}", response.body);
    let jobs = response.body["data"]["_entities"]
        .as_array()
        .expect("entities");
    let expected: i64 = database
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT count(*) FROM applications WHERE job_id = $1 AND status <> 'WITHDRAWN'",
            )
            .bind(WORLD.job_id(0)),
        )
        .await
        .expect("counts");
    assert_eq!(jobs[0]["applicationCount"], expected);
    let applied: Vec<String> = database
        .fetch_all(
            sqlx::query_as::<_, (uuid::Uuid,)>(
                "SELECT job_id FROM applications WHERE applicant_id = $1 AND status <> 'WITHDRAWN'",
            )
            .bind(WORLD.user_id(jobseeker_a())),
        )
        .await
        .expect("reads applications")
        .into_iter()
        .map(|(id,)| id.to_string())
        .collect();
    assert!(
        jobs.iter().any(|job| job["viewerHasApplied"] == true),
        "the viewer has applied to some of the jobs asked"
    );
    for job in jobs {
        let has_applied = applied.contains(&job["id"].as_str().expect("id").to_owned());
        assert_eq!(job["viewerHasApplied"], has_applied);
    }

    let (response, statements) = count_statements(
        &database,
        app.graphql(query, json!({ "representations": representations })),
    )
    .await;
    assert_eq!(statements, 1, "{:#}", response.body);
    assert!(
        response.body["data"]["_entities"]
            .as_array()
            .expect("entities")
            .iter()
            .all(|job| job["viewerHasApplied"] == false)
    );
}

/// A job entity loads its tally when the fetch asks for it and answers in
/// one pass; asking for `organization` too, which only the generic path
/// answers, sends it field by field. Both answers, and both statement
/// counts, agree.
#[tokio::test]
async fn job_entities_answer_in_one_pass_as_field_by_field() {
    let (app, database) = seeded_jobseeker().await;
    let representations: Vec<Value> = (0..40)
        .map(|index| {
            json!({
                "__typename": "Job",
                "id": WORLD.job_id(index).to_string(),
                "organization": { "id": WORLD.organization_id(0).to_string() },
            })
        })
        .collect();
    // The second fetch adds a field only the generic path answers.
    let mut answers = Vec::new();
    for extra_field in ["", "organization { id }"] {
        let query = format!(
            "query($representations: [_Any!]!) {{ _entities(representations: $representations) {{ \
             ... on Job {{ __typename id applicationCount viewerHasApplied {extra_field} }} }} }}"
        );
        let (response, statements) = count_statements(
            &database,
            app.graphql_as(
                "jobseeker-a",
                &query,
                json!({ "representations": representations }),
            ),
        )
        .await;
        assert_eq!(statements, 1, "{extra_field}: {:#}", response.body);
        answers.push(response.body);
    }
    let [one_pass, mut field_by_field] = <[Value; 2]>::try_from(answers).expect("two answers");
    for job in field_by_field["data"]["_entities"]
        .as_array_mut()
        .expect("entities")
    {
        let job = job.as_object_mut().expect("a job");
        assert!(job.remove("organization").is_some());
    }
    assert_eq!(one_pass, field_by_field);
    let jobs = one_pass["data"]["_entities"].as_array().expect("entities");
    assert!(jobs.iter().any(|job| job["viewerHasApplied"] == true));
    assert!(jobs.iter().any(|job| job["applicationCount"] != 0));
}

/// User.applications pages for many users cost one statement at page size 10
/// and at 100; another user's applications are FORBIDDEN (no BOLA).
#[tokio::test]
async fn user_applications_are_batched_and_owner_only() {
    let (app, database) = seeded_jobseeker_with(talentgraph_kit::testing::batching_limits).await;
    let users: Vec<Value> = (WORLD.first_jobseeker()..WORLD.first_jobseeker() + 30)
        .map(|user| json!({ "__typename": "User", "id": WORLD.user_id(user).to_string() }))
        .collect();
    let query = "query($representations: [_Any!]!, $first: Int) { _entities(representations: $representations) { \
        ... on User { applications(first: $first) { edges { node { id applicant { id } } } } savedJobs(first: 3) { edges { node { id } } } } } }";
    for first in [10, 100] {
        let (response, statements) = count_statements(
            &database,
            app.graphql_as(
                "admin",
                query,
                json!({ "representations": users, "first": first }),
            ),
        )
        .await;
        assert!(response.body.get("errors").is_none(), "{:#}", response.body);
        assert_eq!(
            statements, 2,
            "applications + saved jobs, page size {first}"
        );
        let first_user = &response.body["data"]["_entities"][0];
        let expected: i64 = database
            .fetch_scalar(
                sqlx::query_scalar("SELECT count(*) FROM applications WHERE applicant_id = $1")
                    .bind(WORLD.user_id(WORLD.first_jobseeker())),
            )
            .await
            .expect("counts");
        assert_eq!(
            first_user["applications"]["edges"].as_array().map(Vec::len),
            Some(expected.min(first) as usize)
        );
    }
    let own = json!({ "representations": [{ "__typename": "User", "id": WORLD.user_id(jobseeker_a()).to_string() }], "first": 5 });
    let response = app.graphql_as("jobseeker-a", query, own.clone()).await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    let response = app.graphql_as("jobseeker-b", query, own.clone()).await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app.graphql(query, own).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
}

async fn application_count(database: &Database) -> i64 {
    database
        .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM applications"))
        .await
        .expect("counts")
}

/// A new open job as jobseeker knows it once employer's `job.posted`
/// arrived (what the consumer records).
async fn announced_job(database: &Database) -> uuid::Uuid {
    let job = uuid::Uuid::new_v4();
    database
        .execute(
            sqlx::query("INSERT INTO job_organizations (job_id, organization_id) VALUES ($1, $2)")
                .bind(job)
                .bind(WORLD.organization_id(0)),
        )
        .await
        .expect("records the job");
    job
}

/// A closed job (every tenth demo job, or one employer's `job.closed`
/// marked) is CONFLICT/JOB_CLOSED; a job jobseeker never heard of is
/// NOT_FOUND; neither writes anything.
#[tokio::test]
async fn closed_and_unknown_jobs_take_no_applications() {
    let (app, database) = seeded_jobseeker().await;
    let apply = "mutation($job: ID!) { applyToJob(jobId: $job) { id } }";
    let before = application_count(&database).await;
    let closed = (0..WORLD.jobs)
        .find(|job| WORLD.job_is_closed(*job))
        .expect("a closed demo job");
    let response = app
        .graphql_as(
            "jobseeker-a",
            apply,
            json!({ "job": WORLD.job_id(closed).to_string() }),
        )
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("CONFLICT"),
        "{:#}",
        response.body
    );
    assert_eq!(
        response.body["errors"][0]["extensions"]["reason"],
        "JOB_CLOSED"
    );
    let response = app
        .graphql_as(
            "jobseeker-a",
            apply,
            json!({ "job": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("NOT_FOUND"),
        "{:#}",
        response.body
    );
    assert_eq!(application_count(&database).await, before);
}

/// applyToJob: works once, a second time is CONFLICT/ALREADY_APPLIED with
/// nothing written; anonymous and non-jobseekers are refused.
#[tokio::test]
async fn apply_to_job_once() {
    let (app, database) = seeded_jobseeker().await;
    let apply = "mutation($job: ID!) { applyToJob(jobId: $job, coverLetter: \"Hello\") { id status job { id } applicant { id } } }";
    let job = json!({ "job": announced_job(&database).await.to_string() });
    let before = application_count(&database).await;
    let response = app.graphql(apply, job.clone()).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
    let response = app.graphql_as("recruiter", apply, job.clone()).await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app.graphql_as("jobseeker-a", apply, job.clone()).await;
    assert_eq!(
        response.body["data"]["applyToJob"]["status"], "SUBMITTED",
        "{:#}",
        response.body
    );
    assert_eq!(
        response.body["data"]["applyToJob"]["applicant"]["id"],
        WORLD.user_id(jobseeker_a()).to_string()
    );
    let response = app.graphql_as("jobseeker-a", apply, job).await;
    assert_eq!(response.first_error_code(), Some("CONFLICT"));
    assert_eq!(
        response.body["errors"][0]["extensions"]["reason"],
        "ALREADY_APPLIED"
    );
    assert_eq!(application_count(&database).await, before + 1);
}

/// withdrawApplication: only the applicant, once.
#[tokio::test]
async fn withdraw_application_rules() {
    let (app, _database) = seeded_jobseeker().await;
    let apply = "mutation($job: ID!) { applyToJob(jobId: $job) { id } }";
    let response = app
        .graphql_as(
            "jobseeker-a",
            apply,
            json!({ "job": announced_job(&_database).await.to_string() }),
        )
        .await;
    let id = response.body["data"]["applyToJob"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let withdraw = "mutation($id: ID!) { withdrawApplication(id: $id) { status } }";
    let response = app
        .graphql_as("jobseeker-b", withdraw, json!({ "id": id }))
        .await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app
        .graphql_as(
            "jobseeker-a",
            withdraw,
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("NOT_FOUND"));
    let response = app
        .graphql_as("jobseeker-a", withdraw, json!({ "id": id }))
        .await;
    assert_eq!(
        response.body["data"]["withdrawApplication"]["status"],
        "WITHDRAWN"
    );
    let response = app
        .graphql_as("jobseeker-a", withdraw, json!({ "id": id }))
        .await;
    assert_eq!(
        response.body["errors"][0]["extensions"]["reason"],
        "ALREADY_WITHDRAWN"
    );
}

/// saveJob is idempotent and shows up in savedJobs; unsaveJob removes it;
/// the profile mutation validates and persists.
#[tokio::test]
async fn saved_jobs_and_profile() {
    let (app, database) = seeded_jobseeker().await;
    let job = uuid::Uuid::new_v4().to_string();
    for _ in 0..2 {
        let response = app
            .graphql_as(
                "jobseeker-a",
                "mutation($job: ID!) { saveJob(jobId: $job) { id } }",
                json!({ "job": job }),
            )
            .await;
        assert_eq!(response.body["data"]["saveJob"]["id"], job.as_str());
    }
    let saved: i64 = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT count(*) FROM saved_jobs WHERE job_id = $1")
                .bind(uuid::Uuid::parse_str(&job).expect("uuid")),
        )
        .await
        .expect("counts");
    assert_eq!(saved, 1);
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { savedJobs(first: 1) { edges { node { id } } } } } }";
    let me = json!({ "representations": [{ "__typename": "User", "id": WORLD.user_id(jobseeker_a()).to_string() }] });
    let response = app.graphql_as("jobseeker-a", query, me).await;
    assert_eq!(
        response.body["data"]["_entities"][0]["savedJobs"]["edges"][0]["node"]["id"],
        job.as_str()
    );
    let response = app
        .graphql_as(
            "jobseeker-a",
            "mutation($job: ID!) { unsaveJob(jobId: $job) }",
            json!({ "job": job }),
        )
        .await;
    assert_eq!(response.body["data"]["unsaveJob"], true);

    let update = "mutation($input: UpdateJobseekerProfileInput!) { updateJobseekerProfile(input: $input) { openToWork yearsOfExperience desiredTitles } }";
    let response = app
        .graphql_as(
            "jobseeker-a",
            update,
            json!({ "input": { "yearsOfExperience": 99 } }),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        response.body["errors"][0]["extensions"]["field"],
        "yearsOfExperience"
    );
    let response = app
        .graphql_as(
            "jobseeker-a",
            update,
            json!({ "input": { "openToWork": false, "desiredTitles": ["Rust Engineer"] } }),
        )
        .await;
    assert_eq!(
        response.body["data"]["updateJobseekerProfile"]["openToWork"], false,
        "{:#}",
        response.body
    );
    let open: bool = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT open_to_work FROM jobseeker_profiles WHERE user_id = $1")
                .bind(WORLD.user_id(jobseeker_a())),
        )
        .await
        .expect("reads the profile");
    assert!(!open);
}

/// The `application` root field answers the applicant and admins, and null
/// to anybody else; anonymous callers are UNAUTHENTICATED.
#[tokio::test]
async fn application_root_field_is_owner_only() {
    let (app, _database) = seeded_jobseeker().await;
    let query = "query($id: ID!) { application(id: $id) { id status applicant { id } } }";
    let own = json!({ "id": WORLD.application_id(0).to_string() });
    let response = app.graphql_as("jobseeker-a", query, own.clone()).await;
    assert_eq!(
        response.body["data"]["application"]["applicant"]["id"],
        WORLD.user_id(jobseeker_a()).to_string()
    );
    let response = app.graphql_as("admin", query, own.clone()).await;
    assert_eq!(
        response.body["data"]["application"]["id"],
        WORLD.application_id(0).to_string()
    );
    let response = app.graphql_as("jobseeker-b", query, own.clone()).await;
    assert!(
        response.body["data"]["application"].is_null(),
        "{:#}",
        response.body
    );
    let response = app.graphql(query, own).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
}

/// Job.applications for many jobs is one statement at page size 10 and 100.
#[tokio::test]
async fn job_applications_are_batched() {
    let (app, database) = seeded_jobseeker_with(talentgraph_kit::testing::batching_limits).await;
    let representations: Vec<Value> = (0..20).map(job_representation).collect();
    for first in [10, 100] {
        let variables = json!({ "representations": representations, "first": first });
        let (response, statements) = count_statements(
            &database,
            app.graphql_via_router("admin", JOB_APPLICATIONS, variables),
        )
        .await;
        assert!(response.body.get("errors").is_none(), "{:#}", response.body);
        assert_eq!(statements, 1, "page size {first}");
        let expected: i64 = database
            .fetch_scalar(
                sqlx::query_scalar("SELECT count(*) FROM applications WHERE job_id = $1")
                    .bind(WORLD.job_id(3)),
            )
            .await
            .expect("counts");
        let edges = response.body["data"]["_entities"][3]["applications"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        assert_eq!(edges.len() as i64, expected.min(first));
        assert!(
            edges
                .iter()
                .all(|edge| edge["node"]["job"]["id"] == WORLD.job_id(3).to_string())
        );
    }
}

const JOB_APPLICATIONS: &str = "query($representations: [_Any!]!, $first: Int) { _entities(representations: $representations) { \
    ... on Job { applications(first: $first) { edges { node { id job { id } } } } } } }";

/// A job's representation as the router sends it for `applications`.
fn job_representation(job: u64) -> Value {
    json!({
        "__typename": "Job",
        "id": WORLD.job_id(job).to_string(),
        "organization": { "id": WORLD.organization_id(WORLD.job_organization(job)).to_string() },
    })
}

/// Only recruiters of the job's organization (and admins) read its
/// applications; the organization is believed only when the router sent
/// it, so a direct `_entities` call cannot claim a job for the caller's
/// organization.
#[tokio::test]
async fn job_applications_are_for_the_organizations_recruiters_only() {
    let (app, _database) = seeded_jobseeker().await;
    // "recruiter" is user 0, who recruits for organization 0.
    let own_job = (0..WORLD.jobs)
        .find(|job| WORLD.job_organization(*job) == 0)
        .expect("organization 0 has jobs");
    let other_job = (0..WORLD.jobs)
        .find(|job| WORLD.job_organization(*job) != 0)
        .expect("other organizations have jobs");
    let ask =
        |job_representation: Value| json!({ "representations": [job_representation], "first": 5 });

    let response = app
        .graphql_via_router(
            "recruiter",
            JOB_APPLICATIONS,
            ask(job_representation(own_job)),
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    assert!(response.body["data"]["_entities"][0]["applications"]["edges"].is_array());

    let response = app
        .graphql_via_router(
            "recruiter",
            JOB_APPLICATIONS,
            ask(job_representation(other_job)),
        )
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("FORBIDDEN"),
        "{:#}",
        response.body
    );

    // The forged representation: another organization's job, claimed to
    // belong to the caller's organization, sent straight to the subgraph.
    let forged = json!({
        "__typename": "Job",
        "id": WORLD.job_id(other_job).to_string(),
        "organization": { "id": WORLD.organization_id(0).to_string() },
    });
    let response = app
        .graphql_as("recruiter", JOB_APPLICATIONS, ask(forged))
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("FORBIDDEN"),
        "{:#}",
        response.body
    );

    let response = app
        .graphql_via_router(
            "jobseeker-a",
            JOB_APPLICATIONS,
            ask(job_representation(own_job)),
        )
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("FORBIDDEN"),
        "{:#}",
        response.body
    );
    let response = app
        .graphql(JOB_APPLICATIONS, ask(job_representation(own_job)))
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("UNAUTHENTICATED"),
        "{:#}",
        response.body
    );
}

/// A job posted a moment ago, whose `job.posted` has not reached jobseeker:
/// its recruiters (by the organization the router sent) get its
/// applications, an empty list, not an error; anyone else is still
/// refused.
#[tokio::test]
async fn a_job_not_yet_announced_has_no_applications_for_its_recruiters() {
    let (app, _database) = seeded_jobseeker().await;
    let unannounced = json!({
        "representations": [{
            "__typename": "Job",
            "id": uuid::Uuid::new_v4().to_string(),
            "organization": { "id": WORLD.organization_id(0).to_string() },
        }],
        "first": 5,
    });
    let response = app
        .graphql_via_router("recruiter", JOB_APPLICATIONS, unannounced.clone())
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    assert_eq!(
        response.body["data"]["_entities"][0]["applications"]["edges"],
        json!([])
    );
    let response = app
        .graphql_via_router("jobseeker-a", JOB_APPLICATIONS, unannounced)
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("FORBIDDEN"),
        "{:#}",
        response.body
    );
}

/// Each operation limit is enforced with its code before any SQL runs.
#[tokio::test]
async fn operation_limits_reject_before_touching_the_database() {
    let (app, database) = seeded_jobseeker().await;
    assert_limits_enforced(
        &app,
        &database,
        &LimitProbes {
            too_complex: "{ _entities(representations: [{ __typename: \"User\", id: \"00000000-0000-0000-0000-000000000001\" }]) { \
                ... on User { applications(first: 100) { edges { cursor node { id status coverLetter appliedAt job { id } applicant { id } } } } } } }",
            page_too_large: "{ _entities(representations: []) { ... on User { savedJobs(first: 101) { edges { cursor } } } } }",
        },
    )
    .await;
}

/// Malformed HTTP requests get clear 4xx answers, never a 500.
#[tokio::test]
async fn bad_http_input_is_rejected_cleanly() {
    let (app, _database) = seeded_jobseeker().await;
    assert_bad_http_input_rejected(
        &app,
        "query ApplicationById($id: ID!) { application(id: $id) { id } }",
        Some("mutation { saveJob(jobId: \"x\") { id } }"),
    )
    .await;
}
