//! Typed configuration, read once at start-up from environment variables.
//!
//! Every variable has a documented default except `DATABASE_URL`. A missing
//! required variable or a malformed value stops start-up with a message that
//! names the variable, what was found and what was expected, instead of
//! surfacing later as a confusing runtime failure.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::database::{PlanCacheMode, RandomPageCost, ServingPool};

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {variable} is required but not set ({hint})")]
    Missing {
        variable: &'static str,
        hint: &'static str,
    },
    #[error("environment variable {variable}={value:?} is invalid: expected {expected}")]
    Invalid {
        variable: &'static str,
        value: String,
        expected: String,
    },
}

/// Every environment variable a subgraph process reads, declared once.
///
/// The parser below reads variables only through this enum, so a variable
/// cannot be read without being declared here, and the README's
/// configuration table is checked against [`Variable::ALL`] by a test: the
/// documentation cannot drift from the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variable {
    TalentgraphEnv,
    DatabaseUrl,
    ListenAddr,
    ListenReusePort,
    AsyncWorkerThreads,
    MetricsListenAddr,
    LogFormat,
    DatabaseMaxConnections,
    DatabaseAcquireTimeoutSeconds,
    DatabaseStatementTimeoutSeconds,
    DatabaseCheckIdleAfterMs,
    DatabaseKeepConnections,
    DatabaseRandomPageCost,
    DatabasePlanCacheMode,
    HttpMaxBodyBytes,
    GraphqlIntrospection,
    GraphqlMaxDepth,
    GraphqlMaxComplexity,
    GraphqlMaxRecursiveDepth,
    GraphqlMaxDirectivesPerField,
    GraphqlMaxAliases,
    GraphqlMaxRootFields,
    GraphqlMaxPageSize,
    GraphqlMaxSelections,
    GraphqlMaxRepresentations,
    GraphqlMaxResponseBytes,
    DataloaderDelayMs,
    GraphqlDocumentCacheEntries,
    ShutdownGraceSeconds,
    OtelExporterOtlpEndpoint,
    NatsUrl,
    NatsStreamReplicas,
    AuthJwksUrl,
    AuthIssuer,
    AuthAudience,
    AuthVerifiedTokenCacheEntries,
    RouterSharedSecret,
    AuthAccessTokenTtlSeconds,
    AuthRefreshTokenTtlDays,
    AuthKeyRotationDays,
    AuthKeyPublicationDelaySeconds,
    AuthSignInMaxFailuresPerAccount,
    AuthSignInMaxFailuresPerAddress,
    AuthSignInWindowSeconds,
    PaymentProviderUrl,
    PaymentProviderSecretKey,
    PaymentProviderTimeoutSeconds,
    PaymentWebhookSecret,
}

/// A variable's name and its documentation, as the README shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariableDoc {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

