//! The core subgraph's errors and the codes clients see for them.

use talentgraph_kit::{CommonError, ErrorCode, client_error};

/// Everything a core resolver or store function can fail with.
///
/// Not `Display` (see `talentgraph_kit::DatabaseError`): the only way into
/// a GraphQL error is the `From` below.
#[derive(Debug)]
pub enum CoreError {
    Common(CommonError),
    /// `updateOrganization` named an organization that does not exist.
    OrganizationNotFound,
}

talentgraph_kit::embeds_common_error!(CoreError);

impl From<CoreError> for async_graphql::Error {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::Common(error) => error.into(),
            CoreError::OrganizationNotFound => client_error(
                ErrorCode::NotFound,
                "There is no organization with this id.",
            ),
        }
    }
}
