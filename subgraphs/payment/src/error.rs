//! The payment subgraph's errors and the codes clients see for them.

use talentgraph_kit::{CommonError, conflict_error};

/// Everything a payment resolver or store function can fail with.
///
/// Not `Display` (see `talentgraph_kit::DatabaseError`): the only way into
/// a GraphQL error is the `From` below, which gives each variant its code.
#[derive(Debug)]
pub enum PaymentError {
    Common(CommonError),
    /// The idempotency key was used before for a different request.
    IdempotencyKeyReused,
    /// The plan change is not one the billing rules allow (a `PAST_DUE`
    /// subscription to the free plan without paying).
    PlanChangeNotAllowed,
    /// The plan change costs money and no payment method or key came with
    /// it.
    PaymentRequired,
}

talentgraph_kit::embeds_common_error!(PaymentError);

impl From<PaymentError> for async_graphql::Error {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Common(error) => error.into(),
            PaymentError::IdempotencyKeyReused => conflict_error(
                "IDEMPOTENCY_KEY_REUSED",
                "This idempotency key was already used for a different request.",
            ),
            PaymentError::PlanChangeNotAllowed => conflict_error(
                "PLAN_CHANGE_NOT_ALLOWED",
                "A past-due subscription becomes active only by paying for a plan.",
            ),
            PaymentError::PaymentRequired => CommonError::invalid_input(
                "paymentMethod",
                "This plan change costs money: give `paymentMethod` and `idempotencyKey`.",
            )
            .into(),
        }
    }
}
