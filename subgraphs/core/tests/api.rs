//! The core subgraph against a real PostgreSQL database, over real HTTP.

use serde_json::{Value, json};
use talentgraph_core::{MIGRATOR, SUBGRAPH, demo};
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;
use talentgraph_kit::testing::{
    LimitProbes, TestApp, assert_bad_http_input_rejected, assert_limits_enforced, count_statements,
    fragment_fan_out, fresh_database, strict_test_config,
};

const WORLD: DemoWorld = DemoWorld::SMALL;

async fn seeded_core() -> (TestApp, Database) {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh core database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    let app = TestApp::spawn(SUBGRAPH.deployed_app(database.clone(), &strict_test_config(&url)))
        .await
        .expect("the core app starts");
    (app, database)
}

const USER_ENTITIES: &str = "query Entities($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id handle } } }";

/// Builds `size` User representations where every tenth is unknown (alternately
/// a random UUID and a malformed id); returns them with the expected ids.
fn user_representations(size: u64) -> (Vec<Value>, Vec<Option<String>>) {
    let mut representations = Vec::new();
    let mut expected = Vec::new();
    for index in 0..size {
        if index % 10 == 9 {
            let unknown = if index % 20 == 9 {
                uuid::Uuid::new_v4().to_string()
            } else {
                "not-a-uuid".to_owned()
            };
            representations.push(json!({ "__typename": "User", "id": unknown }));
            expected.push(None);
        } else {
            let id = WORLD.user_id(index % WORLD.users).to_string();
            representations.push(json!({ "__typename": "User", "id": id }));
            expected.push(Some(id));
        }
    }
    (representations, expected)
}

