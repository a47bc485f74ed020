//! `POST /webhooks/provider`: the provider's signed notifications, which
//! settle invoices the charge worker could not (its process died after the
//! provider charged and before the commit, say).
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
use uuid::Uuid;

use crate::store;

#[derive(Clone)]
struct WebhookState {
    database: Database,
    secret: Option<String>,
}

/// The webhook route, to merge into the subgraph's app.
pub fn routes(database: Database, config: &SubgraphConfig) -> Router {
    Router::new()
        .route("/webhooks/provider", post(receive))
        // Provider events are a few kilobytes.
        .layer(DefaultBodyLimit::max(256 * 1024))
        .with_state(WebhookState {
            database,
            secret: crate::settings::PaymentSettings::of(config).webhook_secret,
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

fn plain(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

async fn receive(State(state): State<WebhookState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.secret else {
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhooks are not configured (PAYMENT_WEBHOOK_SECRET)",
        );
    };
    let signature = headers
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    if let Err(error) = verify_signature(secret, signature, &body, now, DEFAULT_TOLERANCE_SECONDS) {
        tracing::warn!(%error, "webhook refused");
        return plain(StatusCode::BAD_REQUEST, "invalid signature");
    }
    let event: ProviderEvent = match serde_json::from_slice(&body) {
        Ok(event) => event,
        // Signed but unreadable: not ours to retry forever.
        Err(error) => {
            tracing::warn!(%error, "unreadable webhook event");
            return plain(StatusCode::BAD_REQUEST, "unreadable event");
        }
    };
    match apply(&state.database, &event).await {
        Ok(()) => plain(StatusCode::OK, "ok"),
        Err(error) => {
            // The provider retries a failed delivery; the detail stays in
            // the log.
            tracing::error!(event_id = %event.id, error = %error.detail(), "webhook not applied");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "not applied; retry")
        }
    }
}

async fn apply(
    database: &Database,
    event: &ProviderEvent,
) -> Result<(), talentgraph_kit::DatabaseError> {
    let invoice_id = event
        .data
        .object
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get("invoice_id"))
        .and_then(|value| value.as_str())
        .and_then(|text| Uuid::parse_str(text).ok());
    let mut transaction = database.begin().await?;
    if !store::record_provider_event(&mut transaction, &event.id, &event.event_type).await? {
        return Ok(());
    }
    if let Some(invoice_id) = invoice_id
        && store::lock_invoice_for_charge(&mut transaction, invoice_id)
            .await?
            .is_some()
    {
        match event.event_type.as_str() {
            "payment_intent.succeeded" => {
                if let Some(payment_intent_id) = &event.data.object.id
                    && store::settle_invoice_paid(&mut transaction, invoice_id, payment_intent_id)
                        .await?
                {
                    tracing::info!(%invoice_id, "invoice paid by webhook");
                }
            }
            "payment_intent.payment_failed" => {
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
