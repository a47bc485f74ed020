//! The core subgraph's mutations: parse, validate, authorize, call the store.

use async_graphql::{Context, ID, Object};
use talentgraph_kit::input::optional_text;
use talentgraph_kit::input::parse_id_argument;
use talentgraph_kit::{CommonError, Database, Viewer};

use crate::error::CoreError;
use crate::model::{Organization, UpdateOrganizationInput};
use crate::store::{self, OrganizationChanges};

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Changes an organization's profile (its recruiters and admins only);
    /// only the given fields change. Job and internship pages show a new
    /// name or logo once employer and internship have applied the change,
    /// normally within a second: they keep a copy of the card.
    async fn update_organization(
        &self,
        context: &Context<'_>,
        id: ID,
        input: UpdateOrganizationInput,
    ) -> async_graphql::Result<Organization> {
        let id = parse_id_argument("id", &id)?;
        let changes = OrganizationChanges {
            name: optional_text("input.name", input.name.as_deref(), 1, 200)?,
            about: optional_text("input.about", input.about.as_deref(), 0, 2_000)?,
            website: optional_address("input.website", input.website.as_deref())?,
            logo_url: optional_address("input.logoUrl", input.logo_url.as_deref())?,
        };
        // The token's `orgs` claim is employer's membership, projected by
        // auth; admins may correct any organization.
        Viewer::of(context).require_recruiter_of(id, true)?;
        store::update_organization(context.data_unchecked::<Database>(), id, changes)
            .await?
            .ok_or_else(|| CoreError::OrganizationNotFound.into())
    }
}

/// An https address of at most 500 characters without spaces.
fn optional_address(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<String>, CommonError> {
    let Some(value) = optional_text(field, value, 9, 500)? else {
        return Ok(None);
    };
    if !value.starts_with("https://") || value.contains(char::is_whitespace) {
        return Err(CommonError::invalid_input(
            field,
            format!("`{field}` must be an https address."),
        ));
    }
    Ok(Some(value))
}
