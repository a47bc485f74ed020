//! The payment subgraph's per-request loaders.

use talentgraph_kit::loaders::{
    CachedRowsById, FlagsByKey, LoaderScope, PagesByParent, RequestLoader, RequestLoaders, RowsById,
};

use crate::model::{Billing, Invoice, JobPromotion};
use crate::store;

/// Every batched read a request of this subgraph may make.
pub struct Loaders {
    pub billing_by_organization: RequestLoader<RowsById<Billing>>,
    pub verified_badges: RequestLoader<FlagsByKey>,
    pub invoices_by_id: RequestLoader<RowsById<Invoice>>,
    pub invoices_of_organization: RequestLoader<PagesByParent<Invoice>>,
    pub promotions_by_job: RequestLoader<CachedRowsById<JobPromotion>>,
}

impl RequestLoaders for Loaders {
    fn for_request(scope: &LoaderScope<'_>) -> Self {
        Self {
            billing_by_organization: scope.loader(RowsById::new(
                scope.statement("Organization.billing", store::BILLING_BY_ORGANIZATION),
            )),
            verified_badges: scope.loader(FlagsByKey::new(scope.statement(
                "Organization.billingVerified",
                store::VERIFIED_BADGE_ORGANIZATIONS,
            ))),
            invoices_by_id: scope.loader(RowsById::new(
                scope.statement("Invoice", store::INVOICES_BY_ID),
            )),
            invoices_of_organization: scope.loader(PagesByParent::new(scope.statement(
                "Organization.invoices",
                store::INVOICE_PAGES_BY_ORGANIZATION,
            ))),
            promotions_by_job: scope.loader(CachedRowsById::new(
                scope.statement(store::CACHED_PROMOTION.name, store::PROMOTIONS_BY_JOB),
                store::CACHED_PROMOTION,
            )),
        }
    }
}
