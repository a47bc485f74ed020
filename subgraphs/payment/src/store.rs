//! Every SQL statement of the payment subgraph, and the purchase and plan
//! change transactions built from them.
//!
//! Each table's column list is written once (`invoice_columns!`,
//! `plan_columns!`, `billing_columns!`), and every statement that returns
//! such rows is built from it at compile time.

use talentgraph_kit::database::Transaction;
use talentgraph_kit::{Database, DatabaseError, child_page_sql};
use uuid::Uuid;

use crate::error::PaymentError;
use crate::model::{Billing, Invoice, Plan, PlanCode, PurchaseJobCreditsPayload};

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

/// The `invoices` columns an [`Invoice`] is read from.
macro_rules! invoice_columns {
    () => {
        "id, organization_id, number, status, currency, total_cents, description, issued_at, due_at, paid_at, failure_reason"
    };
}

/// The `plans` columns a [`Plan`] is read from.
macro_rules! plan_columns {
    () => {
        "code, name, monthly_price_cents, included_job_credits, verified_badge"
    };
}

pub const BILLING_BY_ORGANIZATION: &str = "SELECT s.organization_id, p.code, p.name, p.monthly_price_cents, \
       p.included_job_credits, p.verified_badge, s.status, s.current_period_end, COALESCE(b.job_credits, 0) AS job_credits \
     FROM subscriptions s JOIN plans p ON p.code = s.plan_code \
     LEFT JOIN credit_balances b ON b.organization_id = s.organization_id \
     WHERE s.organization_id = ANY($1)";

/// The badge needs an active plan that carries it and at least one paid
/// invoice: choosing a plan is not paying for it.
pub const VERIFIED_BADGE_ORGANIZATIONS: &str = "SELECT s.organization_id FROM subscriptions s \
     JOIN plans p ON p.code = s.plan_code \
     WHERE s.organization_id = ANY($1) AND s.status = 'ACTIVE' AND p.verified_badge \
       AND EXISTS (SELECT 1 FROM invoices i WHERE i.organization_id = s.organization_id AND i.status = 'PAID')";

pub const INVOICES_BY_ID: &str = concat!(
    "SELECT ",
    invoice_columns!(),
    " FROM invoices WHERE id = ANY($1)"
);

pub const INVOICE_PAGES_BY_ORGANIZATION: &str = child_page_sql!(
    select: invoice_columns!(),
    from: "invoices",
    parent: "organization_id",
    order: ("issued_at", "id"),
);

pub const PROMOTIONS_BY_JOB: &str =
    "SELECT job_id, tier, starts_at, ends_at FROM job_promotions WHERE job_id = ANY($1)";

