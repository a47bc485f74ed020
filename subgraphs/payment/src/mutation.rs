//! The payment subgraph's mutations: parse, validate, call the store.

use async_graphql::{Context, ID, Object};
use talentgraph_kit::guards::RoleGuard;
use talentgraph_kit::loaders::parse_id_argument;
use talentgraph_kit::{CommonError, Database, Role, Viewer};

use crate::model::{Billing, PlanCode, PurchaseJobCreditsInput, PurchaseJobCreditsPayload};
use crate::store::{self, CreditPurchase, MAX_CREDITS_PER_PURCHASE};

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Buys job-posting credits for an organization the viewer recruits
    /// for. Retrying with the same `idempotencyKey`
    /// returns the first result and charges nothing; reusing a key for a
    /// different request is a CONFLICT (IDEMPOTENCY_KEY_REUSED).
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
        let idempotency_key = idempotency_key.trim();
        // Visible ASCII only: keys are compared byte for byte, and a key
        // that looks the same in another encoding must not be another key.
        if !(8..=200).contains(&idempotency_key.len())
            || !idempotency_key.bytes().all(|byte| byte.is_ascii_graphic())
        {
            return Err(CommonError::invalid_input(
                "idempotencyKey",
                "`idempotencyKey` must be 8 to 200 visible ASCII characters; a UUID is ideal.",
            )
            .into());
        }
        let purchase = CreditPurchase {
            organization_id,
            credits: input.credits,
            idempotency_key,
        };
        Ok(store::purchase_job_credits(context.data_unchecked::<Database>(), purchase).await?)
    }

    /// Moves an organization the viewer recruits for to another plan,
    /// effective now.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Employer, Role::Admin])")]
    async fn change_plan(
        &self,
        context: &Context<'_>,
        organization_id: ID,
        plan: PlanCode,
    ) -> async_graphql::Result<Billing> {
        let organization_id = parse_id_argument("organizationId", &organization_id)?;
        Viewer::of(context).require_recruiter_of(organization_id, false)?;
        Ok(store::change_plan(context.data_unchecked::<Database>(), organization_id, plan).await?)
    }
}