impl Variable {
    /// Every variable, in the README's order.
    pub const ALL: &'static [Variable] = &[
        Self::TalentgraphEnv,
        Self::DatabaseUrl,
        Self::ListenAddr,
        Self::ListenReusePort,
        Self::AsyncWorkerThreads,
        Self::MetricsListenAddr,
        Self::LogFormat,
        Self::DatabaseMaxConnections,
        Self::DatabaseAcquireTimeoutSeconds,
        Self::DatabaseStatementTimeoutSeconds,
        Self::DatabaseCheckIdleAfterMs,
        Self::DatabaseKeepConnections,
        Self::DatabaseRandomPageCost,
        Self::DatabasePlanCacheMode,
        Self::HttpMaxBodyBytes,
        Self::GraphqlIntrospection,
        Self::GraphqlMaxDepth,
        Self::GraphqlMaxComplexity,
        Self::GraphqlMaxRecursiveDepth,
        Self::GraphqlMaxDirectivesPerField,
        Self::GraphqlMaxAliases,
        Self::GraphqlMaxRootFields,
        Self::GraphqlMaxPageSize,
        Self::GraphqlMaxSelections,
        Self::GraphqlMaxRepresentations,
        Self::GraphqlMaxResponseBytes,
        Self::DataloaderDelayMs,
        Self::GraphqlDocumentCacheEntries,
        Self::ShutdownGraceSeconds,
        Self::OtelExporterOtlpEndpoint,
        Self::NatsUrl,
        Self::NatsStreamReplicas,
        Self::AuthJwksUrl,
        Self::AuthIssuer,
        Self::AuthAudience,
        Self::AuthVerifiedTokenCacheEntries,
        Self::RouterSharedSecret,
        Self::AuthAccessTokenTtlSeconds,
        Self::AuthRefreshTokenTtlDays,
        Self::AuthKeyRotationDays,
        Self::AuthKeyPublicationDelaySeconds,
        Self::AuthSignInMaxFailuresPerAccount,
        Self::AuthSignInMaxFailuresPerAddress,
        Self::AuthSignInWindowSeconds,
        Self::PaymentProviderUrl,
        Self::PaymentProviderSecretKey,
        Self::PaymentProviderTimeoutSeconds,
        Self::PaymentWebhookSecret,
    ];

    pub const fn doc(self) -> VariableDoc {
        match self {
            Self::TalentgraphEnv => VariableDoc {
                name: "TALENTGRAPH_ENV",
                default: "`development`",
                meaning: "`production` switches to JSON logs, turns introspection off and requires `AUTH_JWKS_URL` and `ROUTER_SHARED_SECRET`",
            },
            Self::DatabaseUrl => VariableDoc {
                name: "DATABASE_URL",
                default: "(required)",
                meaning: "the subgraph's own PostgreSQL database",
            },
            Self::ListenAddr => VariableDoc {
                name: "LISTEN_ADDR",
                default: "`127.0.0.1:<port>` (the port table)",
                meaning: "address to serve on",
            },
            Self::ListenReusePort => VariableDoc {
                name: "LISTEN_REUSE_PORT",
                default: "false",
                meaning: "`true` lets several replicas on one host listen on the same `LISTEN_ADDR` (SO_REUSEPORT); the kernel spreads new connections across them",
            },
            Self::AsyncWorkerThreads => VariableDoc {
                name: "ASYNC_WORKER_THREADS",
                default: "(unset: one per CPU the process may use; 1 under `devstack up`)",
                meaning: "threads that run requests; set it to the CPUs the process is given, since a pod without a CPU limit sees every core of its node",
            },
            Self::MetricsListenAddr => VariableDoc {
                name: "METRICS_LISTEN_ADDR",
                default: "(unset: `/metrics` on `LISTEN_ADDR`; `127.0.0.1:9464` in production)",
                meaning: "a listener of its own for `/metrics`, so the GraphQL port exposes no internals",
            },
            Self::LogFormat => VariableDoc {
                name: "LOG_FORMAT",
                default: "`pretty` (`json` in production)",
                meaning: "log line format; `RUST_LOG` sets the filter",
            },
            Self::DatabaseMaxConnections => VariableDoc {
                name: "DATABASE_MAX_CONNECTIONS",
                default: "10 (3 under `devstack up`)",
                meaning: "connections for requests and event handlers; the outbox relay keeps one more of its own for `LISTEN`",
            },
            Self::DatabaseAcquireTimeoutSeconds => VariableDoc {
                name: "DATABASE_ACQUIRE_TIMEOUT_SECONDS",
                default: "5",
                meaning: "how long a request waits for a connection",
            },
            Self::DatabaseStatementTimeoutSeconds => VariableDoc {
                name: "DATABASE_STATEMENT_TIMEOUT_SECONDS",
                default: "10",
                meaning: "PostgreSQL `statement_timeout` of the serving pool: no statement a request starts runs longer (the `migrate` command has none)",
            },
            Self::DatabaseCheckIdleAfterMs => VariableDoc {
                name: "DATABASE_CHECK_IDLE_AFTER_MS",
                default: "1000",
                meaning: "a pooled connection idle this long is pinged before a request uses it; `0` pings on every use, a second round trip per statement, and keeps no connection between statements",
            },
            Self::DatabaseKeepConnections => VariableDoc {
                name: "DATABASE_KEEP_CONNECTIONS",
                default: "true",
                meaning: "a connection whose statement ran to its end goes straight to the next statement; `false` hands every connection back to sqlx's pool, which pings it on the way back (a second round trip per statement)",
            },
            Self::DatabaseRandomPageCost => VariableDoc {
                name: "DATABASE_RANDOM_PAGE_COST",
                default: "1.1",
                meaning: "PostgreSQL `random_page_cost` of the serving pool's sessions; PostgreSQL's own default, 4, prices an index lookup for a disk that seeks and makes the planner scan whole small tables for the batched `= ANY($1)` lookups",
            },
            Self::DatabasePlanCacheMode => VariableDoc {
                name: "DATABASE_PLAN_CACHE_MODE",
                default: "`force_generic_plan`",
                meaning: "PostgreSQL `plan_cache_mode` of the serving pool's sessions (`auto`, `force_generic_plan`, `force_custom_plan`); in PostgreSQL's `auto` a lookup of a single key is planned again on every call",
            },
            Self::HttpMaxBodyBytes => VariableDoc {
                name: "HTTP_MAX_BODY_BYTES",
                default: "262144",
                meaning: "larger request bodies get 413",
            },
            Self::GraphqlIntrospection => VariableDoc {
                name: "GRAPHQL_INTROSPECTION",
                default: "`true` (`false` in production)",
                meaning: "`__schema` / `__type`",
            },
            Self::GraphqlMaxDepth => VariableDoc {
                name: "GRAPHQL_MAX_DEPTH",
                default: "12",
                meaning: "field nesting",
            },
            Self::GraphqlMaxComplexity => VariableDoc {
                name: "GRAPHQL_MAX_COMPLEXITY",
                default: "5000",
                meaning: "total complexity; a list field multiplies its children by `first`",
            },
            Self::GraphqlMaxRecursiveDepth => VariableDoc {
                name: "GRAPHQL_MAX_RECURSIVE_DEPTH",
                default: "16",
                meaning: "selection-set nesting, fragments included",
            },
            Self::GraphqlMaxDirectivesPerField => VariableDoc {
                name: "GRAPHQL_MAX_DIRECTIVES_PER_FIELD",
                default: "4",
                meaning: "directives on one field",
            },
            Self::GraphqlMaxAliases => VariableDoc {
                name: "GRAPHQL_MAX_ALIASES",
                default: "30",
                meaning: "aliased fields per operation, fragments expanded",
            },
            Self::GraphqlMaxRootFields => VariableDoc {
                name: "GRAPHQL_MAX_ROOT_FIELDS",
                default: "10",
                meaning: "root fields per operation",
            },
            Self::GraphqlMaxPageSize => VariableDoc {
                name: "GRAPHQL_MAX_PAGE_SIZE",
                default: "100",
                meaning: "largest `first` (and `ids` list); never above 100",
            },
            Self::GraphqlMaxSelections => VariableDoc {
                name: "GRAPHQL_MAX_SELECTIONS",
                default: "2000",
                meaning: "selections an operation may expand to, fragments expanded where spread",
            },
            Self::GraphqlMaxRepresentations => VariableDoc {
                name: "GRAPHQL_MAX_REPRESENTATIONS",
                default: "1000",
                meaning: "representations in one `_entities` request",
            },
            Self::GraphqlMaxResponseBytes => VariableDoc {
                name: "GRAPHQL_MAX_RESPONSE_BYTES",
                default: "4194304",
                meaning: "largest response body one request may produce (4 MiB); larger answers are replaced by `RESPONSE_TOO_LARGE`",
            },
            Self::DataloaderDelayMs => VariableDoc {
                name: "DATALOADER_DELAY_MS",
                default: "0",
                meaning: "how long DataLoaders gather keys before querying; 0 loads each batch as soon as the request's execution goes idle",
            },
            Self::GraphqlDocumentCacheEntries => VariableDoc {
                name: "GRAPHQL_DOCUMENT_CACHE_ENTRIES",
                default: "256",
                meaning: "parsed documents kept per generation of the parse cache (documents up to 16 KiB; two generations); 0 parses every request",
            },
            Self::ShutdownGraceSeconds => VariableDoc {
                name: "SHUTDOWN_GRACE_SECONDS",
                default: "30",
                meaning: "how long SIGTERM/Ctrl-C waits for in-flight requests",
            },
            Self::OtelExporterOtlpEndpoint => VariableDoc {
                name: "OTEL_EXPORTER_OTLP_ENDPOINT",
                default: "(unset: no export)",
                meaning: "OTLP/HTTP base URL for traces; see Observability",
            },
            Self::NatsUrl => VariableDoc {
                name: "NATS_URL",
                default: "(unset: no events relayed or consumed; required in production)",
                meaning: "the NATS JetStream server events go through, such as `nats://nats:4222`",
            },
            Self::NatsStreamReplicas => VariableDoc {
                name: "NATS_STREAM_REPLICAS",
                default: "1",
                meaning: "copies JetStream keeps of each stream this subgraph declares (3 on a three-node cluster)",
            },
            Self::AuthJwksUrl => VariableDoc {
                name: "AUTH_JWKS_URL",
                default: "`http://127.0.0.1:4002/.well-known/jwks.json` (required in production)",
                meaning: "where subgraphs fetch the keys that verify access tokens",
            },
            Self::AuthIssuer => VariableDoc {
                name: "AUTH_ISSUER",
                default: "`https://auth.talentgraph.dev`",
                meaning: "the `iss` every token must carry",
            },
            Self::AuthAudience => VariableDoc {
                name: "AUTH_AUDIENCE",
                default: "`talentgraph`",
                meaning: "the `aud` every token must carry",
            },
            Self::AuthVerifiedTokenCacheEntries => VariableDoc {
                name: "AUTH_VERIFIED_TOKEN_CACHE_ENTRIES",
                default: "4096",
                meaning: "verified access tokens remembered per generation (two generations), so the router's fetches for one page check the signature once; a remembered token is still refused once expired or when its key leaves the key set; 0 checks every time",
            },
            Self::RouterSharedSecret => VariableDoc {
                name: "ROUTER_SHARED_SECRET",
                default: "(required in production: ≥ 32 random characters, none written in this repository; ≥ 16 characters in development)",
                meaning: "the value the router sends as `x-talentgraph-router`; requests with it are trusted to carry router-supplied `@requires` data and client addresses",
            },
            Self::AuthAccessTokenTtlSeconds => VariableDoc {
                name: "AUTH_ACCESS_TOKEN_TTL_SECONDS",
                default: "900",
                meaning: "access-token lifetime (auth only)",
            },
            Self::AuthRefreshTokenTtlDays => VariableDoc {
                name: "AUTH_REFRESH_TOKEN_TTL_DAYS",
                default: "30",
                meaning: "session lifetime (auth only)",
            },
            Self::AuthKeyRotationDays => VariableDoc {
                name: "AUTH_KEY_ROTATION_DAYS",
                default: "30",
                meaning: "age at which auth rotates its signing key (auth only)",
            },
            Self::AuthKeyPublicationDelaySeconds => VariableDoc {
                name: "AUTH_KEY_PUBLICATION_DELAY_SECONDS",
                default: "0 (600 in production)",
                meaning: "how long a new key is published before it signs, so verifiers' cached key sets learn it first (auth only)",
            },
            Self::AuthSignInMaxFailuresPerAccount => VariableDoc {
                name: "AUTH_SIGN_IN_MAX_FAILURES_PER_ACCOUNT",
                default: "5",
                meaning: "failed sign-ins per account from one client address per window before `RATE_LIMITED` (auth only)",
            },
            Self::AuthSignInMaxFailuresPerAddress => VariableDoc {
                name: "AUTH_SIGN_IN_MAX_FAILURES_PER_ADDRESS",
                default: "50",
                meaning: "failed sign-ins per client address per window before `RATE_LIMITED` (auth only)",
            },
            Self::AuthSignInWindowSeconds => VariableDoc {
                name: "AUTH_SIGN_IN_WINDOW_SECONDS",
                default: "900",
                meaning: "the rate-limit window (auth only)",
            },
            Self::PaymentProviderUrl => VariableDoc {
                name: "PAYMENT_PROVIDER_URL",
                default: "(unset: purchases stay `PENDING`, logged as an error in production)",
                meaning: "the Stripe-compatible API charges go to, such as `https://api.stripe.com`; the dev stack sets its local provider (payment only)",
            },
            Self::PaymentProviderSecretKey => VariableDoc {
                name: "PAYMENT_PROVIDER_SECRET_KEY",
                default: "(unset; required with `PAYMENT_PROVIDER_URL`)",
                meaning: "the provider's secret API key, `sk_…` (payment only)",
            },
            Self::PaymentProviderTimeoutSeconds => VariableDoc {
                name: "PAYMENT_PROVIDER_TIMEOUT_SECONDS",
                default: "10",
                meaning: "how long one provider request may take before it counts as failed, shorter than the charge worker's acknowledgement wait (payment only)",
            },
            Self::PaymentWebhookSecret => VariableDoc {
                name: "PAYMENT_WEBHOOK_SECRET",
                default: "(unset: webhooks answered 503)",
                meaning: "the secret the provider signs webhooks with, `whsec_…` (payment only)",
            },
        }
    }

    pub const fn name(self) -> &'static str {
        self.doc().name
    }

    /// The README's configuration table, rendered from [`Variable::ALL`].
    pub fn markdown_table() -> String {
        let mut table = String::from("| variable | default | meaning |\n|---|---|---|\n");
        for variable in Self::ALL {
            let doc = variable.doc();
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                doc.name, doc.default, doc.meaning
            ));
        }
        table
    }
}

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

