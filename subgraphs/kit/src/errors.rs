//! The kit's errors: stable error codes and the helpers that build
//! client-facing errors, and [`KitError`], what stops a subgraph from
//! starting or serving.
//!
//! Clients branch on `extensions.code`, never on message text, so every
//! error this project emits carries one of these codes.

use std::fmt::Display;

use async_graphql::ErrorExtensions;

/// Every `extensions.code` a Talentgraph subgraph can emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The HTTP request is not a GraphQL request (bad JSON, missing query).
    BadRequest,
    /// The document is not syntactically valid GraphQL.
    GraphqlParseFailed,
    /// The document does not validate against the schema.
    GraphqlValidationFailed,
    /// An argument or variable value is not acceptable.
    BadUserInput,
    /// `operationName` names no operation in the document.
    OperationNotFound,
    DepthLimitExceeded,
    ComplexityLimitExceeded,
    RecursionLimitExceeded,
    DirectiveLimitExceeded,
    AliasLimitExceeded,
    RootFieldLimitExceeded,
    PageSizeExceeded,
    /// The operation expands to more selections than allowed (fragments
    /// spread many times multiply what the server would walk).
    SelectionLimitExceeded,
    /// An `_entities` request carries more representations than allowed.
    RepresentationLimitExceeded,
    /// The answer would be larger than a subgraph may send in one response.
    ResponseTooLarge,
    InvalidCursor,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    /// Too many attempts; `extensions.retryAfterSeconds` says when to retry.
    RateLimited,
    UnsupportedMediaType,
    NotAcceptable,
    MethodNotAllowed,
    PayloadTooLarge,
    /// A dependency (the database) is briefly out of reach, as while
    /// PostgreSQL restarts; `extensions.retryAfterSeconds` says when to
    /// retry. The subgraph answers such a response with HTTP 503.
    ServiceUnavailable,
    InternalServerError,
}

impl ErrorCode {
    /// The wire form used in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::OperationNotFound => "OPERATION_NOT_FOUND",
            Self::DepthLimitExceeded => "DEPTH_LIMIT_EXCEEDED",
            Self::ComplexityLimitExceeded => "COMPLEXITY_LIMIT_EXCEEDED",
            Self::RecursionLimitExceeded => "RECURSION_LIMIT_EXCEEDED",
            Self::DirectiveLimitExceeded => "DIRECTIVE_LIMIT_EXCEEDED",
            Self::AliasLimitExceeded => "ALIAS_LIMIT_EXCEEDED",
            Self::RootFieldLimitExceeded => "ROOT_FIELD_LIMIT_EXCEEDED",
            Self::PageSizeExceeded => "PAGE_SIZE_EXCEEDED",
            Self::SelectionLimitExceeded => "SELECTION_LIMIT_EXCEEDED",
            Self::RepresentationLimitExceeded => "REPRESENTATION_LIMIT_EXCEEDED",
            Self::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            Self::InvalidCursor => "INVALID_CURSOR",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::NotAcceptable => "NOT_ACCEPTABLE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// An error the client caused and may see as it is.
pub fn client_error(code: ErrorCode, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, extensions| {
        extensions.set("code", code.as_str());
    })
}

/// A client error that points at one input field, so forms can show it
/// next to the right control.
pub fn input_error(field: &str, message: impl Into<String>) -> async_graphql::Error {
    let field = field.to_owned();
    async_graphql::Error::new(message).extend_with(move |_, extensions| {
        extensions.set("code", ErrorCode::BadUserInput.as_str());
        extensions.set("field", field.as_str());
    })
}

/// An unexpected failure. It carries the full detail so the HTTP layer can
/// log it; the HTTP layer replaces the message before the client sees it.
pub fn internal_error(error: impl Display) -> async_graphql::Error {
    client_error(ErrorCode::InternalServerError, error.to_string())
}

/// The message clients see in place of an internal error's detail.
pub const MASKED_INTERNAL_MESSAGE: &str =
    "Internal server error. Quote the requestId when you report it.";

/// A `CONFLICT` with a domain-specific `reason` (such as `ALREADY_APPLIED`)
/// that clients can branch on without the kit knowing the domain.
pub fn conflict_error(reason: &str, message: impl Into<String>) -> async_graphql::Error {
    let reason = reason.to_owned();
    async_graphql::Error::new(message).extend_with(move |_, extensions| {
        extensions.set("code", ErrorCode::Conflict.as_str());
        extensions.set("reason", reason.as_str());
    })
}

/// How long a client should wait before retrying a request that met an
/// unavailable database: a fast PostgreSQL restart takes a fraction of it.
pub const RETRY_AFTER_UNAVAILABLE_SECONDS: u64 = 1;

