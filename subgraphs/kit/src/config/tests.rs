//! Tests of the configuration reader.

use super::*;
use std::collections::HashMap;

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
    let config =
        config_from(&[("DATABASE_URL", "postgres://localhost/core")]).expect("valid configuration");
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
    let unset =
        config_from(&[("DATABASE_URL", "postgres://localhost/core")]).expect("valid configuration");
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
    let config =
        config_from(&[("DATABASE_URL", "postgres://localhost/core")]).expect("valid configuration");
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
    let config =
        config_from(&[("DATABASE_URL", "postgres://localhost/core")]).expect("valid configuration");
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
    assert!(production("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08").is_ok());
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
