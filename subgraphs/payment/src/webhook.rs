//! `POST /webhooks/provider`: the provider's signed notifications, which
//! settle invoices the charge worker could not (its process died after the
//! provider charged and before the commit, say).
//!
//! A signature says the provider sent the event, not that the payment it
//! names is the invoice's: before a `payment_intent.succeeded` settles
//! anything, the PaymentIntent is fetched from the provider by its id, and
//! the invoice it settles is the one the *provider's* copy names, for the
//! invoice's amount and currency, with the status `succeeded`. What does
//! not match is recorded and left alone, logged as an error.
//!
//! Each event is applied once, by the provider's event id, in the same
//! transaction as its effect; settling takes the invoice's row lock like the
//! charge worker, and settling a settled invoice changes nothing, so the
//! worker and the webhook can race without paying an invoice twice.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use talentgraph_kit::Database;
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_payment_provider::webhook::{DEFAULT_TOLERANCE_SECONDS, verify_signature};
use talentgraph_payment_provider::{PaymentIntentSummary, ProviderClient, ProviderError};
use uuid::Uuid;

use crate::settings::PaymentSettings;
use crate::store;

#[derive(Clone)]
struct WebhookState {
    database: Database,
    secret: Option<String>,
    /// Where a reported payment is looked up before it settles anything.
    provider: Option<ProviderClient>,
}

/// The webhook route, to merge into the subgraph's app.
/// Where the provider delivers events; a public path of the subgraph
/// (served on `PUBLIC_LISTEN_ADDR` when set, which only the provider needs
/// to reach).
pub const PATH: &str = "/webhooks/provider";

pub fn routes(database: Database, config: &SubgraphConfig) -> Router {
    let settings = PaymentSettings::of(config);
    let provider = settings.provider.as_ref().and_then(|account| {
        crate::consumers::provider_client(account, &settings)
            .inspect_err(|error| tracing::error!(%error, "no provider client for the webhook"))
            .ok()
    });
    Router::new()
        .route(PATH, post(receive))
        // Provider events are a few kilobytes.
        .layer(DefaultBodyLimit::max(256 * 1024))
        .with_state(WebhookState {
            database,
            secret: settings.webhook_secret,
            provider,
        })
}

#[derive(Debug, Deserialize)]
struct ProviderEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: ProviderEventData,
}

#[derive(Debug, Deserialize)]
struct ProviderEventData {
    object: PaymentIntentObject,
}

#[derive(Debug, Deserialize)]
struct PaymentIntentObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    last_payment_error: Option<PaymentError>,
}

#[derive(Debug, Deserialize)]
struct PaymentError {
    #[serde(default)]
    message: Option<String>,
}

const SUCCEEDED: &str = "payment_intent.succeeded";
const FAILED: &str = "payment_intent.payment_failed";

fn plain(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

async fn receive(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = state.secret.clone() else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhooks are not configured (PAYMENT_WEBHOOK_SECRET)",
        );
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let now = chrono::Utc::now().timestamp();
    // Hashing a body of up to 256 KiB takes about a millisecond: on the
    // blocking pool, not on a worker that serves GraphQL requests.
    let signed_body = body.clone();
    let verified = tokio::task::spawn_blocking(move || {
        verify_signature(
            &secret,
            &signature,
            &signed_body,
            now,
            DEFAULT_TOLERANCE_SECONDS,
        )
    })
    .await;
    match verified {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "webhook refused");
            return plain(StatusCode::BAD_REQUEST, "invalid signature");
        }
        Err(error) => {
            tracing::error!(%error, "webhook signature check did not finish");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "not applied; retry");
        }
    }
    let event: ProviderEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        // Signed but unreadable: not ours to retry forever.
        Err(error) => {
            tracing::warn!(%error, "unreadable webhook event");
            return plain(StatusCode::BAD_REQUEST, "unreadable event");
        }
    };
    let payment = if event.event_type == SUCCEEDED {
        match provider_copy(&state, &event).await {
            Ok(payment) => payment,
            Err(response) => return response,
        }
    } else {
        None
    };
    match apply(&state.database, &event, payment.as_ref()).await {
        Ok(()) => plain(StatusCode::OK, "ok"),
        Err(error) => {
            // The provider retries a failed delivery; the detail stays in
            // the log.
            tracing::error!(event_id = %event.id, error = %error.detail(), "webhook not applied");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "not applied; retry")
        }
    }
}

