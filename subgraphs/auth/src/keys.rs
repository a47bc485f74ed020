//! Signing keys: Ed25519 key pairs kept in the auth database, rotated on a
//! schedule, published as a JWKS.
//!
//! Every key goes through three stages. It is *published* from the moment
//! it is created, so verifiers that cache the key set learn it before any
//! token needs it; it *signs* from `activates_at` until `retires_at` (the
//! next key's activation); and it stays *published* after retiring until
//! the last token it signed has expired. Replicas share the keys through
//! the database and each keeps an in-memory ring, reloaded when it meets a
//! key id it does not know or when its view may be out of date.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
use futures::future::BoxFuture;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use rand::RngCore;
use talentgraph_kit::Database;
use talentgraph_kit::config::TokenConfig;

use crate::settings::AuthSettings;
use talentgraph_kit::tokens::{
    AccessTokenClaims, KeysUnavailable, TOKEN_ALGORITHM, VerificationKeys,
};
use tokio::sync::{Mutex, RwLock};

use crate::error::AuthError;

/// How long a ring may serve signing requests before it rereads the
/// database, so a rotation made by another replica is picked up.
const SIGNING_VIEW_MAX_AGE: Duration = Duration::from_secs(60);
/// How long the published key set may be cached in memory.
const PUBLISHED_VIEW_MAX_AGE: Duration = Duration::from_secs(10);
/// Fewest time between two reloads caused by unknown key ids.
const UNKNOWN_KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

#[derive(sqlx::FromRow)]
struct StoredKey {
    key_id: String,
    private_key: Vec<u8>,
    public_key: Vec<u8>,
    activates_at: DateTime<Utc>,
    retires_at: Option<DateTime<Utc>>,
}

struct LoadedKey {
    key_id: String,
    encoding: EncodingKey,
    decoding: Arc<DecodingKey>,
    jwk: Jwk,
    activates_at: DateTime<Utc>,
    retires_at: Option<DateTime<Utc>>,
}

impl LoadedKey {
    fn from_stored(stored: StoredKey) -> Self {
        Self {
            jwk: public_jwk(&stored.key_id, &stored.public_key),
            encoding: EncodingKey::from_ed_der(&stored.private_key),
            decoding: Arc::new(DecodingKey::from_ed_der(&stored.public_key)),
            key_id: stored.key_id,
            activates_at: stored.activates_at,
            retires_at: stored.retires_at,
        }
    }

    fn signs_at(&self, moment: DateTime<Utc>) -> bool {
        self.activates_at <= moment && self.retires_at.is_none_or(|retires| moment < retires)
    }
}

fn public_jwk(key_id: &str, public_key: &[u8]) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(key_id.to_owned()),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(public_key),
        }),
    }
}

#[derive(Default)]
struct RingView {
    /// Published keys, newest activation first.
    keys: Vec<LoadedKey>,
    loaded_at: Option<Instant>,
}

/// A key rotation's outcome, for the admin who asked for it.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub key_id: String,
    pub activates_at: DateTime<Utc>,
}

/// The auth subgraph's signing keys.
pub struct KeyRing {
    database: Database,
    settings: AuthSettings,
    /// The `iss` and `aud` claims it signs (the platform's, which every
    /// subgraph verifies).
    issuer: String,
    audience: String,
    view: RwLock<RingView>,
    last_unknown_key_reload: Mutex<Option<Instant>>,
}

