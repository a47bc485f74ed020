//! Charges against invoices: accepting a charge request once, locking an
//! invoice for the charge worker, and settling it paid or failed.

use talentgraph_kit::database::Transaction;
use talentgraph_kit::{Database, DatabaseError};
use uuid::Uuid;

use crate::error::PaymentError;
use crate::model::{Invoice, PlanCode};

use super::INVOICES_BY_ID;
use super::ledger::{LedgerTransaction, write_ledger_transaction};
use super::plans::{BillingPeriod, switch_plan};

/// A charge to accept: what the invoice is for and who asked how.
pub(super) struct ChargeToAccept<'a> {
    pub(super) organization_id: Uuid,
    pub(super) idempotency_key: &'a str,
    /// Everything that makes the request this request; another request
    /// with the same key is a conflict.
    pub(super) request_hash: String,
    pub(super) total_cents: i32,
    pub(super) description: String,
    /// Credits granted when paid.
    pub(super) credits: Option<i32>,
    /// The plan that takes effect when paid.
    pub(super) plan: Option<PlanCode>,
    pub(super) payment_method: &'a str,
}

pub(super) struct AcceptedCharge {
    pub(super) invoice: Invoice,
    pub(super) replayed: bool,
}

/// Claims the idempotency key and, the first time, writes the `PENDING`
/// invoice and its `charge.requested` event; a repeat returns the first
/// invoice as it is now. In the caller's transaction.
pub(super) async fn accept_charge(
    transaction: &mut Transaction,
    charge: ChargeToAccept<'_>,
) -> Result<AcceptedCharge, PaymentError> {
    let organization_id = charge.organization_id;
    // A concurrent request with the same key waits here on the primary
    // key until the first commits, then sees its stored result.
    let claimed = transaction
        .execute(
            sqlx::query(
                "INSERT INTO idempotency_keys (organization_id, key, operation, request_hash) \
                 VALUES ($1, $2, split_part($3, ':', 1), $3) ON CONFLICT DO NOTHING",
            )
            .bind(organization_id)
            .bind(charge.idempotency_key)
            .bind(&charge.request_hash),
        )
        .await?;
    if claimed == 0 {
        let invoice = replayed_invoice(
            transaction,
            organization_id,
            charge.idempotency_key,
            &charge.request_hash,
        )
        .await?;
        return Ok(AcceptedCharge {
            invoice,
            replayed: true,
        });
    }
    let invoice = transaction
        .fetch_one(
            sqlx::query_as::<_, Invoice>(concat!(
                "INSERT INTO invoices (id, organization_id, number, status, currency, total_cents, description, due_at, \
                                       credits, plan_code, payment_method) \
                 VALUES ($1, $2, 'TG-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('invoice_numbers')::text, 6, '0'), \
                         'PENDING', 'EUR', $3, $4, now(), $5, $6, $7) \
                 RETURNING ",
                invoice_columns!()
            ))
            .bind(Uuid::new_v4())
            .bind(organization_id)
            .bind(charge.total_cents)
            .bind(&charge.description)
            .bind(charge.credits)
            .bind(charge.plan.map(PlanCode::as_str))
            .bind(charge.payment_method),
        )
        .await?;
    talentgraph_kit::events::record_event(
        transaction,
        &talentgraph_events::ChargeRequested {
            invoice_id: invoice.id,
            organization_id,
            amount_cents: i64::from(charge.total_cents),
            currency: "EUR".to_owned(),
            payment_method: charge.payment_method.to_owned(),
        },
    )
    .await?;
    transaction
        .execute(
            sqlx::query(
                "UPDATE idempotency_keys SET result_invoice_id = $3 \
                 WHERE organization_id = $1 AND key = $2",
            )
            .bind(organization_id)
            .bind(charge.idempotency_key)
            .bind(invoice.id),
        )
        .await?;
    Ok(AcceptedCharge {
        invoice,
        replayed: false,
    })
}

/// The invoice an idempotency key produced, or a conflict when the key was
/// used for a different request.
pub(super) async fn replayed_invoice(
    transaction: &mut Transaction,
    organization_id: Uuid,
    key: &str,
    request_hash: &str,
) -> Result<Invoice, PaymentError> {
    let stored: Option<(String, Option<Uuid>)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT request_hash, result_invoice_id FROM idempotency_keys \
                 WHERE organization_id = $1 AND key = $2",
            )
            .bind(organization_id)
            .bind(key),
        )
        .await?;
    let Some((stored_hash, Some(invoice_id))) = stored else {
        return Err(PaymentError::IdempotencyKeyReused);
    };
    if stored_hash != request_hash {
        return Err(PaymentError::IdempotencyKeyReused);
    }
    // The foreign key guarantees the invoice exists.
    Ok(transaction
        .fetch_one(sqlx::query_as::<_, Invoice>(INVOICES_BY_ID).bind(vec![invoice_id]))
        .await?)
}

