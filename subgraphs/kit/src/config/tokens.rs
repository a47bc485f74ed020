//! Access tokens, the router secret and sign-in limits.

use std::time::Duration;

use super::reader::VariableReader;
use super::{ConfigError, Variable};

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
pub(super) fn check_router_secret(secret: &str, is_production: bool) -> Result<(), ConfigError> {
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
pub(super) const DEVELOPMENT_JWKS_URL: &str = "http://127.0.0.1:4002/.well-known/jwks.json";

/// Verified tokens a verifier remembers per generation by default: at
/// about 1 KiB per token with its claims, two generations stay under
/// 10 MiB.
pub const DEFAULT_VERIFIED_TOKEN_CACHE_ENTRIES: usize = 4096;

pub(super) fn read_token_config(
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
