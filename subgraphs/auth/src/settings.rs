//! Auth's own settings: how it issues tokens (their lifetimes, key
//! rotation) and limits sign-ins. Every subgraph verifies tokens with the
//! platform's `TokenConfig`; only auth reads these.

use std::time::Duration;

use talentgraph_kit::SubgraphConfig;
use talentgraph_kit::config::{
    ConfigError, DomainSettings, DomainSettingsSpec, Environment, VariableDoc, VariableReader,
};

pub const ACCESS_TOKEN_TTL_SECONDS: VariableDoc = VariableDoc {
    name: "AUTH_ACCESS_TOKEN_TTL_SECONDS",
    default: "900",
    meaning: "access-token lifetime (auth only)",
};

pub const REFRESH_TOKEN_TTL_DAYS: VariableDoc = VariableDoc {
    name: "AUTH_REFRESH_TOKEN_TTL_DAYS",
    default: "30",
    meaning: "session lifetime (auth only)",
};

pub const KEY_ROTATION_DAYS: VariableDoc = VariableDoc {
    name: "AUTH_KEY_ROTATION_DAYS",
    default: "30",
    meaning: "age at which auth rotates its signing key (auth only)",
};

pub const KEY_PUBLICATION_DELAY_SECONDS: VariableDoc = VariableDoc {
    name: "AUTH_KEY_PUBLICATION_DELAY_SECONDS",
    default: "0 (600 in production)",
    meaning: "how long a new key is published before it signs, so verifiers' cached key sets learn it first (auth only)",
};

pub const SIGN_IN_MAX_FAILURES_PER_ACCOUNT: VariableDoc = VariableDoc {
    name: "AUTH_SIGN_IN_MAX_FAILURES_PER_ACCOUNT",
    default: "5",
    meaning: "failed sign-ins per account from one client address per window before `RATE_LIMITED` (auth only)",
};

pub const SIGN_IN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES: VariableDoc = VariableDoc {
    name: "AUTH_SIGN_IN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES",
    default: "20",
    meaning: "failed sign-ins per account from all addresses together per window; beyond it the account signs in only from an address it signed in from in the last 90 days, so guesses spread over many addresses stop while the owner is not locked out (auth only)",
};

pub const SIGN_IN_MAX_FAILURES_PER_ADDRESS: VariableDoc = VariableDoc {
    name: "AUTH_SIGN_IN_MAX_FAILURES_PER_ADDRESS",
    default: "50",
    meaning: "failed sign-ins per client address per window before `RATE_LIMITED` (auth only)",
};

pub const SIGN_IN_WINDOW_SECONDS: VariableDoc = VariableDoc {
    name: "AUTH_SIGN_IN_WINDOW_SECONDS",
    default: "900",
    meaning: "the rate-limit window (auth only)",
};

/// How auth's settings are read, for its descriptor.
pub const AUTH_SETTINGS: DomainSettingsSpec = DomainSettingsSpec {
    variables: &[
        ACCESS_TOKEN_TTL_SECONDS,
        REFRESH_TOKEN_TTL_DAYS,
        KEY_ROTATION_DAYS,
        KEY_PUBLICATION_DELAY_SECONDS,
        SIGN_IN_MAX_FAILURES_PER_ACCOUNT,
        SIGN_IN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES,
        SIGN_IN_MAX_FAILURES_PER_ADDRESS,
        SIGN_IN_WINDOW_SECONDS,
    ],
    read: |reader, environment| Ok(DomainSettings::of(AuthSettings::read(reader, environment)?)),
};

