//! The auth subgraph's mutations: each hands its input to [`Sessions`].

use std::sync::Arc;

use async_graphql::{Context, Object};
use talentgraph_kit::guards::RoleGuard;
use talentgraph_kit::{RequestContext, Role};

use crate::error::AuthError;
use crate::model::{AuthPayload, SignInInput, SignUpInput, SignUpRole, SigningKeyRotation};
use crate::sessions::Sessions;

fn client_address(context: &Context<'_>) -> Option<String> {
    RequestContext::of(context).and_then(|request| request.client_address.clone())
}

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates an account and signs it in. An e-mail address already in use
    /// is a CONFLICT with reason EMAIL_TAKEN.
    async fn sign_up(
        &self,
        context: &Context<'_>,
        input: SignUpInput,
    ) -> async_graphql::Result<AuthPayload> {
        let role = match input.role {
            SignUpRole::Jobseeker => Role::Jobseeker,
            SignUpRole::Employer => Role::Employer,
        };
        let tokens = context
            .data_unchecked::<Arc<Sessions>>()
            .sign_up(&input.email, input.password, role, input.display_name)
            .await?;
        Ok(tokens.into())
    }

    /// Signs in with e-mail and password. Repeated failures for one account
    /// or one client address are answered with RATE_LIMITED and
    /// `extensions.retryAfterSeconds`.
    async fn sign_in(
        &self,
        context: &Context<'_>,
        input: SignInInput,
    ) -> async_graphql::Result<AuthPayload> {
        let tokens = context
            .data_unchecked::<Arc<Sessions>>()
            .sign_in(
                &input.email,
                input.password,
                client_address(context).as_deref(),
            )
            .await?;
        Ok(tokens.into())
    }

    /// Exchanges a refresh token for a new access token and a new refresh
    /// token. A refresh token works once: presenting a used one revokes the
    /// session.
    async fn refresh_session(
        &self,
        context: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let tokens = context
            .data_unchecked::<Arc<Sessions>>()
            .refresh(&refresh_token)
            .await?;
        Ok(tokens.into())
    }

    /// Ends the session the refresh token belongs to. True when a session
    /// was ended. Access tokens already issued expire on their own.
    async fn sign_out(
        &self,
        context: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<bool> {
        Ok(context
            .data_unchecked::<Arc<Sessions>>()
            .sign_out(&refresh_token)
            .await?)
    }

    /// Starts a new signing key now (admins only), for scheduled rotation
    /// by an operator or after a suspected key leak.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Admin])")]
    async fn rotate_signing_key(
        &self,
        context: &Context<'_>,
    ) -> async_graphql::Result<SigningKeyRotation> {
        let keys = context.data_unchecked::<Arc<Sessions>>().keys();
        let rotation = keys
            .rotate(keys.settings().key_publication_delay, false)
            .await?
            .ok_or_else(|| AuthError::Internal("the rotation created no key".to_owned()))?;
        Ok(SigningKeyRotation {
            key_id: rotation.key_id,
            activates_at: rotation.activates_at,
        })
    }
}
