//! Checks every subgraph runs against itself: operation limits and
//! malformed HTTP input.

use std::time::Duration;

use super::app::{TEST_ROUTER_SECRET, TestApp, TestResponse, count_statements};
use crate::database::Database;

/// Limits small enough that tests can exceed each one with a short query.
pub fn strict_test_config(database_url: &str) -> crate::SubgraphConfig {
    let mut config = crate::SubgraphConfig::from_lookup(0, |name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        _ => None,
    })
    .expect("the test configuration is valid");
    // Production's batching (no window: a batch loads when the request goes
    // idle), whose statement counts do not depend on timing.
    config.dataloader_delay = Duration::ZERO;
    config.router_secret = Some(TEST_ROUTER_SECRET.to_owned());
    config.limits = crate::LimitsConfig {
        max_depth: 9,
        max_complexity: 800,
        max_recursive_depth: 10,
        max_directives_per_field: 2,
        max_aliases: 5,
        max_root_fields: 3,
        max_page_size: 100,
        max_selections: 200,
        max_representations: 1_000,
        max_response_bytes: 256 * 1024,
    };
    config
}

/// For tests that measure batching at page size 100 over many entities:
/// that costs more than the strict limits allow (each representation pays
/// for its nested page), so the complexity limit is raised for them;
/// production's limit is what the router's pages are held to.
pub fn batching_limits(config: &mut crate::SubgraphConfig) {
    config.limits.max_complexity = 100_000;
}

/// Subgraph-specific queries for [`assert_limits_enforced`].
pub struct LimitProbes<'a> {
    /// Within every limit but with a complexity above 800.
    pub too_complex: &'a str,
    /// Asks a list field for 101 items with a literal `first`.
    pub page_too_large: &'a str,
}

fn assert_code(response: &TestResponse, status: u16, code: &str, what: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "{what}: {:#}",
        response.body
    );
    assert_eq!(
        response.first_error_code(),
        Some(code),
        "{what}: {:#}",
        response.body
    );
}

/// A "fragment bomb": `{ ...F0 }` where each of `fragments` fragments
/// spreads the next `spreads` times, so the document expands to
/// `spreads ^ (fragments - 1)` selections from a few hundred bytes.
pub fn fragment_fan_out(fragments: usize, spreads: usize) -> String {
    let mut document = String::from("query FanOut { ...F0 }");
    for index in 0..fragments {
        let body = if index + 1 == fragments {
            "__typename".to_owned()
        } else {
            vec![format!("...F{}", index + 1); spreads].join(" ")
        };
        document.push_str(&format!(" fragment F{index} on Query {{ {body} }}"));
    }
    document
}

/// Every operation limit rejects with its stable code, a 400 under
/// `application/graphql-response+json`, and not a single SQL statement.
pub async fn assert_limits_enforced(app: &TestApp, database: &Database, probes: &LimitProbes<'_>) {
    let aliases =
        "{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }";
    let root_fields =
        "{ s1: _service { sdl } s2: _service { sdl } s3: _service { sdl } s4: _service { sdl } }";
    let directives = "{ __typename @include(if: true) @skip(if: false) @include(if: true) }";
    let recursion = format!(
        "{{ {}__typename{} }}",
        "... on Query { ".repeat(12),
        " }".repeat(12)
    );
    let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }";
    // The page size hidden in a variable's default, sent with no variables.
    let page_by_default = format!(
        "query PageByDefault($first: Int = 101) {}",
        probes.page_too_large.replace("first: 101", "first: $first")
    );
    let representations = format!(
        "{{ _entities(representations: [{}]) {{ __typename }} }}",
        vec!["{ __typename: \"Nothing\", id: \"1\" }"; 1_001].join(", ")
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("aliases", aliases.to_owned(), "ALIAS_LIMIT_EXCEEDED"),
        (
            "root fields",
            root_fields.to_owned(),
            "ROOT_FIELD_LIMIT_EXCEEDED",
        ),
        (
            "directives",
            directives.to_owned(),
            "DIRECTIVE_LIMIT_EXCEEDED",
        ),
        ("recursion", recursion, "RECURSION_LIMIT_EXCEEDED"),
        ("depth", deep.to_owned(), "DEPTH_LIMIT_EXCEEDED"),
        (
            "complexity",
            probes.too_complex.to_owned(),
            "COMPLEXITY_LIMIT_EXCEEDED",
        ),
        (
            "page size",
            probes.page_too_large.to_owned(),
            "PAGE_SIZE_EXCEEDED",
        ),
        (
            "page size in a variable's default",
            page_by_default,
            "PAGE_SIZE_EXCEEDED",
        ),
        (
            "fragment fan-out",
            fragment_fan_out(7, 10),
            "SELECTION_LIMIT_EXCEEDED",
        ),
        (
            "representations",
            representations,
            "REPRESENTATION_LIMIT_EXCEEDED",
        ),
    ];
    for (what, query, code) in cases {
        let (response, statements) =
            count_statements(database, app.graphql(&query, serde_json::json!({}))).await;
        assert_code(&response, 400, code, what);
        assert!(
            response.body.get("data").is_none(),
            "{what}: a request error has no data"
        );
        assert_eq!(
            statements, 0,
            "{what}: a rejected operation must not touch the database"
        );
    }
}

