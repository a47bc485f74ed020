//! The payment provider and webhook settings.

use std::time::Duration;

use super::reader::VariableReader;
use super::{ConfigError, Variable};

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

pub(super) fn read_payment_config(
    reader: &VariableReader<'_>,
) -> Result<PaymentConfig, ConfigError> {
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
