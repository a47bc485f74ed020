//! The internship subgraph's per-request loaders.

use talentgraph_kit::loaders::CachedRowsById;
use talentgraph_kit::loaders::{
    LoaderScope, PagesByParent, RequestLoader, RequestLoaders, RowsById, RowsByParent, TextFilter,
};

use talentgraph_organization_cards::{OrganizationCardLoader, card_loader};

use crate::model::{Internship, InternshipApplication, InternshipSkill};
use crate::store;

/// Every batched read a request of this subgraph may make.
pub struct Loaders {
    pub internships_by_id: RequestLoader<CachedRowsById<Internship>>,
    pub internships_of_organization: RequestLoader<PagesByParent<Internship, TextFilter>>,
    pub skills_of_internship: RequestLoader<RowsByParent<InternshipSkill>>,
    pub applications_by_id: RequestLoader<RowsById<InternshipApplication>>,
    pub applications_of_applicant: RequestLoader<PagesByParent<InternshipApplication>>,
    pub organization_cards: OrganizationCardLoader,
}

impl RequestLoaders for Loaders {
    fn for_request(scope: &LoaderScope<'_>) -> Self {
        Self {
            internships_by_id: scope.loader(CachedRowsById::new(
                scope.statement(store::CACHED_INTERNSHIP.name, store::INTERNSHIPS_BY_ID),
                store::CACHED_INTERNSHIP,
            )),
            internships_of_organization: scope.loader(PagesByParent::new(scope.statement(
                "Organization.internships",
                store::INTERNSHIP_PAGES_BY_ORGANIZATION,
            ))),
            skills_of_internship: scope.loader(RowsByParent::new(
                scope.statement("Internship.skills", store::SKILLS_BY_INTERNSHIP),
            )),
            applications_by_id: scope.loader(RowsById::new(
                scope.statement("InternshipApplication", store::APPLICATIONS_BY_ID),
            )),
            applications_of_applicant: scope.loader(PagesByParent::new(scope.statement(
                "User.internshipApplications",
                store::APPLICATION_PAGES_BY_APPLICANT,
            ))),
            organization_cards: card_loader(scope),
        }
    }
}
