//! What a subgraph is to everything that runs one: a descriptor.
//!
//! Each subgraph crate exports one `static SUBGRAPH: Subgraph<DemoWorld>`;
//! its binary, the dev stack, the end-to-end harness and the schema export
//! all read it, so adding a subgraph means adding its crate and one line to
//! the list in `talentgraph-subgraphs`.
//!
//! The usual subgraph (an async-graphql schema over its database, tokens
//! verified against auth's published keys) does not write its own schema
//! or app wiring: [`Subgraph::usual`] takes its root types and loaders and
//! points the descriptor at [`app`], [`deployed_app`] and [`exported_sdl`].
//! Auth, which signs tokens and serves the key set, supplies its own.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use async_graphql::{EmptySubscription, ObjectType, Schema};
use axum::Router;
use sqlx::migrate::Migrator;

use crate::auth::SharedAuthenticator;
use crate::config::{ConfigError, DomainSettingsSpec, SubgraphConfig, VariableDoc};
use crate::database::{Database, DatabaseError};
use crate::graphql::SchemaAudience;
use crate::loaders::RequestLoaders;

/// The future a demo seeder returns: how many rows it inserted.
pub type SeedFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, DatabaseError>> + Send + 'a>>;

/// One subgraph, as its binary, the dev stack and the tests see it.
///
/// `World` is the demo data set's description; the kit never looks inside
/// it (the kit knows no domain), it only hands it to the seeder.
pub struct Subgraph<World: 'static> {
    /// The subgraph's name, as in `router/supergraph.yaml`.
    pub name: &'static str,
    /// The port it listens on when `LISTEN_ADDR` is not set (the port
    /// table in the README).
    pub default_port: u16,
    /// The subgraph's embedded `migrations/<name>/`.
    pub migrator: &'static Migrator,
    /// The Federation v2 SDL it exports (committed as `schema.graphql`).
    pub sdl_exporter: fn() -> String,
    /// The HTTP application with a chosen way of authenticating requests
    /// (tests use fixed tokens).
    pub app_builder: fn(Database, &SubgraphConfig, SharedAuthenticator) -> Router,
    /// The HTTP application as deployed, with its production authenticator.
    pub deployed_app_builder: fn(Database, &SubgraphConfig) -> Router,
    /// Loads this subgraph's part of the demo data; running it twice adds
    /// nothing.
    pub demo_seeder: for<'a> fn(&'a Database, &'a World) -> SeedFuture<'a>,
    /// The event work it runs beside its server: the outbox relay when it
    /// produces events, a task per consumer.
    pub event_tasks: crate::events::EventTasks,
    /// The settings of its own domain, read with the platform's (see
    /// `config::domain`); `None` for a subgraph that has none.
    pub domain_settings: Option<DomainSettingsSpec>,
    /// Paths that callers other than the router use (a provider's webhook,
    /// the key set). With `PUBLIC_LISTEN_ADDR` they are served there and
    /// nowhere else, so the network can open that listener to those callers
    /// while `/graphql` stays reachable from the router alone.
    pub public_paths: &'static [&'static str],
}

impl<World> Subgraph<World> {
    /// The descriptor of a usual subgraph: its schema, app and SDL export
    /// come from the kit's generic builders for its root types and loaders.
    pub const fn usual<Query, Mutation, Loaders>(
        name: &'static str,
        default_port: u16,
        migrator: &'static Migrator,
        demo_seeder: for<'a> fn(&'a Database, &'a World) -> SeedFuture<'a>,
    ) -> Self
    where
        Query: ObjectType + Default + 'static,
        Mutation: ObjectType + Default + 'static,
        Loaders: RequestLoaders,
    {
        Self {
            name,
            default_port,
            migrator,
            sdl_exporter: exported_sdl::<UsualSchema<Query, Mutation, Loaders>>,
            app_builder: app::<UsualSchema<Query, Mutation, Loaders>>,
            deployed_app_builder: deployed_app::<UsualSchema<Query, Mutation, Loaders>>,
            demo_seeder,
            event_tasks: crate::events::no_event_tasks,
            domain_settings: None,
            public_paths: &[],
        }
    }

    /// The descriptor with settings of its domain.
    pub const fn with_domain_settings(mut self, settings: DomainSettingsSpec) -> Self {
        self.domain_settings = Some(settings);
        self
    }

