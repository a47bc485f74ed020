//! Payment's own settings: the provider it charges through, how it checks
//! the provider's webhooks, and how patiently it retries.

use std::time::Duration;

use talentgraph_kit::SubgraphConfig;
use talentgraph_kit::config::{
    ConfigError, DomainSettings, DomainSettingsSpec, Environment, VariableDoc, VariableReader,
};

pub const PROVIDER_URL: VariableDoc = VariableDoc {
    name: "PAYMENT_PROVIDER_URL",
    default: "(unset: purchases stay `PENDING`, logged as an error in production)",
    meaning: "the Stripe-compatible API charges go to, such as `https://api.stripe.com` (`https://` in production); the dev stack sets its local provider (payment only)",
};

pub const PROVIDER_SECRET_KEY: VariableDoc = VariableDoc {
    name: "PAYMENT_PROVIDER_SECRET_KEY",
    default: "(unset; required with `PAYMENT_PROVIDER_URL`)",
    meaning: "the provider's secret API key, `sk_…` (payment only)",
};

pub const PROVIDER_TIMEOUT_SECONDS: VariableDoc = VariableDoc {
    name: "PAYMENT_PROVIDER_TIMEOUT_SECONDS",
    default: "10",
    meaning: "how long one provider request may take before it counts as failed, shorter than the charge worker's acknowledgement wait (payment only)",
};

pub const WEBHOOK_SECRET: VariableDoc = VariableDoc {
    name: "PAYMENT_WEBHOOK_SECRET",
    default: "(unset: webhooks answered 503)",
    meaning: "the secret the provider signs webhooks with, `whsec_…`; in production at least 24 characters and none written in this repository (payment only)",
};

/// How payment's settings are read, for its descriptor.
pub const PAYMENT_SETTINGS: DomainSettingsSpec = DomainSettingsSpec {
    variables: &[
        PROVIDER_URL,
        PROVIDER_SECRET_KEY,
        PROVIDER_TIMEOUT_SECONDS,
        WEBHOOK_SECRET,
    ],
    read: |reader, environment| {
        Ok(DomainSettings::of(PaymentSettings::read(
            reader,
            environment,
        )?))
    },
};

/// Webhook secrets written in this repository (the dev stack's, the
/// tests', the drill's, the example Secret's placeholder; the compose
/// smoke makes a random one). Anyone can read them, and with one anyone
/// can sign an event, so production refuses them as it refuses the
/// published router secrets; a test keeps this list in step with the
/// files.
pub const PUBLISHED_WEBHOOK_SECRETS: &[&str] = &[
    "whsec_talentgraph_devstack",
    "whsec_talentgraph_tests",
    "whsec_talentgraph_drill",
    "whsec_test",
    "whsec_other",
    "whsec_wrong",
    "replace-with-the-stripe-webhook-signing-secret",
];

/// Production wants a webhook secret nobody else knows: none written in
/// this repository, and at least 24 characters (Stripe's are `whsec_`
/// and 32 more). Development takes any.
fn check_webhook_secret(secret: &str, environment: Environment) -> Result<(), ConfigError> {
    if environment != Environment::Production {
        return Ok(());
    }
    let invalid = |expected: &str| ConfigError::Invalid {
        variable: WEBHOOK_SECRET.name,
        value: "(hidden)".to_owned(),
        expected: expected.to_owned(),
    };
    if PUBLISHED_WEBHOOK_SECRETS.contains(&secret) {
        return Err(invalid(
            "the provider's signing secret for this endpoint: this one is written in the repository",
        ));
    }
    if secret.chars().count() < 24 {
        return Err(invalid(
            "the provider's signing secret for this endpoint (at least 24 characters in production)",
        ));
    }
    Ok(())
}

/// Where the payment subgraph charges and how it checks webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    /// `PAYMENT_PROVIDER_URL` and `PAYMENT_PROVIDER_SECRET_KEY`, set
    /// together or not at all.
    pub provider: Option<ProviderAccount>,
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

