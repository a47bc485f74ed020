//! The employer subgraph against a real PostgreSQL database, over real HTTP.

use serde_json::{Value, json};
use talentgraph_demo_world::DemoWorld;
use talentgraph_employer::{MIGRATOR, SUBGRAPH, demo};
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

async fn seeded_employer() -> (TestApp, Database) {
    seeded_employer_with(|_| {}).await
}

/// Like [`seeded_employer`], with the configuration adjusted first.
async fn seeded_employer_with(
    adjust: impl FnOnce(&mut talentgraph_kit::SubgraphConfig),
) -> (TestApp, Database) {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh employer database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    let tokens = StaticBearerTokens::default()
        .with(
            "recruiter-of-0",
            viewer(WORLD.recruiters_of(0)[0], Role::Employer),
        )
        .with(
            "recruiter-of-1",
            viewer(WORLD.recruiters_of(1)[0], Role::Employer),
        )
        .with("jobseeker", viewer(WORLD.demo_jobseeker(), Role::Jobseeker))
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
    .expect("the employer app starts");
    (app, database)
}

/// `_entities` batches of 10 and 100 jobs resolve in order with nulls for
/// unknown ids, in one statement each.
#[tokio::test]
async fn job_entity_batches_cost_one_statement() {
    let (app, database) = seeded_employer().await;
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Job { id title status } } }";
    for size in [10_u64, 100] {
        let mut representations = Vec::new();
        let mut expected = Vec::new();
        for index in 0..size {
            if index % 10 == 3 {
                representations
                    .push(json!({ "__typename": "Job", "id": uuid::Uuid::new_v4().to_string() }));
                expected.push(Value::Null);
            } else {
                let id = WORLD.job_id(index * 2 % WORLD.jobs).to_string();
                representations.push(json!({ "__typename": "Job", "id": id }));
                expected.push(Value::String(id));
            }
        }
        let (response, statements) = count_statements(
            &database,
            app.graphql(query, json!({ "representations": representations })),
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
        println!("employer _entities batch of {size} Job: {statements} SQL statement(s)");
    }
}

