//! Sign-up, sign-in with rate limiting, refresh-token rotation with reuse
//! detection, and sign-out.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use talentgraph_kit::tokens::AccessTokenClaims;
use talentgraph_kit::{Database, Role};
use uuid::Uuid;

use crate::error::AuthError;
use crate::keys::KeyRing;
use crate::passwords::{PasswordWork, validate_new_password};

/// What a successful sign-in, sign-up or refresh hands the client.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    pub user_id: Uuid,
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
}

/// The account data a token is minted from.
#[derive(sqlx::FromRow)]
struct TokenSubject {
    user_id: Uuid,
    roles: Vec<String>,
    organizations: Vec<Uuid>,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    user_id: Uuid,
    password_hash: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PresentedToken {
    session_id: Uuid,
    user_id: Uuid,
    rotated_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
}

/// A new opaque refresh token and the SHA-256 the database keeps.
fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = refresh_token_hash(&token);
    (token, hash)
}

fn refresh_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn seconds(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64()
}

/// Normalises and checks an e-mail address.
pub fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
                && email.matches('@').count() == 1
        });
    if valid {
        Ok(email)
    } else {
        Err(AuthError::invalid_input(
            "email",
            "Enter an e-mail address such as ada@example.com.",
        ))
    }
}

/// The session logic, shared by the mutations.
pub struct Sessions {
    database: Database,
    keys: Arc<KeyRing>,
    passwords: PasswordWork,
}

/// How long an address an account signed in from stays known: within it,
/// the account's cap on failures from all addresses does not stop that
/// address (the owner's usual network), only its own per-address limit.
pub const KNOWN_ADDRESS_DAYS: i32 = 90;