/// The provider's own copy of the PaymentIntent a succeeded event names:
/// `Ok(None)` when the provider has none by that id (nothing to settle),
/// `Err` with the answer when it cannot be asked now (the provider
/// delivers the event again later).
async fn provider_copy(
    state: &WebhookState,
    event: &ProviderEvent,
) -> Result<Option<PaymentIntentSummary>, Response> {
    let Some(provider) = &state.provider else {
        tracing::error!(event_id = %event.id, "a payment reported by webhook cannot be checked: no provider configured (PAYMENT_PROVIDER_URL)");
        return Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "payments cannot be checked; retry",
        ));
    };
    let Some(id) = &event.data.object.id else {
        tracing::warn!(event_id = %event.id, "a succeeded event without a payment id; ignored");
        return Ok(None);
    };
    match provider.payment_intent(id).await {
        Ok(Some(payment)) => Ok(Some(payment)),
        Ok(None) => {
            tracing::error!(event_id = %event.id, payment_id = %id, "a signed event names a payment the provider does not have; nothing settled");
            Ok(None)
        }
        Err(error @ ProviderError::Unavailable(_)) => {
            tracing::warn!(event_id = %event.id, %error, "the provider could not confirm a reported payment; the delivery will be retried");
            Err(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the provider did not answer; retry",
            ))
        }
        Err(error) => {
            tracing::error!(event_id = %event.id, %error, "the provider refused to show a reported payment");
            Err(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the payment cannot be checked; retry",
            ))
        }
    }
}

/// Why a reported payment settles nothing, for the log.
fn mismatch(payment: &PaymentIntentSummary, invoice: &store::ChargeState) -> Option<String> {
    if payment.status != "succeeded" {
        return Some(format!(
            "the provider says the payment is {}",
            payment.status
        ));
    }
    if payment.amount != i64::from(invoice.total_cents) {
        return Some(format!(
            "the payment is {} cents, the invoice {}",
            payment.amount, invoice.total_cents
        ));
    }
    if !payment.currency.eq_ignore_ascii_case(&invoice.currency) {
        return Some(format!(
            "the payment is in {}, the invoice in {}",
            payment.currency, invoice.currency
        ));
    }
    None
}

fn parse_invoice_id(text: Option<&str>) -> Option<Uuid> {
    text.and_then(|text| Uuid::parse_str(text).ok())
}

async fn apply(
    database: &Database,
    event: &ProviderEvent,
    payment: Option<&PaymentIntentSummary>,
) -> Result<(), talentgraph_kit::DatabaseError> {
    // A succeeded payment settles the invoice the provider's copy names;
    // a failed one only marks an invoice that still waits, so the event's
    // own metadata is enough for it.
    let invoice_id = match event.event_type.as_str() {
        SUCCEEDED => payment.and_then(|payment| parse_invoice_id(payment.invoice_id())),
        _ => parse_invoice_id(
            event
                .data
                .object
                .metadata
                .as_ref()
                .and_then(|metadata| metadata.get("invoice_id"))
                .and_then(|value| value.as_str()),
        ),
    };
    let mut transaction = database.begin().await?;
    if !store::record_provider_event(&mut transaction, &event.id, &event.event_type).await? {
        return Ok(());
    }
    if let Some(invoice_id) = invoice_id
        && let Some(invoice) = store::lock_invoice_for_charge(&mut transaction, invoice_id).await?
    {
        match (event.event_type.as_str(), payment) {
            (SUCCEEDED, Some(payment)) => match mismatch(payment, &invoice) {
                Some(reason) => {
                    tracing::error!(event_id = %event.id, payment_id = %payment.id, %invoice_id, %reason, "a reported payment does not match its invoice; nothing settled");
                }
                None => {
                    if store::settle_invoice_paid(&mut transaction, invoice_id, &payment.id).await?
                    {
                        tracing::info!(%invoice_id, "invoice paid by webhook");
                    }
                }
            },
            (FAILED, _) => {
                let reason = event
                    .data
                    .object
                    .last_payment_error
                    .as_ref()
                    .and_then(|error| error.message.clone())
                    .unwrap_or_else(|| "The payment failed.".to_owned());
                store::settle_invoice_failed(&mut transaction, invoice_id, &reason).await?;
            }
            _ => {}
        }
    }
    transaction.commit().await?;
    Ok(())
}
