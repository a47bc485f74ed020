//! The GraphQL endpoint's failure handling, on a minimal schema that
//! needs no database.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use talentgraph_kit::graphql::SchemaAudience;
use talentgraph_kit::graphql::http::routes;
use talentgraph_kit::request::ROUTER_SECRET_HEADER;
use talentgraph_kit::testing::TestApp;
use talentgraph_kit::{GraphqlEndpoint, LimitsConfig};

struct Query;

#[Object]
impl Query {
    async fn ok(&self) -> &'static str {
        "fine"
    }

    /// Fails the way a library error passed up with `?` does: no code, and
    /// a message with internal detail.
    async fn leaky(&self) -> async_graphql::Result<i32> {
        Err(async_graphql::Error::new(
            "connection to 10.0.0.7:5432 refused; password=hunter2",
        ))
    }

    /// `kilobytes` KiB of text: a field whose answer size the caller picks.
    async fn padding(&self, kilobytes: usize) -> String {
        "x".repeat(kilobytes.min(1024) * 1024)
    }

    async fn echo(&self, text: String) -> String {
        text
    }

    /// Fails the way a resolver does when its database is restarting.
    async fn stored(&self) -> async_graphql::Result<i32> {
        Err(talentgraph_kit::database_failure(
            talentgraph_kit::DatabaseError::from(sqlx::Error::PoolTimedOut),
        ))
    }

    async fn boom(&self, #[graphql(default = true)] really: bool) -> i32 {
        assert!(!really, "a bug in a resolver");
        0
    }
}

async fn spawn() -> TestApp {
    spawn_with(LimitsConfig::default()).await
}

async fn spawn_with(limits: LimitsConfig) -> TestApp {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
    TestApp::spawn(routes(GraphqlEndpoint::new(schema, limits, 64 * 1024)))
        .await
        .expect("the test endpoint starts")
}

/// A response over GRAPHQL_MAX_RESPONSE_BYTES is replaced by a small one
/// with RESPONSE_TOO_LARGE and no data; one just under the limit passes.
#[tokio::test]
async fn responses_over_the_byte_limit_are_refused() {
    let app = spawn_with(LimitsConfig {
        max_response_bytes: 100 * 1024,
        ..LimitsConfig::default()
    })
    .await;
    let response = app
        .graphql("{ padding(kilobytes: 99) }", serde_json::json!({}))
        .await;
    assert_eq!(response.status, 200);
    assert!(response.body["data"]["padding"].is_string());

    let response = app
        .graphql(
            "{ a: padding(kilobytes: 60) b: padding(kilobytes: 60) }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.first_error_code(), Some("RESPONSE_TOO_LARGE"));
    assert!(response.body["data"].is_null(), "{}", response.body);
    assert!(
        response.body.to_string().len() < 1024,
        "the refusal is small"
    );
}

/// A code-less resolver error is masked: generic message, INTERNAL_SERVER_ERROR,
/// a request id, and none of the original text; other fields still resolve.
#[tokio::test]
async fn codeless_errors_are_masked() {
    let app = spawn().await;
    let response = app.graphql("{ ok leaky }", serde_json::json!({})).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["data"]["ok"], "fine");
    assert_eq!(response.first_error_code(), Some("INTERNAL_SERVER_ERROR"));
    assert!(response.body["errors"][0]["extensions"]["requestId"].is_string());
    assert!(!response.body.to_string().contains("hunter2"));
}

/// A panicking resolver yields a JSON 500 with a code, not a dropped connection,
/// and the server keeps serving.
#[tokio::test]
async fn panics_become_masked_500s() {
    let app = spawn().await;
    let response = app.graphql("{ boom }", serde_json::json!({})).await;
    assert_eq!(response.status, 500);
    assert_eq!(response.first_error_code(), Some("INTERNAL_SERVER_ERROR"));
    assert!(!response.body.to_string().contains("a bug in a resolver"));
    let response = app.graphql("{ ok }", serde_json::json!({})).await;
    assert_eq!(response.body["data"]["ok"], "fine");
}

