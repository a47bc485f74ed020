//! Access tokens: the claims the auth subgraph signs and the verification
//! every subgraph runs on them.
//!
//! Tokens are compact JWS with EdDSA (Ed25519) signatures. A verifier
//! accepts exactly that algorithm, the configured issuer and audience and
//! an unexpired token whose key id names a key it knows; anything else is
//! refused with `UNAUTHENTICATED`, never downgraded to an anonymous viewer.
//! Keys come from a [`VerificationKeys`] source: subgraphs fetch and cache
//! the auth subgraph's JWKS ([`JwksKeySet`]); auth reads its own database.
//!
//! A verifier remembers the tokens it has verified
//! ([`TokenVerifier::with_verified_token_cache`]). Every fetch the router
//! makes for a signed-in page carries the same token, and checking its
//! Ed25519 signature again each time is the same work with the same answer. A
//! remembered token is accepted again only while it is unexpired and while
//! its key id still names the very key that verified it, so a token is
//! never accepted from memory that the full check would refuse now.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::HeaderMap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

use crate::auth::{AuthenticationFailure, Authenticator, SharedAuthenticator, bearer_token};
use crate::config::TokenConfig;
use crate::generational_cache::GenerationalCache;
use crate::identity::{Role, Viewer};

/// The only signing algorithm issued and accepted.
pub const TOKEN_ALGORITHM: Algorithm = Algorithm::EdDSA;

/// Clock skew tolerated between the auth subgraph and a verifier.
const CLOCK_LEEWAY_SECONDS: u64 = 30;

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The user id.
    pub sub: Uuid,
    pub iss: String,
    pub aud: String,
    /// Issued at and expiry, in seconds since the Unix epoch.
    pub iat: i64,
    pub exp: i64,
    /// A unique id per token, for audit logs.
    pub jti: Uuid,
    /// The session the token was issued for.
    pub sid: Uuid,
    pub roles: Vec<Role>,
    /// Organizations the user recruits for.
    #[serde(default)]
    pub orgs: Vec<Uuid>,
}

impl AccessTokenClaims {
    pub fn viewer(&self) -> Viewer {
        Viewer::User {
            id: self.sub,
            roles: self.roles.clone(),
            organizations: self.orgs.clone(),
        }
    }
}

/// Why no key could be produced for a key id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the verification keys are unavailable: {0}")]
pub struct KeysUnavailable(pub String);

/// Where a verifier gets the public key for a token's `kid`.
pub trait VerificationKeys: Send + Sync + 'static {
    /// `Ok(None)` when the source is reachable and knows no such key.
    fn key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<DecodingKey>>, KeysUnavailable>>;
}

/// Tokens longer than this are verified every time: ours are about
/// 600 bytes, and the bound keeps a flood of huge made-up tokens from
/// filling memory (a token that fails verification is never kept anyway).
const LONGEST_REMEMBERED_TOKEN_BYTES: usize = 4 * 1024;

/// Verifies access tokens and turns them into viewers.
pub struct TokenVerifier {
    keys: Arc<dyn VerificationKeys>,
    validation: Validation,
    verified_tokens: GenerationalCache<Arc<VerifiedToken>>,
    /// Verifications answered from `verified_tokens`, for tests and
    /// measurements.
    remembered_verifications: std::sync::atomic::AtomicU64,
}

/// A token that passed the full check, and the key that checked it.
struct VerifiedToken {
    claims: AccessTokenClaims,
    key_id: String,
    key: Arc<DecodingKey>,
}

fn refusal(message: &str) -> AuthenticationFailure {
    AuthenticationFailure {
        message: message.to_owned(),
    }
}

