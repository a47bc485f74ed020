//! What the HTTP layer learns about a request before any resolver runs:
//! its id, its viewer, and whether it came through the router.

use crate::errors::{ErrorCode, client_error};
use crate::identity::Viewer;

/// What every resolver can learn about the request it runs in.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Taken from a well-formed `x-request-id` header (the router propagates
    /// one) or generated; logged with every error and returned to clients.
    pub request_id: String,
    pub viewer: Viewer,
    /// Whether the request carried the router's shared secret. Only then
    /// are fields the router adds to entity representations (`@requires`)
    /// trustworthy: anyone reaching a subgraph directly can invent them.
    pub via_router: bool,
    /// The client's address as the router vouches for it
    /// ([`CLIENT_ADDRESS_HEADER`], from its trusted proxies), when the
    /// request came through the router.
    pub client_address: Option<String>,
    /// Whether the request's GraphQL execution is running; its DataLoaders
    /// load a batch when it goes idle.
    pub activity: crate::batching::RequestActivity,
}

impl RequestContext {
    /// The context of the request a resolver runs in.
    pub fn of<'a>(context: &'a async_graphql::Context<'_>) -> Option<&'a RequestContext> {
        context.data_opt::<RequestContext>()
    }
}

/// Refuses fields whose authorization rests on data the router put into an
/// entity representation when the request did not come through the router.
pub fn require_via_router(context: &async_graphql::Context<'_>) -> async_graphql::Result<()> {
    if RequestContext::of(context).is_some_and(|request| request.via_router) {
        Ok(())
    } else {
        Err(client_error(
            ErrorCode::Forbidden,
            "This field is only served through the router.",
        ))
    }
}

/// The header in which the router sends the client address its trusted
/// proxies vouch for (`router/rhai/client_address.rhai`).
pub const CLIENT_ADDRESS_HEADER: &str = "x-talentgraph-client-address";

/// The header in which the router sends the shared secret.
pub const ROUTER_SECRET_HEADER: &str = "x-talentgraph-router";
