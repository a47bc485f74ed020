//! The internship subgraph against a real PostgreSQL database, over real HTTP.

use serde_json::{Value, json};
use talentgraph_demo_world::DemoWorld;
use talentgraph_internship::{MIGRATOR, SUBGRAPH, demo};
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

/// A jobseeker who applied to internships in the demo data (every fourth does).
fn applicant() -> u64 {
    (WORLD.first_jobseeker()..WORLD.users)
        .find(|user| user % 4 == 0)
        .expect("an applicant")
}

async fn seeded_internship() -> (TestApp, Database) {
    seeded_internship_with(|_| {}).await
}

/// Like [`seeded_internship`], with the configuration adjusted first.
async fn seeded_internship_with(
    adjust: impl FnOnce(&mut talentgraph_kit::SubgraphConfig),
) -> (TestApp, Database) {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh internship database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    let tokens = StaticBearerTokens::default()
        .with("applicant", viewer(applicant(), Role::Jobseeker))
        .with("other-jobseeker", viewer(applicant() + 1, Role::Jobseeker))
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
    .expect("the internship app starts");
    (app, database)
}

/// Internship entity batches of 10 and 100 resolve in order with nulls for
/// unknown ids: one statement for the internships, one for all their skills.
#[tokio::test]
async fn internship_entity_batches_are_batched() {
    let (app, database) = seeded_internship().await;
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { \
        ... on Internship { id kind skills { id } stipend { amount period } } } }";
    for size in [10_u64, 100] {
        let mut representations = Vec::new();
        let mut expected = Vec::new();
        for index in 0..size {
            if index % 10 == 6 {
                representations.push(json!({ "__typename": "Internship", "id": "not-a-uuid" }));
                expected.push(Value::Null);
            } else {
                let id = WORLD.internship_id(index % WORLD.internships).to_string();
                representations.push(json!({ "__typename": "Internship", "id": id }));
                expected.push(Value::String(id));
            }
        }
        let (response, statements) = count_statements(
            &database,
            app.graphql(query, json!({ "representations": representations })),
        )
        .await;
        let entities = response.body["data"]["_entities"]
            .as_array()
            .expect("entities");
        let ids: Vec<Value> = entities
            .iter()
            .map(|entity| entity.get("id").cloned().unwrap_or(Value::Null))
            .collect();
        assert_eq!(ids, expected, "{:#}", response.body);
        assert_eq!(entities[0]["skills"].as_array().map(Vec::len), Some(3));
        assert_eq!(statements, 2, "internships + skills for a batch of {size}");
        println!(
            "internship _entities batch of {size} Internship (with skills): {statements} SQL statement(s)"
        );
    }
}

/// Organization.internships for every organization is one statement at page
/// size 10 and at 100, and each page is that organization's own, newest first.
#[tokio::test]
async fn organization_internships_are_batched() {
    let (app, database) = seeded_internship_with(talentgraph_kit::testing::batching_limits).await;
    let representations: Vec<Value> = (0..WORLD.organizations)
        .map(|index| json!({ "__typename": "Organization", "id": WORLD.organization_id(index).to_string() }))
        .collect();
    let query = "query($representations: [_Any!]!, $first: Int) { _entities(representations: $representations) { \
        ... on Organization { internships(first: $first) { edges { node { id organization { id } } } } } } }";
    for first in [10, 100] {
        let (response, statements) = count_statements(
            &database,
            app.graphql(
                query,
                json!({ "representations": representations, "first": first }),
            ),
        )
        .await;
        assert_eq!(statements, 1, "{:#}", response.body);
        let expected: Vec<String> = database
            .fetch_all(
                sqlx::query_as::<_, (uuid::Uuid,)>(
                    "SELECT id FROM internships WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                )
                .bind(WORLD.organization_id(1))
                .bind(i64::from(first)),
            )
            .await
            .expect("reads internships")
            .into_iter()
            .map(|(id,)| id.to_string())
            .collect();
        let page: Vec<String> = response.body["data"]["_entities"][1]["internships"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
            .collect();
        assert_eq!(page, expected);
    }
}

/// Root fields search with filters; results agree with the database.
#[tokio::test]
async fn root_fields_search_internships() {
    let (app, database) = seeded_internship().await;
    let response = app
        .graphql(
            "query($id: ID!) { internship(id: $id) { title mentor { id } organization { id } } }",
            json!({ "id": WORLD.internship_id(3).to_string() }),
        )
        .await;
    assert_eq!(
        response.body["data"]["internship"]["mentor"]["id"],
        WORLD.user_id(WORLD.internship_mentor(3)).to_string()
    );
    let query = "query($filter: InternshipFilter) { internships(first: 50, filter: $filter) { edges { node { id kind } } } }";
    let response = app
        .graphql(query, json!({ "filter": { "kind": "APPRENTICESHIP" } }))
        .await;
    let edges = response.body["data"]["internships"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let expected: i64 = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM internships WHERE kind = 'APPRENTICESHIP'",
        ))
        .await
        .expect("counts");
    assert_eq!(edges.len() as i64, expected);
    assert!(
        edges
            .iter()
            .all(|edge| edge["node"]["kind"] == "APPRENTICESHIP")
    );
    let skill = WORLD.skill_id(0);
    let response = app
        .graphql(query, json!({ "filter": { "skillId": skill.to_string() } }))
        .await;
    let expected: i64 = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT count(*) FROM internship_skills WHERE skill_id = $1")
                .bind(skill),
        )
        .await
        .expect("counts");
    assert_eq!(
        response.body["data"]["internships"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(expected.min(50) as usize)
    );

    // All four filters together, each written into the statement only when
    // given: internship 3's own kind, organization, remoteness and a skill.
    let (kind, organization_id, remote, skill_id): (String, uuid::Uuid, bool, uuid::Uuid) =
        database
            .fetch_one(
                sqlx::query_as(
                    "SELECT i.kind, i.organization_id, i.remote, s.skill_id \
                     FROM internships i JOIN internship_skills s ON s.internship_id = i.id \
                     WHERE i.id = $1 LIMIT 1",
                )
                .bind(WORLD.internship_id(3)),
            )
            .await
            .expect("reads internship 3 and one of its skills");
    let response = app
        .graphql(
            query,
            json!({ "filter": {
                "kind": kind, "organizationId": organization_id.to_string(),
                "remote": remote, "skillId": skill_id.to_string()
            } }),
        )
        .await;
    let expected: i64 = database
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT count(*) FROM internships i WHERE kind = $1 AND organization_id = $2 \
                 AND remote = $3 AND EXISTS (SELECT 1 FROM internship_skills s \
                 WHERE s.internship_id = i.id AND s.skill_id = $4)",
            )
            .bind(&kind)
            .bind(organization_id)
            .bind(remote)
            .bind(skill_id),
        )
        .await
        .expect("counts");
    assert!(expected >= 1, "internship 3 itself matches");
    assert_eq!(
        response.body["data"]["internships"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(expected.min(50) as usize),
        "{}",
        response.body
    );
}

