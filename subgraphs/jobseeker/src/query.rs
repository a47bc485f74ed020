//! The jobseeker subgraph's root query fields and entity resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::Viewer;
use talentgraph_kit::graphql::plain_fields::PlainObject;
use talentgraph_kit::input::{parse_id, parse_id_argument};
use talentgraph_kit::loaders::{RequestLoaders, load_entity};

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

    /// When the fetch asks for the application tally, the job loads it
    /// here, so its fields need no future of their own (the entities of
    /// one fetch resolve together, so their loads are still one batch). A
    /// failed load leaves the tally to the fields, which report the error
    /// where they always did.
    #[graphql(entity)]
    async fn find_job_by_id(
        &self,
        context: &Context<'_>,
        #[graphql(key)] id: ID,
        organization: Option<OrganizationReference>,
    ) -> Option<PlainObject<Job>> {
        let id = parse_id(&id)?;
        let fetch = context.look_ahead();
        let asks_for_tally =
            fetch.field("applicationCount").exists() || fetch.field("viewerHasApplied").exists();
        let known_tally = if asks_for_tally {
            let loader = &Loaders::of(context).application_tallies_by_job;
            loader
                .load_one(id)
                .await
                .ok()
                .map(Option::unwrap_or_default)
        } else {
            None
        };
        Some(PlainObject(Job {
            id,
            organization_id: organization.and_then(|organization| parse_id(&organization.id)),
            known_tally,
        }))
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
