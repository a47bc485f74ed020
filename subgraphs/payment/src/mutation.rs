//! The payment subgraph's mutations: parse, validate, call the store.

use async_graphql::{Context, ID, Object};
use talentgraph_kit::guards::RoleGuard;
use talentgraph_kit::input::{parse_id_argument, validate_idempotency_key};
use talentgraph_kit::{CommonError, Database, Role, Viewer};

use crate::model::{
    ChangePlanPayload, PlanCode, PurchaseJobCreditsInput, PurchaseJobCreditsPayload,
};
use crate::store::{self, CreditPurchase, MAX_CREDITS_PER_PURCHASE, PlanPayment};

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Buys job-posting credits for an organization the viewer recruits
    /// for. Answers at once with a `PENDING` invoice; the charge follows
    /// and the invoice becomes `PAID` (credits granted) or `FAILED` (with
    /// `failureReason`): poll `invoice(id)`. Retrying with the same
    /// `idempotencyKey` returns the same invoice and charges nothing;
    /// reusing a key for a different request is a CONFLICT
    /// (IDEMPOTENCY_KEY_REUSED). Keys belong to the organization: another
    /// recruiter of it retrying with the key gets the same invoice.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Employer, Role::Admin])")]
    async fn purchase_job_credits(
        &self,
        context: &Context<'_>,
        input: PurchaseJobCreditsInput,
        idempotency_key: String,
    ) -> async_graphql::Result<PurchaseJobCreditsPayload> {
        let organization_id = parse_id_argument("input.organizationId", &input.organization_id)?;
        let viewer = Viewer::of(context);
        viewer.require_user()?;
        viewer.require_recruiter_of(organization_id, false)?;
        if !(1..=MAX_CREDITS_PER_PURCHASE).contains(&input.credits) {
            return Err(CommonError::invalid_input(
                "credits",
                format!("`credits` must be from 1 to {MAX_CREDITS_PER_PURCHASE}."),
            )
            .into());
        }
        let idempotency_key = validate_idempotency_key(&idempotency_key)?;
        let payment_method = validate_payment_method(&input.payment_method)?;
        let purchase = CreditPurchase {
            organization_id,
            credits: input.credits,
            idempotency_key,
            payment_method,
        };
        Ok(store::purchase_job_credits(context.data_unchecked::<Database>(), purchase).await?)
    }

    /// Changes the plan of an organization the viewer recruits for. A
    /// cheaper plan takes effect at once; a dearer one costs the
    /// difference in monthly price and takes effect when the returned
    /// `PENDING` invoice is paid; a `PAST_DUE` or `CANCELED` subscription
    /// becomes active only by paying a month of the chosen plan
    /// (`PLAN_CHANGE_NOT_ALLOWED` for the free plan while past due). A
    /// change that costs money needs `paymentMethod` and `idempotencyKey`,
    /// with the same rules as `purchaseJobCredits`.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Employer, Role::Admin])")]
    async fn change_plan(
        &self,
        context: &Context<'_>,
        organization_id: ID,
        plan: PlanCode,
        payment_method: Option<String>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<ChangePlanPayload> {
        let organization_id = parse_id_argument("organizationId", &organization_id)?;
        Viewer::of(context).require_recruiter_of(organization_id, false)?;
        let payment_method = payment_method
            .as_deref()
            .map(validate_payment_method)
            .transpose()?;
        let idempotency_key = idempotency_key
            .as_deref()
            .map(validate_idempotency_key)
            .transpose()?;
        let payment = match (payment_method, idempotency_key) {
            (Some(payment_method), Some(idempotency_key)) => Some(PlanPayment {
                payment_method,
                idempotency_key,
            }),
            _ => None,
        };
        let (billing, invoice, replayed) = store::change_plan(
            context.data_unchecked::<Database>(),
            organization_id,
            plan,
            payment,
        )
        .await?;
        Ok(ChangePlanPayload {
            billing,
            invoice,
            replayed,
        })
    }
}

/// A provider payment method id such as `pm_card_visa`; never card data.
fn validate_payment_method(payment_method: &str) -> Result<&str, CommonError> {
    let payment_method = payment_method.trim();
    if !payment_method.starts_with("pm_")
        || payment_method.len() > 100
        || !payment_method
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
    {
        return Err(CommonError::invalid_input(
            "paymentMethod",
            "`paymentMethod` must be a payment method id such as pm_card_visa.",
        ));
    }
    Ok(payment_method)
}
