//! The drill's traffic with the schema registry: the graph and the
//! client's documents published at the start, a compatible change and a
//! client release published during the drill, and the waits until every
//! router replica serves what was published.

use std::path::Path;
use std::time::{Duration, Instant};

use schema_registry::SubgraphInput;
use talentgraph_kit::local_postgres::PersistentCluster;
use talentgraph_launch::workspace_root;

use super::{DRILL_CLIENT, DrillStack, create_database};

impl DrillStack {
    /// Registers a new release of the drill's client with the registry: the
    /// documents the load sends and one renamed page. The registry rewrites
    /// `trusted_documents.rhai` and the routers reload their scripts.
    /// Returns the new document.
    pub async fn register_client_release(&mut self) -> String {
        self.registrations += 1;
        let (documents, renamed) = client_release(self.registrations);
        talentgraph_launch::registry::register_operations(
            &self.registry_url,
            &self.registry_token,
            schema_registry::api::RegisterOperationsRequest {
                client: DRILL_CLIENT.to_owned(),
                client_version: format!("1.{}.0", self.registrations),
                documents,
            },
        )
        .await
        .unwrap_or_else(|error| panic!("registering the drill's client: {error}"));
        renamed
    }

    /// Waits until every router replica runs `document` (its scripts were
    /// reloaded with the registry's new list). Fails after 30 s.
    pub async fn wait_until_the_routers_trust(&self, document: &str) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut body = self.probe_page();
        body["query"] = serde_json::Value::String(document.to_owned());
        body["operationName"] = serde_json::Value::Null;
        for router in self.routers.processes.iter().flatten() {
            loop {
                let answered = client
                    .post(router.url())
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|response| response.status().is_success());
                if answered {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "router {} did not trust the registered document within 30 s",
                    router.url()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// Publishes a compatible change of employer's schema through the
    /// registry (one more nullable field on `Job`, which no client asks
    /// for yet): the registry writes the supergraph file, and the routers,
    /// run with `--hot-reload`, load it.
    pub async fn publish_compatible_change(&mut self) {
        self.publications += 1;
        let mut input = self
            .inputs
            .iter()
            .find(|input| input.name == "employer")
            .expect("employer is published")
            .clone();
        let fields: String = (1..=self.publications)
            .map(|number| format!("  drillProbe{number}: String\n"))
            .collect();
        input.sdl = input.sdl.replacen(
            "type Job @key(fields: \"id\") {\n",
            &format!("type Job @key(fields: \"id\") {{\n{fields}"),
            1,
        );
        talentgraph_launch::registry::publish_subgraphs(
            &self.registry_url,
            &self.registry_token,
            &[input],
            "drill: a compatible change",
        )
        .await
        .unwrap_or_else(|error| panic!("publishing employer: {error}"));
    }

    /// Waits until every router replica serves the last field the drill
    /// published: the hot reload happened. Fails after 30 s.
    ///
    /// The production profile runs registered documents only, so the
    /// drill asks for the field with a document nobody registered: the
    /// router validates a document against its schema before the script
    /// checks whether it is trusted, so before the reload the answer is a
    /// validation error naming the unknown field, after it the script's
    /// `OPERATION_NOT_TRUSTED`, which does not name it.
    pub async fn wait_until_the_routers_reloaded(&self) {
        let field = format!("drillProbe{}", self.publications);
        let document = format!(
            "query DrillReloadProbe {{ job(id: \"{}\") {{ {field} }} }}",
            uuid::Uuid::nil()
        );
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        for router in self.routers.processes.iter().flatten() {
            loop {
                let answer: Option<serde_json::Value> = match client
                    .post(router.url())
                    .json(&serde_json::json!({ "query": document }))
                    .send()
                    .await
                {
                    Ok(response) => response.json().await.ok(),
                    Err(_) => None,
                };
                if answer.is_some_and(|answer| !answer.to_string().contains(&field)) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "router {} did not load the published {field} within 30 s",
                    router.url()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Serves the schema registry on a database of `postgres`, writing the
/// supergraph to `supergraph_path`, and publishes `inputs` to it; returns
/// its URL and a write-and-approve token.
pub(super) async fn start_registry(
    postgres: &PersistentCluster,
    supergraph_path: &Path,
    trusted_documents_path: &Path,
    inputs: &[SubgraphInput],
) -> (String, String) {
    create_database(postgres, "drill_registry").await;
    let database = talentgraph_kit::Database::connect(
        &postgres.url_for("drill_registry"),
        4,
        Duration::from_secs(10),
    )
    .await
    .expect("connects to the registry's database");
    let registry = talentgraph_launch::registry::serve(
        database.clone(),
        schema_registry::server::RouterFiles {
            supergraph: Some(supergraph_path.to_path_buf()),
            trusted_documents: Some(trusted_documents_path.to_path_buf()),
        },
        talentgraph_kit::local_ports::unused_loopback_address(),
        std::future::pending(),
    )
    .await
    .expect("the registry starts");
    let token = talentgraph_launch::registry::create_publisher_token(&database, "drill")
        .await
        .expect("a registry token");
    talentgraph_launch::registry::publish_subgraphs(
        &registry.url(),
        &token,
        inputs,
        "drill: the graph",
    )
    .await
    .expect("publishes the subgraphs");
    assert!(
        supergraph_path.exists(),
        "the registry wrote the supergraph"
    );
    // The drill's client registers what the load sends before any router
    // starts: the registry's list replaces the committed one.
    let (documents, _) = client_release(0);
    talentgraph_launch::registry::register_operations(
        &registry.url(),
        &token,
        schema_registry::api::RegisterOperationsRequest {
            client: DRILL_CLIENT.to_owned(),
            client_version: "1.0.0".to_owned(),
            documents,
        },
    )
    .await
    .expect("registers the drill's client");
    (registry.url(), token)
}

/// The documents of release `release` of the drill's client: every page
/// and operation of the repository and the drill's own posting (what the
/// load sends), and from release 1 on JobSearchPage renamed
/// `JobSearchPageR<release>` (returned apart), as a client release that
/// renames an operation registers it.
fn client_release(release: usize) -> (Vec<String>, String) {
    let mut documents: Vec<String> = ["pages", "operations"]
        .iter()
        .flat_map(|folder| {
            schema_registry::operations::load_operations(&workspace_root().join(folder))
                .unwrap_or_else(|error| panic!("{folder}: {error}"))
        })
        .map(|document| document.source)
        .collect();
    documents.push(crate::drill::load::POST_JOB.to_owned());
    let renamed = crate::pages::page_document("JobSearchPage").replacen(
        "query JobSearchPage",
        &format!("query JobSearchPageR{release}"),
        1,
    );
    if release > 0 {
        documents.push(renamed.clone());
    }
    (documents, renamed)
}
