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

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("no signature matches")]
    Mismatch,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
}

/// Checks `header` against `body` at time `now` (unix seconds).
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp: Option<&str> = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => signatures.push(value),
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
    let matched = signatures.iter().any(|signature| {
        let Ok(expected) = hex::decode(signature) else {
            return false;
        };
        let mut mac = signer(secret);
        mac.update(timestamp_text.as_bytes());
        mac.update(b".");
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&expected).is_ok()
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    if (now - timestamp).abs() > tolerance_seconds {
        return Err(SignatureError::Stale);
    }
    Ok(())
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
}
