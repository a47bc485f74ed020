//! The auth subgraph's per-request loaders.

use talentgraph_kit::loaders::{LoaderScope, RequestLoader, RequestLoaders, RowsById};

use crate::accounts;
use crate::model::Account;

/// Every batched read a request of this subgraph may make.
pub struct Loaders {
    pub accounts_by_id: RequestLoader<RowsById<Account>>,
}

impl RequestLoaders for Loaders {
    fn for_request(scope: &LoaderScope<'_>) -> Self {
        Self {
            accounts_by_id: scope.loader(RowsById::new(
                scope.statement("Account", accounts::ACCOUNTS_BY_ID),
            )),
        }
    }
}
