//! The jobseeker subgraph's errors and the codes clients see for them.

use talentgraph_kit::{CommonError, DatabaseError, ErrorCode, client_error, conflict_error};

/// Everything a jobseeker resolver or store function can fail with.
///
/// Not `Display` (see `talentgraph_kit::DatabaseError`): the only way into
/// a GraphQL error is the `From` below, which gives each variant its code.
#[derive(Debug)]
pub enum JobseekerError {
    Common(CommonError),
    NotYourApplication,
    ApplicationNotFound,
    AlreadyApplied,
    AlreadyWithdrawn,
    /// Employer closed the job.
    JobClosed,
    /// Jobseeker has no record of the job (it does not exist, or employer's
    /// `job.posted` has not arrived yet).
    JobNotFound,
}

talentgraph_kit::embeds_common_error!(JobseekerError, database_errors_mapped_by_hand);

impl From<DatabaseError> for JobseekerError {
    fn from(error: DatabaseError) -> Self {
        if error.is_unique_violation_of("applications_job_applicant_key") {
            Self::AlreadyApplied
        } else {
            Self::Common(CommonError::Database(error))
        }
    }
}

impl From<JobseekerError> for async_graphql::Error {
    fn from(error: JobseekerError) -> Self {
        match error {
            JobseekerError::Common(error) => error.into(),
            JobseekerError::NotYourApplication => client_error(
                ErrorCode::Forbidden,
                "Only the applicant may change this application.",
            ),
            JobseekerError::ApplicationNotFound => {
                client_error(ErrorCode::NotFound, "There is no application with that id.")
            }
            JobseekerError::AlreadyApplied => {
                conflict_error("ALREADY_APPLIED", "You have already applied to this job.")
            }
            JobseekerError::JobClosed => conflict_error(
                "JOB_CLOSED",
                "This job is closed and takes no more applications.",
            ),
            JobseekerError::JobNotFound => {
                client_error(ErrorCode::NotFound, "There is no open job with that id.")
            }
            JobseekerError::AlreadyWithdrawn => conflict_error(
                "ALREADY_WITHDRAWN",
                "This application has already been withdrawn.",
            ),
        }
    }
}
