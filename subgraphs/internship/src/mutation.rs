//! The internship subgraph's mutations: parse, validate, call the store.

use async_graphql::{Context, ID, Object};
use talentgraph_kit::errors::optional_free_text;
use talentgraph_kit::guards::RoleGuard;
use talentgraph_kit::input::parse_id_argument;
use talentgraph_kit::{Database, Role, Viewer};

use crate::model::InternshipApplication;
use crate::store;

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Applies the viewer to an internship before its deadline, once.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Jobseeker])")]
    async fn apply_to_internship(
        &self,
        context: &Context<'_>,
        internship_id: ID,
        motivation: Option<String>,
    ) -> async_graphql::Result<InternshipApplication> {
        let internship_id = parse_id_argument("internshipId", &internship_id)?;
        let applicant = Viewer::of(context).require_user()?;
        let motivation = optional_free_text(
            "motivation",
            motivation,
            5_000,
            "The motivation must be at most 5,000 characters.",
        )?;
        let database = context.data_unchecked::<Database>();
        Ok(store::insert_application(database, internship_id, applicant, motivation).await?)
    }
}