/// Access tokens: how every subgraph verifies them and how the auth
/// subgraph issues them. The issuing settings are read by every process so
/// that one typed configuration is validated at start-up, but only auth
/// uses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// The `iss` claim auth writes and every subgraph requires.
    pub issuer: String,
    /// The `aud` claim auth writes and every subgraph requires.
    pub audience: String,
    /// Where the auth subgraph publishes its verification keys.
    pub jwks_url: String,
    /// How many verified tokens one generation of a verifier's memory
    /// keeps (see `tokens`); zero verifies every token in full every time.
    pub verified_token_cache_entries: usize,
    /// How long an access token is valid.
    pub access_token_lifetime: Duration,
    /// How long a session may be refreshed before signing in again.
    pub refresh_token_lifetime: Duration,
    /// How old the signing key may get before auth rotates it.
    pub key_rotation_interval: Duration,
    /// How long a new signing key is published before it signs: verifiers
    /// that cache the key set learn it before the first token needs it.
    pub key_publication_delay: Duration,
    /// Failed sign-ins allowed per account within the window.
    pub sign_in_failures_per_account: u32,
    /// Failed sign-ins allowed per client address within the window.
    pub sign_in_failures_per_address: u32,
    pub sign_in_window: Duration,
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
    pub log_format: LogFormat,
    pub limits: LimitsConfig,
    pub max_request_body_bytes: usize,
    pub introspection_enabled: bool,
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
    /// `X-Forwarded-For` address it passes on names the client.
    pub router_secret: Option<String>,
    /// The payment provider (read by every subgraph, used by payment).
    pub payment: PaymentConfig,
}

