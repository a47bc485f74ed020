//! Access tokens, the router secret and sign-in limits.

use super::reader::VariableReader;
use super::{ConfigError, Variable};

/// How every subgraph verifies access tokens. How auth issues them (their
/// lifetimes, key rotation, sign-in limits) is auth's own setting
/// (`talentgraph_auth::settings`).
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
    })
}
