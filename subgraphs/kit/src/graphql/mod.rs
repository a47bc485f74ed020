//! GraphQL over HTTP for any async-graphql schema.

pub mod document_cache;
pub mod http;
pub mod limits;
pub mod plain_fields;

use std::sync::Arc;

use async_graphql::{ObjectType, SchemaBuilder, SubscriptionType};

use crate::config::LimitsConfig;
use crate::request::RequestContext;

/// Adds a subgraph's per-request data (its DataLoaders) to a request.
pub type RequestDataHook =
    Arc<dyn Fn(&RequestContext, async_graphql::Request) -> async_graphql::Request + Send + Sync>;

/// A GraphQL endpoint: a schema plus the limits and per-request data that
/// the HTTP layer applies around it. Build its routes with [`http::routes`].
#[derive(Clone)]
pub struct GraphqlEndpoint<E> {
    pub(crate) executor: E,
    /// The instance for requests that carry the router's secret, built for
    /// [`SchemaAudience::TheRouter`]; without one, they run on `executor`.
    pub(crate) router_executor: Option<E>,
    pub(crate) limits: LimitsConfig,
    pub(crate) max_request_body_bytes: usize,
    pub(crate) request_data: RequestDataHook,
    pub(crate) authenticator: crate::auth::SharedAuthenticator,
    pub(crate) router_secret: Option<String>,
    /// Whether Federation's `_service { sdl }` answers (off in production).
    pub(crate) service_sdl_exposed: bool,
    /// Parsed documents kept between requests.
    pub(crate) document_cache: document_cache::DocumentCache,
    /// Admits each client operation by its class (`None`: no limits).
    pub(crate) rate_limiter: Option<Arc<crate::rate_limits::RateLimiter>>,
}

impl<E: async_graphql::Executor> GraphqlEndpoint<E> {
    pub fn new(executor: E, limits: LimitsConfig, max_request_body_bytes: usize) -> Self {
        Self {
            executor,
            router_executor: None,
            limits,
            max_request_body_bytes,
            request_data: Arc::new(|_, request| request),
            authenticator: Arc::new(crate::auth::NoTokenVerification),
            router_secret: None,
            service_sdl_exposed: true,
            document_cache: document_cache::DocumentCache::new(
                crate::config::DEFAULT_DOCUMENT_CACHE_ENTRIES,
            ),
            rate_limiter: None,
        }
    }

    /// Admits every client operation through `limiter` before it runs.
    pub fn with_rate_limiter(mut self, limiter: Arc<crate::rate_limits::RateLimiter>) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// Keeps up to `entries_per_generation` parsed documents per generation
    /// (see [`document_cache`]); zero parses every request.
    pub fn with_document_cache(mut self, entries_per_generation: usize) -> Self {
        self.document_cache = document_cache::DocumentCache::new(entries_per_generation);
        self
    }

    /// Whether `_service { sdl }` answers; production turns it off with
    /// introspection.
    pub fn with_service_sdl(mut self, exposed: bool) -> Self {
        self.service_sdl_exposed = exposed;
        self
    }

    /// Runs requests that carry the router's secret on `executor`, the same
    /// schema built for [`SchemaAudience::TheRouter`].
    pub fn with_router_executor(mut self, executor: E) -> Self {
        self.router_executor = Some(executor);
        self
    }

    /// Sets the secret that marks requests as coming through the router.
    pub fn with_router_secret(mut self, secret: Option<String>) -> Self {
        self.router_secret = secret;
        self
    }

    /// Sets how requests prove who they are.
    pub fn with_authenticator(mut self, authenticator: crate::auth::SharedAuthenticator) -> Self {
        self.authenticator = authenticator;
        self
    }

    /// Registers the hook that adds per-request data, typically fresh
    /// DataLoaders so batching and caching never leak between requests.
    pub fn with_request_data(
        mut self,
        hook: impl Fn(&RequestContext, async_graphql::Request) -> async_graphql::Request
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.request_data = Arc::new(hook);
        self
    }
}

/// Whom a schema instance answers, which decides how much of the GraphQL
/// specification's validation it runs on every document.
///
/// A subgraph runs its schema twice. Requests that carry the router's
/// secret ([`crate::request::ROUTER_SECRET_HEADER`]) bring documents the
/// router wrote itself from its query plan, for an operation it already
/// validated against the supergraph, so they skip the specification's rules
/// (async-graphql's `ValidationMode::Fast`) and keep only the checks that
/// protect this process: fragment cycles, depth and complexity, plus the
/// kit's own operation checks, which run before either instance. Counted
/// with `bench --count-instructions employer`, the rules took 7 to 12 % of
/// the subgraph's instructions per router fetch. Everyone else,
/// including a caller that reaches the subgraph past the router, gets the
/// full validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaAudience {
    AnyCaller,
    TheRouter,
}

impl SchemaAudience {
    pub fn validation_mode(self) -> async_graphql::ValidationMode {
        match self {
            Self::AnyCaller => async_graphql::ValidationMode::Strict,
            Self::TheRouter => async_graphql::ValidationMode::Fast,
        }
    }
}

/// Applies the limits async-graphql enforces itself, Federation v2, the
/// introspection switch and the audience's validation to a schema builder.
///
/// It installs no async-graphql extension: objects resolved in one pass
/// ([`plain_fields::PlainObject`]) skip the per-field extension hooks, so
/// a schema that adds one must not use them.
pub fn configure_schema<Query, Mutation, Subscription>(
    builder: SchemaBuilder<Query, Mutation, Subscription>,
    limits: &LimitsConfig,
    introspection_enabled: bool,
    audience: SchemaAudience,
) -> SchemaBuilder<Query, Mutation, Subscription>
where
    Query: ObjectType + 'static,
    Mutation: ObjectType + 'static,
    Subscription: SubscriptionType + 'static,
{
    let builder = builder
        .validation_mode(audience.validation_mode())
        .enable_federation()
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(limits.max_recursive_depth)
        .limit_directives(limits.max_directives_per_field);
    if introspection_enabled {
        builder
    } else {
        // "Did you mean …?" hints would name the fields introspection hides.
        builder.disable_introspection().disable_suggestions()
    }
}

/// The Federation v2 SDL of a schema, as the router and composition see it.
pub fn federation_sdl<Query, Mutation, Subscription>(
    schema: &async_graphql::Schema<Query, Mutation, Subscription>,
) -> String
where
    Query: ObjectType + 'static,
    Mutation: ObjectType + 'static,
    Subscription: SubscriptionType + 'static,
{
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().federation())
}

/// A subgraph's executable schema for `audience`: Federation v2, the
/// configured limits and introspection switch, and the database as shared
/// data.
pub fn build_schema<Query, Mutation>(
    query: Query,
    mutation: Mutation,
    database: crate::Database,
    config: &crate::SubgraphConfig,
    audience: SchemaAudience,
) -> async_graphql::Schema<Query, Mutation, async_graphql::EmptySubscription>
where
    Query: ObjectType + 'static,
    Mutation: ObjectType + 'static,
{
    configure_schema(
        async_graphql::Schema::build(query, mutation, async_graphql::EmptySubscription),
        &config.limits,
        config.introspection_enabled,
        audience,
    )
    .data(database)
    .finish()
}

/// The Federation v2 SDL a subgraph with these root types exports.
pub fn export_sdl<Query, Mutation>(query: Query, mutation: Mutation) -> String
where
    Query: ObjectType + 'static,
    Mutation: ObjectType + 'static,
{
    federation_sdl(
        &async_graphql::Schema::build(query, mutation, async_graphql::EmptySubscription)
            .enable_federation()
            .finish(),
    )
}