/// Where the payment subgraph charges and how it checks webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentConfig {
    /// `PAYMENT_PROVIDER_URL` and `PAYMENT_PROVIDER_SECRET_KEY`, set
    /// together or not at all.
    pub provider: Option<PaymentProviderConfig>,
    pub provider_timeout: Duration,
    pub webhook_secret: Option<String>,
    /// How the charge worker retries; fixed in code (tests shorten it).
    pub charge_retries: ChargeRetries,
}

/// How patiently the charge worker retries a provider that does not
/// answer: `max_attempts` deliveries with delays doubling from
/// `first_retry_delay`, and a circuit breaker that opens after
/// `breaker_failure_threshold` consecutive failures for about
/// `breaker_open_for`. While it is open no delivery is spent: charges wait
/// in the stream, and each open period costs one probe delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeRetries {
    pub max_attempts: i64,
    pub first_retry_delay: Duration,
    pub breaker_failure_threshold: u32,
    pub breaker_open_for: Duration,
}

impl Default for ChargeRetries {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            first_retry_delay: Duration::from_millis(500),
            breaker_failure_threshold: 3,
            breaker_open_for: Duration::from_secs(10),
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct PaymentProviderConfig {
    pub url: String,
    pub secret_key: String,
}

/// The key stays out of logs and panics.
impl std::fmt::Debug for PaymentProviderConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PaymentProviderConfig")
            .field("url", &self.url)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl SubgraphConfig {
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
        let reader = VariableReader { lookup: &lookup };
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
        let payment = read_payment_config(&reader)?;
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
                crate::graphql::DEFAULT_DOCUMENT_CACHE_ENTRIES,
                0,
                65_536,
            )?,
            tokens,
            router_secret,
            payment,
        })
    }
}

