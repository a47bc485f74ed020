//! The internship subgraph's root query fields and entity resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::input::{parse_id, parse_id_argument, parse_optional_id_argument};
use talentgraph_kit::loaders::{ChildPage, RequestLoaders, load_entity};
use talentgraph_kit::{Database, PageArgs, Viewer};
use talentgraph_organization_cards::{connection_asks_for_organization, keep_joined_cards};

use crate::loaders::Loaders;
use crate::model::{
    Internship, InternshipApplication, InternshipConnection, InternshipFilter, Organization, User,
};
use crate::store::{self, InternshipSearch};

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_internship_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Internship>> {
        load_entity(&Loaders::of(context).internships_by_id, &id).await
    }

    /// Internship applications resolve only for their applicant and admins.
    #[graphql(entity)]
    async fn find_internship_application_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<InternshipApplication>> {
        let viewer = Viewer::of(context);
        let application = load_entity(&Loaders::of(context).applications_by_id, &id).await?;
        Ok(application.filter(|application| {
            viewer.user_id() == Some(application.applicant_id) || viewer.is_admin()
        }))
    }

    #[graphql(entity)]
    async fn find_organization_by_id(&self, id: ID) -> Option<Organization> {
        parse_id(&id).map(Organization::without_card)
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// One internship by id; null when there is none.
    async fn internship(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Arc<Internship>>> {
        let id = parse_id_argument("id", &id)?;
        Loaders::of(context).internships_by_id.load_one(id).await
    }

    /// Internship search, newest first.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn internships(
        &self,
        context: &Context<'_>,
        filter: Option<InternshipFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InternshipConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let search = InternshipSearch {
            kind: filter.kind,
            organization_id: parse_optional_id_argument(
                "filter.organizationId",
                filter.organization_id.as_ref(),
            )?,
            remote: filter.remote,
            skill_id: parse_optional_id_argument("filter.skillId", filter.skill_id.as_ref())?,
        };
        let database = context.data_unchecked::<Database>();
        let rows = if connection_asks_for_organization(context) {
            let rows = store::search_internships_with_cards(database, search, &page).await?;
            keep_joined_cards(&Loaders::of(context).organization_cards, rows)
        } else {
            store::search_internships(database, search, &page).await?
        };
        Ok(InternshipConnection::from_child_page(
            ChildPage { page, rows },
            |row| row,
        ))
    }
}