/// Organization.jobs, openJobsCount and recruiters for many organizations
/// cost one statement each, the same at page size 10 and 100; each page is
/// the organization's own newest jobs.
#[tokio::test]
async fn organization_contributions_are_batched_per_field() {
    let (app, database) = seeded_employer_with(talentgraph_kit::testing::batching_limits).await;
    let query = "query($representations: [_Any!]!, $first: Int) { _entities(representations: $representations) { \
        ... on Organization { id openJobsCount jobs(first: $first, status: OPEN) { edges { node { id organization { id } } } } \
                              recruiters(first: 5) { edges { node { id } } } } } }";
    let representations: Vec<Value> = (0..WORLD.organizations)
        .map(|index| json!({ "__typename": "Organization", "id": WORLD.organization_id(index).to_string() }))
        .collect();
    let mut counts = Vec::new();
    for first in [10, 100] {
        let (response, statements) = count_statements(
            &database,
            app.graphql(
                query,
                json!({ "representations": representations, "first": first }),
            ),
        )
        .await;
        assert!(response.body.get("errors").is_none(), "{:#}", response.body);
        let organizations = response.body["data"]["_entities"]
            .as_array()
            .expect("entities");
        let first_organization = &organizations[0];
        let open: i64 = database
            .fetch_scalar(
                sqlx::query_scalar(
                    "SELECT count(*) FROM jobs WHERE organization_id = $1 AND status = 'OPEN'",
                )
                .bind(WORLD.organization_id(0)),
            )
            .await
            .expect("counts open jobs");
        assert_eq!(first_organization["openJobsCount"], open);
        let expected_ids: Vec<String> = database
            .fetch_all(
                sqlx::query_as::<_, (uuid::Uuid,)>(
                    "SELECT id FROM jobs WHERE organization_id = $1 AND status = 'OPEN' ORDER BY posted_at DESC, id DESC LIMIT $2",
                )
                .bind(WORLD.organization_id(0))
                .bind(i64::from(first)),
            )
            .await
            .expect("reads jobs")
            .into_iter()
            .map(|(id,)| id.to_string())
            .collect();
        let page_ids: Vec<String> = first_organization["jobs"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(page_ids, expected_ids);
        assert_eq!(
            first_organization["recruiters"]["edges"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        counts.push(statements);
    }
    assert_eq!(
        counts,
        vec![3, 3],
        "jobs + openJobsCount + recruiters, whatever the page size"
    );
}

/// User.recruiterAt for many users is one statement.
#[tokio::test]
async fn recruiter_at_is_batched() {
    let (app, database) = seeded_employer().await;
    let representations: Vec<Value> = (0..40)
        .map(|index| json!({ "__typename": "User", "id": WORLD.user_id(index).to_string() }))
        .collect();
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { \
        ... on User { recruiterAt { edges { node { id } } } } } }";
    let (response, statements) = count_statements(
        &database,
        app.graphql(query, json!({ "representations": representations })),
    )
    .await;
    let users = response.body["data"]["_entities"]
        .as_array()
        .expect("entities");
    assert_eq!(
        users[3]["recruiterAt"]["edges"][0]["node"]["id"],
        WORLD.organization_id(1).to_string()
    );
    assert_eq!(statements, 1);
}

/// `job` and `jobs` read what the database holds; filters apply.
#[tokio::test]
async fn root_fields_find_and_search_jobs() {
    let (app, database) = seeded_employer().await;
    let response = app
        .graphql(
            "query($id: ID!) { job(id: $id) { title postedBy { id } organization { id } } }",
            json!({ "id": WORLD.job_id(5).to_string() }),
        )
        .await;
    assert_eq!(
        response.body["data"]["job"]["postedBy"]["id"],
        WORLD.user_id(WORLD.job_poster(5)).to_string()
    );
    assert_eq!(
        response.body["data"]["job"]["organization"]["id"],
        WORLD.organization_id(WORLD.job_organization(5)).to_string()
    );

    let response = app
        .graphql(
            "query($filter: JobFilter) { jobs(first: 50, filter: $filter) { edges { node { id remote status } } pageInfo { hasNextPage } } }",
            json!({ "filter": { "remote": true, "organizationId": WORLD.organization_id(3).to_string() } }),
        )
        .await;
    let edges = response.body["data"]["jobs"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let expected: i64 = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE remote AND status = 'OPEN' AND organization_id = $1")
                .bind(WORLD.organization_id(3)),
        )
        .await
        .expect("counts");
    assert_eq!(edges.len() as i64, expected);
    assert!(
        edges
            .iter()
            .all(|edge| edge["node"]["remote"] == true && edge["node"]["status"] == "OPEN")
    );

    // The other filters, each written into the statement only when given:
    // job 5's status and employment type, and a piece of its title in
    // capitals (the search ignores case).
    let (status, employment_type, title): (String, String, String) = database
        .fetch_one(
            sqlx::query_as("SELECT status, employment_type, title FROM jobs WHERE id = $1")
                .bind(WORLD.job_id(5)),
        )
        .await
        .expect("reads job 5");
    let title_piece: String = title
        .chars()
        .skip(1)
        .take(4)
        .collect::<String>()
        .to_uppercase();
    let response = app
        .graphql(
            "query($filter: JobFilter) { jobs(first: 50, filter: $filter) { edges { node { id } } } }",
            json!({ "filter": { "status": status, "employmentType": employment_type, "search": title_piece } }),
        )
        .await;
    let found: Vec<String> = response.body["data"]["jobs"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["id"].as_str().expect("an id").to_owned())
        .collect();
    let expected: i64 = database
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE status = $1 AND employment_type = $2 \
                 AND title ILIKE '%' || $3 || '%'",
            )
            .bind(&status)
            .bind(&employment_type)
            .bind(&title_piece),
        )
        .await
        .expect("counts");
    assert!(expected >= 1, "job 5 itself matches");
    assert_eq!(found.len() as i64, expected.min(50));
    if expected <= 50 {
        assert!(found.contains(&WORLD.job_id(5).to_string()));
    }
}

/// A search's jobs, salary bands and badges resolve in one pass (see
/// `talentgraph_kit::graphql::plain_fields`); selecting `postedBy` too,
/// which only the generic path answers, sends the whole page the generic
/// way. The two answers must agree on every other field.
#[tokio::test]
async fn a_search_answers_in_one_pass_as_field_by_field() {
    let (app, database) = seeded_employer().await;
    // The cards that core's events would bring, some without a logo and
    // some unverified, so both kinds of value are compared.
    database
        .execute(sqlx::query(
            "INSERT INTO organization_cards (organization_id, name, slug, logo_url, verified, revision) \
             SELECT DISTINCT organization_id, 'Organization \"' || organization_id || '\"', \
                 organization_id::text, \
                 CASE WHEN get_byte(uuid_send(organization_id), 0) % 2 = 0 \
                      THEN 'https://example.com/' || organization_id || '.png' END, \
                 get_byte(uuid_send(organization_id), 1) % 2 = 0, 1 \
             FROM jobs",
        ))
        .await
        .expect("keeps a card for every organization with jobs");
    let search_with = |extra_job_field: &str| {
        format!(
            "{{ jobs(first: 12) {{ edges {{ cursor node {{ __typename id title description \
             location remote employmentType status postedAt {extra_job_field} \
             salaryRange {{ min max currency }} \
             organization {{ id name slug logoUrl verified }} }} }} \
             pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
        )
    };
    let one_pass = app.graphql(&search_with(""), json!({})).await.body;
    let mut field_by_field = app
        .graphql(&search_with("postedBy { id }"), json!({}))
        .await
        .body;
    assert!(one_pass.get("errors").is_none(), "{one_pass}");
    assert!(field_by_field.get("errors").is_none(), "{field_by_field}");
    let edges = field_by_field["data"]["jobs"]["edges"]
        .as_array_mut()
        .expect("edges");
    assert_eq!(edges.len(), 12);
    for edge in edges.iter_mut() {
        let node = edge["node"].as_object_mut().expect("a job");
        assert!(node.remove("postedBy").is_some());
    }
    assert_eq!(one_pass, field_by_field);
    let salaries = one_pass["data"]["jobs"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|edge| !edge["node"]["salaryRange"].is_null())
        .count();
    assert!(salaries > 0, "the demo jobs give salaries");
}

