//! Every environment variable a subgraph process reads, with its default
//! and meaning as the README's configuration table shows them.

/// Every environment variable a subgraph process reads, declared once.
///
/// The parser below reads variables only through this enum, so a variable
/// cannot be read without being declared here, and the README's
/// configuration table is checked against [`Variable::ALL`] and the
/// subgraphs' domain variables by a test (`talentgraph-subgraphs`): the
/// documentation cannot drift from the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variable {
    TalentgraphEnv,
    DatabaseUrl,
    ListenAddr,
    ListenReusePort,
    AsyncWorkerThreads,
    MetricsListenAddr,
    PublicListenAddr,
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
    ShutdownDrainSeconds,
    ShutdownGraceSeconds,
    OtelExporterOtlpEndpoint,
    NatsUrl,
    NatsStreamReplicas,
    RateLimitsEnabled,
    RedisUrl,
    RateLimitRedisTimeoutMs,
    RateLimitMultiplier,
    EntityCacheEnabled,
    EntityCacheRedisTimeoutMs,
    AuthJwksUrl,
    AuthIssuer,
    AuthAudience,
    AuthVerifiedTokenCacheEntries,
    RouterSharedSecret,
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
        Self::PublicListenAddr,
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
        Self::ShutdownDrainSeconds,
        Self::ShutdownGraceSeconds,
        Self::OtelExporterOtlpEndpoint,
        Self::NatsUrl,
        Self::NatsStreamReplicas,
        Self::RateLimitsEnabled,
        Self::RedisUrl,
        Self::RateLimitRedisTimeoutMs,
        Self::RateLimitMultiplier,
        Self::EntityCacheEnabled,
        Self::EntityCacheRedisTimeoutMs,
        Self::AuthJwksUrl,
        Self::AuthIssuer,
        Self::AuthAudience,
        Self::AuthVerifiedTokenCacheEntries,
        Self::RouterSharedSecret,
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
            Self::PublicListenAddr => VariableDoc {
                name: "PUBLIC_LISTEN_ADDR",
                default: "(unset: on `LISTEN_ADDR`)",
                meaning: "a listener of its own for the paths callers other than the router use (payment's `/webhooks/provider`, auth's `/.well-known/jwks.json`); they then leave `LISTEN_ADDR`, so a network rule can open them without opening `/graphql`",
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
            Self::ShutdownDrainSeconds => VariableDoc {
                name: "SHUTDOWN_DRAIN_SECONDS",
                default: "0 (5 in production)",
                meaning: "after SIGTERM/Ctrl-C, how long the process keeps serving with `/ready` answering 503 and `Connection: close` on every answer, so load balancers stop sending it requests before it stops accepting them",
            },
            Self::ShutdownGraceSeconds => VariableDoc {
                name: "SHUTDOWN_GRACE_SECONDS",
                default: "30",
                meaning: "after the drain, how long the process waits for in-flight requests",
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
            Self::RateLimitsEnabled => VariableDoc {
                name: "RATE_LIMITS_ENABLED",
                default: "`true`",
                meaning: "whether every client operation is rate-limited by its class (README, Rate limits)",
            },
            Self::RedisUrl => VariableDoc {
                name: "REDIS_URL",
                default: "(unset: each process keeps its own windows and caches nothing)",
                meaning: "the Redis every replica shares rate-limit windows and the entity cache in, such as `redis://redis:6379`",
            },
            Self::RateLimitRedisTimeoutMs => VariableDoc {
                name: "RATE_LIMIT_REDIS_TIMEOUT_MS",
                default: "10",
                meaning: "how long a rate-limit decision waits for Redis before this process's own window decides",
            },
            Self::RateLimitMultiplier => VariableDoc {
                name: "RATE_LIMIT_MULTIPLIER",
                default: "1 (100 in development)",
                meaning: "every class's limit times this; load tests raise it",
            },
            Self::EntityCacheEnabled => VariableDoc {
                name: "ENTITY_CACHE_ENABLED",
                default: "`true` (a cache only with `REDIS_URL`)",
                meaning: "whether entities read by id are cached in `REDIS_URL`'s Redis and invalidated by the writes that change them (README, Entity cache)",
            },
            Self::EntityCacheRedisTimeoutMs => VariableDoc {
                name: "ENTITY_CACHE_REDIS_TIMEOUT_MS",
                default: "10",
                meaning: "how long a cache lookup waits for Redis before the batch is read from PostgreSQL",
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
        }
    }

    pub const fn name(self) -> &'static str {
        self.doc().name
    }
}

/// A configuration table as the README shows it: one row per variable.
pub fn markdown_table(variables: impl IntoIterator<Item = VariableDoc>) -> String {
    let mut table = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for doc in variables {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            doc.name, doc.default, doc.meaning
        ));
    }
    table
}
