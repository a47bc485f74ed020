//! `payment-reconcile`: the database against itself and against the
//! provider. Every difference is one line; none means the books agree.
//!
//! - the ledger's invariants (`store::ledger_violations`);
//! - a `PAID` invoice whose charge the provider does not have, has for
//!   another amount, or does not show as succeeded;
//! - a charge that succeeded at the provider for an invoice that is not
//!   `PAID` here (the worker and the webhook both missed it);
//! - more than one succeeded charge for one invoice (a double charge).

use std::collections::HashMap;

use talentgraph_kit::Database;
use talentgraph_payment_provider::{PaymentIntentSummary, ProviderClient};
use uuid::Uuid;

/// Why reconciliation could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("database: {0}")]
    Database(String),
    #[error("provider: {0}")]
    Provider(String),
}

#[derive(Debug, sqlx::FromRow)]
struct PaidInvoice {
    id: Uuid,
    number: String,
    total_cents: i32,
    currency: String,
    provider_payment_id: Option<String>,
}

/// The differences between the books and the provider; empty when they
/// agree.
pub async fn reconcile(
    database: &Database,
    provider: &ProviderClient,
) -> Result<Vec<String>, ReconcileError> {
    let mut differences = crate::store::ledger_violations(database)
        .await
        .map_err(|error| ReconcileError::Database(error.detail().to_string()))?;
    let intents = provider
        .payment_intents()
        .await
        .map_err(|error| ReconcileError::Provider(error.to_string()))?;
    let by_id: HashMap<&str, &PaymentIntentSummary> = intents
        .iter()
        .map(|intent| (intent.id.as_str(), intent))
        .collect();
    let paid: Vec<PaidInvoice> = database
        .fetch_all(sqlx::query_as(
            "SELECT id, number, total_cents, currency, provider_payment_id FROM invoices \
             WHERE status = 'PAID' AND (credits IS NOT NULL OR plan_code IS NOT NULL)",
        ))
        .await
        .map_err(|error| ReconcileError::Database(error.detail().to_string()))?;
    let mut paid_ids = std::collections::HashSet::new();
    for invoice in &paid {
        paid_ids.insert(invoice.id.to_string());
        let Some(intent_id) = &invoice.provider_payment_id else {
            differences.push(format!(
                "invoice {} is PAID without a provider payment",
                invoice.number
            ));
            continue;
        };
        match by_id.get(intent_id.as_str()) {
            None => differences.push(format!(
                "invoice {} is PAID by {intent_id}, which the provider does not have",
                invoice.number
            )),
            Some(intent) => {
                if intent.status != "succeeded" {
                    differences.push(format!(
                        "invoice {} is PAID but {intent_id} is {}",
                        invoice.number, intent.status
                    ));
                }
                if intent.amount != i64::from(invoice.total_cents)
                    || !intent.currency.eq_ignore_ascii_case(&invoice.currency)
                {
                    differences.push(format!(
                        "invoice {} is {} {} but {intent_id} charged {} {}",
                        invoice.number,
                        invoice.total_cents,
                        invoice.currency,
                        intent.amount,
                        intent.currency
                    ));
                }
            }
        }
    }
    let mut succeeded_per_invoice: HashMap<&str, Vec<&str>> = HashMap::new();
    for intent in intents.iter().filter(|intent| intent.status == "succeeded") {
        if let Some(invoice_id) = intent.invoice_id() {
            succeeded_per_invoice
                .entry(invoice_id)
                .or_default()
                .push(intent.id.as_str());
        }
    }
    let mut invoices: Vec<_> = succeeded_per_invoice.into_iter().collect();
    invoices.sort();
    for (invoice_id, charges) in invoices {
        if charges.len() > 1 {
            differences.push(format!(
                "invoice {invoice_id} was charged {} times: {}",
                charges.len(),
                charges.join(", ")
            ));
        }
        if !paid_ids.contains(invoice_id) {
            differences.push(format!(
                "{} succeeded at the provider for invoice {invoice_id}, which is not PAID here",
                charges.join(", ")
            ));
        }
    }
    Ok(differences)
}
