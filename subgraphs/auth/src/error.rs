//! The auth subgraph's errors and the codes clients see for them.

use async_graphql::ErrorExtensions;
use talentgraph_kit::{CommonError, ErrorCode, client_error, conflict_error, internal_error};

/// Everything that can go wrong in the auth subgraph. Deliberately without
/// `Display` (see `talentgraph_kit::DatabaseError`): conversion to a GraphQL error goes through the `From` below,
/// which gives every client-facing variant its code.
#[derive(Debug)]
pub enum AuthError {
    Common(CommonError),
    EmailTaken,
    /// Wrong e-mail or password; the same answer for both, so the response
    /// does not tell which addresses have accounts.
    WrongCredentials,
    /// Too many failed sign-ins for the account or the address.
    RateLimited {
        retry_after_seconds: i64,
    },
    /// Every password-hashing slot stayed taken for the longest wait: the
    /// server is busy, which is not the client's doing.
    Busy,
    InvalidRefreshToken,
    RefreshTokenReused,
    Internal(String),
}

impl AuthError {
    /// An argument that failed validation, named as the client spelled it.
    pub fn invalid_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::Common(CommonError::invalid_input(field, message))
    }
}

talentgraph_kit::embeds_common_error!(AuthError);

impl From<AuthError> for async_graphql::Error {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Common(error) => error.into(),
            AuthError::EmailTaken => conflict_error(
                "EMAIL_TAKEN",
                "An account with this e-mail address exists; sign in instead.",
            ),
            AuthError::WrongCredentials => client_error(
                ErrorCode::Unauthenticated,
                "The e-mail address or the password is wrong.",
            ),
            AuthError::RateLimited {
                retry_after_seconds,
            } => client_error(
                ErrorCode::RateLimited,
                "Too many failed sign-in attempts; try again later.",
            )
            .extend_with(move |_, extensions| {
                extensions.set("retryAfterSeconds", retry_after_seconds);
            }),
            AuthError::Busy => client_error(
                ErrorCode::ServiceUnavailable,
                "The service is busy; retry shortly.",
            )
            .extend_with(|_, extensions| {
                extensions.set(
                    "retryAfterSeconds",
                    talentgraph_kit::errors::RETRY_AFTER_UNAVAILABLE_SECONDS,
                );
            }),
            AuthError::InvalidRefreshToken => client_error(
                ErrorCode::Unauthenticated,
                "The refresh token is not valid; sign in again.",
            ),
            AuthError::RefreshTokenReused => client_error(
                ErrorCode::Unauthenticated,
                "The refresh token was already used; the session is revoked. Sign in again.",
            ),
            AuthError::Internal(message) => internal_error(message),
        }
    }
}