const POST_JOB: &str = "mutation($input: PostJobInput!) { postJob(input: $input) { id title status salaryRange { min max currency } } }";

fn post_job_input(organization: u64, minimum: i32, maximum: i32) -> Value {
    json!({ "input": {
        "organizationId": WORLD.organization_id(organization).to_string(),
        "title": "Staff Rust Engineer", "description": "Own the query planner.", "location": "Berlin",
        "remote": true, "employmentType": "FULL_TIME",
        "salaryRange": { "min": minimum, "max": maximum, "currency": "EUR" }
    } })
}

async fn job_count(database: &Database) -> i64 {
    database
        .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM jobs"))
        .await
        .expect("counts jobs")
}

/// postJob: a recruiter posts for their organization; everybody else is
/// refused with the right code, bad input is a typed error, and nothing is
/// written in any refused case.
#[tokio::test]
async fn post_job_validates_and_authorizes() {
    let (app, database) = seeded_employer().await;
    let before = job_count(&database).await;

    let response = app
        .graphql_as(
            "recruiter-of-0",
            POST_JOB,
            post_job_input(0, 90_000, 80_000),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        response.body["errors"][0]["extensions"]["field"],
        "salaryRange"
    );

    let response = app.graphql(POST_JOB, post_job_input(0, 1, 2)).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
    let response = app
        .graphql_as("jobseeker", POST_JOB, post_job_input(0, 1, 2))
        .await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app
        .graphql_as("recruiter-of-1", POST_JOB, post_job_input(0, 1, 2))
        .await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app
        .graphql_as("not-a-known-token", POST_JOB, post_job_input(0, 1, 2))
        .await;
    assert_eq!(response.status, 401);
    assert_eq!(
        job_count(&database).await,
        before,
        "refused mutations write nothing"
    );

    let response = app
        .graphql_as(
            "recruiter-of-0",
            POST_JOB,
            post_job_input(0, 80_000, 90_000),
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    let job = &response.body["data"]["postJob"];
    assert_eq!(job["status"], "OPEN");
    assert_eq!(job["salaryRange"]["max"], 90_000);
    assert_eq!(job_count(&database).await, before + 1);

    let response = app
        .graphql_as("admin", POST_JOB, post_job_input(4, 1, 2))
        .await;
    assert!(
        response.body.get("errors").is_none(),
        "admins may post for any organization: {:#}",
        response.body
    );
}

/// updateJob and closeJob: unknown jobs are NOT_FOUND, other recruiters are
/// FORBIDDEN, and the owner's changes land.
#[tokio::test]
async fn update_and_close_job() {
    let (app, database) = seeded_employer().await;
    let job = WORLD.job_id(0).to_string();
    let update = "mutation($id: ID!, $input: UpdateJobInput!) { updateJob(id: $id, input: $input) { id title location } }";
    let response = app
        .graphql_as(
            "recruiter-of-0",
            update,
            json!({ "id": uuid::Uuid::new_v4().to_string(), "input": { "title": "New title" } }),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("NOT_FOUND"));
    let response = app
        .graphql_as(
            "recruiter-of-1",
            update,
            json!({ "id": job, "input": { "title": "Hijacked" } }),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app
        .graphql_as("recruiter-of-0", update, json!({ "id": job, "input": { "salaryRange": { "min": 5, "max": 1, "currency": "EUR" } } }))
        .await;
    assert_eq!(response.first_error_code(), Some("BAD_USER_INPUT"));
    let response = app
        .graphql_as(
            "recruiter-of-0",
            update,
            json!({ "id": job, "input": { "title": "Principal Engineer" } }),
        )
        .await;
    assert_eq!(
        response.body["data"]["updateJob"]["title"],
        "Principal Engineer"
    );
    let title: String = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT title FROM jobs WHERE id = $1").bind(WORLD.job_id(0)),
        )
        .await
        .expect("reads the title");
    assert_eq!(title, "Principal Engineer");

    let close = "mutation($id: ID!) { closeJob(id: $id) { status } }";
    let response = app
        .graphql_as("recruiter-of-0", close, json!({ "id": job }))
        .await;
    assert_eq!(response.body["data"]["closeJob"]["status"], "CLOSED");
    let response = app
        .graphql_as("recruiter-of-0", close, json!({ "id": job }))
        .await;
    assert_eq!(
        response.body["data"]["closeJob"]["status"], "CLOSED",
        "closing twice is a no-op"
    );
}

/// Each operation limit is enforced with its code before any SQL runs.
#[tokio::test]
async fn operation_limits_reject_before_touching_the_database() {
    let (app, database) = seeded_employer().await;
    assert_limits_enforced(
        &app,
        &database,
        &LimitProbes {
            too_complex: "{ jobs(first: 100) { edges { cursor node { id title description location remote employmentType postedAt } } } }",
            page_too_large: "{ jobs(first: 101) { edges { cursor } } }",
        },
    )
    .await;
}

/// Malformed HTTP requests get clear 4xx answers, never a 500.
#[tokio::test]
async fn bad_http_input_is_rejected_cleanly() {
    let (app, _database) = seeded_employer().await;
    assert_bad_http_input_rejected(
        &app,
        "query JobById($id: ID!) { job(id: $id) { title } }",
        Some("mutation { closeJob(id: \"x\") { id } }"),
    )
    .await;
}

const POST_JOB_WITH_KEY: &str = "mutation($input: PostJobInput!, $idempotencyKey: String) { postJob(input: $input, idempotencyKey: $idempotencyKey) { id title } }";

async fn posted_events(database: &Database) -> i64 {
    database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE subject = 'talentgraph.employer.job.posted.v1'",
        ))
        .await
        .expect("counts job.posted events")
}

