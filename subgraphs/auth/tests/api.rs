//! The auth subgraph against a real PostgreSQL database, over real HTTP.

use serde_json::{Value, json};
use talentgraph_auth::{MIGRATOR, SUBGRAPH, demo};
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::testing::{
    LimitProbes, StaticBearerTokens, TestApp, assert_bad_http_input_rejected,
    assert_limits_enforced, count_statements, fresh_database, strict_test_config,
};
use talentgraph_kit::{Database, Role, Viewer};

const WORLD: DemoWorld = DemoWorld::SMALL;

async fn seeded_auth() -> (TestApp, Database) {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh auth database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    let tokens = StaticBearerTokens::default()
        .with(
            "jobseeker",
            Viewer::User {
                id: WORLD.user_id(WORLD.demo_jobseeker()),
                roles: vec![Role::Jobseeker],
                organizations: WORLD.recruited_organization_ids(WORLD.demo_jobseeker()),
            },
        )
        .with(
            "recruiter",
            Viewer::User {
                id: WORLD.user_id(WORLD.demo_recruiter()),
                roles: vec![Role::Employer],
                organizations: WORLD.recruited_organization_ids(WORLD.demo_recruiter()),
            },
        )
        .with(
            "admin",
            Viewer::User {
                id: WORLD.user_id(WORLD.demo_admin()),
                roles: vec![Role::Admin],
                organizations: WORLD.recruited_organization_ids(WORLD.demo_admin()),
            },
        );
    let app =
        TestApp::spawn(SUBGRAPH.app(database.clone(), &strict_test_config(&url), tokens.shared()))
            .await
            .expect("the auth app starts");
    (app, database)
}

const USER_ACCOUNTS: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id email roles } } }";

/// `_entities` batches of 10 and 100 users cost one statement for an admin
/// and give each e-mail address in order, null for unknown ids.
#[tokio::test]
async fn user_entity_batches_cost_one_statement() {
    let (app, database) = seeded_auth().await;
    for size in [10_u64, 100] {
        let mut representations = Vec::new();
        let mut expected = Vec::new();
        for index in 0..size {
            if index % 10 == 8 {
                representations
                    .push(json!({ "__typename": "User", "id": uuid::Uuid::new_v4().to_string() }));
                expected.push(Value::Null);
            } else {
                representations
                    .push(json!({ "__typename": "User", "id": WORLD.user_id(index).to_string() }));
                expected.push(Value::String(WORLD.email(index)));
            }
        }
        let (response, statements) = count_statements(
            &database,
            app.graphql_as(
                "admin",
                USER_ACCOUNTS,
                json!({ "representations": representations }),
            ),
        )
        .await;
        let emails: Vec<Value> = response.body["data"]["_entities"]
            .as_array()
            .expect("entities")
            .iter()
            .map(|user| user["email"].clone())
            .collect();
        assert_eq!(emails, expected, "{:#}", response.body);
        assert_eq!(statements, 1);
        println!(
            "auth _entities batch of {size} User (email, roles): {statements} SQL statement(s)"
        );
    }
}

/// A user reads their own e-mail and roles; another user's are FORBIDDEN
/// (no BOLA through entity references); anonymous callers are UNAUTHENTICATED.
#[tokio::test]
async fn email_and_roles_are_owner_only() {
    let (app, _database) = seeded_auth().await;
    let own = json!({ "representations": [{ "__typename": "User", "id": WORLD.user_id(WORLD.demo_jobseeker()).to_string() }] });
    let response = app
        .graphql_as("jobseeker", USER_ACCOUNTS, own.clone())
        .await;
    assert_eq!(
        response.body["data"]["_entities"][0]["email"],
        "jobseeker@demo.talentgraph.dev"
    );
    assert_eq!(
        response.body["data"]["_entities"][0]["roles"],
        json!(["JOBSEEKER"])
    );
    let response = app
        .graphql_as("recruiter", USER_ACCOUNTS, own.clone())
        .await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    assert!(response.body["data"]["_entities"][0]["email"].is_null());
    let response = app.graphql(USER_ACCOUNTS, own).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
}

/// `me` is the signed-in user, null when anonymous.
#[tokio::test]
async fn me_is_the_viewer() {
    let (app, _database) = seeded_auth().await;
    let response = app
        .graphql_as("recruiter", "{ me { id email roles } }", json!({}))
        .await;
    assert_eq!(
        response.body["data"]["me"]["id"],
        WORLD.user_id(WORLD.demo_recruiter()).to_string()
    );
    assert_eq!(
        response.body["data"]["me"]["email"],
        "recruiter@demo.talentgraph.dev"
    );
    assert_eq!(response.body["data"]["me"]["roles"], json!(["EMPLOYER"]));
    let response = app.graphql("{ me { id } }", json!({})).await;
    assert!(response.body["data"]["me"].is_null());
}

/// The account directory is admin-only, filters by role, and costs one
/// statement per page, e-mail addresses included.
#[tokio::test]
async fn account_directory_is_admin_only() {
    let (app, database) = seeded_auth().await;
    let query = "query($role: Role) { accounts(first: 50, role: $role) { edges { node { id email roles } } } }";
    let (response, statements) = count_statements(
        &database,
        app.graphql_as("admin", query, json!({ "role": "EMPLOYER" })),
    )
    .await;
    let edges = response.body["data"]["accounts"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(edges.len() as u64, 2 * WORLD.organizations.min(25));
    assert!(
        edges
            .iter()
            .all(|edge| edge["node"]["roles"] == json!(["EMPLOYER"]))
    );
    assert_eq!(statements, 1);
    let response = app.graphql_as("recruiter", query, json!({})).await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
}

/// Each operation limit is enforced with its code before any SQL runs.
#[tokio::test]
async fn operation_limits_reject_before_touching_the_database() {
    let (app, database) = seeded_auth().await;
    assert_limits_enforced(
        &app,
        &database,
        &LimitProbes {
            too_complex: "{ accounts(first: 100) { edges { cursor node { id email roles } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
            page_too_large: "{ accounts(first: 101) { edges { cursor } } }",
        },
    )
    .await;
}

/// Malformed HTTP requests get clear 4xx answers, never a 500.
#[tokio::test]
async fn bad_http_input_is_rejected_cleanly() {
    let (app, _database) = seeded_auth().await;
    assert_bad_http_input_rejected(
        &app,
        "query Users($id: ID!) { _entities(representations: []) { __typename } me { id } accounts(first: 1, after: $id) { edges { cursor } } }",
        Some("mutation { __typename }"),
    )
    .await;
}