impl TokenVerifier {
    pub fn new(keys: Arc<dyn VerificationKeys>, issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(TOKEN_ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        Self {
            keys,
            validation,
            verified_tokens: GenerationalCache::new(0),
            remembered_verifications: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Remembers up to `entries_per_generation` verified tokens per
    /// generation (two generations; see `generational_cache`), so a token
    /// seen before skips the signature check. Zero remembers none.
    #[must_use]
    pub fn with_verified_token_cache(mut self, entries_per_generation: usize) -> Self {
        self.verified_tokens = GenerationalCache::new(entries_per_generation);
        self
    }

    /// How many verifications were answered from remembered tokens.
    pub fn remembered_verifications(&self) -> u64 {
        self.remembered_verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The claims of a valid token, or why it is refused. Messages name
    /// the class of problem and never echo the token.
    #[tracing::instrument(name = "verify_token", skip_all)]
    pub async fn verify(&self, token: &str) -> Result<AccessTokenClaims, AuthenticationFailure> {
        let rememberable =
            self.verified_tokens.is_enabled() && token.len() <= LONGEST_REMEMBERED_TOKEN_BYTES;
        if rememberable && let Some(claims) = self.verified_before(token).await {
            return Ok(claims);
        }
        let verified = self.verify_fully(token).await?;
        let claims = verified.claims.clone();
        if rememberable {
            self.verified_tokens.insert(token, Arc::new(verified));
        }
        Ok(claims)
    }

    /// The claims of `token` when it passed the full check before and
    /// would pass it now: it has not expired since, and its key id still
    /// names the same key (a key set that dropped or replaced the key makes
    /// the token go through the full check, which then decides).
    async fn verified_before(&self, token: &str) -> Option<AccessTokenClaims> {
        let verified = self.verified_tokens.get(token)?;
        let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX);
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
        // The same rule as the full check's: expired once `exp` is more
        // than the leeway in the past.
        let unexpired = verified.claims.exp >= now.saturating_sub(leeway);
        let same_key = matches!(
            self.keys.key(&verified.key_id).await,
            Ok(Some(key)) if Arc::ptr_eq(&key, &verified.key)
        );
        if !(unexpired && same_key) {
            self.verified_tokens.remove(token);
            return None;
        }
        self.remembered_verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(verified.claims.clone())
    }

    /// The full check: algorithm, key, signature, issuer, audience, expiry.
    async fn verify_fully(&self, token: &str) -> Result<VerifiedToken, AuthenticationFailure> {
        // The header is read before any key is looked up: a token whose
        // algorithm is not ours (including `none`) is refused without
        // touching the key set.
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            refusal("The access token is malformed or uses an unsupported algorithm.")
        })?;
        if header.alg != TOKEN_ALGORITHM {
            return Err(refusal("The access token uses an unsupported algorithm."));
        }
        let key_id = header
            .kid
            .ok_or_else(|| refusal("The access token names no signing key."))?;
        let key = match self.keys.key(&key_id).await {
            Ok(Some(key)) => key,
            Ok(None) => return Err(refusal("The access token's signing key is unknown.")),
            Err(error) => {
                tracing::warn!(%error, "cannot verify a token: no keys");
                return Err(refusal(
                    "The access token cannot be verified right now; try again shortly.",
                ));
            }
        };
        jsonwebtoken::decode::<AccessTokenClaims>(token, &key, &self.validation)
            .map(|data| VerifiedToken {
                claims: data.claims,
                key_id,
                key,
            })
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                refusal(match error.kind() {
                    ErrorKind::ExpiredSignature => "The access token has expired.",
                    ErrorKind::InvalidIssuer => "The access token was issued by someone else.",
                    ErrorKind::InvalidAudience => "The access token is meant for another audience.",
                    ErrorKind::InvalidSignature => "The access token's signature does not match.",
                    ErrorKind::InvalidAlgorithm => {
                        "The access token uses an unsupported algorithm."
                    }
                    ErrorKind::MissingRequiredClaim(_) => {
                        "The access token lacks a required claim."
                    }
                    _ => "The access token is malformed.",
                })
            })
    }
}

impl Authenticator for TokenVerifier {
    fn authenticate<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Viewer, AuthenticationFailure>> {
        Box::pin(async move {
            match bearer_token(headers)? {
                None => Ok(Viewer::Anonymous),
                Some(token) => Ok(self.verify(token).await?.viewer()),
            }
        })
    }
}

