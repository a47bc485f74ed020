//! The employer subgraph's per-request loaders.

use talentgraph_kit::loaders::CachedRowsById;
use talentgraph_kit::loaders::{
    CountsByParent, LoaderScope, PagesByParent, RequestLoader, RequestLoaders,
};

use talentgraph_organization_cards::{OrganizationCardLoader, card_loader};

use crate::model::{Job, Membership};
use crate::store;
use crate::visibility::StatusFilter;

/// Every batched read a request of this subgraph may make.
pub struct Loaders {
    pub jobs_by_id: RequestLoader<CachedRowsById<Job>>,
    pub jobs_of_organization: RequestLoader<PagesByParent<Job, StatusFilter>>,
    pub open_job_counts: RequestLoader<CountsByParent>,
    pub recruiters_of_organization: RequestLoader<PagesByParent<Membership>>,
    pub organizations_of_recruiter: RequestLoader<PagesByParent<Membership>>,
    pub organization_cards: OrganizationCardLoader,
}

impl RequestLoaders for Loaders {
    fn for_request(scope: &LoaderScope<'_>) -> Self {
        Self {
            jobs_by_id: scope.loader(CachedRowsById::new(
                scope.statement(store::CACHED_JOB.name, store::JOBS_BY_ID),
                store::CACHED_JOB,
            )),
            jobs_of_organization: scope.loader(PagesByParent::new(
                scope.statement("Organization.jobs", store::JOB_PAGES_BY_ORGANIZATION),
            )),
            open_job_counts: scope.loader(CountsByParent::new(scope.statement(
                "Organization.openJobsCount",
                store::OPEN_JOB_COUNTS_BY_ORGANIZATION,
            ))),
            recruiters_of_organization: scope.loader(PagesByParent::new(scope.statement(
                "Organization.recruiters",
                store::RECRUITER_PAGES_BY_ORGANIZATION,
            ))),
            organizations_of_recruiter: scope.loader(PagesByParent::new(
                scope.statement("User.recruiterAt", store::ORGANIZATION_PAGES_BY_RECRUITER),
            )),
            organization_cards: card_loader(scope),
        }
    }
}