    /// The descriptor with paths served on `PUBLIC_LISTEN_ADDR`.
    pub const fn with_public_paths(mut self, paths: &'static [&'static str]) -> Self {
        self.public_paths = paths;
        self
    }

    /// The subgraph's configuration: the platform's variables and its
    /// domain's, read through `lookup`.
    pub fn config_from_lookup(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<SubgraphConfig, ConfigError> {
        let mut config = SubgraphConfig::from_lookup(self.default_port, &lookup)?;
        config.read_domain_settings(self.domain_settings.as_ref(), lookup)?;
        Ok(config)
    }

    /// Every variable the subgraph reads: the platform's, then its domain's.
    pub fn variables(&self) -> Vec<VariableDoc> {
        crate::config::Variable::ALL
            .iter()
            .map(|variable| variable.doc())
            .chain(
                self.domain_settings
                    .iter()
                    .flat_map(|settings| settings.variables.iter().copied()),
            )
            .collect()
    }

    /// The same descriptor with event tasks.
    pub const fn with_event_tasks(mut self, event_tasks: crate::events::EventTasks) -> Self {
        self.event_tasks = event_tasks;
        self
    }

    /// Spawns the subgraph's event tasks; they run until `stop` fires.
    pub fn spawn_event_tasks(
        &self,
        database: &Database,
        broker: &crate::events::Broker,
        config: &SubgraphConfig,
        stop: crate::events::StopSignal,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (self.event_tasks)(
            crate::events::EventTaskList::new(database, broker, stop),
            config,
        )
        .into_iter()
        .map(tokio::spawn)
        .collect()
    }

    pub fn exported_sdl(&self) -> String {
        (self.sdl_exporter)()
    }

    pub fn app(
        &self,
        database: Database,
        config: &SubgraphConfig,
        authenticator: SharedAuthenticator,
    ) -> Router {
        (self.app_builder)(database, config, authenticator)
    }

    pub fn deployed_app(&self, database: Database, config: &SubgraphConfig) -> Router {
        (self.deployed_app_builder)(database, config)
    }

    pub async fn seed_demo(
        &self,
        database: &Database,
        world: &World,
    ) -> Result<u64, DatabaseError> {
        (self.demo_seeder)(database, world).await
    }
}

/// The GraphQL side of a usual subgraph: its root types and its loaders.
pub trait SubgraphSchema: 'static {
    type Query: ObjectType + Default + 'static;
    type Mutation: ObjectType + Default + 'static;
    type Loaders: RequestLoaders;
}

/// The parts a usual subgraph is made of, as one type.
type Parts<Query, Mutation, Loaders> = fn() -> (Query, Mutation, Loaders);

/// The [`SubgraphSchema`] of a usual subgraph, named by its parts. Never
/// built: it only carries the three types to the generic builders.
pub struct UsualSchema<Query, Mutation, Loaders>(PhantomData<Parts<Query, Mutation, Loaders>>);

impl<Query, Mutation, Loaders> SubgraphSchema for UsualSchema<Query, Mutation, Loaders>
where
    Query: ObjectType + Default + 'static,
    Mutation: ObjectType + Default + 'static,
    Loaders: RequestLoaders,
{
    type Query = Query;
    type Mutation = Mutation;
    type Loaders = Loaders;
}

/// The executable schema of a usual subgraph.
pub type SchemaOf<S> =
    Schema<<S as SubgraphSchema>::Query, <S as SubgraphSchema>::Mutation, EmptySubscription>;

/// The executable schema for `audience`: Federation v2, the configured
/// limits and introspection switch, and the database as shared data.
pub fn schema<S: SubgraphSchema>(
    database: Database,
    config: &SubgraphConfig,
    audience: SchemaAudience,
) -> SchemaOf<S> {
    crate::graphql::build_schema(
        S::Query::default(),
        S::Mutation::default(),
        database,
        config,
        audience,
    )
}

/// The Federation v2 SDL a usual subgraph exports.
pub fn exported_sdl<S: SubgraphSchema>() -> String {
    crate::graphql::export_sdl(S::Query::default(), S::Mutation::default())
}

/// The HTTP application of a usual subgraph with a chosen authenticator.
pub fn app<S: SubgraphSchema>(
    database: Database,
    config: &SubgraphConfig,
    authenticator: SharedAuthenticator,
) -> Router {
    crate::http_app::subgraph_app::<_, S::Loaders>(
        schema::<S>(database.clone(), config, SchemaAudience::AnyCaller),
        schema::<S>(database.clone(), config, SchemaAudience::TheRouter),
        database,
        config,
        authenticator,
    )
}

/// The HTTP application of a usual subgraph as deployed: access tokens
/// verified against the key set auth publishes (`AUTH_JWKS_URL`).
pub fn deployed_app<S: SubgraphSchema>(database: Database, config: &SubgraphConfig) -> Router {
    app::<S>(
        database,
        config,
        crate::tokens::jwks_authenticator(&config.tokens),
    )
}
