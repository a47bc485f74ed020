//! The core subgraph's per-request loaders.

use talentgraph_kit::loaders::CachedRowsById;
use talentgraph_kit::loaders::{
    LoaderScope, RequestLoader, RequestLoaders, RowsById, RowsByParent,
};

use crate::model::{Organization, Skill, User, UserSkill};
use crate::store;

/// Every batched read a request of this subgraph may make.
pub struct Loaders {
    pub users_by_id: RequestLoader<CachedRowsById<User>>,
    pub organizations_by_id: RequestLoader<CachedRowsById<Organization>>,
    pub skills_by_id: RequestLoader<RowsById<Skill>>,
    pub skills_of_user: RequestLoader<RowsByParent<UserSkill>>,
}

impl RequestLoaders for Loaders {
    fn for_request(scope: &LoaderScope<'_>) -> Self {
        Self {
            users_by_id: scope.loader(CachedRowsById::new(
                scope.statement(store::CACHED_USER.name, store::USERS_BY_ID),
                store::CACHED_USER,
            )),
            organizations_by_id: scope.loader(CachedRowsById::new(
                scope.statement(store::CACHED_ORGANIZATION.name, store::ORGANIZATIONS_BY_ID),
                store::CACHED_ORGANIZATION,
            )),
            skills_by_id: scope
                .loader(RowsById::new(scope.statement("Skill", store::SKILLS_BY_ID))),
            skills_of_user: scope.loader(RowsByParent::new(
                scope.statement("UserSkill", store::SKILLS_BY_USER),
            )),
        }
    }
}
