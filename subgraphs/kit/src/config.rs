//! Typed configuration, read once at start-up from environment variables.
//!
//! Every variable has a documented default except `DATABASE_URL`. A missing
//! required variable or a malformed value stops start-up with a message that
//! names the variable, what was found and what was expected, instead of
//! surfacing later as a confusing runtime failure.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

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
    pub database_url: String,
    pub database_max_connections: u32,
    pub database_acquire_timeout: Duration,
    pub log_format: LogFormat,
    pub limits: LimitsConfig,
    pub max_request_body_bytes: usize,
    pub introspection_enabled: bool,
    pub shutdown_grace_period: Duration,
    /// How long a DataLoader gathers keys before it queries. Longer windows
    /// batch more reliably on a loaded machine and add that much latency
    /// per batch level.
    pub dataloader_delay: Duration,
    pub tokens: TokenConfig,
    /// The value the router sends in `x-talentgraph-router`. Requests that
    /// carry it came through the router, so the data the router puts into
    /// entity representations (`@requires` fields) can be trusted and the
    /// `X-Forwarded-For` address it passes on names the client.
    pub router_secret: Option<String>,
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
        let environment = match reader.raw("TALENTGRAPH_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "TALENTGRAPH_ENV",
                    value: other.to_owned(),
                    expected: "`development` or `production`".to_owned(),
                });
            }
        };
        let is_production = environment == Environment::Production;
        let log_format = match reader.raw("LOG_FORMAT").as_deref() {
            None if is_production => LogFormat::Json,
            None => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    variable: "LOG_FORMAT",
                    value: other.to_owned(),
                    expected: "`json` or `pretty`".to_owned(),
                });
            }
        };
        let database_url = reader.raw("DATABASE_URL").ok_or(ConfigError::Missing {
            variable: "DATABASE_URL",
            hint: "a PostgreSQL URL such as postgres://user@localhost:5432/talentgraph_core",
        })?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid {
                variable: "DATABASE_URL",
                value: redact_url_password(&database_url),
                expected: "a URL starting with postgres:// or postgresql://".to_owned(),
            });
        }
        let tokens = read_token_config(&reader, is_production)?;
        let router_secret = reader.raw("ROUTER_SHARED_SECRET");
        match &router_secret {
            None if is_production => {
                return Err(ConfigError::Missing {
                    variable: "ROUTER_SHARED_SECRET",
                    hint: "the secret the router sends in x-talentgraph-router; required in production",
                });
            }
            Some(secret) if secret.len() < 16 => {
                return Err(ConfigError::Invalid {
                    variable: "ROUTER_SHARED_SECRET",
                    value: "(hidden)".to_owned(),
                    expected: "at least 16 characters".to_owned(),
                });
            }
            _ => {}
        }
        let defaults = LimitsConfig::default();
        let limits = LimitsConfig {
            max_depth: reader.ranged("GRAPHQL_MAX_DEPTH", defaults.max_depth, 1, 64)?,
            max_complexity: reader.ranged(
                "GRAPHQL_MAX_COMPLEXITY",
                defaults.max_complexity,
                1,
                10_000_000,
            )?,
            max_recursive_depth: reader.ranged(
                "GRAPHQL_MAX_RECURSIVE_DEPTH",
                defaults.max_recursive_depth,
                1,
                128,
            )?,
            max_directives_per_field: reader.ranged(
                "GRAPHQL_MAX_DIRECTIVES_PER_FIELD",
                defaults.max_directives_per_field,
                0,
                64,
            )?,
            max_aliases: reader.ranged("GRAPHQL_MAX_ALIASES", defaults.max_aliases, 0, 10_000)?,
            max_root_fields: reader.ranged(
                "GRAPHQL_MAX_ROOT_FIELDS",
                defaults.max_root_fields,
                1,
                1_000,
            )?,
            max_page_size: reader.ranged(
                "GRAPHQL_MAX_PAGE_SIZE",
                defaults.max_page_size,
                1,
                crate::pagination::HARD_MAX_PAGE_SIZE,
            )?,
        };
        Ok(Self {
            environment,
            listen_address: reader.parsed(
                "LISTEN_ADDR",
                SocketAddr::from(([127, 0, 0, 1], default_port)),
                "a socket address such as 127.0.0.1:4001",
            )?,
            database_url,
            database_max_connections: reader.ranged("DATABASE_MAX_CONNECTIONS", 10, 1, 1_000)?,
            database_acquire_timeout: Duration::from_secs(reader.ranged(
                "DATABASE_ACQUIRE_TIMEOUT_SECONDS",
                5,
                1,
                300,
            )?),
            log_format,
            limits,
            max_request_body_bytes: reader.ranged(
                "HTTP_MAX_BODY_BYTES",
                256 * 1024,
                1_024,
                64 * 1024 * 1024,
            )?,
            introspection_enabled: reader.parsed(
                "GRAPHQL_INTROSPECTION",
                !is_production,
                "`true` or `false`",
            )?,
            shutdown_grace_period: Duration::from_secs(reader.ranged(
                "SHUTDOWN_GRACE_SECONDS",
                30,
                0,
                3_600,
            )?),
            dataloader_delay: Duration::from_millis(reader.ranged(
                "DATALOADER_DELAY_MS",
                2,
                0,
                100,
            )?),
            tokens,
            router_secret,
        })
    }
}

