//! Job-posting credits: their price, purchases and the credit a posting
//! consumes.

use talentgraph_kit::database::Transaction;
use talentgraph_kit::{Database, DatabaseError};
use uuid::Uuid;

use crate::error::PaymentError;
use crate::model::PurchaseJobCreditsPayload;

use super::charges::{ChargeToAccept, accept_charge};
use super::ledger::{LedgerTransaction, write_ledger_transaction};

/// The price of one job-posting credit, in euro cents.
pub const CREDIT_PRICE_CENTS: i32 = 4_900;
/// Most credits one purchase may buy.
pub const MAX_CREDITS_PER_PURCHASE: i32 = 500;

/// What a purchase costs: the credit price, 10 % off from 10 credits.
pub fn purchase_total_cents(credits: i32) -> i32 {
    let gross = credits.saturating_mul(CREDIT_PRICE_CENTS);
    if credits >= 10 {
        gross - gross / 10
    } else {
        gross
    }
}

/// A purchase of job-posting credits that passed validation.
pub struct CreditPurchase<'a> {
    pub organization_id: Uuid,
    pub credits: i32,
    /// The client's idempotency key, trimmed.
    pub idempotency_key: &'a str,
    /// The provider's payment method id (`pm_…`).
    pub payment_method: &'a str,
}

/// The organization's current credit balance (0 when it never had one).
pub(super) async fn credit_balance(
    transaction: &mut Transaction,
    organization_id: Uuid,
) -> Result<i32, PaymentError> {
    let balance: Option<(i32,)> = transaction
        .fetch_optional(
            sqlx::query_as("SELECT job_credits FROM credit_balances WHERE organization_id = $1")
                .bind(organization_id),
        )
        .await?;
    Ok(balance.map_or(0, |(credits,)| credits))
}

/// Accepts a purchase: a `PENDING` invoice, the `charge.requested` event
/// the charge worker acts on, and the idempotency record, in one
/// transaction. Nothing is charged here; the client polls the invoice.
///
/// A key seen before returns the first purchase's invoice as it is now
/// (`replayed`), or `IdempotencyKeyReused` when the key came with another
/// request. Keys belong to the organization, not the recruiter: two
/// recruiters retrying one checkout with its key get one purchase.
pub async fn purchase_job_credits(
    database: &Database,
    purchase: CreditPurchase<'_>,
) -> Result<PurchaseJobCreditsPayload, PaymentError> {
    let CreditPurchase {
        organization_id,
        credits,
        idempotency_key,
        payment_method,
    } = purchase;
    let mut transaction = database.begin().await?;
    let accepted = accept_charge(
        &mut transaction,
        ChargeToAccept {
            organization_id,
            idempotency_key,
            request_hash: format!(
                "purchaseJobCredits:{organization_id}:{credits}:{payment_method}"
            ),
            total_cents: purchase_total_cents(credits),
            description: format!("{credits} job-posting credits"),
            credits: Some(credits),
            plan: None,
            payment_method,
        },
    )
    .await?;
    let job_credits = credit_balance(&mut transaction, organization_id).await?;
    transaction.commit().await?;
    Ok(PurchaseJobCreditsPayload {
        job_credits,
        replayed: accepted.replayed,
        invoice: accepted.invoice,
    })
}

/// What became of a posted job's credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostingCharge {
    Consumed,
    /// Its credit was consumed before (the event came again).
    AlreadyConsumed,
    /// No credit left: the posting is rejected.
    Rejected,
}

/// Consumes one credit for a posted job, or records its rejection when
/// the organization has none left. The balance row is locked first, so
/// two postings of one organization cannot both take its last credit.
pub async fn consume_credit_for_job(
    transaction: &mut Transaction,
    organization_id: Uuid,
    job_id: Uuid,
) -> Result<PostingCharge, DatabaseError> {
    let balance: Option<(i32,)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT job_credits FROM credit_balances WHERE organization_id = $1 FOR UPDATE",
            )
            .bind(organization_id),
        )
        .await?;
    let consumed_before: Option<(Uuid,)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT id FROM ledger_entries WHERE job_id = $1 AND kind = 'CONSUME' AND account = 'organization'",
            )
            .bind(job_id),
        )
        .await?;
    if consumed_before.is_some() {
        return Ok(PostingCharge::AlreadyConsumed);
    }
    if balance.is_some_and(|(credits,)| credits >= 1) {
        write_ledger_transaction(
            transaction,
            organization_id,
            LedgerTransaction::Consume { job_id },
        )
        .await?;
        return Ok(PostingCharge::Consumed);
    }
    talentgraph_kit::events::record_event(
        transaction,
        &talentgraph_events::JobPostingRejected {
            job_id,
            organization_id,
            reason: "NO_JOB_CREDITS".to_owned(),
        },
    )
    .await?;
    Ok(PostingCharge::Rejected)
}
