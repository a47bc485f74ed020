//! Webhook signatures as Stripe makes them: the header
//! `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` signs
//! `"<t>.<raw body>"` with the endpoint's secret. A signature is accepted
//! when any `v1` matches (the provider sends several while a secret is
//! being rolled) and the timestamp is within the tolerance, which bounds
//! how long a captured request can be replayed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signed request may be: Stripe's libraries default to five
/// minutes.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// The most `v1` signatures one header may carry. A provider sends one
/// per active secret (two while a secret is rolled); more is an attacker
/// asking for work.
pub const MAX_SIGNATURES: usize = 8;

/// An HMAC-SHA256 signature's length.
const SIGNATURE_BYTES: usize = 32;

/// The longest `Stripe-Signature` header read: a timestamp and
/// [`MAX_SIGNATURES`] signatures of 64 hex digits fit with room to spare.
pub const MAX_HEADER_BYTES: usize = 1024;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error(
        "the Stripe-Signature header carries more than {MAX_SIGNATURES} signatures or {MAX_HEADER_BYTES} bytes"
    )]
    TooLarge,
    #[error("no signature matches")]
    Mismatch,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
}

/// Checks `header` against `body` at time `now` (unix seconds).
///
/// The cheap refusals come first — an oversized header, too many
/// signatures, a timestamp outside the tolerance — so a request that fails
/// them costs no hashing; then the body is hashed once, whatever the
/// number of signatures, and each signature compared with it in constant
/// time.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    if header.len() > MAX_HEADER_BYTES {
        return Err(SignatureError::TooLarge);
    }
    let mut timestamp: Option<&str> = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => {
                if signatures.len() == MAX_SIGNATURES {
                    return Err(SignatureError::TooLarge);
                }
                signatures.push(value);
            }
            _ => {}
        }
    }
    let timestamp_text = timestamp.ok_or(SignatureError::Malformed)?;
    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance_seconds.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let mut mac = signer(secret);
    mac.update(timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize();
    let matched = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|candidate| {
            candidate.len() == SIGNATURE_BYTES
                // `CtOutput`'s equality is constant-time.
                && expected
                    == hmac::digest::CtOutput::new(
                        hmac::digest::generic_array::GenericArray::clone_from_slice(&candidate),
                    )
        })
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header a provider would send for `body` at `timestamp`; for tests
/// and for the local provider's tooling.
pub fn sign(secret: &str, body: &[u8], timestamp: i64) -> String {
    let mut mac = signer(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

fn signer(secret: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_its_own_signature_and_refuses_tampering() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_test", body, 1_000);
        assert_eq!(
            verify_signature("whsec_test", &header, body, 1_100, 300),
            Ok(())
        );
        assert_eq!(
            verify_signature("whsec_other", &header, body, 1_100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_test", &header, br#"{"id":"evt_2"}"#, 1_100, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_test", &header, body, 2_000, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature("whsec_test", "v1=abc", body, 1_000, 300),
            Err(SignatureError::Malformed)
        );
        // One of several signatures matching is enough (a secret roll).
        let rolled = format!("{header},v1=00ff");
        assert_eq!(
            verify_signature("whsec_test", &rolled, body, 1_000, 300),
            Ok(())
        );
    }

    /// A header that asks for a lot of work is refused before any: more
    /// signatures than a secret roll needs, or more bytes; and a stale
    /// timestamp is refused whatever the signatures say, so an old
    /// capture costs no hashing either.
    #[test]
    fn refuses_before_hashing_what_no_provider_sends() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_test", body, 1_000);
        let padded = format!("{header}{}", ",v1=00ff".repeat(MAX_SIGNATURES));
        assert_eq!(
            verify_signature("whsec_test", &padded, body, 1_000, 300),
            Err(SignatureError::TooLarge)
        );
        let many = format!("t=1000{}", ",v1=0".repeat(60_000));
        assert_eq!(
            verify_signature("whsec_test", &many, body, 1_000, 300),
            Err(SignatureError::TooLarge)
        );
        assert_eq!(
            verify_signature("whsec_other", &header, body, 5_000, 300),
            Err(SignatureError::Stale),
            "the timestamp is checked before the signatures"
        );
        let with_rolled_secret = format!("{header},v1={}", "ab".repeat(32));
        assert_eq!(
            verify_signature("whsec_test", &with_rolled_secret, body, 1_000, 300),
            Ok(())
        );
    }
}
