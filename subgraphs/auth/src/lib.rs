//! The auth subgraph: identity and sessions.
//!
//! Owns accounts (e-mail, argon2id password hash, roles, the organizations
//! a recruiter acts for), sessions with rotating refresh tokens, and the
//! Ed25519 keys that sign access tokens. Answers `me`, `signUp`, `signIn`,
//! `refreshSession`, `signOut` and publishes the key set at
//! `/.well-known/jwks.json`; contributes `User.email` and `User.roles`,
//! visible only to the user themself and to admins.

//!
//! Like the other subgraphs, `model` holds the GraphQL types, `query` and
//! `mutation` the root resolvers and `loaders` the batching; the work is in
//! `sessions` (accounts, sign-in, refresh tokens), `keys` (the signing key
//! ring) and `passwords`, and `accounts` holds the reads of accounts.

pub mod accounts;
pub mod consumers;
pub mod demo;
pub mod error;
pub mod keys;
pub mod loaders;
pub mod model;
pub mod mutation;
pub mod passwords;
pub mod query;
pub mod sessions;
pub mod settings;

use std::sync::Arc;

use async_graphql::{EmptySubscription, Schema};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use sqlx::migrate::Migrator;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::graphql::SchemaAudience;
use talentgraph_kit::subgraph::{SeedFuture, Subgraph};
use talentgraph_kit::tokens::TokenVerifier;
use talentgraph_kit::{Database, SubgraphConfig};

pub use error::AuthError;

use crate::keys::KeyRing;
use crate::loaders::Loaders;
use crate::mutation::Mutation;
use crate::query::Query;
use crate::sessions::Sessions;

/// The subgraph's migrations, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/auth");

/// How the binary, the dev stack and the tests run this subgraph. Auth
/// builds its own app: it signs tokens, verifies them against its own key
/// ring rather than over HTTP, and serves the key set.
pub static SUBGRAPH: Subgraph<DemoWorld> = Subgraph {
    name: "auth",
    default_port: 4002,
    migrator: &MIGRATOR,
    sdl_exporter: exported_sdl,
    app_builder: app,
    deployed_app_builder: build_app,
    demo_seeder: seed_demo,
    event_tasks: consumers::event_tasks,
    domain_settings: Some(settings::AUTH_SETTINGS),
    // Every subgraph fetches the key set; only the router sends GraphQL.
    public_paths: &[KEY_SET_PATH],
};

/// Where auth publishes the keys that verify access tokens.
pub const KEY_SET_PATH: &str = "/.well-known/jwks.json";

fn seed_demo<'a>(database: &'a Database, world: &'a DemoWorld) -> SeedFuture<'a> {
    Box::pin(demo::seed(database, world))
}

pub type AuthSchema = Schema<Query, Mutation, EmptySubscription>;

/// The executable schema for `audience` around `sessions`.
fn schema(
    database: Database,
    config: &SubgraphConfig,
    sessions: Arc<Sessions>,
    audience: SchemaAudience,
) -> AuthSchema {
    talentgraph_kit::graphql::configure_schema(
        Schema::build(Query, Mutation, EmptySubscription),
        &config.limits,
        config.introspection_enabled,
        audience,
    )
    .data(database)
    .data(sessions)
    .finish()
}

/// The federation SDL this subgraph exports (committed as `schema.graphql`).
fn exported_sdl() -> String {
    talentgraph_kit::graphql::export_sdl(Query, Mutation)
}

/// The HTTP application as deployed: tokens verified against this
/// subgraph's own keys, read from its database rather than over HTTP.
fn build_app(database: Database, config: &SubgraphConfig) -> axum::Router {
    let keys = Arc::new(KeyRing::new(
        database.clone(),
        &config.tokens,
        settings::AuthSettings::of(config),
    ));
    let verifier = Arc::new(
        TokenVerifier::new(keys.clone(), &config.tokens.issuer, &config.tokens.audience)
            .with_verified_token_cache(config.tokens.verified_token_cache_entries),
    );
    assemble(database, config, keys, verifier)
}

/// The HTTP application with a chosen way of authenticating requests.
fn app(
    database: Database,
    config: &SubgraphConfig,
    authenticator: talentgraph_kit::auth::SharedAuthenticator,
) -> axum::Router {
    let keys = Arc::new(KeyRing::new(
        database.clone(),
        &config.tokens,
        settings::AuthSettings::of(config),
    ));
    assemble(database, config, keys, authenticator)
}

fn assemble(
    database: Database,
    config: &SubgraphConfig,
    keys: Arc<KeyRing>,
    authenticator: talentgraph_kit::auth::SharedAuthenticator,
) -> axum::Router {
    // A request waits at most a second for a hashing slot: long enough to
    // ride out a moment when another process takes a core (a router
    // starting beside it on a small machine turned sign-ups away after a
    // quarter second in the drill), short enough that a flood is answered
    // SERVICE_UNAVAILABLE instead of queueing without end.
    let passwords = crate::passwords::PasswordWork::per_cpu(std::time::Duration::from_secs(1));
    let sessions = Arc::new(Sessions::new(database.clone(), keys.clone(), passwords));
    let graphql = talentgraph_kit::http_app::subgraph_app::<_, Loaders>(
        schema(
            database.clone(),
            config,
            sessions.clone(),
            SchemaAudience::AnyCaller,
        ),
        schema(
            database.clone(),
            config,
            sessions,
            SchemaAudience::TheRouter,
        ),
        database,
        config,
        authenticator,
    );
    let jwks = axum::Router::new()
        .route(KEY_SET_PATH, axum::routing::get(published_keys))
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
