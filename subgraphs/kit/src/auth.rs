//! Turning request headers into a verified [`Viewer`].
//!
//! The HTTP layer asks the endpoint's [`Authenticator`] for the viewer of
//! every request before anything else runs. Resolvers only ever see the
//! resulting `Viewer`, so the way identity is proven (JWT verification
//! against the auth subgraph's JWKS, see `tokens`) can change without
//! touching a resolver.

use std::sync::Arc;

use futures::future::BoxFuture;
use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::identity::Viewer;

/// Why a request's credentials were refused. Clients see the message with
/// `extensions.code = UNAUTHENTICATED` and HTTP status 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationFailure {
    pub message: String,
}

/// Decides who is asking.
pub trait Authenticator: Send + Sync + 'static {
    /// No credentials means [`Viewer::Anonymous`]; credentials that cannot
    /// be verified are a failure, never a silent downgrade to anonymous.
    fn authenticate<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Viewer, AuthenticationFailure>>;
}

pub type SharedAuthenticator = Arc<dyn Authenticator>;

/// Returns the bearer token of a request, `Ok(None)` when there is no
/// `Authorization` header, and a failure for any other scheme.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthenticationFailure> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| AuthenticationFailure {
        message: "The Authorization header is not valid text.".to_owned(),
    })?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(AuthenticationFailure {
            message: "The Authorization header must be `Bearer <token>`.".to_owned(),
        }),
    }
}

/// The authenticator of an endpoint nobody configured one for: requests
/// without credentials are anonymous, and any bearer token is refused
/// because nothing here can verify it. Deployed subgraphs verify tokens
/// with `tokens::TokenVerifier`.
pub struct NoTokenVerification;

impl Authenticator for NoTokenVerification {
    fn authenticate<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Viewer, AuthenticationFailure>> {
        Box::pin(async move {
            match bearer_token(headers)? {
                None => Ok(Viewer::Anonymous),
                Some(_) => Err(AuthenticationFailure {
                    message: "This endpoint does not accept access tokens.".to_owned(),
                }),
            }
        })
    }
}
