//! The jobseeker subgraph's per-request loaders.

use talentgraph_kit::loaders::{
    CountsWithSubjectByParent, FlagsByKey, LoaderScope, PagesByParent, RequestLoader,
    RequestLoaders, RowsById,
};

use crate::model::{Application, JobOwnership, JobseekerProfile, SavedJob};
use crate::store;

/// Every batched read a request of this subgraph may make.
pub struct Loaders {
    pub applications_by_id: RequestLoader<RowsById<Application>>,
    pub applications_of_applicant: RequestLoader<PagesByParent<Application>>,
    pub applications_of_job: RequestLoader<PagesByParent<Application>>,
    /// Each job's count of active applications and whether the viewer
    /// holds one of them: `Job.applicationCount` and `Job.viewerHasApplied`
    /// both read it, so a page showing both costs one statement. Bound to
    /// one viewer, which is one reason loaders are built per request.
    pub application_tallies_by_job: RequestLoader<CountsWithSubjectByParent>,
    pub profiles_by_user: RequestLoader<RowsById<JobseekerProfile>>,
    pub saved_jobs_of_user: RequestLoader<PagesByParent<SavedJob>>,
    /// Each job's organization as employer announced it.
    pub job_organizations: RequestLoader<RowsById<JobOwnership>>,
    /// Whether a candidate applied to one of the viewer's organizations
    /// (`JobseekerProfile.resumeUrl`); bound to the viewer.
    pub applied_to_viewers_organizations: RequestLoader<FlagsByKey>,
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
            application_tallies_by_job: scope.loader(CountsWithSubjectByParent::new(
                scope.statement(
                    "Job.applicationCount and Job.viewerHasApplied",
                    store::ACTIVE_APPLICATION_TALLIES_BY_JOB,
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
            applied_to_viewers_organizations: scope.loader(FlagsByKey::with_subjects(
                scope.statement(
                    "JobseekerProfile.resumeUrl",
                    store::APPLICANTS_TO_ORGANIZATIONS,
                ),
                scope.request.viewer.recruiting_organizations().to_vec(),
            )),
        }
    }
}
