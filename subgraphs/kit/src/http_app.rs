//! A subgraph's HTTP application: `/graphql` with its loaders, limits and
//! authenticator, and `/health`, `/ready` and `/metrics`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::config::SubgraphConfig;
use crate::database::Database;

/// A subgraph's whole HTTP application: `/graphql` around `executor` (and
/// `router_executor`, the same schema for
/// [`SchemaAudience::TheRouter`](crate::graphql::SchemaAudience), for
/// requests that carry the router's secret) with the configured limits, a
/// fresh `Loaders` per request and `authenticator`, plus `/health`,
/// `/ready` and `/metrics`.
pub fn subgraph_app<E, Loaders>(
    executor: E,
    router_executor: E,
    database: Database,
    config: &SubgraphConfig,
    authenticator: crate::auth::SharedAuthenticator,
) -> Router
where
    E: async_graphql::Executor,
    Loaders: crate::loaders::RequestLoaders,
{
    let loader_database = database.clone();
    let window = config.dataloader_delay;
    let endpoint = crate::GraphqlEndpoint::new(
        executor,
        config.limits.clone(),
        config.max_request_body_bytes,
    )
    .with_request_data(move |request_context, request| {
        let gathering = if window.is_zero() {
            crate::batching::BatchGathering::UntilRequestIdle(request_context.activity.clone())
        } else {
            crate::batching::BatchGathering::FixedWindow(window)
        };
        let scope = crate::loaders::LoaderScope {
            database: &loader_database,
            gathering,
            request: request_context,
        };
        request.data(Loaders::for_request(&scope))
    })
    .with_authenticator(authenticator)
    .with_router_executor(router_executor)
    .with_router_secret(config.router_secret.clone())
    .with_service_sdl(config.introspection_enabled)
    .with_document_cache(config.document_cache_entries);
    let endpoint = if config.rate_limits.enabled {
        endpoint.with_rate_limiter(std::sync::Arc::new(rate_limiter(config)))
    } else {
        endpoint
    };
    let app = with_health_routes(crate::graphql::http::routes(endpoint));
    if config.metrics_listen_address.is_some() {
        app
    } else {
        app.merge(metrics_routes(database))
    }
}

/// The process's rate limiter. `REDIS_URL` was checked for its scheme when
/// the configuration was read; a URL the Redis client still cannot parse
/// leaves the process limiting alone, with an error in the log.
fn rate_limiter(config: &SubgraphConfig) -> crate::rate_limits::RateLimiter {
    if config.rate_limits.redis_url.is_none()
        && config.environment == crate::config::Environment::Production
    {
        tracing::warn!(
            "REDIS_URL is not set: each replica keeps its own rate-limit windows, and entities are not cached"
        );
    }
    crate::rate_limits::RateLimiter::new(config.rate_limits.clone()).unwrap_or_else(|error| {
        tracing::error!(%error, "REDIS_URL cannot be used: rate limits are kept by this process alone");
        let alone = crate::rate_limits::RateLimitSettings {
            redis_url: None,
            ..config.rate_limits.clone()
        };
        crate::rate_limits::RateLimiter::new(alone).expect("a limiter without Redis")
    })
}

/// `GET /metrics` alone: served on the GraphQL port in development, on a
/// listener of its own (`METRICS_LISTEN_ADDR`) otherwise.
pub fn metrics_routes(database: Database) -> Router {
    Router::new()
        .route("/metrics", get(prometheus_metrics))
        .with_state(database)
}

/// Adds `/health` (the process is up) and `/ready` (it takes requests) to
/// a subgraph's routes.
pub fn with_health_routes(router: Router) -> Router {
    let health = Router::new()
        .route("/health", get(|| async { (StatusCode::OK, "ok") }))
        .route("/ready", get(ready));
    router.merge(health)
}

async fn prometheus_metrics(State(database): State<Database>) -> axum::response::Response {
    match crate::metrics::metrics() {
        Some(metrics) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            metrics.render(&database),
        )
            .into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable").into_response(),
    }
}

/// Ready to take requests: the process listens and has migrated, and it is
/// not draining (`server::with_drain` answers 503 for it then). It does
/// not ask the database: when PostgreSQL restarts, every replica would fail
/// the check at once and the load balancer would have none left to send
/// requests to, which then fail at the balancer without a code. Served,
/// they are answered `SERVICE_UNAVAILABLE` with `retryAfterSeconds` by the
/// subgraph, and the first request after the restart succeeds.
async fn ready() -> impl IntoResponse {
    (StatusCode::OK, "ready")
}
