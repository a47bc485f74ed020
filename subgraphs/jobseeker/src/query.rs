//! The jobseeker subgraph's root query fields and entity resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::Viewer;
use talentgraph_kit::loaders::{RequestLoaders, load_entity, parse_id, parse_id_argument};

use crate::loaders::Loaders;
use crate::model::{Application, Job, OrganizationReference, User};

/// May the viewer read this application by id? Only the applicant and
/// admins: employers see applications through `Job.applications`.
fn may_read_application(viewer: &Viewer, application: &Application) -> bool {
    viewer.user_id() == Some(application.applicant_id) || viewer.is_admin()
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// Applications resolve through `_entities` only for those who may read
    /// them: a direct `_entities` call is no way around the rules.
    #[graphql(entity)]
    async fn find_application_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Application>> {
        let application = load_entity(&Loaders::of(context).applications_by_id, &id).await?;
        Ok(
            application
                .filter(|application| may_read_application(Viewer::of(context), application)),
        )
    }

    #[graphql(entity)]
    async fn find_job_by_id(
        &self,
        #[graphql(key)] id: ID,
        organization: Option<OrganizationReference>,
    ) -> Option<Job> {
        parse_id(&id).map(|id| Job {
            id,
            organization_id: organization.and_then(|organization| parse_id(&organization.id)),
        })
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// One application, for its applicant (and admins).
    async fn application(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Arc<Application>>> {
        let id = parse_id_argument("id", &id)?;
        let viewer = Viewer::of(context);
        viewer.require_user()?;
        let application = Loaders::of(context).applications_by_id.load_one(id).await?;
        Ok(application.filter(|application| may_read_application(viewer, application)))
    }
}
