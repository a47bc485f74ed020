//! The auth subgraph: identity and sessions.
//!
//! Owns accounts (e-mail, argon2id password hash, roles, the organizations
//! a recruiter acts for), sessions with rotating refresh tokens, and the
//! Ed25519 keys that sign access tokens. Answers `me`, `signUp`, `signIn`,
//! `refreshSession`, `signOut` and publishes the key set at
//! `/.well-known/jwks.json`; contributes `User.email` and `User.roles`,
//! visible only to the user themself and to admins.

pub mod demo;
pub mod keys;
pub mod passwords;
pub mod sessions;

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, ID, InputObject, Object, Schema, SimpleObject,
};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use talentgraph_kit::loaders::{IdentifiedRow, RequestLoader, RowsById, parse_id};
use talentgraph_kit::server::LoaderScope;
use talentgraph_kit::tokens::TokenVerifier;
use talentgraph_kit::viewer::{OwnerGuard, RoleGuard};
use talentgraph_kit::{
    Cursor, Database, DatabaseError, ErrorCode, PageArgs, RequestContext, Role, SubgraphConfig,
    SubgraphDefinition, Viewer, client_error, conflict_error, connection_type, input_error,
    internal_error,
};
use uuid::Uuid;

use crate::keys::KeyRing;
use crate::sessions::{SessionTokens, Sessions};

/// Everything that can go wrong in the auth subgraph. Deliberately without
/// `Display`: conversion to a GraphQL error goes through the `From` below,
/// which gives every client-facing variant its code.
#[derive(Debug)]
pub enum AuthError {
    InvalidInput {
        field: &'static str,
        message: String,
    },
    EmailTaken,
    /// Wrong e-mail or password; the same answer for both, so the response
    /// does not tell which addresses have accounts.
    WrongCredentials,
    RateLimited {
        retry_after_seconds: i64,
    },
    InvalidRefreshToken,
    RefreshTokenReused,
    Database(DatabaseError),
    Internal(String),
}

impl From<DatabaseError> for AuthError {
    fn from(error: DatabaseError) -> Self {
        Self::Database(error)
    }
}

impl From<AuthError> for async_graphql::Error {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::InvalidInput { field, message } => input_error(field, message),
            AuthError::EmailTaken => conflict_error(
                "EMAIL_TAKEN",
                "An account with this e-mail address exists; sign in instead.",
            ),
            AuthError::WrongCredentials => client_error(
                ErrorCode::Unauthenticated,
                "The e-mail address or the password is wrong.",
            ),
            AuthError::RateLimited {
                retry_after_seconds,
            } => client_error(
                ErrorCode::RateLimited,
                "Too many failed sign-in attempts; try again later.",
            )
            .extend_with(move |_, extensions| {
                extensions.set("retryAfterSeconds", retry_after_seconds);
            }),
            AuthError::InvalidRefreshToken => client_error(
                ErrorCode::Unauthenticated,
                "The refresh token is not valid; sign in again.",
            ),
            AuthError::RefreshTokenReused => client_error(
                ErrorCode::Unauthenticated,
                "The refresh token was already used; the session is revoked. Sign in again.",
            ),
            AuthError::Database(error) => internal_error(error),
            AuthError::Internal(message) => internal_error(message),
        }
    }
}

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/auth");

pub static DEFINITION: SubgraphDefinition = SubgraphDefinition {
    name: "auth",
    default_port: 4002,
    migrator: &MIGRATOR,
    build_app,
};

/// An account row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub user_id: Uuid,
    pub email: String,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl IdentifiedRow for Account {
    fn row_id(&self) -> Uuid {
        self.user_id
    }
}

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
    async fn account(&self, context: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        context
            .data_unchecked::<RequestLoader<RowsById<Account>>>()
            .load_one(self.id)
            .await
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
        Ok(self.account(context).await?.map(|account| account.email))
    }

    /// Platform roles (the user themself and admins only).
    #[graphql(guard = "OwnerGuard::self_or_admin(self.id)")]
    async fn roles(&self, context: &Context<'_>) -> async_graphql::Result<Option<Vec<Role>>> {
        Ok(self.account(context).await?.map(|account| account.roles()))
    }
}

connection_type!(UserConnection, UserEdge, User);

const ACCOUNTS_BY_ID: &str =
    "SELECT user_id, email, roles, created_at FROM accounts WHERE user_id = ANY($1)";

fn attach_loaders(
    scope: &LoaderScope<'_>,
    request: async_graphql::Request,
) -> async_graphql::Request {
    let database = scope.database;
    request.data(scope.loader(RowsById::<Account>::new(
        database.clone(),
        "Account",
        ACCOUNTS_BY_ID,
    )))
}

pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// The signed-in user; null when anonymous.
    async fn me(&self, context: &Context<'_>) -> Option<User> {
        Viewer::of(context).user_id().map(|id| User { id })
    }

    /// Accounts, newest first, optionally only those holding `role` (admins only).
    #[graphql(
        guard = "RoleGuard::any_of(&[Role::Admin])",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn accounts(
        &self,
        context: &Context<'_>,
        role: Option<Role>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let (cursor_at, cursor_id) = page.sql_bounds();
        let loader = context.data_unchecked::<RequestLoader<RowsById<Account>>>();
        let rows = context
            .data_unchecked::<Database>()
            .fetch_all(
                sqlx::query_as::<_, Account>(
                    "SELECT user_id, email, roles, created_at FROM accounts \
                     WHERE ($1::text IS NULL OR $1 = ANY(roles)) AND (created_at, user_id) < ($2, $3) \
                     ORDER BY created_at DESC, user_id DESC LIMIT $4",
                )
                .bind(role.map(Role::as_str))
                .bind(cursor_at)
                .bind(cursor_id)
                .bind(page.fetch_limit()),
            )
            .await?;
        // The page already holds every account it shows: prime the loader so
        // email and roles cost no second query.
        loader
            .feed_many(
                rows.iter()
                    .map(|account| (account.user_id, account.clone())),
            )
            .await;
        Ok(UserConnection::from_rows(
            &page,
            rows,
            |account| Cursor::new(account.created_at, account.user_id),
            |account| User {
                id: account.user_id,
            },
        ))
    }
}

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

fn client_address(context: &Context<'_>) -> Option<String> {
    RequestContext::of(context).and_then(|request| request.client_address.clone())
}

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
            .sign_up(&input.email, input.password, role)
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

pub type AuthSchema = Schema<Query, Mutation, EmptySubscription>;

/// The executable schema around `sessions`.
pub fn schema(database: Database, config: &SubgraphConfig, sessions: Arc<Sessions>) -> AuthSchema {
    talentgraph_kit::graphql::configure_schema(
        Schema::build(Query, Mutation, EmptySubscription),
        &config.limits,
        config.introspection_enabled,
    )
    .data(database)
    .data(sessions)
    .finish()
}

/// The federation SDL this subgraph exports (committed as `schema.graphql`).
pub fn exported_sdl() -> String {
    talentgraph_kit::graphql::export_sdl(Query, Mutation)
}

/// The HTTP application as deployed: tokens verified against this
/// subgraph's own keys, read from its database rather than over HTTP.
pub fn build_app(database: Database, config: &SubgraphConfig) -> axum::Router {
    let keys = Arc::new(KeyRing::new(database.clone(), config.tokens.clone()));
    let verifier = Arc::new(TokenVerifier::new(
        keys.clone(),
        &config.tokens.issuer,
        &config.tokens.audience,
    ));
    assemble(database, config, keys, verifier)
}

/// The HTTP application with a chosen way of authenticating requests.
pub fn app(
    database: Database,
    config: &SubgraphConfig,
    authenticator: talentgraph_kit::auth::SharedAuthenticator,
) -> axum::Router {
    let keys = Arc::new(KeyRing::new(database.clone(), config.tokens.clone()));
    assemble(database, config, keys, authenticator)
}

fn assemble(
    database: Database,
    config: &SubgraphConfig,
    keys: Arc<KeyRing>,
    authenticator: talentgraph_kit::auth::SharedAuthenticator,
) -> axum::Router {
    let sessions = Arc::new(Sessions::new(database.clone(), keys.clone()));
    let graphql = talentgraph_kit::server::subgraph_app(
        schema(database.clone(), config, sessions),
        database,
        config,
        authenticator,
        attach_loaders,
    );
    let jwks = axum::Router::new()
        .route("/.well-known/jwks.json", axum::routing::get(published_keys))
        .with_state(keys);
    graphql.merge(jwks)
}

/// `GET /.well-known/jwks.json`: the keys that verify access tokens.
async fn published_keys(State(keys): State<Arc<KeyRing>>) -> axum::response::Response {
    match keys.published().await {
        Ok(set) => ([(header::CACHE_CONTROL, "public, max-age=60")], Json(set)).into_response(),
        Err(error) => {
            tracing::error!(?error, "cannot read the signing keys");
            (StatusCode::SERVICE_UNAVAILABLE, "signing keys unavailable").into_response()
        }
    }
}