/// applyToInternship: once before the deadline; unknown internships are
/// NOT_FOUND, a second application and a passed deadline are CONFLICTs,
/// and refused applications write nothing.
#[tokio::test]
async fn apply_to_internship_rules() {
    let (app, database) = seeded_internship().await;
    let apply = "mutation($id: ID!) { applyToInternship(internshipId: $id, motivation: \"Keen\") { id status internship { id } } }";
    let count = || async {
        database
            .fetch_scalar::<i64>(sqlx::query_scalar(
                "SELECT count(*) FROM internship_applications",
            ))
            .await
            .expect("counts")
    };
    // Start from an internship nobody has applied to yet.
    let target = WORLD.internship_id(0);
    database
        .execute(
            sqlx::query("DELETE FROM internship_applications WHERE internship_id = $1")
                .bind(target),
        )
        .await
        .expect("clears applications to the target");
    let before = count().await;
    let response = app
        .graphql_as(
            "other-jobseeker",
            apply,
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("NOT_FOUND"));
    let response = app
        .graphql_as("recruiter", apply, json!({ "id": target.to_string() }))
        .await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app
        .graphql_as(
            "other-jobseeker",
            apply,
            json!({ "id": target.to_string() }),
        )
        .await;
    assert_eq!(
        response.body["data"]["applyToInternship"]["internship"]["id"],
        target.to_string(),
        "{:#}",
        response.body
    );
    let response = app
        .graphql_as(
            "other-jobseeker",
            apply,
            json!({ "id": target.to_string() }),
        )
        .await;
    assert_eq!(
        response.body["errors"][0]["extensions"]["reason"],
        "ALREADY_APPLIED"
    );
    assert_eq!(count().await, before + 1);

    database
        .execute(
            sqlx::query(
                "UPDATE internships SET application_deadline = DATE '2020-01-01' WHERE id = $1",
            )
            .bind(target),
        )
        .await
        .expect("moves the deadline into the past");
    let response = app
        .graphql_as("applicant", apply, json!({ "id": target.to_string() }))
        .await;
    assert_eq!(
        response.body["errors"][0]["extensions"]["reason"],
        "APPLICATION_DEADLINE_PASSED"
    );
    assert_eq!(count().await, before + 1);
}

/// Internship applications are readable by their applicant and admins only,
/// through `_entities` and through `User.internshipApplications`.
#[tokio::test]
async fn internship_applications_are_owner_only() {
    let (app, database) = seeded_internship().await;
    let me = json!({ "representations": [{ "__typename": "User", "id": WORLD.user_id(applicant()).to_string() }] });
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { \
        ... on User { internshipApplications(first: 10) { edges { node { id internship { id } } } } } } }";
    let (response, statements) =
        count_statements(&database, app.graphql_as("applicant", query, me.clone())).await;
    let edges = response.body["data"]["_entities"][0]["internshipApplications"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len(), 2, "{:#}", response.body);
    assert_eq!(statements, 2, "applications + their internships");
    let response = app.graphql_as("other-jobseeker", query, me).await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));

    let application = edges[0]["node"]["id"].clone();
    let entity = json!({ "representations": [{ "__typename": "InternshipApplication", "id": application }] });
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on InternshipApplication { id } } }";
    let response = app
        .graphql_as("other-jobseeker", query, entity.clone())
        .await;
    assert!(response.body["data"]["_entities"][0].is_null());
    let response = app.graphql_as("admin", query, entity).await;
    assert_eq!(response.body["data"]["_entities"][0]["id"], application);
}

/// Each operation limit is enforced with its code before any SQL runs.
#[tokio::test]
async fn operation_limits_reject_before_touching_the_database() {
    let (app, database) = seeded_internship().await;
    assert_limits_enforced(
        &app,
        &database,
        &LimitProbes {
            too_complex: "{ internships(first: 100) { edges { cursor node { id title description kind durationWeeks startsOn location } } } }",
            page_too_large: "{ internships(first: 101) { edges { cursor } } }",
        },
    )
    .await;
}

/// Malformed HTTP requests get clear 4xx answers, never a 500.
#[tokio::test]
async fn bad_http_input_is_rejected_cleanly() {
    let (app, _database) = seeded_internship().await;
    assert_bad_http_input_rejected(
        &app,
        "query InternshipById($id: ID!) { internship(id: $id) { title } }",
        Some("mutation { applyToInternship(internshipId: \"x\") { id } }"),
    )
    .await;
}
