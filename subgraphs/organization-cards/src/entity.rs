//! The `Organization` fields every keeper of cards serves the same way: its
//! id and the four card fields, which core owns (`@external` here) and the
//! keeper provides from its copy. A keeper's `Organization` merges them
//! with the fields it owns:
//!
//! ```ignore
//! #[derive(async_graphql::MergedObject)]
//! #[graphql(name = "Organization")]
//! pub struct Organization(pub OrganizationCardFields, pub OrganizationJobs);
//! ```

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use talentgraph_kit::graphql::plain_fields::PlainFields;
use uuid::Uuid;

use crate::{OrganizationCard, OrganizationCardLoader, badge_field_value, card_of};

/// Finds this subgraph's card loader in a request's context (each keeper
/// holds it in its own `Loaders`).
pub type CardLoaderOfRequest =
    for<'request> fn(&'request Context<'_>) -> &'request OrganizationCardLoader;

/// An organization's id and card fields.
pub struct OrganizationCardFields {
    pub id: Uuid,
    /// The card, when the request already held it where this organization
    /// was made; its fields then resolve in one pass (see
    /// [`PlainFields`]). `None` leaves them to the card loader.
    pub known_card: Option<Arc<OrganizationCard>>,
    card_loader: CardLoaderOfRequest,
}

impl OrganizationCardFields {
    pub fn new(
        id: Uuid,
        known_card: Option<Arc<OrganizationCard>>,
        card_loader: CardLoaderOfRequest,
    ) -> Self {
        Self {
            id,
            known_card,
            card_loader,
        }
    }

    async fn card(&self, context: &Context<'_>) -> async_graphql::Result<Arc<OrganizationCard>> {
        card_of((self.card_loader)(context), self.id).await
    }
}

impl PlainFields for OrganizationCardFields {
    fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
        badge_field_value(self.id, self.known_card.as_deref(), field_name)
    }
}

#[Object]
impl OrganizationCardFields {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    #[graphql(external)]
    async fn name(&self, context: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self.card(context).await?.name.clone())
    }

    #[graphql(external)]
    async fn slug(&self, context: &Context<'_>) -> async_graphql::Result<String> {
        Ok(self.card(context).await?.slug.clone())
    }

    #[graphql(external)]
    async fn logo_url(&self, context: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.card(context).await?.logo_url.clone())
    }

    #[graphql(external)]
    async fn verified(&self, context: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.card(context).await?.verified)
    }
}