/// Every plan on offer, cheapest first.
pub async fn plans(database: &Database) -> Result<Vec<Plan>, PaymentError> {
    let query = sqlx::query_as::<_, Plan>(concat!(
        "SELECT ",
        plan_columns!(),
        " FROM plans ORDER BY monthly_price_cents"
    ));
    Ok(database.fetch_all(query).await?)
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
async fn credit_balance(
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

/// A charge to accept: what the invoice is for and who asked how.
struct ChargeToAccept<'a> {
    organization_id: Uuid,
    idempotency_key: &'a str,
    /// Everything that makes the request this request; another request
    /// with the same key is a conflict.
    request_hash: String,
    total_cents: i32,
    description: String,
    /// Credits granted when paid.
    credits: Option<i32>,
    /// The plan that takes effect when paid.
    plan: Option<PlanCode>,
    payment_method: &'a str,
}

struct AcceptedCharge {
    invoice: Invoice,
    replayed: bool,
}

/// Claims the idempotency key and, the first time, writes the `PENDING`
/// invoice and its `charge.requested` event; a repeat returns the first
/// invoice as it is now. In the caller's transaction.
async fn accept_charge(
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
async fn replayed_invoice(
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
}

pub async fn lock_invoice_for_charge(
    transaction: &mut Transaction,
    invoice_id: Uuid,
) -> Result<Option<ChargeState>, DatabaseError> {
    transaction
        .fetch_optional(
            sqlx::query_as::<_, ChargeState>(
                "SELECT status FROM invoices WHERE id = $1 FOR UPDATE",
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
struct PaidInvoice {
    organization_id: Uuid,
    total_cents: i32,
    currency: String,
    credits: Option<i32>,
    plan_code: Option<String>,
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

/// One ledger transaction: entries that sum to zero.
#[derive(Debug, Clone, Copy)]
pub enum LedgerTransaction {
    /// Credits bought with a paid invoice: the organization gains them, the
    /// platform's sales account gives them.
    Purchase { invoice_id: Uuid, credits: i32 },
    /// A posted job used a credit.
    Consume { job_id: Uuid },
}

/// Writes a ledger transaction and moves the organization's balance by its
/// organization-side amount, so the balance always equals the entries.
pub async fn write_ledger_transaction(
    transaction: &mut Transaction,
    organization_id: Uuid,
    entry: LedgerTransaction,
) -> Result<(), DatabaseError> {
    let (kind, platform_account, organization_credits, invoice_id, job_id) = match entry {
        LedgerTransaction::Purchase {
            invoice_id,
            credits,
        } => (
            "PURCHASE",
            "platform:sales",
            credits,
            Some(invoice_id),
            None,
        ),
        LedgerTransaction::Consume { job_id } => {
            ("CONSUME", "platform:postings", -1, None, Some(job_id))
        }
    };
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO ledger_entries (id, transaction_id, organization_id, kind, account, credits, invoice_id, job_id) \
                 SELECT gen_random_uuid(), $1, $2, $3, side.account, side.credits, $6, $7 \
                 FROM (VALUES ('organization', $4::int), ($5, -$4::int)) AS side(account, credits)",
            )
            .bind(Uuid::new_v4())
            .bind(organization_id)
            .bind(kind)
            .bind(organization_credits)
            .bind(platform_account)
            .bind(invoice_id)
            .bind(job_id),
        )
        .await?;
    // PostgreSQL checks `job_credits >= 0` on the row an upsert proposes
    // before it looks for a conflict, so a debit updates the row (which a
    // debit's caller has locked and found sufficient) and only a credit
    // may create it.
    let statement = if organization_credits < 0 {
        "UPDATE credit_balances SET job_credits = job_credits + $2, updated_at = now() \
         WHERE organization_id = $1"
    } else {
        "INSERT INTO credit_balances (organization_id, job_credits) VALUES ($1, $2) \
         ON CONFLICT (organization_id) DO UPDATE \
         SET job_credits = credit_balances.job_credits + EXCLUDED.job_credits, updated_at = now()"
    };
    transaction
        .execute(
            sqlx::query(statement)
                .bind(organization_id)
                .bind(organization_credits),
        )
        .await?;
    Ok(())
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

/// Records a provider webhook event; false when it was applied before.
pub async fn record_provider_event(
    transaction: &mut Transaction,
    event_id: &str,
    event_type: &str,
) -> Result<bool, DatabaseError> {
    Ok(transaction
        .execute(
            sqlx::query(
                "INSERT INTO provider_events (id, event_type) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(event_id)
            .bind(event_type),
        )
        .await?
        == 1)
}

/// The ledger's invariants, checked against the database: every
/// transaction sums to zero, and every balance equals its organization's
/// entries. Returns one line per violation.
pub async fn ledger_violations(database: &Database) -> Result<Vec<String>, DatabaseError> {
    let unbalanced: Vec<(Uuid, i64)> = database
        .fetch_all(sqlx::query_as(
            "SELECT transaction_id, sum(credits) FROM ledger_entries \
             GROUP BY transaction_id HAVING sum(credits) <> 0",
        ))
        .await?;
    let mismatched: Vec<(Uuid, i32, i64)> = database
        .fetch_all(sqlx::query_as(
            "SELECT b.organization_id, b.job_credits, COALESCE(e.total, 0) \
             FROM credit_balances b LEFT JOIN ( \
                 SELECT organization_id, sum(credits) AS total FROM ledger_entries \
                 WHERE account = 'organization' GROUP BY organization_id) e \
               ON e.organization_id = b.organization_id \
             WHERE b.job_credits <> COALESCE(e.total, 0)",
        ))
        .await?;
    Ok(unbalanced
        .into_iter()
        .map(|(transaction, sum)| format!("ledger transaction {transaction} sums to {sum}, not 0"))
        .chain(
            mismatched
                .into_iter()
                .map(|(organization, balance, entries)| {
                    format!(
                        "organization {organization}: balance {balance}, entries sum to {entries}"
                    )
                }),
        )
        .collect())
}

/// Whether a plan switch starts a new billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BillingPeriod {
    /// A paid change: a month from now.
    StartNew,
    /// A free downgrade: the paid-for period runs on.
    Keep,
}

/// Writes the subscription's plan as `ACTIVE` and announces it.
async fn switch_plan(
    transaction: &mut Transaction,
    organization_id: Uuid,
    plan: &str,
    period: BillingPeriod,
) -> Result<(), DatabaseError> {
    let statement = match period {
        BillingPeriod::StartNew => {
            "INSERT INTO subscriptions (organization_id, plan_code, status, current_period_end) \
             VALUES ($1, $2, 'ACTIVE', now() + interval '1 month') \
             ON CONFLICT (organization_id) DO UPDATE SET plan_code = EXCLUDED.plan_code, status = 'ACTIVE', \
                 current_period_end = EXCLUDED.current_period_end, updated_at = now()"
        }
        BillingPeriod::Keep => {
            "INSERT INTO subscriptions (organization_id, plan_code, status, current_period_end) \
             VALUES ($1, $2, 'ACTIVE', now() + interval '1 month') \
             ON CONFLICT (organization_id) DO UPDATE SET plan_code = EXCLUDED.plan_code, status = 'ACTIVE', \
                 updated_at = now()"
        }
    };
    transaction
        .execute(sqlx::query(statement).bind(organization_id).bind(plan))
        .await?;
    talentgraph_kit::events::record_event(
        transaction,
        &talentgraph_events::PlanChanged {
            organization_id,
            plan: plan.to_owned(),
        },
    )
    .await?;
    Ok(())
}

/// How a plan change is paid for, when it costs money.
pub struct PlanPayment<'a> {
    pub payment_method: &'a str,
    pub idempotency_key: &'a str,
}

/// Changes an organization's plan under the billing rules:
///
/// - an `ACTIVE` subscription moves to a cheaper (or equally priced) plan
///   at once, without refund, and to the same plan not at all;
/// - a dearer plan costs the difference in monthly price: an invoice is
///   created and the plan changes when it is paid;
/// - a `PAST_DUE` or `CANCELED` subscription becomes `ACTIVE` only by paying
///   a month of the chosen plan, so `PAST_DUE` to `FREE` is refused
///   (`PLAN_CHANGE_NOT_ALLOWED`) and `CANCELED` to `FREE` is allowed.
///
/// Returns the billing as it is now and the invoice to pay, if any.
pub async fn change_plan(
    database: &Database,
    organization_id: Uuid,
    plan: PlanCode,
    payment: Option<PlanPayment<'_>>,
) -> Result<(Billing, Option<Invoice>, bool), PaymentError> {
    let mut transaction = database.begin().await?;
    let current: Option<(String, String, i32)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT s.plan_code, s.status, p.monthly_price_cents FROM subscriptions s \
                 JOIN plans p ON p.code = s.plan_code WHERE s.organization_id = $1 FOR UPDATE OF s",
            )
            .bind(organization_id),
        )
        .await?;
    // An organization without a subscription is on the free plan.
    let has_subscription = current.is_some();
    let (current_plan, status, current_price) =
        current.unwrap_or_else(|| ("FREE".to_owned(), "ACTIVE".to_owned(), 0));
    let (target_price,): (i32,) = transaction
        .fetch_one(
            sqlx::query_as("SELECT monthly_price_cents FROM plans WHERE code = $1")
                .bind(plan.as_str()),
        )
        .await?;
    let amount_due = match status.as_str() {
        "ACTIVE" if current_plan == plan.as_str() && has_subscription => None,
        "ACTIVE" if target_price <= current_price => Some(0),
        "ACTIVE" => Some(target_price - current_price),
        "PAST_DUE" if target_price == 0 => return Err(PaymentError::PlanChangeNotAllowed),
        _ => Some(target_price),
    };
    let mut invoice = None;
    let mut replayed = false;
    match amount_due {
        None => {}
        Some(0) => {
            switch_plan(
                &mut transaction,
                organization_id,
                plan.as_str(),
                BillingPeriod::Keep,
            )
            .await?;
        }
        Some(total_cents) => {
            let Some(payment) = payment else {
                return Err(PaymentError::PaymentRequired);
            };
            let accepted = accept_charge(
                &mut transaction,
                ChargeToAccept {
                    organization_id,
                    idempotency_key: payment.idempotency_key,
                    request_hash: format!(
                        "changePlan:{organization_id}:{}:{}",
                        plan.as_str(),
                        payment.payment_method
                    ),
                    total_cents,
                    description: format!("Plan change to {}", plan.as_str()),
                    credits: None,
                    plan: Some(plan),
                    payment_method: payment.payment_method,
                },
            )
            .await?;
            replayed = accepted.replayed;
            invoice = Some(accepted.invoice);
        }
    }
    if !has_subscription && invoice.is_some() {
        // The plan to pay for is not in force yet; the organization is on
        // the free plan until the invoice is paid.
        switch_plan(
            &mut transaction,
            organization_id,
            "FREE",
            BillingPeriod::StartNew,
        )
        .await?;
    }
    // Every path above leaves a subscription row in this transaction.
    let billing = transaction
        .fetch_one(
            sqlx::query_as::<_, Billing>(BILLING_BY_ORGANIZATION).bind(vec![organization_id]),
        )
        .await?;
    transaction.commit().await?;
    Ok((billing, invoice, replayed))
}