/// How auth issues tokens and limits sign-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// How long an access token is valid.
    pub access_token_lifetime: Duration,
    /// How long a session may be refreshed before signing in again.
    pub refresh_token_lifetime: Duration,
    /// How old the signing key may get before auth rotates it.
    pub key_rotation_interval: Duration,
    /// How long a new signing key is published before it signs: verifiers
    /// that cache the key set learn it before the first token needs it.
    pub key_publication_delay: Duration,
    /// Failed sign-ins allowed per account from one client address within
    /// the window.
    pub sign_in_failures_per_account: u32,
    /// Failed sign-ins allowed per account from all addresses together
    /// within the window; beyond it only the account's known addresses
    /// (see `sessions::KNOWN_ADDRESS_DAYS`) may try.
    pub sign_in_failures_per_account_all_addresses: u32,
    /// Failed sign-ins allowed per client address within the window.
    pub sign_in_failures_per_address: u32,
    pub sign_in_window: Duration,
}

const DAY: u64 = 24 * 60 * 60;

impl AuthSettings {
    fn read(reader: &VariableReader<'_>, environment: Environment) -> Result<Self, ConfigError> {
        let is_production = environment == Environment::Production;
        Ok(Self {
            access_token_lifetime: reader.duration(
                &ACCESS_TOKEN_TTL_SECONDS,
                Duration::from_secs,
                900,
                10,
                86_400,
            )?,
            refresh_token_lifetime: Duration::from_secs(
                reader.ranged(&REFRESH_TOKEN_TTL_DAYS, 30, 1, 365)? * DAY,
            ),
            key_rotation_interval: Duration::from_secs(
                reader.ranged(&KEY_ROTATION_DAYS, 30, 1, 365)? * DAY,
            ),
            key_publication_delay: reader.duration(
                &KEY_PUBLICATION_DELAY_SECONDS,
                Duration::from_secs,
                if is_production { 600 } else { 0 },
                0,
                DAY,
            )?,
            sign_in_failures_per_account: reader.ranged(
                &SIGN_IN_MAX_FAILURES_PER_ACCOUNT,
                5,
                1,
                1_000,
            )?,
            sign_in_failures_per_account_all_addresses: reader.ranged(
                &SIGN_IN_MAX_FAILURES_PER_ACCOUNT_ALL_ADDRESSES,
                20,
                1,
                100_000,
            )?,
            sign_in_failures_per_address: reader.ranged(
                &SIGN_IN_MAX_FAILURES_PER_ADDRESS,
                50,
                1,
                100_000,
            )?,
            sign_in_window: reader.duration(
                &SIGN_IN_WINDOW_SECONDS,
                Duration::from_secs,
                900,
                1,
                DAY,
            )?,
        })
    }

    /// The defaults of `environment`: what an empty environment reads.
    pub fn defaults(environment: Environment) -> Self {
        Self::read(&VariableReader::new(&|_| None), environment)
            .expect("the defaults are within their ranges")
    }

    /// The settings `config` carries, or the defaults of its environment
    /// when it was made without them (a test's configuration).
    pub fn of(config: &SubgraphConfig) -> Self {
        config
            .domain
            .get::<Self>()
            .cloned()
            .unwrap_or_else(|| Self::defaults(config.environment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Production publishes a new key ten minutes before it signs, so every
    /// verifier's cached key set knows it first; development rotates at once.
    #[test]
    fn production_publishes_keys_before_they_sign() {
        assert_eq!(
            AuthSettings::defaults(Environment::Production).key_publication_delay,
            Duration::from_secs(600)
        );
        assert_eq!(
            AuthSettings::defaults(Environment::Development).key_publication_delay,
            Duration::ZERO
        );
    }

    /// Values out of range stop start-up naming the variable.
    #[test]
    fn an_out_of_range_value_names_its_variable() {
        let lookup = |name: &str| (name == "AUTH_ACCESS_TOKEN_TTL_SECONDS").then(|| "5".to_owned());
        let error = AuthSettings::read(&VariableReader::new(&lookup), Environment::Development)
            .expect_err("5 s is below the minimum");
        assert!(
            error.to_string().contains("AUTH_ACCESS_TOKEN_TTL_SECONDS"),
            "{error}"
        );
    }
}
