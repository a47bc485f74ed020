//! Which jobs a viewer may see.
//!
//! A posting payment rejected (`REJECTED`: no credit to pay for it) was never
//! published. Its organization's recruiters and platform admins see it, to
//! sort out the billing and post again; everyone else sees open and closed
//! jobs only, whether they search, page through an organization's jobs or
//! ask for the job by id.

use talentgraph_kit::errors::{ErrorCode, client_error};
use talentgraph_kit::identity::Viewer;
use talentgraph_kit::loaders::PageFilter;
use uuid::Uuid;

use crate::model::{Job, JobStatus};

/// Whether `viewer` may see `organization`'s rejected postings.
pub fn sees_rejected_jobs_of(viewer: &Viewer, organization: Uuid) -> bool {
    viewer.is_recruiter_of(organization) || viewer.is_admin()
}

/// Whether `viewer` may see `job` when asking for it by id.
pub fn may_see(viewer: &Viewer, job: &Job) -> bool {
    job.status != JobStatus::Rejected || sees_rejected_jobs_of(viewer, job.organization_id)
}

/// The refusal for asking for rejected postings one may not see.
fn rejected_jobs_refused() -> async_graphql::Error {
    client_error(
        ErrorCode::Forbidden,
        "Rejected job postings are visible only to their organization's recruiters: \
         ask for an organization you recruit for.",
    )
}

/// Whether `viewer` may search for jobs in `status`, within `organization`
/// when the search names one. Only admins may search rejected postings
/// across organizations.
pub fn check_search(
    viewer: &Viewer,
    status: JobStatus,
    organization: Option<Uuid>,
) -> Result<(), async_graphql::Error> {
    let allowed = match (status, organization) {
        (JobStatus::Rejected, Some(organization)) => sees_rejected_jobs_of(viewer, organization),
        (JobStatus::Rejected, None) => viewer.is_admin(),
        (JobStatus::Open | JobStatus::Closed, _) => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(rejected_jobs_refused())
    }
}

/// The statuses an organization's job list holds, bound as `$5::text[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusFilter(&'static [&'static str]);

impl StatusFilter {
    /// What `viewer` sees of `organization`'s jobs when asking for
    /// `status` (every status they may see when `None`).
    pub fn for_viewer(
        viewer: &Viewer,
        organization: Uuid,
        status: Option<JobStatus>,
    ) -> Result<Self, async_graphql::Error> {
        let sees_rejected = sees_rejected_jobs_of(viewer, organization);
        let statuses: &'static [&'static str] = match status {
            None if sees_rejected => &["OPEN", "CLOSED", "REJECTED"],
            None => &["OPEN", "CLOSED"],
            Some(JobStatus::Open) => &["OPEN"],
            Some(JobStatus::Closed) => &["CLOSED"],
            Some(JobStatus::Rejected) if sees_rejected => &["REJECTED"],
            Some(JobStatus::Rejected) => return Err(rejected_jobs_refused()),
        };
        Ok(Self(statuses))
    }
}

impl PageFilter for StatusFilter {
    fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query.bind(self.0)
    }
}
