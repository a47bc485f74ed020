//! The employer subgraph's root query fields and entity resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::Database;
use talentgraph_kit::PageArgs;
use talentgraph_kit::graphql::plain_fields::PlainObject;
use talentgraph_kit::identity::Viewer;
use talentgraph_kit::input::{parse_id, parse_id_argument, parse_optional_id_argument};
use talentgraph_kit::loaders::{ChildPage, RequestLoaders, load_entity};
use talentgraph_organization_cards::{connection_asks_for_organization, keep_joined_cards};

use crate::loaders::Loaders;
use crate::model::{Job, JobConnection, JobFilter, JobStatus, Organization, User};
use crate::store::{self, JobSearch};
use crate::visibility;

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_job_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Job>> {
        load_entity(&Loaders::of(context).jobs_by_id, &id).await
    }

    /// Organizations are owned by core; employer only adds fields to them.
    #[graphql(entity)]
    async fn find_organization_by_id(&self, id: ID) -> Option<Organization> {
        parse_id(&id).map(Organization::without_card)
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// One job by id; null when there is none (or when its posting was
    /// rejected and you do not recruit for its organization).
    async fn job(&self, context: &Context<'_>, id: ID) -> async_graphql::Result<Option<Arc<Job>>> {
        let id = parse_id_argument("id", &id)?;
        let job = Loaders::of(context).jobs_by_id.load_one(id).await?;
        Ok(job.filter(|job| visibility::may_see(Viewer::of(context), job)))
    }

    /// Job search, newest first. Only open jobs unless `filter.status` says
    /// otherwise; rejected postings only for an organization you recruit for.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn jobs(
        &self,
        context: &Context<'_>,
        filter: Option<JobFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PlainObject<JobConnection>> {
        let page = PageArgs::new(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let status = filter.status.unwrap_or(JobStatus::Open);
        let organization_id =
            parse_optional_id_argument("filter.organizationId", filter.organization_id.as_ref())?;
        visibility::check_search(Viewer::of(context), status, organization_id)?;
        let search = JobSearch {
            status,
            organization_id,
            remote: filter.remote,
            employment_type: filter.employment_type,
            title_contains: filter.search,
        };
        let database = context.data_unchecked::<Database>();
        let rows = if connection_asks_for_organization(context) {
            let rows = store::search_jobs_with_cards(database, search, &page).await?;
            keep_joined_cards(&Loaders::of(context).organization_cards, rows)
        } else {
            store::search_jobs(database, search, &page).await?
        };
        Ok(PlainObject(JobConnection::from_child_page(
            ChildPage { page, rows },
            |job| job,
        )))
    }
}