/// The default auth address (the port table in the README), used outside
/// production only.
const DEVELOPMENT_JWKS_URL: &str = "http://127.0.0.1:4002/.well-known/jwks.json";

fn read_token_config(
    reader: &VariableReader<'_>,
    is_production: bool,
) -> Result<TokenConfig, ConfigError> {
    let jwks_url = match reader.raw("AUTH_JWKS_URL") {
        Some(url) => url,
        None if is_production => {
            return Err(ConfigError::Missing {
                variable: "AUTH_JWKS_URL",
                hint: "the auth subgraph's key set, such as http://auth:4002/.well-known/jwks.json",
            });
        }
        None => DEVELOPMENT_JWKS_URL.to_owned(),
    };
    if !jwks_url.starts_with("http://") {
        return Err(ConfigError::Invalid {
            variable: "AUTH_JWKS_URL",
            value: jwks_url,
            expected: "an http:// URL inside the deployment (TLS is the mesh's job)".to_owned(),
        });
    }
    let seconds = |value: u64| Duration::from_secs(value);
    const DAY: u64 = 24 * 60 * 60;
    Ok(TokenConfig {
        issuer: reader
            .raw("AUTH_ISSUER")
            .unwrap_or_else(|| "https://auth.talentgraph.dev".to_owned()),
        audience: reader
            .raw("AUTH_AUDIENCE")
            .unwrap_or_else(|| "talentgraph".to_owned()),
        jwks_url,
        access_token_lifetime: seconds(reader.ranged(
            "AUTH_ACCESS_TOKEN_TTL_SECONDS",
            900,
            10,
            86_400,
        )?),
        refresh_token_lifetime: seconds(
            reader.ranged("AUTH_REFRESH_TOKEN_TTL_DAYS", 30, 1, 365)? * DAY,
        ),
        key_rotation_interval: seconds(reader.ranged("AUTH_KEY_ROTATION_DAYS", 30, 1, 365)? * DAY),
        key_publication_delay: seconds(reader.ranged(
            "AUTH_KEY_PUBLICATION_DELAY_SECONDS",
            if is_production { 600 } else { 0 },
            0,
            DAY,
        )?),
        sign_in_failures_per_account: reader.ranged(
            "AUTH_SIGN_IN_MAX_FAILURES_PER_ACCOUNT",
            5,
            1,
            1_000,
        )?,
        sign_in_failures_per_address: reader.ranged(
            "AUTH_SIGN_IN_MAX_FAILURES_PER_ADDRESS",
            50,
            1,
            100_000,
        )?,
        sign_in_window: seconds(reader.ranged("AUTH_SIGN_IN_WINDOW_SECONDS", 900, 1, DAY)?),
    })
}

struct VariableReader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl VariableReader<'_> {
    /// The trimmed value, with an empty value treated as unset: an empty
    /// `FOO=` in a compose file or shell almost always means "use the default".
    fn raw(&self, variable: &str) -> Option<String> {
        (self.lookup)(variable)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn parsed<T: FromStr>(
        &self,
        variable: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.raw(variable) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                variable,
                value,
                expected: expected.to_owned(),
            }),
        }
    }

    fn ranged<T>(
        &self,
        variable: &'static str,
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
                variable,
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

    fn config_from(pairs: &[(&str, &str)]) -> Result<SubgraphConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        SubgraphConfig::from_lookup(4001, |name| map.get(name).cloned())
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

    /// A missing DATABASE_URL names the variable.
    #[test]
    fn missing_database_url_names_the_variable() {
        let error = config_from(&[]).expect_err("must fail");
        assert!(error.to_string().contains("DATABASE_URL"), "{error}");
    }

    /// Malformed numbers and out-of-range values name the variable and the range.
    #[test]
    fn malformed_values_name_the_variable_and_expectation() {
        let error = config_from(&[
            ("DATABASE_URL", "postgres://localhost/core"),
            ("GRAPHQL_MAX_PAGE_SIZE", "500"),
        ])
        .expect_err("must fail");
        let message = error.to_string();
        assert!(message.contains("GRAPHQL_MAX_PAGE_SIZE"), "{message}");
        assert!(message.contains("from 1 to 100"), "{message}");

        let error = config_from(&[
            ("DATABASE_URL", "postgres://localhost/core"),
            ("LISTEN_ADDR", "not-an-address"),
        ])
        .expect_err("must fail");
        assert!(error.to_string().contains("LISTEN_ADDR"));

        let error =
            config_from(&[("DATABASE_URL", "mysql://user:secret@db/x")]).expect_err("must fail");
        assert!(
            !error.to_string().contains("secret"),
            "password leaked: {error}"
        );
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
            ("ROUTER_SHARED_SECRET", "a-long-enough-router-secret"),
        ])
        .expect("valid configuration");
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(!config.introspection_enabled);
        assert_eq!(
            config.tokens.key_publication_delay,
            Duration::from_secs(600)
        );
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