/// A database failure as a GraphQL error. A database that cannot be
/// reached (restarting, a lost connection, no connection free in time) is
/// `SERVICE_UNAVAILABLE` with `retryAfterSeconds`, which a client may
/// retry; anything else is internal, with the detail kept for the HTTP
/// layer's log line and masked before the client sees it.
pub fn database_failure(error: crate::DatabaseError) -> async_graphql::Error {
    if error.is_unavailable() {
        tracing::warn!(error = %error.detail(), "the database is unavailable");
        return client_error(
            ErrorCode::ServiceUnavailable,
            "The service is briefly unavailable; retry shortly.",
        )
        .extend_with(|_, extensions| {
            extensions.set("retryAfterSeconds", RETRY_AFTER_UNAVAILABLE_SECONDS);
        });
    }
    internal_error(error.detail())
}

/// The failures every subgraph shares. Each domain error enum embeds it as
/// one variant (`EmployerError::Common`, …) and adds only what is its own,
/// so "not signed in" or "invalid input" read the same in every subgraph
/// and the mapping to codes is written once, here.
///
/// Like [`crate::DatabaseError`] it has no `Display`: the only way into an
/// `async_graphql::Error` is the `From` below, which assigns the code.
#[derive(Debug)]
pub enum CommonError {
    /// A database failure: an internal error for the client.
    Database(crate::DatabaseError),
    /// The operation needs a signed-in user (`UNAUTHENTICATED`).
    NotSignedIn,
    /// An argument failed validation (`BAD_USER_INPUT` naming the field).
    InvalidInput {
        field: &'static str,
        message: String,
    },
}

impl CommonError {
    /// An invalid argument, named as the client spelled it.
    pub fn invalid_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            message: message.into(),
        }
    }
}

impl From<crate::DatabaseError> for CommonError {
    fn from(error: crate::DatabaseError) -> Self {
        Self::Database(error)
    }
}

impl From<CommonError> for async_graphql::Error {
    fn from(error: CommonError) -> Self {
        match error {
            CommonError::Database(error) => database_failure(error),
            CommonError::NotSignedIn => client_error(
                ErrorCode::Unauthenticated,
                "You must be signed in to do this.",
            ),
            CommonError::InvalidInput { field, message } => input_error(field, message),
        }
    }
}

/// Implements the conversions every domain error enum with a
/// `Common(CommonError)` variant needs: `From<CommonError>` and, unless the
/// subgraph maps database errors itself (a unique violation that means
/// "already applied"), `From<DatabaseError>`.
///
/// `embeds_common_error!(EmployerError);` or
/// `embeds_common_error!(JobseekerError, database_errors_mapped_by_hand);`
#[macro_export]
macro_rules! embeds_common_error {
    ($error:ty, database_errors_mapped_by_hand) => {
        impl From<$crate::CommonError> for $error {
            fn from(error: $crate::CommonError) -> Self {
                Self::Common(error)
            }
        }
    };
    ($error:ty) => {
        $crate::embeds_common_error!($error, database_errors_mapped_by_hand);

        impl From<$crate::DatabaseError> for $error {
            fn from(error: $crate::DatabaseError) -> Self {
                Self::Common($crate::CommonError::Database(error))
            }
        }
    };
}

/// Checks an optional free text such as a cover letter: trimmed, an empty
/// text is no text, and more than `max_characters` characters is
/// `BAD_USER_INPUT` on `field` with `too_long_message`.
pub fn optional_free_text(
    field: &'static str,
    value: Option<String>,
    max_characters: usize,
    too_long_message: &str,
) -> Result<Option<String>, CommonError> {
    let text = value
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    if text
        .as_ref()
        .is_some_and(|text| text.chars().count() > max_characters)
    {
        return Err(CommonError::invalid_input(field, too_long_message));
    }
    Ok(text)
}

/// Everything that can stop a subgraph from starting or serving.
///
/// Request-level problems never surface as `KitError`: they become GraphQL
/// errors with a stable `extensions.code` (see [`crate::ErrorCode`]).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not connect to the database: {0}")]
    DatabaseConnect(#[source] sqlx::Error),
    #[error("could not run the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not bind {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("could not set up logging: {0}")]
    Logging(String),
    #[error("events: {0}")]
    Events(String),
    #[cfg(feature = "testing")]
    #[error("test harness: {0}")]
    TestHarness(String),
}

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {variable} is required but not set ({hint})")]
    Missing {
        variable: &'static str,
        hint: &'static str,
    },
    #[error("environment variable {variable}={value:?} is invalid: expected {expected}")]
    Invalid {
        variable: &'static str,
        value: String,
        expected: String,
    },
}
