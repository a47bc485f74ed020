//! Every SQL statement of the payment subgraph, and the purchase and plan
//! change transactions built from them.
//!
//! Each table's column list is written once (`invoice_columns!`,
//! `plan_columns!`, `billing_columns!`), and every statement that returns
//! such rows is built from it at compile time.

use talentgraph_kit::database::Transaction;
use talentgraph_kit::{Database, child_page_sql};
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
        "id, organization_id, number, status, currency, total_cents, description, issued_at, due_at, paid_at"
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

pub const VERIFIED_BADGE_ORGANIZATIONS: &str = "SELECT s.organization_id FROM subscriptions s \
     JOIN plans p ON p.code = s.plan_code \
     WHERE s.organization_id = ANY($1) AND s.status = 'ACTIVE' AND p.verified_badge";

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
}

/// Buys credits: invoice, ledger entry, balance, outbox event and the
/// idempotency record in one transaction. A key seen before returns the
/// first purchase's result (`replayed`) or, for a different request,
/// `IdempotencyKeyReused`.
pub async fn purchase_job_credits(
    database: &Database,
    purchase: CreditPurchase<'_>,
) -> Result<PurchaseJobCreditsPayload, PaymentError> {
    let CreditPurchase {
        organization_id,
        credits,
        idempotency_key: key,
    } = purchase;
    let request_hash = format!("purchaseJobCredits:{organization_id}:{credits}");
    let mut transaction = database.begin().await?;
    // A concurrent request with the same key waits here on the primary
    // key until the first commits, then sees its stored result.
    let claimed = transaction
        .execute(
            sqlx::query(
                "INSERT INTO idempotency_keys (organization_id, key, operation, request_hash) \
                 VALUES ($1, $2, 'purchaseJobCredits', $3) ON CONFLICT DO NOTHING",
            )
            .bind(organization_id)
            .bind(key)
            .bind(&request_hash),
        )
        .await?;
    if claimed == 0 {
        return replay_purchase(&mut transaction, organization_id, key, &request_hash).await;
    }
    let total_cents = purchase_total_cents(credits);
    let invoice = transaction
        .fetch_one(
            sqlx::query_as::<_, Invoice>(concat!(
                "INSERT INTO invoices (id, organization_id, number, status, currency, total_cents, description, due_at, paid_at) \
                 VALUES ($1, $2, 'TG-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('invoice_numbers')::text, 6, '0'), \
                         'PAID', 'EUR', $3, $4, now(), now()) \
                 RETURNING ",
                invoice_columns!()
            ))
            .bind(Uuid::new_v4())
            .bind(organization_id)
            .bind(total_cents)
            .bind(format!("{credits} job-posting credits")),
        )
        .await?;
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO ledger_entries (id, organization_id, kind, credits, invoice_id) VALUES ($1, $2, 'PURCHASE', $3, $4)",
            )
            .bind(Uuid::new_v4())
            .bind(organization_id)
            .bind(credits)
            .bind(invoice.id),
        )
        .await?;
    let (job_credits,): (i32,) = transaction
        .fetch_one(
            sqlx::query_as(
                "INSERT INTO credit_balances (organization_id, job_credits) VALUES ($1, $2) \
                 ON CONFLICT (organization_id) DO UPDATE \
                 SET job_credits = credit_balances.job_credits + EXCLUDED.job_credits, updated_at = now() \
                 RETURNING job_credits",
            )
            .bind(organization_id)
            .bind(credits),
        )
        .await?;
    talentgraph_kit::events::record_event(
        &mut transaction,
        &talentgraph_events::JobCreditsPurchased {
            organization_id,
            invoice_id: invoice.id,
            credits,
            total_cents: i64::from(total_cents),
            currency: "EUR".to_owned(),
        },
    )
    .await?;
    transaction
        .execute(
            sqlx::query(
                "UPDATE idempotency_keys SET result_invoice_id = $3, result_job_credits = $4 \
                 WHERE organization_id = $1 AND key = $2",
            )
            .bind(organization_id)
            .bind(key)
            .bind(invoice.id)
            .bind(job_credits),
        )
        .await?;
    transaction.commit().await?;
    Ok(PurchaseJobCreditsPayload {
        invoice,
        job_credits,
        replayed: false,
    })
}

/// Returns the stored result of an idempotency key, or a conflict when the
/// key was used for a different request.
async fn replay_purchase(
    transaction: &mut Transaction,
    organization_id: Uuid,
    key: &str,
    request_hash: &str,
) -> Result<PurchaseJobCreditsPayload, PaymentError> {
    let stored: Option<(String, Option<Uuid>, Option<i32>)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT request_hash, result_invoice_id, result_job_credits FROM idempotency_keys \
                 WHERE organization_id = $1 AND key = $2",
            )
            .bind(organization_id)
            .bind(key),
        )
        .await?;
    let Some((stored_hash, Some(invoice_id), Some(job_credits))) = stored else {
        return Err(PaymentError::IdempotencyKeyReused);
    };
    if stored_hash != request_hash {
        return Err(PaymentError::IdempotencyKeyReused);
    }
    // The foreign key guarantees the invoice exists.
    let invoice = transaction
        .fetch_one(sqlx::query_as::<_, Invoice>(INVOICES_BY_ID).bind(vec![invoice_id]))
        .await?;
    Ok(PurchaseJobCreditsPayload {
        invoice,
        job_credits,
        replayed: true,
    })
}

/// Moves an organization to `plan`, effective now, with an outbox event.
pub async fn change_plan(
    database: &Database,
    organization_id: Uuid,
    plan: PlanCode,
) -> Result<Billing, PaymentError> {
    let mut transaction = database.begin().await?;
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO subscriptions (organization_id, plan_code, status, current_period_end) \
                 VALUES ($1, $2, 'ACTIVE', now() + interval '1 month') \
                 ON CONFLICT (organization_id) DO UPDATE SET plan_code = EXCLUDED.plan_code, status = 'ACTIVE', updated_at = now()",
            )
            .bind(organization_id)
            .bind(plan.as_str()),
        )
        .await?;
    talentgraph_kit::events::record_event(
        &mut transaction,
        &talentgraph_events::PlanChanged {
            organization_id,
            plan: plan.as_str().to_owned(),
        },
    )
    .await?;
    // The subscription row was written just above, in this transaction.
    let billing = transaction
        .fetch_one(
            sqlx::query_as::<_, Billing>(BILLING_BY_ORGANIZATION).bind(vec![organization_id]),
        )
        .await?;
    transaction.commit().await?;
    Ok(billing)
}
