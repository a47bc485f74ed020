//! Typed configuration, read once at start-up from environment variables.
//!
//! Every variable has a documented default except `DATABASE_URL`. A missing
//! required variable or a malformed value stops start-up with a message that
//! names the variable, what was found and what was expected, instead of
//! surfacing later as a confusing runtime failure.

use std::net::SocketAddr;
use std::time::Duration;

use crate::database::{PlanCacheMode, RandomPageCost, ServingPool};

pub use crate::errors::ConfigError;

mod domain;
mod reader;
mod tokens;
mod variables;

#[cfg(test)]
mod tests;

pub use domain::{DomainSettings, DomainSettingsSpec};
pub use reader::{DeclaredVariable, VariableReader};
pub use tokens::{DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES, PUBLISHED_ROUTER_SECRETS, TokenConfig};
pub use variables::{Variable, VariableDoc, markdown_table};

use tokens::{check_router_secret, read_token_config};

/// `GRAPHQL_DOCUMENT_CACHE_ENTRIES`'s default.
pub const DEFAULT_DOCUMENT_CACHE_ENTRIES: usize = 256;

/// Which deployment profile the process runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines for a developer's terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// How the rate limiter (`rate_limits`) is set up (`RATE_LIMITS_ENABLED`, `REDIS_URL`,
/// `RATE_LIMIT_REDIS_TIMEOUT_MS`, `RATE_LIMIT_MULTIPLIER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// The Redis every replica shares; without one each process limits
    /// alone (development).
    pub redis_url: Option<String>,
    /// How long a decision waits for Redis before the shadow window takes
    /// it.
    pub redis_timeout: Duration,
    /// Every class's limit times this: development and the load tools run
    /// many operations from one address.
    pub multiplier: u32,
}

/// Operation limits applied to every request before any resolver runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Deepest field nesting allowed (async-graphql's depth).
    pub max_depth: usize,
    /// Highest total complexity; a list field multiplies its children by `first`.
    pub max_complexity: usize,
    /// Deepest nesting of selection sets, fragments included.
    pub max_recursive_depth: usize,
    /// Most directives allowed on a single field.
    pub max_directives_per_field: usize,
    /// Most aliased fields allowed in one operation.
    pub max_aliases: usize,
    /// Most root fields allowed in one operation.
    pub max_root_fields: usize,
    /// Largest `first` accepted by any list field.
    pub max_page_size: u32,
    /// Most selections the operation may expand to, fragments expanded
    /// where they are spread: bounds the walk of a "fragment bomb" before
    /// anything else (async-graphql's own validators included) expands it.
    pub max_selections: usize,
    /// Most representations one `_entities` request may carry.
    pub max_representations: usize,
    /// Largest response body, in bytes. The router stitches many subgraph
    /// responses into one, so bounding each bounds what one client
    /// operation can make the router hold (with the router's fetch limit).
    pub max_response_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 5_000,
            max_recursive_depth: 16,
            max_directives_per_field: 4,
            max_aliases: 30,
            max_root_fields: 10,
            max_page_size: crate::pagination::HARD_MAX_PAGE_SIZE,
            max_selections: 2_000,
            max_representations: 1_000,
            max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Everything a subgraph process needs to start.
