//! `devstack up`: the running stack. The six subgraphs are tasks of this
//! process; PostgreSQL, NATS, Redis, the payment provider and the router are
//! started by `talentgraph-launch`; the registry and the web app are
//! served here too.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use talentgraph_demo_world::DemoWorld;
use talentgraph_launch::nats::NatsService;
use talentgraph_launch::postgres::PostgresServer;
use talentgraph_launch::provider::PaymentProvider;
use talentgraph_launch::redis::RedisService;
use talentgraph_launch::{RouterAddresses, RouterKind, RouterLaunch, RunningRouter};
use talentgraph_subgraphs::SUBGRAPHS;

use crate::{
    DEFAULT_NATS_PORT, DEFAULT_REDIS_PORT, DEVSTACK_DATABASE_MAX_CONNECTIONS, DevstackError,
    databases, devstack_directory, exported_schemas, web,
};

/// The router's GraphQL, health and metrics addresses in the dev stack
/// (the README's port table).
pub const ROUTER_LISTEN: &str = "127.0.0.1:4000";
pub const ROUTER_HEALTH_LISTEN: &str = "127.0.0.1:8088";
const ROUTER_METRICS_LISTEN: &str = "127.0.0.1:9090";

/// The schema registry's address in the dev stack.
pub const REGISTRY_LISTEN: &str = "127.0.0.1:4100";

/// The web app's address in the dev stack.
pub const WEB_LISTEN: &str = "127.0.0.1:4200";

/// The webhook secret of the local payment provider when
/// `PAYMENT_WEBHOOK_SECRET` is not set.
const DEVELOPMENT_WEBHOOK_SECRET: &str = "whsec_talentgraph_devstack";

/// The secret the dev stack's router sends to the subgraphs
/// (`ROUTER_SHARED_SECRET`, or the development default).
pub fn router_secret() -> String {
    talentgraph_launch::non_blank_variable("ROUTER_SHARED_SECRET")
        .unwrap_or_else(|| "talentgraph-development-router-secret".to_owned())
}

/// A subgraph served by this process: name, address, serving task.
pub type SubgraphTask = (
    &'static str,
    SocketAddr,
    tokio::task::JoinHandle<Result<(), talentgraph_kit::KitError>>,
);

/// Brings everything up and serves until Ctrl-C.
pub async fn up(world: DemoWorld, router: RouterKind) -> Result<(), DevstackError> {
    let server = crate::postgres_server()?;
    let nats_port =
        talentgraph_launch::port_from_environment("DEVSTACK_NATS_PORT", DEFAULT_NATS_PORT)?;
    let nats =
        match NatsService::from_environment_or_local(nats_port, &devstack_directory().join("nats"))
        {
            Ok(nats) => nats,
            Err(error) => {
                server.stop_if_started();
                return Err(error.into());
            }
        };
    let redis_port =
        talentgraph_launch::port_from_environment("DEVSTACK_REDIS_PORT", DEFAULT_REDIS_PORT)?;
    let redis = match RedisService::from_environment_or_local(
        redis_port,
        &devstack_directory().join("redis"),
    ) {
        Ok(redis) => redis,
        Err(error) => {
            drop(nats);
            server.stop_if_started();
            return Err(error.into());
        }
    };
    let result = serve(&server, nats.url(), redis.url(), &world, router).await;
    drop(redis);
    drop(nats);
    server.stop_if_started();
    result
}