impl Sessions {
    pub fn new(database: Database, keys: Arc<KeyRing>, passwords: PasswordWork) -> Self {
        Self {
            database,
            keys,
            passwords,
        }
    }

    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    /// Creates an account with a password and signs it in.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up(
        &self,
        email: &str,
        password: String,
        role: Role,
        display_name: Option<String>,
    ) -> Result<SessionTokens, AuthError> {
        let email = normalize_email(email)?;
        validate_new_password(&password)?;
        let display_name = match display_name.map(|name| name.trim().to_owned()) {
            Some(name) if name.is_empty() || name.chars().count() > 120 => {
                return Err(AuthError::invalid_input(
                    "displayName",
                    "The display name must be 1 to 120 characters.",
                ));
            }
            Some(name) => name,
            None => email
                .split('@')
                .next()
                .unwrap_or_default()
                .chars()
                .take(120)
                .collect(),
        };
        if role == Role::Admin {
            return Err(AuthError::invalid_input(
                "role",
                "Admin accounts cannot be created by signing up.",
            ));
        }
        // Hashed before any connection is taken, so a burst of sign-ups
        // holds hashing slots, not the pool that every other request needs.
        let password_hash = self.passwords.hash(password).await?;
        let user_id = Uuid::new_v4();
        let mut transaction = self.database.begin().await?;
        let inserted = transaction
            .execute(
                sqlx::query(
                    "INSERT INTO accounts (user_id, email, roles, password_hash) \
                     VALUES ($1, $2, ARRAY[$3], $4) ON CONFLICT DO NOTHING",
                )
                .bind(user_id)
                .bind(&email)
                .bind(role.as_str())
                .bind(&password_hash),
            )
            .await?;
        if inserted == 0 {
            return Err(AuthError::EmailTaken);
        }
        // In the same transaction: core learns of the account exactly when
        // it exists.
        talentgraph_kit::events::record_event(
            &mut transaction,
            &talentgraph_events::AccountCreated {
                user_id,
                display_name,
                role: role.as_str().to_owned(),
                email: Some(email.clone()),
            },
        )
        .await?;
        let tokens = self.open_session(&mut transaction, user_id).await?;
        transaction.commit().await?;
        Ok(tokens)
    }

    /// Checks credentials under the rate limits and opens a session.
    ///
    /// Failures are counted per (e-mail address, client address) pair, per
    /// client address, and per account over all addresses in the database,
    /// so limits hold across restarts and replicas. Someone guessing from
    /// one address cannot lock the owner out from another; someone guessing
    /// from many addresses meets the account's cap, which an address the
    /// owner signed in from lately does not (sign-ins from it record it). Each attempt is recorded before its password
    /// is checked and counted together with the attempts already recorded,
    /// so parallel guesses cannot all slip under the limit; the record is
    /// removed when the attempt is refused by the limit or succeeds.
    ///
    /// No connection or transaction is held while the password is hashed:
    /// the hash takes a hashing slot ([`PasswordWork`]), and only the short
    /// statements around it take a pooled connection.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: String,
        client_address: Option<&str>,
    ) -> Result<SessionTokens, AuthError> {
        let email = email.trim().to_lowercase();
        if email.len() > 254 {
            // Longer than any address we accept: no account can match, and
            // it is not worth a row or a hash.
            return Err(AuthError::WrongCredentials);
        }
        let settings = self.keys.settings();
        let window = seconds(settings.sign_in_window);
        let attempt_id: i64 = self
            .database
            .fetch_scalar(
                sqlx::query_scalar(
                    "WITH pruned AS (DELETE FROM sign_in_failures \
                         WHERE failed_at < now() - make_interval(secs => $3)) \
                     INSERT INTO sign_in_failures (email, client_address) VALUES ($1, $2) \
                     RETURNING id",
                )
                .bind(&email)
                .bind(client_address)
                .bind(window),
            )
            .await?;
        // Seconds until enough recorded attempts leave the window for this
        // one to be within every limit; NULL when it already is. Attempts
        // recorded so far include this one, hence `>` the limit. The
        // account's cap over all addresses does not apply to an address the
        // account signed in from lately: the owner is not locked out by
        // someone guessing from elsewhere.
        let retry_after: Option<f64> = self
            .database
            .fetch_scalar(
                sqlx::query_scalar(
                    "WITH by_pair AS ( \
                         SELECT failed_at FROM sign_in_failures \
                         WHERE lower(email) = $1 AND client_address IS NOT DISTINCT FROM $2 \
                           AND failed_at > now() - make_interval(secs => $3) \
                         ORDER BY failed_at DESC LIMIT $4 + 1), \
                     by_address AS ( \
                         SELECT failed_at FROM sign_in_failures \
                         WHERE $2::text IS NOT NULL AND client_address = $2 \
                           AND failed_at > now() - make_interval(secs => $3) \
                         ORDER BY failed_at DESC LIMIT $5 + 1), \
                     by_account AS ( \
                         SELECT failed_at FROM sign_in_failures \
                         WHERE lower(email) = $1 \
                           AND failed_at > now() - make_interval(secs => $3) \
                           AND NOT EXISTS ( \
                               SELECT 1 FROM sign_in_known_addresses \
                               WHERE email = $1 AND client_address = $2 \
                                 AND last_signed_in_at > now() - make_interval(days => $7)) \
                         ORDER BY failed_at DESC LIMIT $6 + 1) \
                     SELECT EXTRACT(EPOCH FROM GREATEST( \
                         CASE WHEN (SELECT count(*) FROM by_pair) > $4 \
                              THEN (SELECT min(failed_at) FROM by_pair) END, \
                         CASE WHEN (SELECT count(*) FROM by_address) > $5 \
                              THEN (SELECT min(failed_at) FROM by_address) END, \
                         CASE WHEN (SELECT count(*) FROM by_account) > $6 \
                              THEN (SELECT min(failed_at) FROM by_account) END) \
                       + make_interval(secs => $3) - now())::float8",
                )
                .bind(&email)
                .bind(client_address)
                .bind(window)
                .bind(i64::from(settings.sign_in_failures_per_account))
                .bind(i64::from(settings.sign_in_failures_per_address))
                .bind(i64::from(
                    settings.sign_in_failures_per_account_all_addresses,
                ))
                .bind(KNOWN_ADDRESS_DAYS),
            )
            .await?;
        if let Some(retry_after) = retry_after {
            self.forget_attempt(attempt_id).await?;
            tracing::warn!(client_address, "sign-in refused by the rate limit");
            return Err(AuthError::RateLimited {
                retry_after_seconds: (retry_after.ceil() as i64).max(1),
            });
        }
        let credentials = self
            .database
            .fetch_optional(
                sqlx::query_as::<_, Credentials>(
                    "SELECT user_id, password_hash FROM accounts WHERE lower(email) = $1",
                )
                .bind(&email),
            )
            .await?;
        let (user_id, stored_hash) = match credentials {
            Some(credentials) => (Some(credentials.user_id), credentials.password_hash),
            None => (None, None),
        };
        let password_matches = match self.passwords.verify(password, stored_hash).await {
            Ok(matches) => matches,
            Err(error) => {
                // Turned away before checking: not a failure of the owner's.
                self.forget_attempt(attempt_id).await?;
                return Err(error);
            }
        };
        let Some(user_id) = user_id.filter(|_| password_matches) else {
            // The recorded attempt stays: it is this failure.
            return Err(AuthError::WrongCredentials);
        };
        // A successful sign-in from this address proves the owner is here:
        // the pair's failures start over (the address's others do not).
        let mut transaction = self.database.begin().await?;
        transaction
            .execute(
                sqlx::query(
                    "DELETE FROM sign_in_failures \
                     WHERE id = $3 OR (lower(email) = $1 AND client_address IS NOT DISTINCT FROM $2)",
                )
                .bind(&email)
                .bind(client_address)
                .bind(attempt_id),
            )
            .await?;
        if let Some(client_address) = client_address {
            transaction
                .execute(
                    sqlx::query(
                        "WITH forgotten AS (DELETE FROM sign_in_known_addresses \
                             WHERE email = $1 AND client_address <> $2 \
                               AND last_signed_in_at < now() - make_interval(days => $3)) \
                         INSERT INTO sign_in_known_addresses (email, client_address) \
                         VALUES ($1, $2) ON CONFLICT (email, client_address) \
                         DO UPDATE SET last_signed_in_at = now()",
                    )
                    .bind(&email)
                    .bind(client_address)
                    .bind(KNOWN_ADDRESS_DAYS),
                )
                .await?;
        }
        let tokens = self.open_session(&mut transaction, user_id).await?;
        transaction.commit().await?;
        Ok(tokens)
    }

    /// Removes an attempt's record: it was not a wrong password.
    async fn forget_attempt(&self, attempt_id: i64) -> Result<(), AuthError> {
        self.database
            .execute(sqlx::query("DELETE FROM sign_in_failures WHERE id = $1").bind(attempt_id))
            .await?;
        Ok(())
    }

    /// Exchanges a refresh token for new tokens. The presented token is
    /// rotated; presenting it again revokes the whole session, because two
    /// parties holding one refresh token means it was stolen.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<SessionTokens, AuthError> {
        let hash = refresh_token_hash(refresh_token.trim());
        let mut transaction = self.database.begin().await?;
        let presented = transaction
            .fetch_optional(
                sqlx::query_as::<_, PresentedToken>(
                    "SELECT t.session_id, s.user_id, t.rotated_at, s.revoked_at, s.expires_at \
                     FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
                     WHERE t.token_hash = $1 FOR UPDATE OF t, s",
                )
                .bind(&hash),
            )
            .await?
            .ok_or(AuthError::InvalidRefreshToken)?;
        if presented.revoked_at.is_some() || presented.expires_at <= Utc::now() {
            return Err(AuthError::InvalidRefreshToken);
        }
        if presented.rotated_at.is_some() {
            transaction
                .execute(
                    sqlx::query(
                        "UPDATE sessions SET revoked_at = now(), revoked_reason = 'REFRESH_TOKEN_REUSED' \
                         WHERE id = $1",
                    )
                    .bind(presented.session_id),
                )
                .await?;
            transaction.commit().await?;
            tracing::warn!(session_id = %presented.session_id, user_id = %presented.user_id,
                "a rotated refresh token was presented again; session revoked");
            return Err(AuthError::RefreshTokenReused);
        }
        transaction
            .execute(
                sqlx::query("UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = $1")
                    .bind(&hash),
            )
            .await?;
        let (token, new_hash) = new_refresh_token();
        transaction
            .execute(
                sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
                    .bind(&new_hash)
                    .bind(presented.session_id),
            )
            .await?;
        let tokens = self
            .mint(
                &mut transaction,
                presented.user_id,
                presented.session_id,
                token,
                presented.expires_at,
            )
            .await?;
        transaction.commit().await?;
        Ok(tokens)
    }

    /// Revokes the session a refresh token belongs to. Access tokens already
    /// issued stay valid until they expire (minutes); that is the price of
    /// verifying them without a database round trip.
    #[tracing::instrument(skip_all)]
    pub async fn sign_out(&self, refresh_token: &str) -> Result<bool, AuthError> {
        let hash = refresh_token_hash(refresh_token.trim());
        let revoked = self
            .database
            .execute(
                sqlx::query(
                    "UPDATE sessions SET revoked_at = now(), revoked_reason = 'SIGNED_OUT' \
                     WHERE revoked_at IS NULL \
                       AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1)",
                )
                .bind(&hash),
            )
            .await?;
        Ok(revoked > 0)
    }

    async fn open_session(
        &self,
        transaction: &mut talentgraph_kit::database::Transaction,
        user_id: Uuid,
    ) -> Result<SessionTokens, AuthError> {
        let session_id = Uuid::new_v4();
        let expires_at: DateTime<Utc> = transaction
            .fetch_scalar(
                sqlx::query_scalar(
                    "INSERT INTO sessions (id, user_id, expires_at) \
                     VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING expires_at",
                )
                .bind(session_id)
                .bind(user_id)
                .bind(seconds(self.keys.settings().refresh_token_lifetime)),
            )
            .await?;
        let (token, hash) = new_refresh_token();
        transaction
            .execute(
                sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id) VALUES ($1, $2)")
                    .bind(&hash)
                    .bind(session_id),
            )
            .await?;
        self.mint(transaction, user_id, session_id, token, expires_at)
            .await
    }

    /// Signs an access token from the account as it is now, so role and
    /// organization changes reach tokens at the next refresh.
    async fn mint(
        &self,
        transaction: &mut talentgraph_kit::database::Transaction,
        user_id: Uuid,
        session_id: Uuid,
        refresh_token: String,
        refresh_token_expires_at: DateTime<Utc>,
    ) -> Result<SessionTokens, AuthError> {
        let subject = transaction
            .fetch_optional(
                sqlx::query_as::<_, TokenSubject>(
                    "SELECT a.user_id, a.roles, \
                       COALESCE(array_agg(o.organization_id) FILTER (WHERE o.organization_id IS NOT NULL), '{}') AS organizations \
                     FROM accounts a LEFT JOIN account_organizations o ON o.user_id = a.user_id \
                     WHERE a.user_id = $1 GROUP BY a.user_id",
                )
                .bind(user_id),
            )
            .await?
            .ok_or(AuthError::InvalidRefreshToken)?;
        let settings = self.keys.settings();
        let issued_at = Utc::now();
        let lifetime = chrono::Duration::from_std(settings.access_token_lifetime)
            .map_err(|error| AuthError::Internal(error.to_string()))?;
        let expires_at = issued_at + lifetime;
        let claims = AccessTokenClaims {
            sub: subject.user_id,
            iss: self.keys.issuer().to_owned(),
            aud: self.keys.audience().to_owned(),
            iat: issued_at.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4(),
            sid: session_id,
            roles: subject
                .roles
                .iter()
                .filter_map(|role| Role::parse(role))
                .collect(),
            orgs: subject.organizations,
        };
        let access_token = self.keys.sign(&claims).await?;
        Ok(SessionTokens {
            user_id,
            access_token,
            access_token_expires_at: expires_at,
            refresh_token,
            refresh_token_expires_at,
        })
    }
}