#[derive(Debug, Clone)]
pub struct SubgraphConfig {
    pub environment: Environment,
    pub listen_address: SocketAddr,
    /// Whether the listener sets SO_REUSEPORT, so replicas on one host can
    /// share `listen_address` and the kernel balances connections.
    pub listen_reuse_port: bool,
    /// `ASYNC_WORKER_THREADS`: the async runtime's worker threads; `None`
    /// leaves tokio's default, one per CPU the process may use.
    pub async_worker_threads: Option<usize>,
    /// Where `/metrics` is served apart from `/graphql`; `None` serves it
    /// on `listen_address` (development only).
    pub metrics_listen_address: Option<SocketAddr>,
    /// `PUBLIC_LISTEN_ADDR`: where the subgraph's public paths (see
    /// `Subgraph::public_paths`) are served apart from `/graphql`; `None`
    /// serves them on `listen_address`.
    pub public_listen_address: Option<SocketAddr>,
    pub database_url: String,
    /// The serving pool: `DATABASE_MAX_CONNECTIONS`,
    /// `DATABASE_ACQUIRE_TIMEOUT_SECONDS`, `DATABASE_STATEMENT_TIMEOUT_SECONDS`,
    /// `DATABASE_CHECK_IDLE_AFTER_MS`, `DATABASE_KEEP_CONNECTIONS`,
    /// `DATABASE_RANDOM_PAGE_COST` and
    /// `DATABASE_PLAN_CACHE_MODE`.
    pub database_pool: ServingPool,
    /// `NATS_URL`: the broker for the outbox relay and event consumers.
    pub nats_url: Option<String>,
    /// `NATS_STREAM_REPLICAS`: replicas of the streams declared.
    pub nats_stream_replicas: usize,
    /// `RATE_LIMITS_ENABLED`, `REDIS_URL`, `RATE_LIMIT_REDIS_TIMEOUT_MS`,
    /// `RATE_LIMIT_MULTIPLIER`.
    pub rate_limits: RateLimitSettings,
    /// `ENTITY_CACHE_ENABLED`, `REDIS_URL`, `ENTITY_CACHE_REDIS_TIMEOUT_MS`.
    pub entity_cache: crate::entity_cache::EntityCacheSettings,
    pub log_format: LogFormat,
    pub limits: LimitsConfig,
    pub max_request_body_bytes: usize,
    pub introspection_enabled: bool,
    /// After SIGTERM, how long the process keeps serving while it tells
    /// load balancers it is going (see `server::drain_then_stop`).
    pub shutdown_drain_period: Duration,
    pub shutdown_grace_period: Duration,
    /// How long a DataLoader gathers keys before it queries. Zero, the
    /// default, means no window: a batch loads when the request's execution
    /// goes idle (see `batching`). A window adds its length to every batch
    /// level and is kept to measure against.
    pub dataloader_delay: Duration,
    /// How many parsed documents one generation of the parse cache keeps
    /// (see `graphql::document_cache`); zero parses every request.
    pub document_cache_entries: usize,
    pub tokens: TokenConfig,
    /// The value the router sends in `x-talentgraph-router`. Requests that
    /// carry it came through the router, so the data the router puts into
    /// entity representations (`@requires` fields) can be trusted and the
    /// client address it sends (`x-talentgraph-client-address`) names the
    /// client.
    pub router_secret: Option<String>,
    /// The settings the subgraph's own crate declares (see
    /// [`DomainSettingsSpec`]); empty until [`SubgraphConfig::read_domain_settings`].
    pub domain: DomainSettings,
}

impl SubgraphConfig {
    /// Reads the settings `spec` declares through `lookup` into
    /// [`SubgraphConfig::domain`]; with no spec the domain stays empty.
    pub fn read_domain_settings(
        &mut self,
        spec: Option<&DomainSettingsSpec>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(spec) = spec {
            self.domain = (spec.read)(&VariableReader::new(&lookup), self.environment)?;
        }
        Ok(())
    }

