//! The core subgraph's errors and the codes clients see for them.

use talentgraph_kit::CommonError;

/// Everything a core resolver or store function can fail with. Core only
/// reads, so it has nothing of its own beyond the shared failures yet.
///
/// Not `Display` (see `talentgraph_kit::DatabaseError`): the only way into
/// a GraphQL error is the `From` below.
#[derive(Debug)]
pub enum CoreError {
    Common(CommonError),
}

talentgraph_kit::embeds_common_error!(CoreError);

impl From<CoreError> for async_graphql::Error {
    fn from(error: CoreError) -> Self {
        match error {
            CoreError::Common(error) => error.into(),
        }
    }
}
