//! The schema registry: served in-process on a database of its own, and
//! the stack's subgraphs published to it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use schema_registry::api::{ApprovalRequest, PublishRequest, RegisterOperationsRequest};
use schema_registry::client::{RegistryAnswer, RegistryClient, error_message};
use schema_registry::server::{RegistryState, RouterFiles};
use schema_registry::{RegistryError, SubgraphInput};
use talentgraph_kit::Database;

use crate::LaunchError;

/// The largest request body the registry accepts (a supergraph's SDL, a
/// client's documents).
pub const REGISTRY_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A new token named `name` that may publish, approve and register
/// operations (the scopes a stack's own publisher needs: it publishes the
/// subgraphs and registers the pages), stored in the registry's
/// `database`.
pub async fn create_publisher_token(
    database: &Database,
    name: &str,
) -> Result<String, RegistryError> {
    schema_registry::server::tokens::create_token(
        database,
        name,
        &[
            schema_registry::server::Scope::Write,
            schema_registry::server::Scope::Approve,
            schema_registry::server::Scope::Register,
        ],
    )
    .await
}

/// A registry serving on `address` (its task ends with `shutdown`).
pub struct RunningRegistry {
    pub address: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

impl RunningRegistry {
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

/// Migrates the registry's database and serves it on `address`, writing
/// `router_files` when a publication changes the supergraph.
pub async fn serve(
    database: Database,
    router_files: RouterFiles,
    address: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RunningRegistry, LaunchError> {
    database
        .run_migrations(&schema_registry::server::MIGRATOR)
        .await
        .map_err(talentgraph_kit::KitError::from)?;
    let state = RegistryState::new(database, router_files);
    let listener = talentgraph_kit::server::bind(address).await?;
    let address = listener.local_addr().unwrap_or(address);
    let task = tokio::spawn(async move {
        let served = talentgraph_kit::server::serve(
            listener,
            schema_registry::server::app(state, REGISTRY_BODY_LIMIT),
            shutdown,
            Duration::from_secs(5),
        )
        .await;
        if let Err(error) = served {
            eprintln!("the schema registry stopped: {error}");
        }
    });
    Ok(RunningRegistry { address, task })
}

/// Runs `work` with a client of the registry at `url` off the async
/// workers (the client blocks on requests of its own).
async fn with_client<T: Send + 'static>(
    url: &str,
    token: &str,
    work: impl FnOnce(&RegistryClient) -> Result<T, RegistryError> + Send + 'static,
) -> Result<T, LaunchError> {
    let (url, token) = (url.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || work(&RegistryClient::new(&url, Some(token))?))
        .await
        .map_err(|error| LaunchError::Registry(error.to_string()))?
        .map_err(|error| LaunchError::Registry(error.to_string()))
}

/// Publishes `inputs`, each approved with `reason`. Each stored version
/// must compose with those already there, so the subgraphs that extend
/// others' entities go after them; by name works.
pub async fn publish_subgraphs(
    url: &str,
    token: &str,
    inputs: &[SubgraphInput],
    reason: &str,
) -> Result<(), LaunchError> {
    let mut publications = inputs.to_vec();
    publications.sort_by(|a, b| a.name.cmp(&b.name));
    let reason = reason.to_owned();
    with_client(url, token, move |client| {
        for input in &publications {
            let request = PublishRequest {
                sdl: input.sdl.clone(),
                routing_url: Some(input.routing_url.clone()),
                approval: Some(ApprovalRequest {
                    reason: reason.clone(),
                }),
            };
            accepted(client.block_on(client.publish(&input.name, &request, false))?)?;
        }
        Ok(())
    })
    .await
}

/// Registers `documents` as `client` at `version`: what a client's
/// deployment pipeline does (`npm run register` for the web app).
pub async fn register_operations(
    url: &str,
    token: &str,
    request: RegisterOperationsRequest,
) -> Result<(), LaunchError> {
    with_client(url, token, move |client| {
        accepted(client.block_on(client.register_operations(&request))?)
    })
    .await
}

/// An answer the client reads as an answer (a refused publication, an
/// invalid document) is still a failure here.
fn accepted(answer: RegistryAnswer) -> Result<(), RegistryError> {
    if answer.status >= 300 {
        return Err(RegistryError::Registry {
            status: answer.status,
            message: error_message(&answer.body),
        });
    }
    Ok(())
}