/// The default auth address (the port table in the README), used outside
/// Router secrets written in this repository (the development profile's
/// default, docker-compose's old default, the example Secret, the tests').
/// Anyone can read them, so production refuses them; a test keeps this list
/// in step with the files.
pub const PUBLISHED_ROUTER_SECRETS: &[&str] = &[
    "talentgraph-development-router-secret",
    "compose-router-secret-change-me",
    "replace-with-at-least-16-random-characters",
    "replace-with-the-output-of-openssl-rand-hex-32",
    "e2e-router-secret-0123456789",
    "test-router-secret-0123456789",
];

/// The router secret is what lets a request's entity representations be
/// trusted, so production wants one nobody else knows: not one written in
/// this repository, at least 32 characters, and not a short pattern
/// repeated (at least 12 distinct characters; `openssl rand -hex 32` gives
/// 64 characters of 16). Development only needs 16 characters.
fn check_router_secret(secret: &str, is_production: bool) -> Result<(), ConfigError> {
    let invalid = |expected: &str| ConfigError::Invalid {
        variable: Variable::RouterSharedSecret.name(),
        value: "(hidden)".to_owned(),
        expected: expected.to_owned(),
    };
    if secret.len() < 16 {
        return Err(invalid("at least 16 characters"));
    }
    if !is_production {
        return Ok(());
    }
    if PUBLISHED_ROUTER_SECRETS.contains(&secret) {
        return Err(invalid(
            "a secret of your own: this one is written in the repository; generate one with `openssl rand -hex 32`",
        ));
    }
    let distinct: std::collections::BTreeSet<char> = secret.chars().collect();
    if secret.len() < 32 || distinct.len() < 12 {
        return Err(invalid(
            "at least 32 random characters in production (at least 12 distinct); generate one with `openssl rand -hex 32`",
        ));
    }
    Ok(())
}

/// production only.
const DEVELOPMENT_JWKS_URL: &str = "http://127.0.0.1:4002/.well-known/jwks.json";

/// Verified tokens a verifier remembers per generation by default: at
/// about 1 KiB per token with its claims, two generations stay under
/// 10 MiB.
pub const DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES: usize = 4096;

fn read_token_config(
    reader: &VariableReader<'_>,
    is_production: bool,
) -> Result<TokenConfig, ConfigError> {
    let jwks_url = match reader.raw(Variable::AuthJwksUrl) {
        Some(url) => url,
        None if is_production => {
            return Err(ConfigError::Missing {
                variable: Variable::AuthJwksUrl.name(),
                hint: "the auth subgraph's key set, such as http://auth:4002/.well-known/jwks.json",
            });
        }
        None => DEVELOPMENT_JWKS_URL.to_owned(),
    };
    if !jwks_url.starts_with("http://") {
        return Err(ConfigError::Invalid {
            variable: Variable::AuthJwksUrl.name(),
            value: jwks_url,
            expected: "an http:// URL inside the deployment (TLS is the mesh's job)".to_owned(),
        });
    }
    const DAY: u64 = 24 * 60 * 60;
    Ok(TokenConfig {
        issuer: reader
            .raw(Variable::AuthIssuer)
            .unwrap_or_else(|| "https://auth.talentgraph.dev".to_owned()),
        audience: reader
            .raw(Variable::AuthAudience)
            .unwrap_or_else(|| "talentgraph".to_owned()),
        jwks_url,
        verified_token_cache_entries: reader.ranged(
            Variable::AuthVerifiedTokenCacheEntries,
            DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES,
            0,
            1_000_000,
        )?,
        access_token_lifetime: reader.duration(
            Variable::AuthAccessTokenTtlSeconds,
            Duration::from_secs,
            900,
            10,
            86_400,
        )?,
        refresh_token_lifetime: Duration::from_secs(
            reader.ranged(Variable::AuthRefreshTokenTtlDays, 30, 1, 365)? * DAY,
        ),
        key_rotation_interval: Duration::from_secs(
            reader.ranged(Variable::AuthKeyRotationDays, 30, 1, 365)? * DAY,
        ),
        key_publication_delay: reader.duration(
            Variable::AuthKeyPublicationDelaySeconds,
            Duration::from_secs,
            if is_production { 600 } else { 0 },
            0,
            DAY,
        )?,
        sign_in_failures_per_account: reader.ranged(
            Variable::AuthSignInMaxFailuresPerAccount,
            5,
            1,
            1_000,
        )?,
        sign_in_failures_per_address: reader.ranged(
            Variable::AuthSignInMaxFailuresPerAddress,
            50,
            1,
            100_000,
        )?,
        sign_in_window: reader.duration(
            Variable::AuthSignInWindowSeconds,
            Duration::from_secs,
            900,
            1,
            DAY,
        )?,
    })
}