/// The provider's API and the key payment uses it with.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderAccount {
    pub url: String,
    pub secret_key: String,
}

/// The key stays out of logs and panics.
impl std::fmt::Debug for ProviderAccount {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ProviderAccount")
            .field("url", &self.url)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// The provider's API URL: `https://` in production, since the requests
/// carry the secret key and card payments; `http://` only for a local
/// provider in development and tests.
fn check_provider_url(url: &str, environment: Environment) -> Result<(), ConfigError> {
    let expected = match environment {
        Environment::Production if !url.starts_with("https://") => {
            "an https:// URL in production (requests carry the secret key)"
        }
        _ if !(url.starts_with("https://") || url.starts_with("http://")) => {
            "an http:// or https:// URL"
        }
        _ => return Ok(()),
    };
    Err(ConfigError::Invalid {
        variable: PROVIDER_URL.name,
        value: url.to_owned(),
        expected: expected.to_owned(),
    })
}

impl PaymentSettings {
    fn read(reader: &VariableReader<'_>, environment: Environment) -> Result<Self, ConfigError> {
        let provider = match (reader.raw(&PROVIDER_URL), reader.raw(&PROVIDER_SECRET_KEY)) {
            (None, None) => None,
            (Some(url), Some(secret_key)) => {
                check_provider_url(&url, environment)?;
                Some(ProviderAccount { url, secret_key })
            }
            (Some(_), None) => {
                return Err(ConfigError::Missing {
                    variable: PROVIDER_SECRET_KEY.name,
                    hint: "the provider's secret key (sk_…), needed with PAYMENT_PROVIDER_URL",
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Missing {
                    variable: PROVIDER_URL.name,
                    hint: "the provider's API URL, needed with PAYMENT_PROVIDER_SECRET_KEY",
                });
            }
        };
        Ok(Self {
            provider,
            provider_timeout: reader.duration(
                &PROVIDER_TIMEOUT_SECONDS,
                Duration::from_secs,
                10,
                1,
                60,
            )?,
            webhook_secret: match reader.raw(&WEBHOOK_SECRET) {
                Some(secret) => {
                    check_webhook_secret(&secret, environment)?;
                    Some(secret)
                }
                None => None,
            },
            charge_retries: ChargeRetries::default(),
        })
    }

    /// The settings `config` carries, or the defaults (no provider, no
    /// webhook secret) when it was made without them (a test's
    /// configuration).
    pub fn of(config: &SubgraphConfig) -> Self {
        config.domain.get::<Self>().cloned().unwrap_or_else(|| {
            Self::read(&VariableReader::new(&|_| None), Environment::Development)
                .expect("the defaults are within their ranges")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<PaymentSettings, ConfigError> {
        read_in(pairs, Environment::Development)
    }

    fn read_in(
        pairs: &[(&str, &str)],
        environment: Environment,
    ) -> Result<PaymentSettings, ConfigError> {
        let lookup = |name: &str| {
            pairs
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
        };
        PaymentSettings::read(&VariableReader::new(&lookup), environment)
    }

    /// Production sends the secret key and card payments only over TLS;
    /// development also takes a local `http://` provider.
    #[test]
    fn production_refuses_a_plain_http_provider() {
        let pairs = [
            ("PAYMENT_PROVIDER_URL", "http://stripe.internal:8420"),
            ("PAYMENT_PROVIDER_SECRET_KEY", "sk_test_12345"),
        ];
        let error = read_in(&pairs, Environment::Production).expect_err("http in production");
        assert!(error.to_string().contains("https://"), "{error}");
        assert!(read_in(&pairs, Environment::Development).is_ok());
        let https = [
            ("PAYMENT_PROVIDER_URL", "https://api.stripe.com"),
            ("PAYMENT_PROVIDER_SECRET_KEY", "sk_test_12345"),
        ];
        assert!(read_in(&https, Environment::Production).is_ok());
    }

    /// Production refuses a webhook secret written in the repository, or
    /// a short one, without echoing it; development takes any.
    #[test]
    fn production_refuses_published_and_short_webhook_secrets() {
        let production = |secret: &str| {
            read_in(
                &[("PAYMENT_WEBHOOK_SECRET", secret)],
                Environment::Production,
            )
        };
        for published in PUBLISHED_WEBHOOK_SECRETS {
            let error = production(published).expect_err("a published secret");
            assert!(
                error.to_string().contains("PAYMENT_WEBHOOK_SECRET")
                    && !error.to_string().contains(published),
                "{error}"
            );
        }
        assert!(production("whsec_short").is_err());
        assert!(production("whsec_5Xk2qV9mT4rW8yB1nC6dF3hJ7pL0sA").is_ok());
        assert!(read(&[("PAYMENT_WEBHOOK_SECRET", "whsec_talentgraph_devstack")]).is_ok());
    }

    /// Every webhook secret written in the repository's Rust, compose and
    /// Kubernetes files is in PUBLISHED_WEBHOOK_SECRETS: any `whsec_…`
    /// literal, and any value given to `PAYMENT_WEBHOOK_SECRET`.
    #[test]
    fn published_webhook_secrets_cover_the_repository_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let listed = std::process::Command::new("git")
            .args(["ls-files", "*.rs", "*.yml", "*.yaml", "*.sh", "*.env*"])
            .current_dir(&root)
            .output()
            .expect("git lists the repository's files");
        let mut found = std::collections::BTreeSet::new();
        for file in String::from_utf8_lossy(&listed.stdout).lines() {
            // This file: the list itself and its tests' examples.
            if file.ends_with("payment/src/settings.rs") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(root.join(file)) else {
                continue;
            };
            for (index, _) in text.match_indices("whsec_") {
                let literal: String = text[index..]
                    .chars()
                    .take_while(|character| character.is_ascii_alphanumeric() || *character == '_')
                    .collect();
                // The variable's own documentation (`whsec_…`).
                if literal.len() > "whsec_".len() {
                    found.insert(literal);
                }
            }
            for line in text.lines() {
                if let Some((_, value)) = line.split_once("PAYMENT_WEBHOOK_SECRET: ") {
                    let value = value.trim().trim_matches('"');
                    if !value.starts_with("${") && !value.is_empty() {
                        found.insert(value.to_owned());
                    }
                }
            }
        }
        assert!(found.len() >= 5, "the scan finds the secrets: {found:?}");
        for secret in &found {
            assert!(
                PUBLISHED_WEBHOOK_SECRETS.contains(&secret.as_str()),
                "{secret:?} is written in the repository but production would accept it"
            );
        }
    }

    /// The provider's URL and key come together or not at all, and the
    /// URL must be one.
    #[test]
    fn the_provider_needs_its_url_and_key_together() {
        assert_eq!(read(&[]).expect("no provider is valid").provider, None);
        assert!(
            read(&[("PAYMENT_PROVIDER_URL", "https://api.stripe.com")])
                .expect_err("a URL without a key")
                .to_string()
                .contains("PAYMENT_PROVIDER_SECRET_KEY")
        );
        assert!(
            read(&[("PAYMENT_PROVIDER_SECRET_KEY", "sk_test")])
                .expect_err("a key without a URL")
                .to_string()
                .contains("PAYMENT_PROVIDER_URL")
        );
        assert!(
            read(&[
                ("PAYMENT_PROVIDER_URL", "api.stripe.com"),
                ("PAYMENT_PROVIDER_SECRET_KEY", "sk_test")
            ])
            .is_err()
        );
        let settings = read(&[
            ("PAYMENT_PROVIDER_URL", "https://api.stripe.com"),
            ("PAYMENT_PROVIDER_SECRET_KEY", "sk_test_secret"),
        ])
        .expect("both given");
        assert!(!format!("{settings:?}").contains("sk_test_secret"));
    }
}