/// postJob with an idempotency key: a retry returns the first job and
/// writes neither a job nor an event; the key with another posting is a
/// CONFLICT; another organization's recruiter may use the same key; a
/// malformed key is refused before anything is written.
#[tokio::test]
async fn post_job_with_a_key_posts_once() {
    let (app, database) = seeded_employer().await;
    let (jobs_before, events_before) = (job_count(&database).await, posted_events(&database).await);
    let with_key = |organization: u64, minimum: i32, key: &str| {
        let mut variables = post_job_input(organization, minimum, 200_000);
        variables["idempotencyKey"] = json!(key);
        variables
    };
    let key = "3f6b1c2e-retry-me";

    let first = app
        .graphql_as("recruiter-of-0", POST_JOB_WITH_KEY, with_key(0, 1, key))
        .await;
    assert!(first.body.get("errors").is_none(), "{:#}", first.body);
    let retry = app
        .graphql_as("recruiter-of-0", POST_JOB_WITH_KEY, with_key(0, 1, key))
        .await;
    assert!(retry.body.get("errors").is_none(), "{:#}", retry.body);
    assert_eq!(
        retry.body["data"]["postJob"]["id"], first.body["data"]["postJob"]["id"],
        "a retry answers the first posting's job"
    );
    assert_eq!(job_count(&database).await, jobs_before + 1);
    assert_eq!(posted_events(&database).await, events_before + 1);

    let reused = app
        .graphql_as("recruiter-of-0", POST_JOB_WITH_KEY, with_key(0, 2, key))
        .await;
    assert_eq!(reused.first_error_code(), Some("CONFLICT"));
    assert_eq!(
        reused.body["errors"][0]["extensions"]["reason"],
        "IDEMPOTENCY_KEY_REUSED"
    );

    let other_organization = app
        .graphql_as("recruiter-of-1", POST_JOB_WITH_KEY, with_key(1, 1, key))
        .await;
    assert!(
        other_organization.body.get("errors").is_none(),
        "keys belong to the organization: {:#}",
        other_organization.body
    );

    let malformed = app
        .graphql_as("recruiter-of-0", POST_JOB_WITH_KEY, with_key(0, 1, "short"))
        .await;
    assert_eq!(malformed.first_error_code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        malformed.body["errors"][0]["extensions"]["field"],
        "idempotencyKey"
    );
    assert_eq!(job_count(&database).await, jobs_before + 2);
    assert_eq!(posted_events(&database).await, events_before + 2);
}
