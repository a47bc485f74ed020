//! The events payment consumes: its own `charge.requested` (the charge
//! worker) and employer's `job.posted` (a credit per posting).

use std::sync::Arc;

use talentgraph_events::{ChargeRequested, JobPosted};
use talentgraph_kit::Database;
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::{
    BoxFuture, ConsumerSettings, Envelope, EventHandler, EventTask, EventTaskList, HandlerError,
};
use talentgraph_payment_provider::{
    Admission, BreakerSettings, ChargeOutcome, ChargeRequest, CircuitBreaker, ProviderClient,
    ProviderError, ProviderSettings,
};

use crate::settings::{PaymentSettings, ProviderAccount};
use crate::store;

/// The charge worker: charges each requested invoice at the provider.
///
/// It runs inside the consumer's transaction and holds the invoice's row
/// lock across the provider call. That keeps the webhook (which takes the
/// same lock) from settling the invoice at the same moment, and the call is
/// bounded by the provider timeout, which is shorter than the consumer's
/// acknowledgement wait. The idempotency key is the invoice id, so every
/// retry of one invoice, from this process or another after a crash, is
/// the same charge at the provider.
pub struct ChargeWorker {
    pub client: ProviderClient,
    pub breaker: Arc<CircuitBreaker>,
}

impl ChargeWorker {
    async fn charge(
        &self,
        transaction: &mut Transaction,
        charge: &ChargeRequested,
    ) -> Result<(), HandlerError> {
        let Some(state) = store::lock_invoice_for_charge(transaction, charge.invoice_id).await?
        else {
            return Err(HandlerError::Rejected(format!(
                "invoice {} does not exist",
                charge.invoice_id
            )));
        };
        if !store::awaits_charge(&state.status) {
            // Settled already: by an earlier delivery whose acknowledgement
            // was lost, or by the webhook.
            return Ok(());
        }
        if let Admission::Wait(wait) = self.breaker.admit() {
            return Err(HandlerError::Unavailable(format!(
                "circuit breaker open for another {} ms",
                wait.as_millis()
            )));
        }
        // The invoice row, not the event, says what to charge: anyone who
        // could publish a `payment.charge_requested` must not choose the
        // amount. An event that disagrees is logged and charged as the
        // invoice says.
        if i64::from(state.total_cents) != charge.amount_cents || state.currency != charge.currency
        {
            tracing::warn!(
                invoice_id = %charge.invoice_id,
                event_amount_cents = charge.amount_cents,
                event_currency = %charge.currency,
                invoice_total_cents = state.total_cents,
                invoice_currency = %state.currency,
                "a charge event disagrees with its invoice; charging the invoice's total"
            );
        }
        let idempotency_key = format!("invoice-{}", charge.invoice_id);
        let invoice_id = charge.invoice_id.to_string();
        let request = ChargeRequest {
            idempotency_key: &idempotency_key,
            amount_cents: i64::from(state.total_cents),
            currency: &state.currency,
            payment_method: &charge.payment_method,
            invoice_id: &invoice_id,
        };
        match self.client.charge(&request).await {
            Ok(ChargeOutcome::Succeeded { payment_intent_id }) => {
                self.breaker.record_success();
                store::settle_invoice_paid(transaction, charge.invoice_id, &payment_intent_id)
                    .await?;
                tracing::info!(invoice_id = %charge.invoice_id, %payment_intent_id, "invoice paid");
                Ok(())
            }
            Ok(ChargeOutcome::Declined { code, reason, .. }) => {
                self.breaker.record_success();
                store::settle_invoice_failed(transaction, charge.invoice_id, &reason).await?;
                tracing::info!(invoice_id = %charge.invoice_id, %code, "charge declined");
                Ok(())
            }
            Err(ProviderError::Refused { status, message }) => {
                // The provider answered, so it is up; the request itself
                // cannot succeed. The reason is ours to word: the
                // provider's message may name internals.
                self.breaker.record_success();
                tracing::warn!(invoice_id = %charge.invoice_id, status, %message, "provider refused the charge");
                store::settle_invoice_failed(
                    transaction,
                    charge.invoice_id,
                    "The payment method was refused; choose another one.",
                )
                .await?;
                Ok(())
            }
            Err(error) => {
                self.breaker.record_failure();
                Err(HandlerError::Unavailable(error.to_string()))
            }
        }
    }
}

impl EventHandler for ChargeWorker {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let charge: ChargeRequested = envelope.decode()?;
            self.charge(transaction, &charge).await
        })
    }

    fn hold_off(&self) -> Option<std::time::Duration> {
        self.breaker.hold_off()
    }

    fn on_dead_letter<'a>(
        &'a self,
        database: &'a Database,
        envelope: &'a Envelope,
        _error: &'a str,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let charge: ChargeRequested = envelope.decode()?;
            store::mark_payment_error(database, charge.invoice_id).await?;
            Ok(())
        })
    }
}

/// `job.posted` → one of the organization's credits for the job, or the
/// posting's rejection when none is left.
pub struct CreditsForPostings;

impl EventHandler for CreditsForPostings {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let posted: JobPosted = envelope.decode()?;
            let outcome =
                store::consume_credit_for_job(transaction, posted.organization_id, posted.job_id)
                    .await?;
            tracing::info!(job_id = %posted.job_id, ?outcome, "job posting charged");
            Ok(())
        })
    }
}

/// Payment's event tasks: the relay, the posting consumer, and the charge
/// worker when a provider is configured.
pub fn event_tasks(tasks: EventTaskList<'_>, config: &SubgraphConfig) -> Vec<EventTask> {
    let tasks = tasks.outbox_relay("payment").consumer(
        ConsumerSettings::for_event::<JobPosted>("payment-job-credits"),
        CreditsForPostings,
    );
    let payment = PaymentSettings::of(config);
    let Some(provider) = &payment.provider else {
        if config.environment == talentgraph_kit::config::Environment::Production {
            tracing::error!(
                "PAYMENT_PROVIDER_URL is not set: purchases stay PENDING until a provider is configured"
            );
        } else {
            tracing::warn!(
                "PAYMENT_PROVIDER_URL is not set: purchases stay PENDING until a provider is configured"
            );
        }
        return tasks.into_tasks();
    };
    let client = match provider_client(provider, &payment) {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the payment provider client; charges wait");
            return tasks.into_tasks();
        }
    };
    let retries = payment.charge_retries;
    let mut settings = ConsumerSettings::for_event::<ChargeRequested>("payment-charges");
    settings.max_deliveries = retries.max_attempts;
    settings.first_retry_delay = retries.first_retry_delay;
    // Longer than a provider call, so a slow answer is not redelivered to
    // a second worker while the first still waits for it.
    settings.ack_wait = payment.provider_timeout * 3;
    tasks
        .consumer(
            settings,
            ChargeWorker {
                client,
                breaker: Arc::new(CircuitBreaker::new(BreakerSettings {
                    failure_threshold: retries.breaker_failure_threshold,
                    open_for: retries.breaker_open_for,
                })),
            },
        )
        .into_tasks()
}

/// The provider client the configuration describes.
pub fn provider_client(
    provider: &ProviderAccount,
    payment: &PaymentSettings,
) -> Result<ProviderClient, ProviderError> {
    ProviderClient::new(ProviderSettings {
        base_url: provider.url.clone(),
        secret_key: provider.secret_key.clone(),
        request_timeout: payment.provider_timeout,
    })
}