fn read_payment_config(reader: &VariableReader<'_>) -> Result<PaymentConfig, ConfigError> {
    let provider = match (
        reader.raw(Variable::PaymentProviderUrl),
        reader.raw(Variable::PaymentProviderSecretKey),
    ) {
        (None, None) => None,
        (Some(url), Some(secret_key)) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Invalid {
                    variable: Variable::PaymentProviderUrl.name(),
                    value: url,
                    expected: "an http:// or https:// URL".to_owned(),
                });
            }
            Some(PaymentProviderConfig { url, secret_key })
        }
        (Some(_), None) => {
            return Err(ConfigError::Missing {
                variable: Variable::PaymentProviderSecretKey.name(),
                hint: "the provider's secret key (sk_…), needed with PAYMENT_PROVIDER_URL",
            });
        }
        (None, Some(_)) => {
            return Err(ConfigError::Missing {
                variable: Variable::PaymentProviderUrl.name(),
                hint: "the provider's API URL, needed with PAYMENT_PROVIDER_SECRET_KEY",
            });
        }
    };
    Ok(PaymentConfig {
        provider,
        provider_timeout: reader.duration(
            Variable::PaymentProviderTimeoutSeconds,
            Duration::from_secs,
            10,
            1,
            60,
        )?,
        webhook_secret: reader.raw(Variable::PaymentWebhookSecret),
        charge_retries: ChargeRetries::default(),
    })
}

/// `ASYNC_WORKER_THREADS` read on its own, for a process that must build
/// its async runtime before it reads a subgraph's whole configuration (the
/// dev stack, which runs all six subgraphs on one runtime).
pub fn async_worker_threads_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<usize>, ConfigError> {
    read_async_worker_threads(&VariableReader { lookup: &lookup })
}

fn read_async_worker_threads(reader: &VariableReader<'_>) -> Result<Option<usize>, ConfigError> {
    match reader.raw(Variable::AsyncWorkerThreads) {
        None => Ok(None),
        Some(_) => reader
            .ranged(Variable::AsyncWorkerThreads, 1, 1, 1_024)
            .map(Some),
    }
}