/// The request id a caller sends comes back in the response header.
#[tokio::test]
async fn request_ids_are_echoed() {
    let app = spawn().await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("x-request-id", "trace-me-123")
        .body(r#"{"query":"{ ok }"}"#)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
}

/// A NUL character anywhere in the arguments (a variable, a nested key, an
/// escaped literal) is refused as BAD_USER_INPUT before anything runs; it
/// would otherwise reach PostgreSQL, which cannot store it, as a 500.
#[tokio::test]
async fn nul_characters_are_bad_user_input() {
    let app = spawn().await;
    for (query, variables) in [
        (
            "query($t: String!) { echo(text: $t) }",
            serde_json::json!({ "t": "a\u{0}b" }),
        ),
        ("{ echo(text: \"a\\u0000b\") }", serde_json::json!({})),
        (
            "query($t: String!) { echo(text: $t) }",
            serde_json::json!({ "t": "ok", "x": { "k\u{0}": 1 } }),
        ),
    ] {
        let response = app.graphql(query, variables).await;
        assert_eq!(
            response.first_error_code(),
            Some("BAD_USER_INPUT"),
            "{query}: {:#}",
            response.body
        );
        assert!(!response.status.is_server_error());
    }
    let response = app
        .graphql(
            "query($t: String!) { echo(text: $t) }",
            serde_json::json!({ "t": "fine" }),
        )
        .await;
    assert_eq!(response.body["data"]["echo"], "fine");
}

/// With introspection off (production), `_service { sdl }` answers like a
/// field that does not exist, and validation errors suggest nothing.
#[tokio::test]
async fn production_hides_the_service_sdl_and_suggestions() {
    let schema = talentgraph_kit::graphql::configure_schema(
        Schema::build(Query, EmptyMutation, EmptySubscription),
        &LimitsConfig::default(),
        false,
        SchemaAudience::AnyCaller,
    )
    .finish();
    let app = TestApp::spawn(routes(
        GraphqlEndpoint::new(schema, LimitsConfig::default(), 64 * 1024).with_service_sdl(false),
    ))
    .await
    .expect("starts");
    for query in [
        "{ _service { sdl } }",
        "{ ...F } fragment F on Query { _service { sdl } }",
    ] {
        let response = app.graphql(query, serde_json::json!({})).await;
        assert_eq!(
            response.first_error_code(),
            Some("GRAPHQL_VALIDATION_FAILED"),
            "{:#}",
            response.body
        );
        assert!(
            !response.body.to_string().contains("type Query"),
            "{:#}",
            response.body
        );
    }
    let response = app.graphql("{ okk }", serde_json::json!({})).await;
    assert!(
        !response.body.to_string().contains("Did you mean"),
        "{:#}",
        response.body
    );
    let response = app.graphql("{ ok }", serde_json::json!({})).await;
    assert_eq!(response.body["data"]["ok"], "fine");
}

/// Requests that carry the router's secret run on the instance built for
/// the router: a document the specification's rules refuse (a declared
/// variable no field uses) is answered for the router and refused for
/// anyone else, while depth and complexity limits hold for both.
#[tokio::test]
async fn only_the_router_skips_the_specification_rules_and_the_limits_hold_for_it() {
    let limits = LimitsConfig {
        max_complexity: 2,
        ..LimitsConfig::default()
    };
    let instance = |audience| {
        talentgraph_kit::graphql::configure_schema(
            Schema::build(Query, EmptyMutation, EmptySubscription),
            &limits,
            true,
            audience,
        )
        .finish()
    };
    let app = TestApp::spawn(routes(
        GraphqlEndpoint::new(
            instance(SchemaAudience::AnyCaller),
            limits.clone(),
            64 * 1024,
        )
        .with_router_executor(instance(SchemaAudience::TheRouter))
        .with_router_secret(Some("the-router-secret".to_owned())),
    ))
    .await
    .expect("starts");
    let send = |query: &'static str, router_secret: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "query": query }).to_string());
        if let Some(secret) = router_secret {
            request = request.header(ROUTER_SECRET_HEADER, secret);
        }
        async move {
            let response = request.send().await.expect("answers");
            response.json::<serde_json::Value>().await.expect("JSON")
        }
    };
    let code = |body: &serde_json::Value| body["errors"][0]["extensions"]["code"].clone();

    let unused_variable = "query($unused: Int) { ok }";
    let from_anyone = send(unused_variable, None).await;
    assert_eq!(
        code(&from_anyone),
        "GRAPHQL_VALIDATION_FAILED",
        "{from_anyone:#}"
    );
    let with_a_wrong_secret = send(unused_variable, Some("a-guess")).await;
    assert_eq!(
        code(&with_a_wrong_secret),
        "GRAPHQL_VALIDATION_FAILED",
        "{with_a_wrong_secret:#}"
    );
    let from_the_router = send(unused_variable, Some("the-router-secret")).await;
    assert_eq!(from_the_router["data"]["ok"], "fine", "{from_the_router:#}");

    let too_complex = "{ ok echo(text: \"a\") padding(kilobytes: 0) }";
    for router_secret in [None, Some("the-router-secret")] {
        let body = send(too_complex, router_secret).await;
        assert!(body["data"].is_null(), "{body:#}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|message| message.contains("too complex")),
            "{body:#}"
        );
    }
}

