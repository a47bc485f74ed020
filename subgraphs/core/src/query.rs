//! The core subgraph's root query fields and entity resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::input::{parse_id, parse_id_argument};
use talentgraph_kit::loaders::{RequestLoaders, load_entity};
use talentgraph_kit::{CommonError, Cursor, Database, PageArgs};
use uuid::Uuid;

use crate::loaders::Loaders;
use crate::model::{Organization, OrganizationConnection, OrganizationFilter, Skill, User};
use crate::store::{self, OrganizationSearch};

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<User>> {
        load_entity(&Loaders::of(context).users_by_id, &id).await
    }

    #[graphql(entity)]
    async fn find_organization_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Organization>> {
        load_entity(&Loaders::of(context).organizations_by_id, &id).await
    }

    #[graphql(entity)]
    async fn find_skill_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Skill>> {
        load_entity(&Loaders::of(context).skills_by_id, &id).await
    }

    /// One user by id; null when there is none.
    async fn user(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Arc<User>>> {
        let id = parse_id_argument("id", &id)?;
        Loaders::of(context).users_by_id.load_one(id).await
    }

    /// Users by id, in the order asked, null for unknown ids (at most 100).
    #[graphql(
        complexity = "talentgraph_kit::pagination::list_complexity(Some(ids.len().try_into().unwrap_or(i32::MAX)), child_complexity)"
    )]
    async fn users(
        &self,
        context: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Arc<User>>>> {
        let parsed: Vec<Option<Uuid>> = ids.iter().map(parse_id).collect();
        let wanted: Vec<Uuid> = parsed.iter().flatten().copied().collect();
        let found = Loaders::of(context).users_by_id.load_many(wanted).await?;
        Ok(parsed
            .into_iter()
            .map(|id| id.and_then(|id| found.get(&id).cloned()))
            .collect())
    }

    /// One organization by id or by slug.
    async fn organization(
        &self,
        context: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Option<Arc<Organization>>> {
        match (id, slug) {
            (Some(id), None) => {
                let id = parse_id_argument("id", &id)?;
                Loaders::of(context).organizations_by_id.load_one(id).await
            }
            (None, Some(slug)) => {
                let database = context.data_unchecked::<Database>();
                Ok(store::organization_by_slug(database, slug)
                    .await?
                    .map(Arc::new))
            }
            _ => {
                Err(CommonError::invalid_input("id", "Give exactly one of `id` and `slug`.").into())
            }
        }
    }

    /// The organization directory, newest first.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn organizations(
        &self,
        context: &Context<'_>,
        filter: Option<OrganizationFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrganizationConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let search = OrganizationSearch {
            industry: filter.industry,
            verified: filter.verified,
            name_contains: filter.search,
        };
        let database = context.data_unchecked::<Database>();
        let rows = store::search_organizations(database, search, &page).await?;
        Ok(OrganizationConnection::from_rows(
            &page,
            rows,
            |row| Cursor::new(row.created_at, row.id),
            |row| row,
        ))
    }
}
