//! The GraphQL types of the auth subgraph and their field resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use talentgraph_kit::guards::OwnerGuard;
use talentgraph_kit::loaders::RequestLoaders;
use talentgraph_kit::{Role, connection_type};
use uuid::Uuid;

use crate::loaders::Loaders;
use crate::sessions::SessionTokens;
use talentgraph_kit::identified_row;

/// An account row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub user_id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
}

identified_row!(Account, user_id);

impl Account {
    fn roles(&self) -> Vec<Role> {
        self.roles
            .iter()
            .filter_map(|role| Role::parse(role))
            .collect()
    }
}

/// A user as auth sees them: their account.
pub struct User {
    pub id: Uuid,
}

impl User {
    async fn account(&self, context: &Context<'_>) -> async_graphql::Result<Option<Arc<Account>>> {
        Loaders::of(context).accounts_by_id.load_one(self.id).await
    }
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The sign-in e-mail address (the user themself and admins only).
    #[graphql(guard = "OwnerGuard::self_or_admin(self.id)")]
    async fn email(&self, context: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self
            .account(context)
            .await?
            .map(|account| account.email.clone()))
    }

    /// Platform roles (the user themself and admins only).
    #[graphql(guard = "OwnerGuard::self_or_admin(self.id)")]
    async fn roles(&self, context: &Context<'_>) -> async_graphql::Result<Option<Vec<Role>>> {
        Ok(self.account(context).await?.map(|account| account.roles()))
    }
}

connection_type!(UserConnection, UserEdge, User);

/// Tokens for a signed-in session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Opaque; exchange it with `refreshSession` before the access token
    /// expires. Each use returns a new one and invalidates the old.
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    pub user: User,
}

impl From<SessionTokens> for AuthPayload {
    fn from(tokens: SessionTokens) -> Self {
        Self {
            access_token: tokens.access_token,
            access_token_expires_at: tokens.access_token_expires_at,
            token_type: "Bearer",
            refresh_token: tokens.refresh_token,
            refresh_token_expires_at: tokens.refresh_token_expires_at,
            user: User { id: tokens.user_id },
        }
    }
}

/// Roles open to self-service sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SignUpRole {
    Jobseeker,
    Employer,
}

#[derive(InputObject)]
pub struct SignUpInput {
    pub email: String,
    /// 10 to 128 characters.
    pub password: String,
    pub role: SignUpRole,
    /// What to be called on the profile, 1 to 120 characters; the e-mail
    /// address's local part when left out.
    pub display_name: Option<String>,
}

#[derive(InputObject)]
pub struct SignInInput {
    pub email: String,
    pub password: String,
}

/// A signing-key rotation.
#[derive(SimpleObject)]
pub struct SigningKeyRotation {
    /// The new key's id (its RFC 7638 thumbprint), published at once.
    pub key_id: String,
    /// When it starts signing; the previous key signs until then.
    pub activates_at: DateTime<Utc>,
}
