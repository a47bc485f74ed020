//! Plans and subscriptions: the catalogue and plan changes.

use talentgraph_kit::database::Transaction;
use talentgraph_kit::{Database, DatabaseError};
use uuid::Uuid;

use crate::error::PaymentError;
use crate::model::{Billing, Invoice, Plan, PlanCode};

use super::BILLING_BY_ORGANIZATION;
use super::charges::{ChargeToAccept, accept_charge};

/// Every plan on offer, cheapest first.
pub async fn plans(database: &Database) -> Result<Vec<Plan>, PaymentError> {
    let query = sqlx::query_as::<_, Plan>(concat!(
        "SELECT ",
        plan_columns!(),
        " FROM plans ORDER BY monthly_price_cents"
    ));
    Ok(database.fetch_all(query).await?)
}

/// Whether a plan switch starts a new billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BillingPeriod {
    /// A paid change: a month from now.
    StartNew,
    /// A free downgrade: the paid-for period runs on.
    Keep,
}

/// Writes the subscription's plan as `ACTIVE` and announces it.
pub(super) async fn switch_plan(
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