impl KeyRing {
    pub fn new(database: Database, tokens: &TokenConfig, settings: AuthSettings) -> Self {
        Self {
            database,
            settings,
            issuer: tokens.issuer.clone(),
            audience: tokens.audience.clone(),
            view: RwLock::default(),
            last_unknown_key_reload: Mutex::new(None),
        }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The `iss` claim of the tokens it signs.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` claim of the tokens it signs.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    #[tracing::instrument(name = "load_signing_keys", skip(self))]
    async fn reload(&self) -> Result<(), AuthError> {
        let lifetime_seconds =
            i64::try_from(self.settings.access_token_lifetime.as_secs()).unwrap_or(i64::MAX);
        let stored = self
            .database
            .fetch_all(
                sqlx::query_as::<_, StoredKey>(
                    "SELECT key_id, private_key, public_key, activates_at, retires_at FROM signing_keys \
                     WHERE retires_at IS NULL OR retires_at > now() - make_interval(secs => $1) \
                     ORDER BY activates_at DESC, created_at DESC",
                )
                .bind(lifetime_seconds as f64),
            )
            .await?;
        let mut view = self.view.write().await;
        view.keys = stored.into_iter().map(LoadedKey::from_stored).collect();
        view.loaded_at = Some(Instant::now());
        Ok(())
    }

    /// Creates a key that activates after `publication_delay` and retires
    /// the current ones at that moment. Replicas rotating at once are
    /// serialised by an advisory lock; `only_if_due` makes the second one
    /// see the first one's key and do nothing.
    #[tracing::instrument(skip(self))]
    pub async fn rotate(
        &self,
        publication_delay: Duration,
        only_if_due: bool,
    ) -> Result<Option<Rotation>, AuthError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let signing_key = SigningKey::from_bytes(&seed);
        // PKCS#8 v1 (seed only, 48 bytes): the form the token library reads.
        let private_key = KeypairBytes {
            secret_key: seed,
            public_key: None,
        }
        .to_pkcs8_der()
        .map_err(|error| AuthError::Internal(format!("encoding a new key: {error}")))?
        .as_bytes()
        .to_vec();
        let public_key = signing_key.verifying_key().to_bytes().to_vec();
        let key_id = public_jwk("", &public_key)
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|error| AuthError::Internal(format!("key thumbprint: {error}")))?;
        let delay_seconds = publication_delay.as_secs_f64();
        let rotation_seconds = self.settings.key_rotation_interval.as_secs_f64();

        let mut transaction = self.database.begin().await?;
        transaction
            .execute(sqlx::query(
                "SELECT pg_advisory_xact_lock(hashtextextended('talentgraph.signing_keys', 0))",
            ))
            .await?;
        if only_if_due {
            // Due when no key signs now or will sign soon, or when the
            // newest key is older than the rotation interval.
            let due: bool = transaction
                .fetch_scalar(
                    sqlx::query_scalar(
                        "SELECT NOT EXISTS (SELECT 1 FROM signing_keys \
                         WHERE retires_at IS NULL AND created_at > now() - make_interval(secs => $1))",
                    )
                    .bind(rotation_seconds),
                )
                .await?;
            if !due {
                return Ok(None);
            }
        }
        let activates_at: DateTime<Utc> = transaction
            .fetch_scalar(
                sqlx::query_scalar(
                    "INSERT INTO signing_keys (key_id, private_key, public_key, activates_at) \
                     VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING activates_at",
                )
                .bind(&key_id)
                .bind(&private_key)
                .bind(&public_key)
                .bind(delay_seconds),
            )
            .await?;
        transaction
            .execute(
                sqlx::query(
                    "UPDATE signing_keys SET retires_at = GREATEST($2, activates_at) \
                     WHERE retires_at IS NULL AND key_id <> $1",
                )
                .bind(&key_id)
                .bind(activates_at),
            )
            .await?;
        transaction.commit().await?;
        tracing::info!(%key_id, %activates_at, "signing key rotated");
        self.reload().await?;
        Ok(Some(Rotation {
            key_id,
            activates_at,
        }))
    }

    /// Makes sure a key signs now and rotates one that is due; called at
    /// start-up and before signing.
    pub async fn ensure_current_key(&self) -> Result<(), AuthError> {
        self.reload().await?;
        let now = Utc::now();
        let signs_now = self
            .view
            .read()
            .await
            .keys
            .iter()
            .any(|key| key.signs_at(now));
        if signs_now {
            // A scheduled rotation keeps the old key signing until the new
            // one is published long enough.
            self.rotate(self.settings.key_publication_delay, true)
                .await?;
        } else {
            // Nothing can sign: a key must sign at once.
            self.rotate(Duration::ZERO, true).await?;
        }
        Ok(())
    }

    /// Signs `claims` with the key that signs now.
    pub async fn sign(&self, claims: &AccessTokenClaims) -> Result<String, AuthError> {
        let stale = self
            .view
            .read()
            .await
            .loaded_at
            .is_none_or(|at| at.elapsed() > SIGNING_VIEW_MAX_AGE);
        if stale {
            self.ensure_current_key().await?;
        }
        for attempt in 0..2 {
            let now = Utc::now();
            {
                let view = self.view.read().await;
                if let Some(key) = view.keys.iter().find(|key| key.signs_at(now)) {
                    let mut header = Header::new(TOKEN_ALGORITHM);
                    header.kid = Some(key.key_id.clone());
                    header.typ = Some("JWT".to_owned());
                    return jsonwebtoken::encode(&header, claims, &key.encoding)
                        .map_err(|error| AuthError::Internal(format!("signing a token: {error}")));
                }
            }
            if attempt == 0 {
                self.ensure_current_key().await?;
            }
        }
        Err(AuthError::Internal("no signing key is active".to_owned()))
    }

    /// The published key set.
    pub async fn published(&self) -> Result<JwkSet, AuthError> {
        let stale = self
            .view
            .read()
            .await
            .loaded_at
            .is_none_or(|at| at.elapsed() > PUBLISHED_VIEW_MAX_AGE);
        if stale {
            self.reload().await?;
        }
        Ok(JwkSet {
            keys: self
                .view
                .read()
                .await
                .keys
                .iter()
                .map(|key| key.jwk.clone())
                .collect(),
        })
    }

    async fn cached_decoding_key(&self, key_id: &str) -> Option<Arc<DecodingKey>> {
        self.view
            .read()
            .await
            .keys
            .iter()
            .find(|key| key.key_id == key_id)
            .map(|key| key.decoding.clone())
    }
}

impl VerificationKeys for KeyRing {
    fn key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<DecodingKey>>, KeysUnavailable>> {
        Box::pin(async move {
            if let Some(key) = self.cached_decoding_key(key_id).await {
                return Ok(Some(key));
            }
            // Another replica may have created the key: reread, at most
            // once per interval however many invented key ids arrive.
            let asked_at = Instant::now();
            let mut last_reload = self.last_unknown_key_reload.lock().await;
            if last_reload.is_none_or(|at| at < asked_at) {
                if let Some(wait) = last_reload.and_then(|at| {
                    (at + UNKNOWN_KEY_RELOAD_INTERVAL).checked_duration_since(Instant::now())
                }) {
                    tokio::time::sleep(wait).await;
                }
                *last_reload = Some(Instant::now());
                if let Err(error) = self.reload().await {
                    return Err(KeysUnavailable(format!("{error:?}")));
                }
            }
            drop(last_reload);
            Ok(self.cached_decoding_key(key_id).await)
        })
    }
}