/// A response that met an unavailable database is a 503 with `Retry-After`,
/// its error `SERVICE_UNAVAILABLE` with `retryAfterSeconds`: retryable at
/// every level, and not an internal error. The rest of the answer stays.
#[tokio::test]
async fn an_unavailable_database_is_a_retryable_503() {
    let app = spawn().await;
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "query": "{ ok stored }" }).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()),
        Some("1")
    );
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["data"]["ok"], "fine", "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    assert_eq!(body["errors"][0]["extensions"]["retryAfterSeconds"], 1);
    let response = app.graphql("{ ok }", serde_json::json!({})).await;
    assert_eq!(response.status.as_u16(), 200);
}

/// Over its class's limit, an operation is refused before it runs: 429
/// with `Retry-After`, `RATE_LIMITED` with `retryAfterSeconds`; a refused
/// document (invalid) costs no budget.
#[tokio::test]
async fn an_operation_over_its_rate_limit_is_a_429_with_when_to_retry() {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
    let limiter = talentgraph_kit::rate_limits::RateLimiter::new(
        talentgraph_kit::rate_limits::RateLimitSettings {
            enabled: true,
            redis_url: None,
            redis_timeout: std::time::Duration::from_millis(10),
            multiplier: 1,
        },
    )
    .expect("a limiter");
    let app = TestApp::spawn(routes(
        GraphqlEndpoint::new(schema, LimitsConfig::default(), 64 * 1024)
            .with_rate_limiter(std::sync::Arc::new(limiter)),
    ))
    .await
    .expect("starts");
    let limit = talentgraph_kit::rate_limits::table::PAGE_READS.limit;
    for _ in 0..5 {
        let unparseable = app.graphql("{ ok", serde_json::json!({})).await;
        assert_eq!(unparseable.first_error_code(), Some("GRAPHQL_PARSE_FAILED"));
        let too_deep = app
            .graphql(
                &format!("{}ok{}", "{ ... on Query ".repeat(30), " }".repeat(30)),
                serde_json::json!({}),
            )
            .await;
        assert_ne!(too_deep.status, 429, "{:#}", too_deep.body);
    }
    for read in 0..limit {
        let response = app.graphql("{ ok }", serde_json::json!({})).await;
        assert_eq!(response.status, 200, "read {read}: {:#}", response.body);
    }
    let refused = app
        .client
        .post(app.url("/graphql"))
        .json(&serde_json::json!({ "query": "{ ok }" }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(refused.status(), 429);
    let header = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = refused.json().await.expect("a JSON body");
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    let retry_after = body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_u64()
        .expect("retryAfterSeconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header, Some(retry_after.to_string()));
    assert!(body["data"].is_null());
}
