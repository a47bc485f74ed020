//! The employer subgraph's errors and the codes clients see for them.

use talentgraph_kit::{CommonError, ErrorCode, client_error, conflict_error};

/// Everything an employer resolver or store function can fail with.
///
/// Not `Display` (see `talentgraph_kit::DatabaseError`): the only way into
/// a GraphQL error is the `From` below, which gives each variant its code.
#[derive(Debug)]
pub enum EmployerError {
    Common(CommonError),
    NotRecruiter,
    /// Adding or removing recruiters needs an organization admin.
    NotOrganizationAdmin,
    JobNotFound,
    /// `addRecruiter` names an address employer's account directory does
    /// not hold (yet: a fresh sign-up arrives through `account.created`).
    AccountNotFound,
    /// `postJob`'s idempotency key came before with a different posting.
    IdempotencyKeyReused,
}

talentgraph_kit::embeds_common_error!(EmployerError);

impl From<EmployerError> for async_graphql::Error {
    fn from(error: EmployerError) -> Self {
        match error {
            EmployerError::Common(error) => error.into(),
            EmployerError::NotRecruiter => client_error(
                ErrorCode::Forbidden,
                "Only recruiters of the organization may do this.",
            ),
            EmployerError::NotOrganizationAdmin => client_error(
                ErrorCode::Forbidden,
                "Only the organization's admins (and platform admins) may change its recruiters.",
            ),
            EmployerError::AccountNotFound => client_error(
                ErrorCode::NotFound,
                "There is no account with that e-mail address (a new account can take a moment to appear).",
            ),
            EmployerError::IdempotencyKeyReused => conflict_error(
                "IDEMPOTENCY_KEY_REUSED",
                "This idempotency key was already used for a different posting.",
            ),
            EmployerError::JobNotFound => {
                client_error(ErrorCode::NotFound, "There is no job with that id.")
            }
        }
    }
}
