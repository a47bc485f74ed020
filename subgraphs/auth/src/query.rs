//! The auth subgraph's root query fields and entity resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::guards::RoleGuard;
use talentgraph_kit::input::parse_id;
use talentgraph_kit::loaders::RequestLoaders;
use talentgraph_kit::{Cursor, Database, PageArgs, Role, Viewer};

use crate::accounts;
use crate::loaders::Loaders;
use crate::model::{User, UserConnection};

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// The signed-in user; null when anonymous.
    async fn me(&self, context: &Context<'_>) -> Option<User> {
        Viewer::of(context).user_id().map(|id| User { id })
    }

    /// Accounts, newest first, optionally only those holding `role` (admins only).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn accounts(
        &self,
        context: &Context<'_>,
        role: Option<Role>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let database = context.data_unchecked::<Database>();
        let rows = accounts::page_of_accounts(database, role, &page).await?;
        // The page already holds every account it shows: prime the loader so
        // email and roles cost no second query.
        Loaders::of(context).accounts_by_id.feed_many(
            rows.iter()
                .map(|account| (account.user_id, Arc::new(account.clone()))),
        );
        Ok(UserConnection::from_rows(
            &page,
            rows,
            |account| Cursor::new(account.created_at, account.user_id),
            |account| User {
                id: account.user_id,
            },
        ))
    }
}
