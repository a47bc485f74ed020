//! The internship subgraph's errors and the codes clients see for them.

use talentgraph_kit::{CommonError, DatabaseError, ErrorCode, client_error, conflict_error};

/// Everything an internship resolver or store function can fail with.
///
/// Not `Display` (see `talentgraph_kit::DatabaseError`): the only way into
/// a GraphQL error is the `From` below, which gives each variant its code.
#[derive(Debug)]
pub enum InternshipError {
    Common(CommonError),
    InternshipNotFound,
    AlreadyApplied,
    DeadlinePassed,
}

talentgraph_kit::embeds_common_error!(InternshipError, database_errors_mapped_by_hand);

impl From<DatabaseError> for InternshipError {
    fn from(error: DatabaseError) -> Self {
        if error.is_unique_violation_of("internship_applications_internship_applicant_key") {
            Self::AlreadyApplied
        } else {
            Self::Common(CommonError::Database(error))
        }
    }
}

impl From<InternshipError> for async_graphql::Error {
    fn from(error: InternshipError) -> Self {
        match error {
            InternshipError::Common(error) => error.into(),
            InternshipError::InternshipNotFound => {
                client_error(ErrorCode::NotFound, "There is no internship with that id.")
            }
            InternshipError::AlreadyApplied => conflict_error(
                "ALREADY_APPLIED",
                "You have already applied to this internship.",
            ),
            InternshipError::DeadlinePassed => conflict_error(
                "APPLICATION_DEADLINE_PASSED",
                "The application deadline for this internship has passed.",
            ),
        }
    }
}