/// The decoding key for one published JWK, when it is an Ed25519
/// signature key; keys of any other kind are ignored.
pub fn decoding_key(jwk: &Jwk) -> Option<(String, DecodingKey)> {
    let key_id = jwk.common.key_id.clone()?;
    let is_ed25519 = matches!(
        &jwk.algorithm,
        AlgorithmParameters::OctetKeyPair(parameters) if parameters.curve == EllipticCurve::Ed25519
    );
    let algorithm_fits = jwk
        .common
        .key_algorithm
        .is_none_or(|algorithm| algorithm == KeyAlgorithm::EdDSA);
    if !is_ed25519 || !algorithm_fits {
        return None;
    }
    DecodingKey::from_jwk(jwk).ok().map(|key| (key_id, key))
}

/// How a [`JwksKeySet`] refreshes.
#[derive(Debug, Clone, Copy)]
pub struct JwksPolicy {
    /// Keys are refetched in the background once this old, so keys
    /// published ahead of use are learnt before they sign. A request never
    /// waits for this refresh: it is served from the cache.
    pub refresh_after: Duration,
    /// Fewest time between two fetches; a flood of tokens with invented key
    /// ids costs the auth subgraph at most one fetch per interval.
    pub minimum_interval: Duration,
    pub fetch_timeout: Duration,
    /// After a failed fetch the next one waits `minimum_interval` doubled
    /// per consecutive failure, up to this; meanwhile a token with an
    /// unknown key id is refused at once instead of waiting on auth.
    pub longest_backoff: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            refresh_after: Duration::from_secs(300),
            minimum_interval: Duration::from_secs(1),
            fetch_timeout: Duration::from_secs(3),
            longest_backoff: Duration::from_secs(60),
        }
    }
}

#[derive(Default)]
struct CachedKeys {
    keys: HashMap<String, Arc<DecodingKey>>,
    fetched_at: Option<Instant>,
}

/// When the last fetch started and how many in a row have failed.
#[derive(Default)]
struct FetchHistory {
    last_started: Option<Instant>,
    consecutive_failures: u32,
}

struct JwksState {
    url: String,
    client: reqwest::Client,
    policy: JwksPolicy,
    cache: RwLock<CachedKeys>,
    /// Serialises fetches.
    history: Mutex<FetchHistory>,
    /// Whether a background refresh is running, so at most one is.
    refreshing_in_background: std::sync::atomic::AtomicBool,
    /// Fetches started, for tests and metrics.
    fetches_started: std::sync::atomic::AtomicU64,
}

/// The auth subgraph's key set, fetched over HTTP and cached.
///
/// A token signed by a cached key is verified from the cache at once; when
/// the cache is older than the policy allows, one background task
/// refetches it, so an auth outage never adds a fetch's timeout to a
/// request. A token naming an unknown key id makes the request fetch (it
/// cannot be verified otherwise), unless fetches are failing, in which case
/// it is refused at once. A failed fetch keeps every cached key.
pub struct JwksKeySet {
    state: Arc<JwksState>,
}

