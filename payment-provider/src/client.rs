//! The Stripe API subset the payment subgraph charges through: one
//! PaymentIntent created and confirmed per charge, under an idempotency key.
//!
//! Requests are form-encoded and authenticated with the secret key, as
//! Stripe's API expects. Every failure is sorted into what the caller should
//! do about it: a decline is an answer (the invoice fails), an unavailable
//! provider is a reason to retry later, a refused request is a bug or bad
//! data that no retry fixes.

use std::time::Duration;

use serde::Deserialize;

/// How to reach the provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The API's base URL, such as `https://api.stripe.com` (or the local
    /// provider's proxy).
    pub base_url: String,
    /// The secret API key (`sk_…`).
    pub secret_key: String,
    /// How long one request may take before it counts as a failure. Shorter
    /// than the event consumer's acknowledgement wait, so a hanging
    /// provider fails the attempt instead of the message's lease.
    pub request_timeout: Duration,
}

/// One charge: the amount of an invoice, paid with a saved payment method.
#[derive(Debug, Clone)]
pub struct ChargeRequest<'a> {
    /// The idempotency key: the same key with the same parameters is
    /// answered with the first answer, so a retried charge never charges
    /// twice. The payment subgraph uses the invoice id.
    pub idempotency_key: &'a str,
    pub amount_cents: i64,
    /// ISO 4217, any case (Stripe wants lower case).
    pub currency: &'a str,
    /// A PaymentMethod id (`pm_…`), such as the test card `pm_card_visa`.
    pub payment_method: &'a str,
    /// Stored on the PaymentIntent, so a webhook can name its invoice.
    pub invoice_id: &'a str,
}

/// What the provider said about a charge it processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        payment_intent_id: String,
    },
    /// The card was declined; `reason` is the provider's message for the
    /// person paying.
    Declined {
        code: String,
        reason: String,
        payment_intent_id: Option<String>,
    },
}

/// Why a charge got no answer or a refusal.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Timeout, connection failure, 5xx, 429 or an idempotent request still
    /// in flight: the charge may or may not have happened, and retrying with
    /// the same idempotency key is safe and will tell.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// A 4xx other than a decline: the request itself is wrong (an unknown
    /// payment method, a key reused with other parameters). Retrying the
    /// same request cannot help.
    #[error("payment provider refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
}

impl ProviderError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A client for the provider's API.
#[derive(Debug, Clone)]
pub struct ProviderClient {
    http: reqwest::Client,
    settings: ProviderSettings,
}

#[derive(Debug, Deserialize)]
struct PaymentIntentBody {
    id: String,
    status: String,
    #[serde(default)]
    last_payment_error: Option<ErrorDetail>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    /// Set on card errors: the PaymentIntent the decline belongs to.
    #[serde(default)]
    payment_intent: Option<PaymentIntentReference>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PaymentIntentReference {
    Id(String),
    Object { id: String },
}

impl ProviderClient {
    pub fn new(settings: ProviderSettings) -> Result<Self, ProviderError> {
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.request_timeout)
            .build()
            .map_err(|error| ProviderError::Unavailable(error.to_string()))?;
        Ok(Self { http, settings })
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    /// Creates and confirms a PaymentIntent for the charge.
    pub async fn charge(&self, charge: &ChargeRequest<'_>) -> Result<ChargeOutcome, ProviderError> {
        let amount = charge.amount_cents.to_string();
        let currency = charge.currency.to_lowercase();
        let form = [
            ("amount", amount.as_str()),
            ("currency", currency.as_str()),
            ("payment_method", charge.payment_method),
            ("confirm", "true"),
            ("metadata[invoice_id]", charge.invoice_id),
        ];
        let (status, body) = self
            .answer(
                self.http
                    .post(self.api_url("/v1/payment_intents"))
                    .header("Idempotency-Key", charge.idempotency_key)
                    .form(&form),
            )
            .await?;
        interpret_charge_response(status, &body)
    }
}

/// A PaymentIntent as the reconciliation reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntentSummary {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, serde_json::Value>,
}

impl PaymentIntentSummary {
    /// The invoice the charge was for, from its metadata.
    pub fn invoice_id(&self) -> Option<&str> {
        self.metadata
            .get("invoice_id")
            .and_then(serde_json::Value::as_str)
    }
}

#[derive(Debug, Deserialize)]
struct PaymentIntentPage {
    data: Vec<PaymentIntentSummary>,
    #[serde(default)]
    has_more: bool,
}

impl ProviderClient {
    /// One PaymentIntent as the provider holds it; `Ok(None)` when the
    /// provider has none by that id. The id goes into the URL's path, so
    /// anything but a plain `pi_…` id is answered `None` without a request.
    pub async fn payment_intent(
        &self,
        id: &str,
    ) -> Result<Option<PaymentIntentSummary>, ProviderError> {
        let plain_id = id.starts_with("pi_")
            && id.len() <= 255
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if !plain_id {
            return Ok(None);
        }
        let (status, body) = self.get(&format!("/v1/payment_intents/{id}"), &[]).await?;
        match status {
            200 => serde_json::from_slice(&body).map(Some).map_err(|error| {
                ProviderError::Unavailable(format!("unreadable PaymentIntent: {error}"))
            }),
            404 => Ok(None),
            429 | 409 => Err(ProviderError::Unavailable(format!("HTTP {status}"))),
            status if status >= 500 => Err(ProviderError::Unavailable(format!("HTTP {status}"))),
            status => Err(ProviderError::Refused {
                status,
                message: error_message(&body),
            }),
        }
    }