/// What the charge worker needs to know about an invoice before charging,
/// read under a row lock that the webhook's reconciliation also takes, so
/// the two never settle one invoice twice.
#[derive(Debug, sqlx::FromRow)]
pub struct ChargeState {
    pub status: String,
    /// What the invoice asks for, which a payment must match to settle it.
    pub total_cents: i32,
    pub currency: String,
}

pub async fn lock_invoice_for_charge(
    transaction: &mut Transaction,
    invoice_id: Uuid,
) -> Result<Option<ChargeState>, DatabaseError> {
    transaction
        .fetch_optional(
            sqlx::query_as::<_, ChargeState>(
                "SELECT status, total_cents, currency FROM invoices WHERE id = $1 FOR UPDATE",
            )
            .bind(invoice_id),
        )
        .await
}

/// Whether an invoice in this status still waits for its charge.
pub fn awaits_charge(status: &str) -> bool {
    status == "PENDING" || status == "PAYMENT_ERROR"
}

/// What an invoice bought, read as it is marked paid.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct PaidInvoice {
    pub(super) organization_id: Uuid,
    pub(super) total_cents: i32,
    pub(super) currency: String,
    pub(super) credits: Option<i32>,
    pub(super) plan_code: Option<String>,
}

/// The invoice is paid: status, the ledger pair that buys its credits, the
/// balance, and the events, in the caller's transaction. Does nothing when
/// the invoice is settled already (false).
pub async fn settle_invoice_paid(
    transaction: &mut Transaction,
    invoice_id: Uuid,
    provider_payment_id: &str,
) -> Result<bool, DatabaseError> {
    let settled: Option<PaidInvoice> = transaction
        .fetch_optional(
            sqlx::query_as::<_, PaidInvoice>(
                "UPDATE invoices SET status = 'PAID', paid_at = now(), provider_payment_id = $2, \
                        failure_reason = NULL, updated_at = now() \
                 WHERE id = $1 AND status IN ('PENDING', 'PAYMENT_ERROR') \
                 RETURNING organization_id, total_cents, currency, credits, plan_code",
            )
            .bind(invoice_id)
            .bind(provider_payment_id),
        )
        .await?;
    let Some(PaidInvoice {
        organization_id,
        total_cents,
        currency,
        credits,
        plan_code: plan,
    }) = settled
    else {
        return Ok(false);
    };
    if let Some(plan) = plan {
        // A paid plan change takes effect now, for a month, and settles
        // whatever was overdue.
        switch_plan(transaction, organization_id, &plan, BillingPeriod::StartNew).await?;
    }
    if let Some(credits) = credits {
        write_ledger_transaction(
            transaction,
            organization_id,
            LedgerTransaction::Purchase {
                invoice_id,
                credits,
            },
        )
        .await?;
        talentgraph_kit::events::record_event(
            transaction,
            &talentgraph_events::JobCreditsPurchased {
                organization_id,
                invoice_id,
                credits,
                total_cents: i64::from(total_cents),
                currency: currency.clone(),
            },
        )
        .await?;
    }
    talentgraph_kit::events::record_event(
        transaction,
        &talentgraph_events::InvoicePaid {
            invoice_id,
            organization_id,
            total_cents: i64::from(total_cents),
            currency,
            provider_payment_id: provider_payment_id.to_owned(),
        },
    )
    .await?;
    Ok(true)
}

/// The provider declined the charge: `FAILED` with its reason, and the
/// event. Does nothing when the invoice is settled already.
pub async fn settle_invoice_failed(
    transaction: &mut Transaction,
    invoice_id: Uuid,
    reason: &str,
) -> Result<bool, DatabaseError> {
    let settled: Option<(Uuid,)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "UPDATE invoices SET status = 'FAILED', failure_reason = $2, updated_at = now() \
                 WHERE id = $1 AND status IN ('PENDING', 'PAYMENT_ERROR') RETURNING organization_id",
            )
            .bind(invoice_id)
            .bind(reason),
        )
        .await?;
    let Some((organization_id,)) = settled else {
        return Ok(false);
    };
    talentgraph_kit::events::record_event(
        transaction,
        &talentgraph_events::InvoicePaymentFailed {
            invoice_id,
            organization_id,
            reason: reason.to_owned(),
        },
    )
    .await?;
    Ok(true)
}

/// The charge gave up (its event is dead-lettered): `PAYMENT_ERROR`, which
/// a replay of the event can still turn into `PAID`.
pub async fn mark_payment_error(
    database: &Database,
    invoice_id: Uuid,
) -> Result<(), DatabaseError> {
    database
        .execute(
            sqlx::query(
                "UPDATE invoices SET status = 'PAYMENT_ERROR', updated_at = now(), \
                        failure_reason = 'The payment provider did not answer; the charge will be retried.' \
                 WHERE id = $1 AND status = 'PENDING'",
            )
            .bind(invoice_id),
        )
        .await?;
    Ok(())
}
