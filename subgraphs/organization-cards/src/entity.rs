//! The `Organization` fields every keeper of cards serves the same way: its
//! id and the four card fields, which core owns (`@external` here) and the
//! keeper provides from its copy. A keeper's `Organization` merges them
//! with the fields it owns, through [`organization_entity!`]:
//!
//! ```text
//! /// The fields employer owns on an organization.
//! pub struct OrganizationHiring { pub id: Uuid }
//! #[Object] impl OrganizationHiring { /* jobs, recruiters, ... */ }
//!
//! organization_entity!(OrganizationHiring, Loaders);
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

/// Declares a keeper's `Organization` entity: [`OrganizationCardFields`]
/// merged with `$owned` (the subgraph's own fields: a struct with an `id`
/// and an `#[Object]` impl), with the constructors `without_card(id)` and
/// `with_card(id, known_card)`, its one-pass [`PlainFields`], and the card
/// loader found in the subgraph's `$loaders` (field `organization_cards`).
///
/// The struct carries no doc comment on purpose: on a merged object it
/// would become the type's description in the SDL, which core owns.
#[macro_export]
macro_rules! organization_entity {
    ($owned:ident, $loaders:ty) => {
        #[derive(async_graphql::MergedObject)]
        #[graphql(name = "Organization")]
        pub struct Organization(pub $crate::OrganizationCardFields, pub $owned);

        impl Organization {
            /// An organization whose card fields load the card when asked for.
            pub fn without_card(id: $crate::reexports::Uuid) -> Self {
                Self::with_card(id, None)
            }

            /// An organization with its card when the request already holds
            /// it, so the card fields resolve in one pass.
            pub fn with_card(
                id: $crate::reexports::Uuid,
                known_card: Option<std::sync::Arc<$crate::OrganizationCard>>,
            ) -> Self {
                fn card_loader_of_request<'request>(
                    context: &'request async_graphql::Context<'_>,
                ) -> &'request $crate::OrganizationCardLoader {
                    &<$loaders as $crate::reexports::RequestLoaders>::of(context).organization_cards
                }
                Self(
                    $crate::OrganizationCardFields::new(id, known_card, card_loader_of_request),
                    $owned { id },
                )
            }
        }

        impl $crate::reexports::PlainFields for Organization {
            fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
                $crate::reexports::PlainFields::plain_field(&self.0, field_name)
            }
        }
    };
}