/// The subgraphs, router, registry and web app, served until Ctrl-C.
async fn serve(
    server: &PostgresServer,
    nats_url: &str,
    redis_url: &str,
    world: &DemoWorld,
    router_kind: RouterKind,
) -> Result<(), DevstackError> {
    let urls = databases::prepare_databases(server, world).await?;
    let provider = PaymentProvider::from_environment_or_local(DEVELOPMENT_WEBHOOK_SECRET).await?;
    let tasks = spawn_subgraphs(urls, nats_url, redis_url, &provider)?;
    wait_until_listening(&tasks).await;
    if let Some((_, address, _)) = tasks.iter().find(|(name, _, _)| *name == "payment")
        && let Err(error) = provider
            .register_webhook(&format!("http://{address}/webhooks/provider"))
            .await
    {
        eprintln!("devstack: could not register payment's webhook: {error}");
    }
    let inputs = running_subgraphs(&tasks);
    let router = match start_router(&inputs, router_kind).await {
        Ok(router) => Some(router),
        Err(error) => {
            eprintln!("devstack: {error}\n  the subgraphs stay up without the router");
            None
        }
    };
    let registry_token = match start_registry(server, &inputs).await {
        Ok(token) => Some(token),
        Err(error) => {
            eprintln!("devstack: schema registry: {error}\n  the stack stays up without it");
            None
        }
    };
    let web_app_running = match start_web_app(registry_token.as_deref()).await {
        Ok(()) => true,
        Err(error) => {
            eprintln!("devstack: {error}\n  the stack stays up without the web app");
            false
        }
    };
    crate::summary::print_summary(
        &tasks,
        world,
        router.as_ref().map(|_| router_kind),
        web_app_running,
        registry_token.as_deref(),
    );
    println!("{}", provider.summary());
    let mut failure = None;
    for (name, _, task) in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                eprintln!("devstack: {name} stopped: {error}");
                failure.get_or_insert(DevstackError::Kit(error));
            }
            Err(error) => eprintln!("devstack: {name} crashed: {error}"),
        }
    }
    if router.is_some() {
        eprintln!("▸ stopping the router");
    }
    drop(router);
    failure.map_or(Ok(()), Err)
}

/// Serves each subgraph as a task of this process, configured from the same
/// variables a deployed one reads, except its address, database, broker,
/// Redis, provider and router secret, which the stack assigns.
fn spawn_subgraphs(
    urls: Vec<String>,
    nats_url: &str,
    redis_url: &str,
    provider: &PaymentProvider,
) -> Result<Vec<SubgraphTask>, DevstackError> {
    let mut tasks = Vec::new();
    for (subgraph, url) in SUBGRAPHS.into_iter().zip(urls) {
        let config = subgraph
            .config_from_lookup(|variable| match variable {
                "DATABASE_URL" => Some(url.clone()),
                "LISTEN_ADDR" => None,
                "ROUTER_SHARED_SECRET" => Some(router_secret()),
                "NATS_URL" => Some(nats_url.to_owned()),
                "REDIS_URL" => Some(redis_url.to_owned()),
                "DATABASE_MAX_CONNECTIONS" => std::env::var(variable)
                    .ok()
                    .or_else(|| Some(DEVSTACK_DATABASE_MAX_CONNECTIONS.to_string())),
                "PAYMENT_PROVIDER_URL" => Some(provider.url.clone()),
                "PAYMENT_PROVIDER_SECRET_KEY" => Some(provider.secret_key.clone()),
                "PAYMENT_WEBHOOK_SECRET" => Some(provider.webhook_secret.clone()),
                other => std::env::var(other).ok(),
            })
            .map_err(talentgraph_kit::KitError::from)?;
        let address = config.listen_address;
        tasks.push((
            subgraph.name,
            address,
            tokio::spawn(
                async move { talentgraph_kit::server::run_subgraph(subgraph, config).await },
            ),
        ));
    }
    Ok(tasks)
}