/// Malformed HTTP input gets the right status and a JSON error with a code,
/// never a 500. `valid_query` must be a valid query with a `$id: ID!`
/// variable; `mutation` any valid mutation document (or `None`).
pub async fn assert_bad_http_input_rejected(
    app: &TestApp,
    valid_query: &str,
    mutation: Option<&str>,
) {
    let accept = "application/graphql-response+json";
    let response = app
        .post_raw("application/json", accept, "{\"query\": ".to_owned())
        .await;
    assert_code(&response, 400, "BAD_REQUEST", "malformed JSON");

    let response = app
        .post_raw("application/json", accept, "[1, 2]".to_owned())
        .await;
    assert_code(&response, 400, "BAD_REQUEST", "JSON that is not an object");

    let body = serde_json::json!({ "query": valid_query }).to_string();
    let response = app.post_raw("text/plain", accept, body.clone()).await;
    assert_code(
        &response,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "wrong content type",
    );

    let response = app.post_raw("application/json", "text/html", body).await;
    assert_code(&response, 406, "NOT_ACCEPTABLE", "unacceptable Accept");

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": "{ nope(" }).to_string(),
        )
        .await;
    assert_code(&response, 400, "GRAPHQL_PARSE_FAILED", "syntax error");

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": "{ noSuchField }" }).to_string(),
        )
        .await;
    assert_code(&response, 400, "GRAPHQL_VALIDATION_FAILED", "unknown field");

    let response = app
        .graphql(valid_query, serde_json::json!({ "id": { "not": "an id" } }))
        .await;
    assert_code(
        &response,
        400,
        "BAD_USER_INPUT",
        "variable of the wrong type",
    );

    let response = app.graphql(valid_query, serde_json::json!({})).await;
    assert_code(
        &response,
        400,
        "BAD_USER_INPUT",
        "missing required variable",
    );

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": valid_query, "variables": [1] }).to_string(),
        )
        .await;
    assert_code(
        &response,
        400,
        "BAD_REQUEST",
        "variables that are not an object",
    );

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": valid_query, "operationName": "NoSuchOperation", "variables": { "id": "x" } })
                .to_string(),
        )
        .await;
    assert_code(
        &response,
        400,
        "OPERATION_NOT_FOUND",
        "unknown operation name",
    );

    let response = app
        .post_raw("application/json", accept, "x".repeat(300 * 1024))
        .await;
    assert_code(&response, 413, "PAYLOAD_TOO_LARGE", "oversized body");

    // Legacy clients asking for application/json get 200 even for request
    // errors, as the GraphQL-over-HTTP spec requires.
    let response = app
        .post_raw(
            "application/json",
            "application/json",
            serde_json::json!({ "query": "{ noSuchField }" }).to_string(),
        )
        .await;
    assert_eq!(response.status.as_u16(), 200, "{:#}", response.body);
    assert_eq!(response.content_type, "application/json");

    if let Some(mutation) = mutation {
        let response = app.get(&[("query", mutation)]).await;
        assert_code(&response, 405, "METHOD_NOT_ALLOWED", "mutation over GET");
    }
    let response = app.get(&[("query", "{ __typename }")]).await;
    assert_eq!(
        response.status.as_u16(),
        200,
        "query over GET: {:#}",
        response.body
    );
    assert_eq!(response.body["data"]["__typename"], "Query");
}