struct VariableReader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl VariableReader<'_> {
    /// The trimmed value, with an empty value treated as unset: an empty
    /// `FOO=` in a compose file or shell almost always means "use the default".
    fn raw(&self, variable: Variable) -> Option<String> {
        (self.lookup)(variable.name())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn parsed<T: FromStr>(
        &self,
        variable: Variable,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.raw(variable) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                variable: variable.name(),
                value,
                expected: expected.to_owned(),
            }),
        }
    }

    /// A duration given in whole units (`Duration::from_secs`,
    /// `Duration::from_millis`), within `minimum..=maximum` of them.
    fn duration(
        &self,
        variable: Variable,
        from_units: fn(u64) -> Duration,
        default: u64,
        minimum: u64,
        maximum: u64,
    ) -> Result<Duration, ConfigError> {
        Ok(from_units(
            self.ranged(variable, default, minimum, maximum)?,
        ))
    }

    fn ranged<T>(
        &self,
        variable: Variable,
        default: T,
        minimum: T,
        maximum: T,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let expected = format!("a whole number from {minimum} to {maximum}");
        let value = self.parsed(variable, default, &expected)?;
        if value < minimum || value > maximum {
            return Err(ConfigError::Invalid {
                variable: variable.name(),
                value: value.to_string(),
                expected,
            });
        }
        Ok(value)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The README's configuration table is the one [`Variable::ALL`]
    /// renders: every variable the code reads is documented, with its
    /// default, and nothing documented is unread.
    #[test]
    fn the_readme_documents_every_variable() {
        crate::testing::assert_readme_table(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
            "| variable | default | meaning |",
            &Variable::markdown_table(),
        );
    }

    /// No two variables share a name.
    #[test]
    fn variable_names_are_distinct() {
        let mut names: Vec<&str> = Variable::ALL
            .iter()
            .map(|variable| variable.name())
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Variable::ALL.len());
    }

    fn config_from(pairs: &[(&str, &str)]) -> Result<SubgraphConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        SubgraphConfig::from_lookup(4001, |name| map.get(name).cloned())
    }

    /// The configuration of a subgraph given its database and `variable`.
    fn config_with(variable: &str, value: &str) -> Result<SubgraphConfig, ConfigError> {
        config_from(&[
            ("DATABASE_URL", "postgres://localhost/core"),
            (variable, value),
        ])
    }

    /// The start-up error for `variable` set to `value`, which must be
    /// refused.
    fn refusal_of(variable: &str, value: &str) -> String {
        config_with(variable, value).expect_err(value).to_string()
    }

    /// A minimal environment yields the documented defaults.
    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let config = config_from(&[("DATABASE_URL", "postgres://localhost/core")])
            .expect("valid configuration");
        assert_eq!(config.listen_address.port(), 4001);
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.limits, LimitsConfig::default());
        assert!(config.introspection_enabled);
    }

    /// `ASYNC_WORKER_THREADS` is read as a whole number of threads, left to
    /// tokio when unset, and refused at start-up when it is not a count the
    /// runtime can be built with; the dev stack reads it through the same
    /// function before any subgraph's configuration.
    #[test]
    fn async_worker_threads_are_a_positive_count_or_tokios_default() {
        let unset = config_from(&[("DATABASE_URL", "postgres://localhost/core")])
            .expect("valid configuration");
        assert_eq!(unset.async_worker_threads, None);
        let one = config_with("ASYNC_WORKER_THREADS", "1").expect("one thread");
        assert_eq!(one.async_worker_threads, Some(1));
        for refused in ["0", "1025", "two", "-1"] {
            let message = refusal_of("ASYNC_WORKER_THREADS", refused);
            assert!(
                message.contains("ASYNC_WORKER_THREADS") && message.contains("1 to 1024"),
                "{refused}: {message}"
            );
        }
        let lookup = |value: &'static str| {
            move |name: &str| (name == "ASYNC_WORKER_THREADS").then(|| value.to_owned())
        };
        assert_eq!(async_worker_threads_from_lookup(lookup("4")), Ok(Some(4)));
        assert_eq!(async_worker_threads_from_lookup(lookup(" ")), Ok(None));
        assert!(async_worker_threads_from_lookup(lookup("0")).is_err());
    }

    /// A missing DATABASE_URL names the variable.
    #[test]
    fn missing_database_url_names_the_variable() {
        let error = config_from(&[]).expect_err("must fail");
        assert!(error.to_string().contains("DATABASE_URL"), "{error}");
    }

    /// Malformed numbers and out-of-range values name the variable and the range.
    #[test]
    fn malformed_values_name_the_variable_and_expectation() {
        let message = refusal_of("GRAPHQL_MAX_PAGE_SIZE", "500");
        assert!(message.contains("GRAPHQL_MAX_PAGE_SIZE"), "{message}");
        assert!(message.contains("from 1 to 100"), "{message}");

        assert!(refusal_of("LISTEN_ADDR", "not-an-address").contains("LISTEN_ADDR"));

        let error =
            config_from(&[("DATABASE_URL", "mysql://user:secret@db/x")]).expect_err("must fail");
        assert!(
            !error.to_string().contains("secret"),
            "password leaked: {error}"
        );
    }

    /// The planner's page cost is a decimal PostgreSQL accepts; zero, a
    /// negative or a word is refused at start-up with the expected form.
    #[test]
    fn random_page_cost_takes_a_positive_decimal() {
        let config = config_from(&[("DATABASE_URL", "postgres://localhost/core")])
            .expect("valid configuration");
        assert_eq!(
            config.database_pool.random_page_cost,
            RandomPageCost::MEMORY_RESIDENT
        );
        let config = config_with("DATABASE_RANDOM_PAGE_COST", "4").expect("valid configuration");
        assert_eq!(config.database_pool.random_page_cost.get(), 4.0);
        for refused in ["0", "-1", "cheap", "NaN", "inf", "1001"] {
            let message = refusal_of("DATABASE_RANDOM_PAGE_COST", refused);
            assert!(message.contains("DATABASE_RANDOM_PAGE_COST"), "{message}");
            assert!(message.contains("above 0"), "{message}");
        }
    }

    /// The plan cache mode is one of PostgreSQL's three words, generic plans
    /// unless told otherwise; anything else is refused at start-up.
    #[test]
    fn plan_cache_mode_takes_postgresql_words() {
        let config = config_from(&[("DATABASE_URL", "postgres://localhost/core")])
            .expect("valid configuration");
        assert_eq!(
            config.database_pool.plan_cache_mode,
            PlanCacheMode::ForceGenericPlan
        );
        let config = config_with("DATABASE_PLAN_CACHE_MODE", "auto").expect("valid configuration");
        assert_eq!(config.database_pool.plan_cache_mode, PlanCacheMode::Auto);
        for refused in ["generic", "AUTO", "force_generic_plan;"] {
            let message = refusal_of("DATABASE_PLAN_CACHE_MODE", refused);
            assert!(message.contains("DATABASE_PLAN_CACHE_MODE"), "{message}");
            assert!(message.contains("force_generic_plan"), "{message}");
        }
    }

    /// Database names are swapped without touching credentials or options.
    #[test]
    fn replaces_the_database_name_in_urls() {
        assert_eq!(
            database_url_with_name("postgres://u:p@h:5/admin?sslmode=disable", "x"),
            "postgres://u:p@h:5/x?sslmode=disable"
        );
        assert_eq!(
            database_url_with_name("postgres://h", "x"),
            "postgres://h/x"
        );
    }

    /// The production profile switches to JSON logs and turns introspection off.
    #[test]
    fn production_profile_changes_defaults() {
        let config = config_from(&[
            ("DATABASE_URL", "postgres://localhost/core"),
            ("TALENTGRAPH_ENV", "production"),
            ("AUTH_JWKS_URL", "http://auth:4002/.well-known/jwks.json"),
            (
                "ROUTER_SHARED_SECRET",
                "5d0c7e9a1b3f4a2e8c6d0b9f7a1e3c5d2b4f6a8c0e9d7b5a",
            ),
            ("NATS_URL", "nats://nats:4222"),
        ])
        .expect("valid configuration");
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(!config.introspection_enabled);
        assert_eq!(
            config.tokens.key_publication_delay,
            Duration::from_secs(600)
        );
    }

    /// Production refuses the router secrets written in this repository
    /// and short or repetitive ones; development takes any 16 characters.
    #[test]
    fn production_refuses_published_and_weak_router_secrets() {
        let production = |secret: &str| {
            config_from(&[
                ("TALENTGRAPH_ENV", "production"),
                ("DATABASE_URL", "postgres://localhost/core"),
                ("AUTH_JWKS_URL", "http://auth:4002/.well-known/jwks.json"),
                ("ROUTER_SHARED_SECRET", secret),
                ("NATS_URL", "nats://nats:4222"),
            ])
        };
        for published in PUBLISHED_ROUTER_SECRETS {
            let error = production(published).expect_err("a published secret");
            assert!(
                error.to_string().contains("written in the repository"),
                "{error}"
            );
            assert!(
                !error.to_string().contains(published),
                "the secret is not echoed"
            );
        }
        assert!(
            production(&"ab".repeat(20)).is_err(),
            "too few distinct characters"
        );
        assert!(production("0123456789abcdefghij").is_err(), "too short");
        assert!(
            production("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08").is_ok()
        );
        let development = config_from(&[
            ("DATABASE_URL", "postgres://localhost/core"),
            (
                "ROUTER_SHARED_SECRET",
                "talentgraph-development-router-secret",
            ),
        ]);
        assert!(development.is_ok());
    }

    /// Every router secret written in the repository's deployment and
    /// router files is in PUBLISHED_ROUTER_SECRETS.
    #[test]
    fn published_router_secrets_cover_the_repository_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut found = Vec::new();
        for file in [
            "docker-compose.yml",
            "deploy/k8s/secrets.example.yaml",
            "router/router.dev.yaml",
            "tests/src/lib.rs",
            "subgraphs/kit/src/testing/app.rs",
        ] {
            let text = std::fs::read_to_string(root.join(file)).expect("reads the file");
            for line in text.lines() {
                // `ROUTER_SHARED_SECRET: value`, `${ROUTER_SHARED_SECRET:-value}`
                // and `SECRET: &str = "value"`.
                let value = if let Some((_, rest)) = line.split_once("ROUTER_SHARED_SECRET:-") {
                    rest.split('}').next()
                } else if let Some((_, rest)) = line.split_once("ROUTER_SHARED_SECRET: ") {
                    Some(rest.trim())
                } else if line.contains("ROUTER_SECRET: &str = ") {
                    line.split('"').nth(1)
                } else {
                    None
                };
                if let Some(value) = value.filter(|value| !value.starts_with('*')) {
                    found.push(value.trim_matches('"').to_owned());
                }
            }
        }
        assert!(found.len() >= 3, "the scan finds the secrets: {found:?}");
        for secret in &found {
            assert!(
                PUBLISHED_ROUTER_SECRETS.contains(&secret.as_str()),
                "{secret:?} is written in the repository but production would accept it"
            );
        }
    }

    /// Production refuses to start without the key set's address or the
    /// router secret, and a short secret is refused without being echoed.
    #[test]
    fn production_requires_token_verification_settings() {
        let base = [
            ("DATABASE_URL", "postgres://localhost/core"),
            ("TALENTGRAPH_ENV", "production"),
        ];
        let error = config_from(&base).expect_err("must fail");
        assert!(error.to_string().contains("AUTH_JWKS_URL"), "{error}");
        let mut with_jwks = base.to_vec();
        with_jwks.push(("AUTH_JWKS_URL", "http://auth:4002/.well-known/jwks.json"));
        let error = config_from(&with_jwks).expect_err("must fail");
        assert!(
            error.to_string().contains("ROUTER_SHARED_SECRET"),
            "{error}"
        );
        with_jwks.push(("ROUTER_SHARED_SECRET", "short"));
        let error = config_from(&with_jwks).expect_err("must fail");
        assert!(!error.to_string().contains("short"), "{error}");
    }
}
