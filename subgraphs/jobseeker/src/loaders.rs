//! The jobseeker subgraph's per-request loaders.

use talentgraph_kit::loaders::{
    CountsByParent, FlagsByKey, LoaderScope, PagesByParent, RequestLoader, RequestLoaders, RowsById,
};

use crate::model::{Application, JobOwnership, JobseekerProfile, SavedJob};
use crate::store;

/// Every batched read a request of this subgraph may make.
pub struct Loaders {
    pub applications_by_id: RequestLoader<RowsById<Application>>,
    pub applications_of_applicant: RequestLoader<PagesByParent<Application>>,
    pub applications_of_job: RequestLoader<PagesByParent<Application>>,
    pub application_counts_by_job: RequestLoader<CountsByParent>,
    /// Whether the viewer has an active application for each job: bound to
    /// one viewer, which is one reason loaders are built per request.
    pub viewer_has_applied: RequestLoader<FlagsByKey>,
    pub profiles_by_user: RequestLoader<RowsById<JobseekerProfile>>,
    pub saved_jobs_of_user: RequestLoader<PagesByParent<SavedJob>>,
    /// Each job's organization as employer announced it.
    pub job_organizations: RequestLoader<RowsById<JobOwnership>>,
}

impl RequestLoaders for Loaders {
    fn for_request(scope: &LoaderScope<'_>) -> Self {
        Self {
            applications_by_id: scope.loader(RowsById::new(
                scope.statement("Application", store::APPLICATIONS_BY_ID),
            )),
            applications_of_applicant: scope.loader(PagesByParent::new(
                scope.statement("User.applications", store::APPLICATION_PAGES_BY_APPLICANT),
            )),
            applications_of_job: scope.loader(PagesByParent::new(
                scope.statement("Job.applications", store::APPLICATION_PAGES_BY_JOB),
            )),
            application_counts_by_job: scope.loader(CountsByParent::new(scope.statement(
                "Job.applicationCount",
                store::ACTIVE_APPLICATION_COUNTS_BY_JOB,
            ))),
            viewer_has_applied: scope.loader(FlagsByKey::for_subject(
                scope.statement(
                    "Job.viewerHasApplied",
                    store::JOBS_WITH_ACTIVE_APPLICATION_OF,
                ),
                scope.request.viewer.user_id(),
            )),
            profiles_by_user: scope.loader(RowsById::new(
                scope.statement("JobseekerProfile", store::PROFILES_BY_USER),
            )),
            saved_jobs_of_user: scope.loader(PagesByParent::new(
                scope.statement("User.savedJobs", store::SAVED_JOB_PAGES_BY_USER),
            )),
            job_organizations: scope.loader(RowsById::new(
                scope.statement("JobOwnership", store::JOB_ORGANIZATIONS_BY_JOB),
            )),
        }
    }
}