    /// A GET of the API's `path` with `query`.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(u16, bytes::Bytes), ProviderError> {
        self.answer(self.http.get(self.api_url(path)).query(query))
            .await
    }

    fn api_url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    /// Sends `request` with the secret key: the status and the body, or
    /// `Unavailable` when no answer came.
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, bytes::Bytes), ProviderError> {
        let response = request
            .basic_auth(&self.settings.secret_key, Some(""))
            .send()
            .await
            .map_err(|error| ProviderError::Unavailable(describe_transport_error(&error)))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| ProviderError::Unavailable(describe_transport_error(&error)))?;
        Ok((status, body))
    }

    /// Every PaymentIntent of the account, a hundred per request.
    pub async fn payment_intents(&self) -> Result<Vec<PaymentIntentSummary>, ProviderError> {
        let mut intents = Vec::new();
        let mut starting_after: Option<String> = None;
        loop {
            let mut query = vec![("limit", "100".to_owned())];
            if let Some(after) = &starting_after {
                query.push(("starting_after", after.clone()));
            }
            let (status, body) = self.get("/v1/payment_intents", &query).await?;
            if status != 200 {
                return Err(ProviderError::Refused {
                    status,
                    message: error_message(&body),
                });
            }
            let page: PaymentIntentPage = serde_json::from_slice(&body).map_err(|error| {
                ProviderError::Unavailable(format!("unreadable PaymentIntent list: {error}"))
            })?;
            starting_after = page.data.last().map(|intent| intent.id.clone());
            let more = page.has_more && starting_after.is_some();
            intents.extend(page.data);
            if !more {
                return Ok(intents);
            }
        }
    }
}

/// Sorts the provider's answer to a charge into outcome or error.
fn interpret_charge_response(status: u16, body: &[u8]) -> Result<ChargeOutcome, ProviderError> {
    if status == 429 || status == 409 || status >= 500 {
        return Err(ProviderError::Unavailable(format!(
            "HTTP {status}: {}",
            error_message(body)
        )));
    }
    if (200..300).contains(&status) {
        let intent: PaymentIntentBody = serde_json::from_slice(body).map_err(|error| {
            ProviderError::Unavailable(format!("unreadable PaymentIntent: {error}"))
        })?;
        return match intent.status.as_str() {
            "succeeded" => Ok(ChargeOutcome::Succeeded {
                payment_intent_id: intent.id,
            }),
            // A confirmed intent without a successful charge: the card
            // was refused after all (or needs authentication we cannot
            // ask for off-session).
            _ => Ok(ChargeOutcome::Declined {
                code: intent
                    .last_payment_error
                    .as_ref()
                    .and_then(|error| error.code.clone())
                    .unwrap_or_else(|| intent.status.clone()),
                reason: intent
                    .last_payment_error
                    .and_then(|error| error.message)
                    .unwrap_or_else(|| format!("The payment is {}.", intent.status)),
                payment_intent_id: Some(intent.id),
            }),
        };
    }
    let detail = serde_json::from_slice::<ErrorEnvelope>(body)
        .map(|envelope| envelope.error)
        .ok();
    if status == 402 {
        let detail = detail.unwrap_or(ErrorDetail {
            code: None,
            message: None,
            payment_intent: None,
        });
        return Ok(ChargeOutcome::Declined {
            code: detail.code.unwrap_or_else(|| "card_declined".to_owned()),
            reason: detail
                .message
                .unwrap_or_else(|| "The card was declined.".to_owned()),
            payment_intent_id: detail.payment_intent.map(|reference| match reference {
                PaymentIntentReference::Id(id) | PaymentIntentReference::Object { id } => id,
            }),
        });
    }
    Err(ProviderError::Refused {
        status,
        message: error_message(body),
    })
}

fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .and_then(|envelope| envelope.error.message)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned())
}

fn describe_transport_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        // The URL holds nothing secret (the key travels in a header).
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_by_what_the_caller_should_do() {
        assert_eq!(
            interpret_charge_response(200, br#"{"id":"pi_1","status":"succeeded"}"#).unwrap(),
            ChargeOutcome::Succeeded {
                payment_intent_id: "pi_1".to_owned()
            }
        );
        let declined = interpret_charge_response(
            402,
            br#"{"error":{"code":"card_declined","message":"Your card was declined.","charge":"ch_1"}}"#,
        )
        .unwrap();
        assert!(
            matches!(&declined, ChargeOutcome::Declined { code, reason, .. } if code == "card_declined" && reason == "Your card was declined."),
            "{declined:?}"
        );
        for status in [500, 502, 503, 429, 409] {
            assert!(
                interpret_charge_response(status, b"oops")
                    .unwrap_err()
                    .is_unavailable(),
                "{status}"
            );
        }
        assert!(matches!(
            interpret_charge_response(404, br#"{"error":{"message":"No such payment_method"}}"#),
            Err(ProviderError::Refused { status: 404, .. })
        ));
        // An intent that did not succeed is a decline with its reason.
        assert!(matches!(
            interpret_charge_response(
                200,
                br#"{"id":"pi_2","status":"requires_payment_method","last_payment_error":{"code":"card_declined","message":"No."}}"#
            )
            .unwrap(),
            ChargeOutcome::Declined { .. }
        ));
    }
}