    /// Reads the configuration from the process environment.
    pub fn from_env(default_port: u16) -> Result<Self, ConfigError> {
        Self::from_lookup(default_port, |name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the
    /// process environment (which is shared between test threads).
    pub fn from_lookup(
        default_port: u16,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let reader = VariableReader::new(&lookup);
        let environment = match reader.raw(Variable::TalentgraphEnv).as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: Variable::TalentgraphEnv.name(),
                    value: other.to_owned(),
                    expected: "`development` or `production`".to_owned(),
                });
            }
        };
        let is_production = environment == Environment::Production;
        let log_format = match reader.raw(Variable::LogFormat).as_deref() {
            None if is_production => LogFormat::Json,
            None => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: Variable::LogFormat.name(),
                    value: other.to_owned(),
                    expected: "`json` or `pretty`".to_owned(),
                });
            }
        };
        let database_url = reader
            .raw(Variable::DatabaseUrl)
            .ok_or(ConfigError::Missing {
                variable: Variable::DatabaseUrl.name(),
                hint: "a PostgreSQL URL such as postgres://user@localhost:5432/talentgraph_core",
            })?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid {
                variable: Variable::DatabaseUrl.name(),
                value: redact_url_password(&database_url),
                expected: "a URL starting with postgres:// or postgresql://".to_owned(),
            });
        }
        let tokens = read_token_config(&reader, is_production)?;
        let router_secret = reader.raw(Variable::RouterSharedSecret);
        match &router_secret {
            None if is_production => {
                return Err(ConfigError::Missing {
                    variable: Variable::RouterSharedSecret.name(),
                    hint: "the secret the router sends in x-talentgraph-router; required in production",
                });
            }
            Some(secret) => check_router_secret(secret, is_production)?,
            None => {}
        }
        let defaults = LimitsConfig::default();
        let limits = LimitsConfig {
            max_depth: reader.ranged(Variable::GraphqlMaxDepth, defaults.max_depth, 1, 64)?,
            max_complexity: reader.ranged(
                Variable::GraphqlMaxComplexity,
                defaults.max_complexity,
                1,
                10_000_000,
            )?,
            max_recursive_depth: reader.ranged(
                Variable::GraphqlMaxRecursiveDepth,
                defaults.max_recursive_depth,
                1,
                128,
            )?,
            max_directives_per_field: reader.ranged(
                Variable::GraphqlMaxDirectivesPerField,
                defaults.max_directives_per_field,
                0,
                64,
            )?,
            max_aliases: reader.ranged(
                Variable::GraphqlMaxAliases,
                defaults.max_aliases,
                0,
                10_000,
            )?,
            max_root_fields: reader.ranged(
                Variable::GraphqlMaxRootFields,
                defaults.max_root_fields,
                1,
                1_000,
            )?,
            max_page_size: reader.ranged(
                Variable::GraphqlMaxPageSize,
                defaults.max_page_size,
                1,
                crate::pagination::HARD_MAX_PAGE_SIZE,
            )?,
            max_selections: reader.ranged(
                Variable::GraphqlMaxSelections,
                defaults.max_selections,
                10,
                1_000_000,
            )?,
            max_representations: reader.ranged(
                Variable::GraphqlMaxRepresentations,
                defaults.max_representations,
                1,
                100_000,
            )?,
            max_response_bytes: reader.ranged(
                Variable::GraphqlMaxResponseBytes,
                defaults.max_response_bytes,
                64 * 1024,
                1024 * 1024 * 1024,
            )?,
        };
        // One Redis for the rate limits and the entity cache.
        let redis_url = match reader.raw(Variable::RedisUrl) {
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => Some(url),
            Some(url) => {
                return Err(ConfigError::Invalid {
                    variable: Variable::RedisUrl.name(),
                    value: url,
                    expected: "a URL such as redis://127.0.0.1:6379".to_owned(),
                });
            }
            None => None,
        };
        Ok(Self {
            environment,
            listen_address: reader.parsed(
                Variable::ListenAddr,
                SocketAddr::from(([127, 0, 0, 1], default_port)),
                "a socket address such as 127.0.0.1:4001",
            )?,
            listen_reuse_port: reader.parsed(
                Variable::ListenReusePort,
                false,
                "`true` or `false`",
            )?,
            async_worker_threads: read_async_worker_threads(&reader)?,
            metrics_listen_address: match reader.raw(Variable::MetricsListenAddr) {
                Some(_) => Some(reader.parsed(
                    Variable::MetricsListenAddr,
                    SocketAddr::from(([127, 0, 0, 1], 9464)),
                    "a socket address such as 0.0.0.0:9464",
                )?),
                None if is_production => Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
                None => None,
            },
            public_listen_address: match reader.raw(Variable::PublicListenAddr) {
                Some(_) => Some(reader.parsed(
                    Variable::PublicListenAddr,
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    "a socket address such as 0.0.0.0:4015",
                )?),
                None => None,
            },
            database_url,
            database_pool: ServingPool {
                max_connections: reader.ranged(Variable::DatabaseMaxConnections, 10, 1, 1_000)?,
                acquire_timeout: reader.duration(
                    Variable::DatabaseAcquireTimeoutSeconds,
                    Duration::from_secs,
                    5,
                    1,
                    300,
                )?,
                statement_timeout: reader.duration(
                    Variable::DatabaseStatementTimeoutSeconds,
                    Duration::from_secs,
                    10,
                    1,
                    3_600,
                )?,
                check_idle_after: reader.duration(
                    Variable::DatabaseCheckIdleAfterMs,
                    Duration::from_millis,
                    1_000,
                    0,
                    3_600_000,
                )?,
                keep_connections: reader.parsed(
                    Variable::DatabaseKeepConnections,
                    true,
                    "`true` or `false`",
                )?,
                random_page_cost: reader.parsed(
                    Variable::DatabaseRandomPageCost,
                    RandomPageCost::MEMORY_RESIDENT,
                    RandomPageCost::EXPECTED,
                )?,
                plan_cache_mode: reader.parsed(
                    Variable::DatabasePlanCacheMode,
                    PlanCacheMode::ForceGenericPlan,
                    PlanCacheMode::EXPECTED,
                )?,
            },
            nats_url: match reader.raw(Variable::NatsUrl) {
                Some(url) if url.starts_with("nats://") || url.starts_with("tls://") => Some(url),
                Some(url) => {
                    return Err(ConfigError::Invalid {
                        variable: Variable::NatsUrl.name(),
                        value: url,
                        expected: "a URL such as nats://127.0.0.1:4222".to_owned(),
                    });
                }
                None if is_production => {
                    return Err(ConfigError::Missing {
                        variable: Variable::NatsUrl.name(),
                        hint: "the NATS JetStream server events go through; required in production",
                    });
                }
                None => None,
            },
            nats_stream_replicas: reader.ranged(Variable::NatsStreamReplicas, 1, 1, 5)?,
            rate_limits: RateLimitSettings {
                enabled: reader.parsed(Variable::RateLimitsEnabled, true, "`true` or `false`")?,
                redis_url: redis_url.clone(),
                redis_timeout: reader.duration(
                    Variable::RateLimitRedisTimeoutMs,
                    Duration::from_millis,
                    10,
                    1,
                    1_000,
                )?,
                multiplier: reader.ranged(
                    Variable::RateLimitMultiplier,
                    if is_production { 1 } else { 100 },
                    1,
                    1_000_000,
                )?,
            },
            entity_cache: crate::entity_cache::EntityCacheSettings {
                enabled: reader.parsed(Variable::EntityCacheEnabled, true, "`true` or `false`")?,
                redis_url,
                redis_timeout: reader.duration(
                    Variable::EntityCacheRedisTimeoutMs,
                    Duration::from_millis,
                    10,
                    1,
                    1_000,
                )?,
            },
            log_format,
            limits,
            max_request_body_bytes: reader.ranged(
                Variable::HttpMaxBodyBytes,
                256 * 1024,
                1_024,
                64 * 1024 * 1024,
            )?,
            introspection_enabled: reader.parsed(
                Variable::GraphqlIntrospection,
                !is_production,
                "`true` or `false`",
            )?,
            shutdown_drain_period: reader.duration(
                Variable::ShutdownDrainSeconds,
                Duration::from_secs,
                if is_production { 5 } else { 0 },
                0,
                600,
            )?,
            shutdown_grace_period: reader.duration(
                Variable::ShutdownGraceSeconds,
                Duration::from_secs,
                30,
                0,
                3_600,
            )?,
            dataloader_delay: reader.duration(
                Variable::DataloaderDelayMs,
                Duration::from_millis,
                0,
                0,
                100,
            )?,
            document_cache_entries: reader.ranged(
                Variable::GraphqlDocumentCacheEntries,
                DEFAULT_DOCUMENT_CACHE_ENTRIES,
                0,
                65_536,
            )?,
            tokens,
            router_secret,
            domain: DomainSettings::default(),
        })
    }
}

/// `ASYNC_WORKER_THREADS` read on its own, for a process that must build
/// its async runtime before it reads a subgraph's whole configuration (the
/// dev stack, which runs all six subgraphs on one runtime).
pub fn async_worker_threads_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<usize>, ConfigError> {
    read_async_worker_threads(&VariableReader::new(&lookup))
}

fn read_async_worker_threads(reader: &VariableReader<'_>) -> Result<Option<usize>, ConfigError> {
    match reader.raw(Variable::AsyncWorkerThreads) {
        None => Ok(None),
        Some(_) => reader
            .ranged(Variable::AsyncWorkerThreads, 1, 1, 1_024)
            .map(Some),
    }
}

/// The URL of database `name` on the server of `url`, keeping credentials
/// and options.
pub fn database_url_with_name(url: &str, name: &str) -> String {
    let (without_query, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |index| index + 3);
    let base = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Replaces the password of a URL with `***` so that error messages and
/// logs can show which database was meant without leaking the secret.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}
