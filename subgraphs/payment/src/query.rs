//! The payment subgraph's root query fields and entity resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::graphql::plain_fields::PlainObject;
use talentgraph_kit::guards::RoleGuard;
use talentgraph_kit::input::{parse_id, parse_id_argument};
use talentgraph_kit::loaders::{RequestLoaders, load_entity};
use talentgraph_kit::{Database, Role, Viewer};

use crate::loaders::Loaders;
use crate::model::{Invoice, Job, KnownPromotion, Organization, Plan};
use crate::store;

/// Who may read an invoice: its organization's recruiters and admins.
fn may_read_invoice(viewer: &Viewer, invoice: &Invoice) -> bool {
    viewer.is_recruiter_of(invoice.organization_id) || viewer.is_admin()
}

#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// Invoices resolve only for their organization's recruiters and for
    /// admins: anyone else gets null, as if the invoice did not exist.
    #[graphql(entity)]
    async fn find_invoice_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Invoice>> {
        let viewer = Viewer::of(context);
        if viewer.user_id().is_none() {
            return Ok(None);
        }
        Ok(load_entity(&Loaders::of(context).invoices_by_id, &id)
            .await?
            .filter(|invoice| may_read_invoice(viewer, invoice)))
    }

    #[graphql(entity)]
    async fn find_organization_by_id(&self, id: ID) -> Option<Organization> {
        parse_id(&id).map(|id| Organization { id })
    }

    /// When the fetch asks for the promotion, the job loads it here, so
    /// that the job resolves in one pass (the entities of one fetch
    /// resolve together, so their loads are still one batch). A failed
    /// load leaves the promotion to the field, which reports the error
    /// where it always did.
    #[graphql(entity)]
    async fn find_job_by_id(&self, context: &Context<'_>, id: ID) -> Option<PlainObject<Job>> {
        let id = parse_id(&id)?;
        let known_promotion = if context.look_ahead().field("promotion").exists() {
            match Job::load_running_promotion(Loaders::of(context), id).await {
                Ok(promotion) => KnownPromotion::Loaded(promotion),
                Err(_) => KnownPromotion::NotLoaded,
            }
        } else {
            KnownPromotion::NotLoaded
        };
        Some(PlainObject(Job {
            id,
            known_promotion,
        }))
    }

    /// One invoice by id; null unless the viewer recruits for its
    /// organization or is an admin.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Employer, Role::Admin])")]
    async fn invoice(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Arc<Invoice>>> {
        let id = parse_id_argument("id", &id)?;
        Ok(Loaders::of(context)
            .invoices_by_id
            .load_one(id)
            .await?
            .filter(|invoice| may_read_invoice(Viewer::of(context), invoice)))
    }

    /// The plans on offer, cheapest first.
    async fn plans(&self, context: &Context<'_>) -> async_graphql::Result<Vec<Plan>> {
        Ok(store::plans(context.data_unchecked::<Database>()).await?)
    }
}