impl JwksKeySet {
    pub fn new(url: impl Into<String>, policy: JwksPolicy) -> Self {
        Self {
            state: Arc::new(JwksState {
                url: url.into(),
                client: reqwest::Client::builder()
                    .timeout(policy.fetch_timeout)
                    .build()
                    .unwrap_or_default(),
                policy,
                cache: RwLock::default(),
                history: Mutex::new(FetchHistory::default()),
                refreshing_in_background: std::sync::atomic::AtomicBool::new(false),
                fetches_started: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// How many fetches of the key set have started.
    pub fn fetches_started(&self) -> u64 {
        self.state
            .fetches_started
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts a refresh in a task of its own unless one is running.
    fn refresh_in_background(&self) {
        use std::sync::atomic::Ordering;
        if self
            .state
            .refreshing_in_background
            .swap(true, Ordering::AcqRel)
        {
            return;
        }
        let state = self.state.clone();
        tokio::spawn(async move {
            if let Err(error) = state.refresh(Instant::now()).await {
                tracing::warn!(%error, "background key set refresh failed; serving cached keys");
            }
            state
                .refreshing_in_background
                .store(false, Ordering::Release);
        });
    }
}

impl JwksState {
    #[tracing::instrument(name = "fetch_jwks", skip(self), fields(url = %self.url))]
    async fn fetch(&self) -> Result<HashMap<String, Arc<DecodingKey>>, KeysUnavailable> {
        self.fetches_started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|error| KeysUnavailable(error.to_string()))?;
        let set: JwkSet = response
            .json()
            .await
            .map_err(|error| KeysUnavailable(format!("not a JWK set: {error}")))?;
        Ok(set
            .keys
            .iter()
            .filter_map(decoding_key)
            .map(|(key_id, key)| (key_id, Arc::new(key)))
            .collect())
    }

    /// The wait after `failures` consecutive failed fetches.
    fn backoff(&self, failures: u32) -> Duration {
        let doubled = self
            .policy
            .minimum_interval
            .saturating_mul(2_u32.saturating_pow(failures.min(16)));
        doubled.min(self.policy.longest_backoff)
    }

    /// Refetches unless another task fetched while this one waited. After a
    /// success it waits out the minimum interval rather than refusing a
    /// token that a fresh key set would accept; while fetches are failing
    /// it answers at once with the last failure's verdict.
    async fn refresh(&self, started_waiting: Instant) -> Result<(), KeysUnavailable> {
        let mut history = self.history.lock().await;
        if let Some(previous) = history.last_started {
            if previous >= started_waiting {
                return if history.consecutive_failures == 0 {
                    Ok(())
                } else {
                    Err(KeysUnavailable(
                        "the key set could not be fetched".to_owned(),
                    ))
                };
            }
            if history.consecutive_failures > 0 {
                let next_allowed = previous + self.backoff(history.consecutive_failures);
                if Instant::now() < next_allowed {
                    return Err(KeysUnavailable(format!(
                        "the key set could not be fetched {} time(s) in a row; retrying later",
                        history.consecutive_failures
                    )));
                }
            } else if let Some(wait) =
                (previous + self.policy.minimum_interval).checked_duration_since(Instant::now())
            {
                tokio::time::sleep(wait).await;
            }
        }
        history.last_started = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                history.consecutive_failures = 0;
                let mut cache = self.cache.write().await;
                // Keys missing from the new set are dropped: auth stops
                // publishing a key only after every token it signed expired.
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                Ok(())
            }
            Err(error) => {
                history.consecutive_failures = history.consecutive_failures.saturating_add(1);
                Err(error)
            }
        }
    }

    async fn cached(&self, key_id: &str) -> (Option<Arc<DecodingKey>>, bool) {
        let cache = self.cache.read().await;
        let fresh = cache
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.policy.refresh_after);
        (cache.keys.get(key_id).cloned(), fresh)
    }
}

impl VerificationKeys for JwksKeySet {
    fn key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<DecodingKey>>, KeysUnavailable>> {
        Box::pin(async move {
            let asked_at = Instant::now();
            let (cached, fresh) = self.state.cached(key_id).await;
            if let Some(key) = cached {
                if !fresh {
                    self.refresh_in_background();
                }
                return Ok(Some(key));
            }
            self.state.refresh(asked_at).await?;
            Ok(self.state.cached(key_id).await.0)
        })
    }
}

/// The authenticator every subgraph but auth deploys: tokens verified
/// against the auth subgraph's published keys.
pub fn jwks_authenticator(tokens: &TokenConfig) -> SharedAuthenticator {
    let keys = Arc::new(JwksKeySet::new(
        tokens.jwks_url.clone(),
        JwksPolicy::default(),
    ));
    Arc::new(
        TokenVerifier::new(keys, &tokens.issuer, &tokens.audience)
            .with_verified_token_cache(tokens.verified_token_cache_entries),
    )
}