async fn wait_until_listening(tasks: &[SubgraphTask]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for (_, address, task) in tasks {
        while Instant::now() < deadline && !task.is_finished() {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The subgraphs as they run in the stack: name, routing URL, SDL.
fn running_subgraphs(tasks: &[SubgraphTask]) -> Vec<schema_registry::SubgraphInput> {
    exported_schemas()
        .into_iter()
        .map(|(name, sdl)| {
            let address = tasks
                .iter()
                .find(|(task_name, _, _)| *task_name == name)
                .map(|(_, address, _)| *address)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
            schema_registry::SubgraphInput {
                name: name.to_owned(),
                routing_url: format!("http://{address}/graphql"),
                sdl,
            }
        })
        .collect()
}

/// Where the dev stack keeps the supergraph the router serves.
pub fn supergraph_path() -> PathBuf {
    devstack_directory().join("supergraph.graphql")
}

fn address(text: &str) -> Result<SocketAddr, DevstackError> {
    text.parse()
        .map_err(|_| DevstackError::Usage(format!("{text} is not an address")))
}

/// Composes the supergraph from the running subgraphs' SDL, installs the
/// router if needed, and starts it with the development profile and hot
/// reload, so publications to the stack's registry reach it.
async fn start_router(
    inputs: &[schema_registry::SubgraphInput],
    kind: RouterKind,
) -> Result<RunningRouter, DevstackError> {
    let supergraph = schema_registry::compose_subgraphs(inputs).map_err(|error| match error {
        schema_registry::RegistryError::Composition(diagnostics) => DevstackError::Composition(
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        other => DevstackError::Composition(other.to_string()),
    })?;
    let supergraph_path = supergraph_path();
    std::fs::write(&supergraph_path, &supergraph.sdl).map_err(|source| DevstackError::Write {
        path: supergraph_path.clone(),
        source,
    })?;
    eprintln!(
        "▸ composed the supergraph into {}",
        supergraph_path.display()
    );
    eprintln!(
        "▸ checking {} (the first install builds it; Apollo Router takes about 14 minutes)",
        kind.display_name()
    );
    let mut launch = RouterLaunch::development(kind, &supergraph_path, &devstack_directory());
    launch.binary = kind.install()?;
    launch.router_secret = router_secret();
    launch.hot_reload = true;
    let addresses = RouterAddresses {
        listen: address(ROUTER_LISTEN)?,
        health: address(ROUTER_HEALTH_LISTEN)?,
        metrics: address(ROUTER_METRICS_LISTEN)?,
    };
    let router = launch.start_on(addresses).await?;
    eprintln!(
        "▸ {} is up; its log is {}",
        kind.display_name(),
        router.process.log_path().display()
    );
    Ok(router)
}

/// Starts the schema registry on its own database, writing the supergraph
/// file the router hot-reloads, and publishes the six subgraphs as the code
/// defines them. Returns a fresh write token.
async fn start_registry(
    server: &PostgresServer,
    inputs: &[schema_registry::SubgraphInput],
) -> Result<String, DevstackError> {
    let (_, database) = server.open_database("talentgraph_registry").await?;
    let token = databases::prepare_registry_database(&database).await?;
    // Development runs any document, so the registry does not write the
    // trusted-documents module here (it would rewrite the committed one).
    let registry = talentgraph_launch::registry::serve(
        database,
        schema_registry::server::RouterFiles {
            supergraph: Some(supergraph_path()),
            trusted_documents: None,
        },
        address(REGISTRY_LISTEN)?,
        talentgraph_kit::server::shutdown_signal(),
    )
    .await?;
    // In the dev stack the code is the truth: whatever it changed since
    // the last run is published, approved as such.
    talentgraph_launch::registry::publish_subgraphs(
        &registry.url(),
        &token,
        inputs,
        "devstack: the local code is the truth",
    )
    .await?;
    eprintln!(
        "▸ the schema registry is up on {} with the six subgraphs published",
        registry.url()
    );
    Ok(token)
}

/// Builds the web app (once; later runs reuse the build), registers the
/// documents it sends as the `web` client when the registry runs, and
/// serves the app and the development GraphiQL page on [`WEB_LISTEN`].
async fn start_web_app(registry_token: Option<&str>) -> Result<(), DevstackError> {
    let root = talentgraph_launch::workspace_root();
    let build = tokio::task::spawn_blocking(move || web::build_web_app(&root))
        .await
        .map_err(|error| DevstackError::Web(error.to_string()))??;
    if let Some(token) = registry_token {
        web::register_web_operations(&build, &format!("http://{REGISTRY_LISTEN}"), token).await?;
    }
    let listener = talentgraph_kit::server::bind(address(WEB_LISTEN)?).await?;
    let app = web::web_app(&build, &format!("http://{ROUTER_LISTEN}/"));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("devstack: the web app's server stopped: {error}");
        }
    });
    Ok(())
}
