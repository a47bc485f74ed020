//! The auth subgraph: identity. Owns accounts (e-mail and roles) and
//! answers `me`; contributes `User.email` and `User.roles`, visible only to
//! the user themself and to admins.
//!
//! Issuing tokens (sign-up, sign-in, refresh, sign-out, JWKS) is the next
//! step for this subgraph; until then identities reach resolvers only
//! through the kit's `Authenticator`.

pub mod demo;

use async_graphql::{Context, EmptyMutation, EmptySubscription, ID, Object, Schema};
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use talentgraph_kit::loaders::{IdentifiedRow, RequestLoader, RowsById, parse_id};
use talentgraph_kit::server::LoaderScope;
use talentgraph_kit::viewer::RoleGuard;
use talentgraph_kit::{
    Cursor, Database, PageArgs, Role, SubgraphConfig, SubgraphDefinition, Viewer, connection_type,
};
use uuid::Uuid;

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
        Viewer::of(context).require_self_or_admin(self.id)?;
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
    async fn email(&self, context: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(self.account(context).await?.map(|account| account.email))
    }

    /// Platform roles (the user themself and admins only).
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

pub type AuthSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The executable schema.
pub fn schema(database: Database, config: &SubgraphConfig) -> AuthSchema {
    talentgraph_kit::graphql::build_schema(Query, EmptyMutation, database, config)
}

/// The federation SDL this subgraph exports (committed as `schema.graphql`).
pub fn exported_sdl() -> String {
    talentgraph_kit::graphql::export_sdl(Query, EmptyMutation)
}

/// The HTTP application as deployed.
pub fn build_app(database: Database, config: &SubgraphConfig) -> axum::Router {
    app(
        database,
        config,
        talentgraph_kit::auth::no_token_verification(),
    )
}

/// The HTTP application with a chosen way of authenticating requests.
pub fn app(
    database: Database,
    config: &SubgraphConfig,
    authenticator: talentgraph_kit::auth::SharedAuthenticator,
) -> axum::Router {
    talentgraph_kit::server::subgraph_app(
        schema(database.clone(), config),
        database,
        config,
        authenticator,
        attach_loaders,
    )
}