/// `_entities` batches of 10 and 100 users resolve in representation order,
/// unknown and malformed ids become nulls without failing the batch, and
/// each batch costs exactly one SQL statement.
#[tokio::test]
async fn entity_batches_resolve_in_order_with_nulls_in_one_statement() {
    let (app, database) = seeded_core().await;
    for size in [10, 100] {
        let (representations, expected) = user_representations(size);
        let (response, statements) = count_statements(
            &database,
            app.graphql(USER_ENTITIES, json!({ "representations": representations })),
        )
        .await;
        assert_eq!(response.status, 200, "{:#}", response.body);
        assert!(response.body.get("errors").is_none(), "{:#}", response.body);
        let entities = response.body["data"]["_entities"]
            .as_array()
            .expect("an entity list");
        let resolved: Vec<Option<String>> = entities
            .iter()
            .map(|entity| entity["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(resolved, expected);
        assert_eq!(
            statements, 1,
            "a batch of {size} users must cost one statement"
        );
        println!("core _entities batch of {size} User: {statements} SQL statement(s)");
    }
}

/// A batch mixing User, Organization and Skill costs one statement per type.
#[tokio::test]
async fn mixed_entity_batch_costs_one_statement_per_type() {
    let (app, database) = seeded_core().await;
    let mut representations = Vec::new();
    for index in 0..30 {
        representations
            .push(json!({ "__typename": "User", "id": WORLD.user_id(index).to_string() }));
        representations.push(json!({ "__typename": "Organization", "id": WORLD.organization_id(index % WORLD.organizations).to_string() }));
        representations.push(json!({ "__typename": "Skill", "id": WORLD.skill_id(index % WORLD.skills).to_string() }));
    }
    let query = "query Entities($representations: [_Any!]!) { _entities(representations: $representations) { \
        __typename ... on User { handle } ... on Organization { slug } ... on Skill { name } } }";
    let (response, statements) = count_statements(
        &database,
        app.graphql(query, json!({ "representations": representations })),
    )
    .await;
    let entities = response.body["data"]["_entities"]
        .as_array()
        .expect("entities");
    assert_eq!(entities.len(), 90);
    assert!(
        entities.iter().all(|entity| !entity.is_null()),
        "{:#}",
        response.body
    );
    assert_eq!(entities[1]["__typename"], "Organization");
    assert_eq!(statements, 3);
}

/// Root fields return what the database holds; `users` keeps the order of
/// the ids it was given and puts null where an id is unknown.
#[tokio::test]
async fn root_fields_read_users_and_organizations() {
    let (app, database) = seeded_core().await;
    let user_id = WORLD.user_id(7).to_string();
    let response = app
        .graphql(
            "query($id: ID!) { user(id: $id) { id handle displayName skills { name } } }",
            json!({ "id": user_id }),
        )
        .await;
    let handle: String = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT handle FROM users WHERE id = $1").bind(WORLD.user_id(7)),
        )
        .await
        .expect("reads the handle");
    assert_eq!(response.body["data"]["user"]["handle"], handle.as_str());
    let skills = response.body["data"]["user"]["skills"]
        .as_array()
        .expect("skills");
    assert!((3..=6).contains(&skills.len()), "{skills:?}");

    let unknown = uuid::Uuid::new_v4().to_string();
    let ids = json!([
        WORLD.user_id(3).to_string(),
        unknown,
        WORLD.user_id(1).to_string()
    ]);
    let response = app
        .graphql(
            "query($ids: [ID!]!) { users(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    let users = &response.body["data"]["users"];
    assert_eq!(users[0]["id"], ids[0]);
    assert!(users[1].is_null());
    assert_eq!(users[2]["id"], ids[2]);

    let response = app
        .graphql(
            "query($id: ID!) { user(id: $id) { id } }",
            json!({ "id": unknown }),
        )
        .await;
    assert!(response.body["data"]["user"].is_null());
    let response = app
        .graphql(
            "query($id: ID!) { user(id: $id) { id } }",
            json!({ "id": "nope" }),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("BAD_USER_INPUT"));

    let slug: String = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT slug FROM organizations WHERE id = $1")
                .bind(WORLD.organization_id(2)),
        )
        .await
        .expect("reads the slug");
    let response = app
        .graphql(
            "query($slug: String) { organization(slug: $slug) { id name } }",
            json!({ "slug": slug }),
        )
        .await;
    assert_eq!(
        response.body["data"]["organization"]["id"],
        WORLD.organization_id(2).to_string()
    );
    let response = app.graphql("{ organization { id } }", json!({})).await;
    assert_eq!(response.first_error_code(), Some("BAD_USER_INPUT"));
}

/// The organization directory pages newest first without gaps or repeats,
/// filters, and rejects a forged cursor.
#[tokio::test]
async fn organizations_paginate_and_filter() {
    let (app, database) = seeded_core().await;
    let query = "query($first: Int, $after: String, $filter: OrganizationFilter) { organizations(first: $first, after: $after, filter: $filter) { \
        edges { cursor node { id verified industry } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let response = app
            .graphql(query, json!({ "first": 7, "after": after }))
            .await;
        let connection = &response.body["data"]["organizations"];
        for edge in connection["edges"].as_array().expect("edges") {
            seen.push(edge["node"]["id"].as_str().expect("id").to_owned());
        }
        if !connection["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage")
        {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    let expected: Vec<String> = database
        .fetch_all(sqlx::query_as::<_, (uuid::Uuid,)>(
            "SELECT id FROM organizations ORDER BY created_at DESC, id DESC",
        ))
        .await
        .expect("reads organizations")
        .into_iter()
        .map(|(id,)| id.to_string())
        .collect();
    assert_eq!(seen, expected);

    let response = app
        .graphql(
            query,
            json!({ "first": 50, "filter": { "verified": false } }),
        )
        .await;
    let edges = response.body["data"]["organizations"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let unverified: i64 = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM organizations WHERE NOT verified",
        ))
        .await
        .expect("counts");
    assert_eq!(edges.len() as i64, unverified);
    assert!(edges.iter().all(|edge| edge["node"]["verified"] == false));

    let response = app
        .graphql(query, json!({ "first": 5, "after": "forged" }))
        .await;
    assert_eq!(response.first_error_code(), Some("INVALID_CURSOR"));
}

/// Nested lists are batched: skills for 100 users cost one statement more
/// than the users themselves, whatever the number of users.
#[tokio::test]
async fn nested_skills_are_batched() {
    let (app, database) = seeded_core().await;
    for size in [10_u64, 100] {
        let ids: Vec<String> = (0..size)
            .map(|index| WORLD.user_id(index).to_string())
            .collect();
        let (response, statements) = count_statements(
            &database,
            app.graphql(
                "query($ids: [ID!]!) { users(ids: $ids) { handle skills { name } } }",
                json!({ "ids": ids }),
            ),
        )
        .await;
        assert_eq!(
            response.body["data"]["users"].as_array().map(Vec::len),
            Some(size as usize)
        );
        assert_eq!(statements, 2, "users + skills for {size} users");
    }
}

/// Each operation limit is enforced with its code before any SQL runs.
#[tokio::test]
async fn operation_limits_reject_before_touching_the_database() {
    let (app, database) = seeded_core().await;
    assert_limits_enforced(
        &app,
        &database,
        &LimitProbes {
            too_complex: "{ organizations(first: 100) { edges { cursor node { id name slug about industry size website logoUrl verified createdAt } } } }",
            page_too_large: "{ organizations(first: 101) { edges { cursor } } }",
        },
    )
    .await;
}

/// Malformed HTTP requests get clear 4xx answers, never a 500.
#[tokio::test]
async fn bad_http_input_is_rejected_cleanly() {
    let (app, _database) = seeded_core().await;
    assert_bad_http_input_rejected(
        &app,
        "query UserById($id: ID!) { user(id: $id) { handle } }",
        Some("mutation { __typename }"),
    )
    .await;
}

/// An unexpected database failure reaches the client as a generic message
/// with a code and the request id, without the SQL error text.
#[tokio::test]
async fn internal_errors_are_masked() {
    let (app, database) = seeded_core().await;
    database
        .execute(sqlx::query("DROP TABLE user_skills"))
        .await
        .expect("drops a table to provoke an internal error");
    let response = app
        .graphql(
            "query($id: ID!) { user(id: $id) { handle skills { name } } }",
            json!({ "id": WORLD.user_id(1).to_string() }),
        )
        .await;
    assert_eq!(response.status, 200);
    let error = &response.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert!(
        error["extensions"]["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let text = response.body.to_string();
    assert!(
        !text.contains("user_skills") && !text.contains("relation"),
        "leaked detail: {text}"
    );
}

/// Liveness and readiness endpoints answer.
#[tokio::test]
async fn health_and_readiness_answer() {
    let (app, _database) = seeded_core().await;
    for path in ["/health", "/ready"] {
        let response = app.client.get(app.url(path)).send().await.expect("answers");
        assert_eq!(response.status(), 200, "{path}");
    }
}

/// Seeding twice changes nothing.
#[tokio::test]
async fn demo_seed_is_idempotent() {
    let (_app, database) = seeded_core().await;
    let inserted = demo::seed(&database, &WORLD).await.expect("seeds again");
    assert_eq!(inserted, 0);
    let users: i64 = database
        .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM users"))
        .await
        .expect("counts users");
    assert_eq!(users as u64, WORLD.users);
}

/// Eight concurrent fragment bombs (7 fragments each spreading the next 40
/// times: about 10^11 selections expanded) are all refused at the selection
/// budget without a statement, and `/health` answers while they arrive.
#[tokio::test]
async fn concurrent_fragment_bombs_leave_the_service_answering() {
    let (app, database) = seeded_core().await;
    let bomb = fragment_fan_out(7, 40);
    let started = std::time::Instant::now();
    let (bombs, statements) = count_statements(&database, async {
        let requests = (0..8).map(|_| app.graphql(&bomb, json!({})));
        let (answers, health) = tokio::join!(
            futures::future::join_all(requests),
            app.status_of("/health")
        );
        (answers, health)
    })
    .await;
    let (answers, health) = bombs;
    assert_eq!(health, 200, "/health answers during the bombs");
    for answer in &answers {
        assert_eq!(answer.status.as_u16(), 400, "{:#}", answer.body);
        assert_eq!(
            answer.first_error_code(),
            Some("SELECTION_LIMIT_EXCEEDED"),
            "{:#}",
            answer.body
        );
    }
    assert_eq!(statements, 0, "refused operations run no SQL");
    eprintln!(
        "8 concurrent fragment bombs ({} bytes each) refused in {:?}",
        bomb.len(),
        started.elapsed()
    );
}

/// With METRICS_LISTEN_ADDR set (production's default), the GraphQL port
/// does not serve `/metrics`; without it (development) it does.
#[tokio::test]
async fn metrics_leave_the_graphql_port_when_they_have_their_own() {
    let (database, url) = fresh_database(&MIGRATOR).await.expect("a database");
    let mut config = strict_test_config(&url);
    config.metrics_listen_address = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let separate = TestApp::spawn(SUBGRAPH.deployed_app(database.clone(), &config))
        .await
        .expect("starts");
    let response = separate
        .client
        .get(separate.url("/metrics"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 404);

    config.metrics_listen_address = None;
    let together = TestApp::spawn(SUBGRAPH.deployed_app(database, &config))
        .await
        .expect("starts");
    let response = together
        .client
        .get(together.url("/metrics"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
}
