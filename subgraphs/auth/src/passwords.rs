//! Password hashing with argon2id, bounded.
//!
//! Hashing runs on the blocking pool: at the OWASP-recommended cost
//! (19 MiB, two passes) it takes tens of milliseconds of CPU, which must not
//! stall the async workers serving other requests. Each hash also holds
//! 19 MiB, and sign-up and sign-in are open to anyone, so [`PasswordWork`]
//! lets only as many hashes run at once as there are CPUs; a request that
//! cannot start one within a short wait is answered `RATE_LIMITED` at once
//! instead of queueing until every other request of the process starves.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use tokio::sync::Semaphore;

use crate::error::AuthError;

/// Shortest and longest passwords accepted at sign-up.
pub const MINIMUM_PASSWORD_CHARACTERS: usize = 10;
pub const MAXIMUM_PASSWORD_CHARACTERS: usize = 128;

fn hasher() -> Argon2<'static> {
    // argon2id, m = 19 MiB, t = 2, p = 1: OWASP's first recommended setting.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the sign-up rules.
pub fn validate_new_password(password: &str) -> Result<(), AuthError> {
    let characters = password.chars().count();
    if characters < MINIMUM_PASSWORD_CHARACTERS {
        return Err(AuthError::invalid_input(
            "password",
            format!("The password must be at least {MINIMUM_PASSWORD_CHARACTERS} characters."),
        ));
    }
    if characters > MAXIMUM_PASSWORD_CHARACTERS {
        return Err(AuthError::invalid_input(
            "password",
            format!("The password must be at most {MAXIMUM_PASSWORD_CHARACTERS} characters."),
        ));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|error| AuthError::Internal(format!("encoding a salt: {error}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AuthError::Internal(format!("hashing a password: {error}")))
}

/// The argon2id PHC string of `password`.
pub async fn hash_password(password: String) -> Result<String, AuthError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|error| AuthError::Internal(format!("password hashing task: {error}")))?
}

/// A hash of a password nobody knows, verified against when an account
/// does not exist or has no password, so that answering "wrong e-mail or
/// password" takes as long as for a real account.
static DECOY_HASH: std::sync::LazyLock<Option<String>> =
    std::sync::LazyLock::new(|| hash_blocking("decoy password that matches no account").ok());

/// Whether `password` matches `stored_hash`; always spends one hash's time.
pub async fn verify_password(password: String, stored_hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = stored_hash.is_some();
        let Some(hash) = stored_hash.or_else(|| DECOY_HASH.clone()) else {
            return false;
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            tracing::error!("a stored password hash is not a PHC string");
            return false;
        };
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        real && matches
    })
    .await
    .unwrap_or(false)
}

/// How many password hashes may run at once, and how long a request waits
/// for its turn before it is turned away.
#[derive(Debug, Clone)]
pub struct PasswordWork {
    permits: Arc<Semaphore>,
    concurrent_hashes: usize,
    longest_wait: Duration,
}

impl PasswordWork {
    /// One hash per CPU; a request waits at most `longest_wait` for a slot.
    pub fn per_cpu(longest_wait: Duration) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self::new(cpus, longest_wait)
    }

    pub fn new(concurrent_hashes: usize, longest_wait: Duration) -> Self {
        let concurrent_hashes = concurrent_hashes.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrent_hashes)),
            concurrent_hashes,
            longest_wait,
        }
    }

    /// The most hashes that run at once (so at most this many times 19 MiB).
    pub fn concurrent_hashes(&self) -> usize {
        self.concurrent_hashes
    }

    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AuthError> {
        match tokio::time::timeout(self.longest_wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(AuthError::Internal(
                "the password hashing semaphore is closed".to_owned(),
            )),
            Err(_elapsed) => {
                tracing::warn!("password hashing is saturated; a request was turned away");
                Err(AuthError::Busy)
            }
        }
    }

    /// [`hash_password`] in a hashing slot.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        let _slot = self.slot().await?;
        hash_password(password).await
    }

    /// [`verify_password`] in a hashing slot.
    pub async fn verify(
        &self,
        password: String,
        stored_hash: Option<String>,
    ) -> Result<bool, AuthError> {
        let _slot = self.slot().await?;
        Ok(verify_password(password, stored_hash).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes are argon2id with a fresh salt each time and verify only the
    /// right password.
    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let first = hash_password("correct horse battery".to_owned())
            .await
            .expect("hashes");
        let second = hash_password("correct horse battery".to_owned())
            .await
            .expect("hashes");
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "salts must differ");
        assert!(verify_password("correct horse battery".to_owned(), Some(first.clone())).await);
        assert!(!verify_password("correct horse battery!".to_owned(), Some(first)).await);
        assert!(!verify_password("anything".to_owned(), None).await);
    }

    /// With every slot taken, a request is turned away as busy
    /// (SERVICE_UNAVAILABLE) after the wait instead of queueing; once a slot frees, work resumes.
    #[tokio::test]
    async fn saturated_hashing_turns_requests_away() {
        let work = PasswordWork::new(1, Duration::from_millis(20));
        let held = work.slot().await.expect("the only slot");
        let refused = work.hash("correct horse battery".to_owned()).await;
        assert!(matches!(refused, Err(AuthError::Busy)));
        drop(held);
        assert!(work.hash("correct horse battery".to_owned()).await.is_ok());
    }

    #[test]
    fn password_rules_name_the_field() {
        assert!(validate_new_password("short").is_err());
        assert!(validate_new_password(&"x".repeat(129)).is_err());
        assert!(validate_new_password("long enough passphrase").is_ok());
    }
}
