//! Test harness: real PostgreSQL, a fresh database per test, spawned apps.
//!
//! When `DATABASE_URL` is set, tests create their databases on that server.
//! Otherwise the harness starts a throwaway cluster of its own the first
//! time a test in the process asks for one: `initdb` into a temporary
//! directory, `postgres` on a free loopback port, tuned for speed over
//! durability. The cluster dies with the test process (it is started with
//! a parent-death signal from a thread that lives as long as the process),
//! and directories left by killed runs are swept the next time.

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Router;
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnection;

use crate::database::Database;
use crate::error::KitError;
use crate::local_postgres::{
    postgres_binaries, postgres_command, postmaster_alive, running_as_root,
};

const CLUSTER_DIRECTORY_PREFIX: &str = "talentgraph-pg-";

/// Where test databases are created.
#[derive(Debug)]
pub struct PostgresServer {
    /// A URL to a maintenance database on the server, used to create others.
    admin_url: String,
}

static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();

impl PostgresServer {
    /// The process-wide server: `DATABASE_URL`'s, or a throwaway cluster.
    pub fn shared() -> Result<&'static PostgresServer, KitError> {
        SERVER
            .get_or_init(|| match std::env::var("DATABASE_URL") {
                Ok(url) if !url.trim().is_empty() => Ok(PostgresServer { admin_url: url }),
                _ => start_throwaway_cluster().map(|port| PostgresServer {
                    admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                }),
            })
            .as_ref()
            .map_err(|message| KitError::TestHarness(message.clone()))
    }

    /// The URL of database `name` on this server.
    pub fn url_for(&self, name: &str) -> String {
        crate::config::database_url_with_name(&self.admin_url, name)
    }

    /// Creates an empty database with a unique name and returns its URL.
    pub async fn create_database(&self, prefix: &str) -> Result<String, KitError> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .map_err(|error| {
                KitError::TestHarness(format!("cannot connect to {}: {error}", self.admin_url))
            })?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .map_err(|error| {
                KitError::TestHarness(format!("cannot create database {name}: {error}"))
            })?;
        let _ = admin.close().await;
        Ok(self.url_for(&name))
    }
}

/// A fresh database with `migrator` applied, and a statement counter that
/// starts at zero after the migrations.
pub async fn fresh_database(migrator: &Migrator) -> Result<(Database, String), KitError> {
    let server = PostgresServer::shared()?;
    let url = server.create_database("tg_test").await?;
    let migrations = Database::connect(&url, 2, Duration::from_secs(10))
        .await
        .map_err(KitError::DatabaseConnect)?;
    migrations.run_migrations(migrator).await?;
    migrations.close().await;
    let database = Database::connect(&url, 8, Duration::from_secs(10))
        .await
        .map_err(KitError::DatabaseConnect)?;
    Ok((database, url))
}

fn free_port() -> Result<u16, String> {
    StdTcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free port: {error}"))
}

/// Removes cluster directories whose postmaster is gone (left by test
/// processes that were killed before they could clean up).
fn sweep_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let is_ours = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(CLUSTER_DIRECTORY_PREFIX));
        let old_enough = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(120));
        if is_ours && old_enough && !postmaster_alive(&path.join("data")) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn start_throwaway_cluster() -> Result<u16, String> {
    sweep_stale_clusters();
    let binaries = postgres_binaries()?;
    let as_postgres_user = running_as_root();
    let directory = tempfile::Builder::new()
        .prefix(CLUSTER_DIRECTORY_PREFIX)
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?
        .keep();
    if as_postgres_user {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&directory)
            .status()
            .map_err(|error| format!("cannot run chown: {error}"))?;
        if !status.success() {
            return Err(format!(
                "chown of {} to postgres failed",
                directory.display()
            ));
        }
    }
    let data = directory.join("data");
    let output = postgres_command(&binaries, "initdb", as_postgres_user, true)
        .arg("-D")
        .arg(&data)
        .args([
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run initdb from {}: {error}", binaries.display()))?;
    if !output.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let port = free_port()?;
    let log_path = directory.join("postgres.log");
    let (sender, receiver) = std::sync::mpsc::channel();
    let socket_directory = directory.clone();
    // The parent-death signal fires when the *thread* that spawned the
    // server ends, so the server is spawned from a thread that never ends.
    std::thread::Builder::new()
        .name("test-postgres".to_owned())
        .spawn(move || {
            let log = std::fs::File::create(&log_path);
            let spawned = log.map_err(|error| error.to_string()).and_then(|log| {
                postgres_command(&binaries, "postgres", as_postgres_user, true)
                    .arg("-D")
                    .arg(&data)
                    .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
                    .arg("-k")
                    .arg(&socket_directory)
                    .args([
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=300",
                        "-c",
                        "shared_buffers=128MB",
                    ])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .map_err(|error| error.to_string())
            });
            let _ = sender.send(spawned.map(|_child| ()));
            loop {
                std::thread::park();
            }
        })
        .map_err(|error| format!("cannot start the PostgreSQL thread: {error}"))?;
    receiver
        .recv()
        .map_err(|error| error.to_string())?
        .map_err(|error| format!("cannot start postgres: {error}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_ok()
            && postmaster_alive(&directory.join("data"))
        {
            // Accepting TCP comes a moment before accepting logins; a short
            // pause avoids "the database system is starting up".
            std::thread::sleep(Duration::from_millis(200));
            return Ok(port);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(directory.join("postgres.log")).unwrap_or_default();
    Err(format!(
        "postgres did not start within 30 s; its log says:\n{log}"
    ))
}

/// A subgraph application served on a free loopback port for one test.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A GraphQL response as a test sees it: status, headers and JSON body.
#[derive(Debug)]
pub struct TestResponse {
    pub status: reqwest::StatusCode,
    pub content_type: String,
    pub body: serde_json::Value,
}

impl TestResponse {
    /// The `extensions.code` of the first error, if any.
    pub fn first_error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
}

impl TestApp {
    /// Serves `router` in the current runtime until the `TestApp` drops.
    pub async fn spawn(router: Router) -> Result<Self, KitError> {
        let listener = crate::server::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr().map_err(KitError::Serve)?;
        let (shutdown, shutdown_requested) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let stop = async move {
                let _ = shutdown_requested.await;
            };
            if let Err(error) =
                crate::server::serve(listener, router, stop, Duration::from_secs(5)).await
            {
                tracing::error!(%error, "test app stopped with an error");
            }
        });
        Ok(Self {
            address,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// POSTs a GraphQL request as a modern client would.
    pub async fn graphql(&self, query: &str, variables: serde_json::Value) -> TestResponse {
        let body = serde_json::json!({ "query": query, "variables": variables });
        self.post_raw(
            "application/json",
            "application/graphql-response+json, application/json;q=0.9",
            body.to_string(),
        )
        .await
    }

    /// POSTs any body with any content type, for malformed-input tests.
    pub async fn post_raw(&self, content_type: &str, accept: &str, body: String) -> TestResponse {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", content_type)
            .header("accept", accept)
            .body(body)
            .send()
            .await
            .expect("the test app answers");
        Self::read(response).await
    }

    /// GETs `/graphql` with the given query-string parameters.
    pub async fn get(&self, parameters: &[(&str, &str)]) -> TestResponse {
        let response = self
            .client
            .get(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .query(parameters)
            .send()
            .await
            .expect("the test app answers");
        Self::read(response).await
    }

    async fn read(response: reqwest::Response) -> TestResponse {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.expect("a response body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("the response is not JSON (status {status}): {text}"));
        TestResponse {
            status,
            content_type,
            body,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Runs `work` and returns its output with the number of SQL statements it
/// cost on `database`.
pub async fn count_statements<T>(
    database: &Database,
    work: impl std::future::Future<Output = T>,
) -> (T, u64) {
    let before = database.statements_executed();
    let output = work.await;
    (output, database.statements_executed() - before)
}

/// Limits small enough that tests can exceed each one with a short query.
pub fn strict_test_config(database_url: &str) -> crate::SubgraphConfig {
    let mut config = crate::SubgraphConfig::from_lookup(0, |name| match name {
        "DATABASE_URL" => Some(database_url.to_owned()),
        _ => None,
    })
    .expect("the test configuration is valid");
    // A wide batching window: tests run many servers and databases on two
    // cores, and the statement-count assertions must not depend on timing.
    config.dataloader_delay = Duration::from_millis(25);
    config.router_secret = Some(TEST_ROUTER_SECRET.to_owned());
    config.limits = crate::LimitsConfig {
        max_depth: 9,
        max_complexity: 800,
        max_recursive_depth: 10,
        max_directives_per_field: 2,
        max_aliases: 5,
        max_root_fields: 3,
        max_page_size: 100,
    };
    config
}

/// Subgraph-specific queries for [`assert_limits_enforced`].
pub struct LimitProbes<'a> {
    /// Within every limit but with a complexity above 800.
    pub too_complex: &'a str,
    /// Asks a list field for 101 items with a literal `first`.
    pub page_too_large: &'a str,
}

fn assert_code(response: &TestResponse, status: u16, code: &str, what: &str) {
    assert_eq!(
        response.status.as_u16(),
        status,
        "{what}: {:#}",
        response.body
    );
    assert_eq!(
        response.first_error_code(),
        Some(code),
        "{what}: {:#}",
        response.body
    );
}

/// Every operation limit rejects with its stable code, a 400 under
/// `application/graphql-response+json`, and not a single SQL statement.
pub async fn assert_limits_enforced(app: &TestApp, database: &Database, probes: &LimitProbes<'_>) {
    let aliases =
        "{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }";
    let root_fields =
        "{ s1: _service { sdl } s2: _service { sdl } s3: _service { sdl } s4: _service { sdl } }";
    let directives = "{ __typename @include(if: true) @skip(if: false) @include(if: true) }";
    let recursion = format!(
        "{{ {}__typename{} }}",
        "... on Query { ".repeat(12),
        " }".repeat(12)
    );
    let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }";
    let cases: Vec<(&str, String, &str)> = vec![
        ("aliases", aliases.to_owned(), "ALIAS_LIMIT_EXCEEDED"),
        (
            "root fields",
            root_fields.to_owned(),
            "ROOT_FIELD_LIMIT_EXCEEDED",
        ),
        (
            "directives",
            directives.to_owned(),
            "DIRECTIVE_LIMIT_EXCEEDED",
        ),
        ("recursion", recursion, "RECURSION_LIMIT_EXCEEDED"),
        ("depth", deep.to_owned(), "DEPTH_LIMIT_EXCEEDED"),
        (
            "complexity",
            probes.too_complex.to_owned(),
            "COMPLEXITY_LIMIT_EXCEEDED",
        ),
        (
            "page size",
            probes.page_too_large.to_owned(),
            "PAGE_SIZE_EXCEEDED",
        ),
    ];
    for (what, query, code) in cases {
        let (response, statements) =
            count_statements(database, app.graphql(&query, serde_json::json!({}))).await;
        assert_code(&response, 400, code, what);
        assert!(
            response.body.get("data").is_none(),
            "{what}: a request error has no data"
        );
        assert_eq!(
            statements, 0,
            "{what}: a rejected operation must not touch the database"
        );
    }
}

/// Malformed HTTP input gets the right status and a JSON error with a code,
/// never a 500. `valid_query` must be a valid query with a `$id: ID!`
/// variable; `mutation` any valid mutation document (or `None`).
pub async fn assert_bad_http_input_rejected(
    app: &TestApp,
    valid_query: &str,
    mutation: Option<&str>,
) {
    let accept = "application/graphql-response+json";
    let response = app
        .post_raw("application/json", accept, "{\"query\": ".to_owned())
        .await;
    assert_code(&response, 400, "BAD_REQUEST", "malformed JSON");

    let response = app
        .post_raw("application/json", accept, "[1, 2]".to_owned())
        .await;
    assert_code(&response, 400, "BAD_REQUEST", "JSON that is not an object");

    let body = serde_json::json!({ "query": valid_query }).to_string();
    let response = app.post_raw("text/plain", accept, body.clone()).await;
    assert_code(
        &response,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "wrong content type",
    );

    let response = app.post_raw("application/json", "text/html", body).await;
    assert_code(&response, 406, "NOT_ACCEPTABLE", "unacceptable Accept");

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": "{ nope(" }).to_string(),
        )
        .await;
    assert_code(&response, 400, "GRAPHQL_PARSE_FAILED", "syntax error");

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": "{ noSuchField }" }).to_string(),
        )
        .await;
    assert_code(&response, 400, "GRAPHQL_VALIDATION_FAILED", "unknown field");

    let response = app
        .graphql(valid_query, serde_json::json!({ "id": { "not": "an id" } }))
        .await;
    assert_code(
        &response,
        400,
        "BAD_USER_INPUT",
        "variable of the wrong type",
    );

    let response = app.graphql(valid_query, serde_json::json!({})).await;
    assert_code(
        &response,
        400,
        "BAD_USER_INPUT",
        "missing required variable",
    );

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": valid_query, "variables": [1] }).to_string(),
        )
        .await;
    assert_code(
        &response,
        400,
        "BAD_REQUEST",
        "variables that are not an object",
    );

    let response = app
        .post_raw(
            "application/json",
            accept,
            serde_json::json!({ "query": valid_query, "operationName": "NoSuchOperation", "variables": { "id": "x" } })
                .to_string(),
        )
        .await;
    assert_code(
        &response,
        400,
        "OPERATION_NOT_FOUND",
        "unknown operation name",
    );

    let response = app
        .post_raw("application/json", accept, "x".repeat(300 * 1024))
        .await;
    assert_code(&response, 413, "PAYLOAD_TOO_LARGE", "oversized body");

    // Legacy clients asking for application/json get 200 even for request
    // errors, as the GraphQL-over-HTTP spec requires.
    let response = app
        .post_raw(
            "application/json",
            "application/json",
            serde_json::json!({ "query": "{ noSuchField }" }).to_string(),
        )
        .await;
    assert_eq!(response.status.as_u16(), 200, "{:#}", response.body);
    assert_eq!(response.content_type, "application/json");

    if let Some(mutation) = mutation {
        let response = app.get(&[("query", mutation)]).await;
        assert_code(&response, 405, "METHOD_NOT_ALLOWED", "mutation over GET");
    }
    let response = app.get(&[("query", "{ __typename }")]).await;
    assert_eq!(
        response.status.as_u16(),
        200,
        "query over GET: {:#}",
        response.body
    );
    assert_eq!(response.body["data"]["__typename"], "Query");
}

/// Fails when the committed `schema.graphql` differs from what the code
/// exports, printing the command that regenerates it. With
/// `UPDATE_SCHEMAS=1` it writes the file instead.
pub fn assert_committed_schema(crate_directory: &str, package: &str, exported: &str) {
    let path = Path::new(crate_directory).join("schema.graphql");
    if std::env::var("UPDATE_SCHEMAS").as_deref() == Ok("1") {
        std::fs::write(&path, exported).expect("writes schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == exported,
        "{} is stale: the code exports a different schema.\n\
         Regenerate it with:  UPDATE_SCHEMAS=1 cargo test -p {package} --test schema\n\
         (or for every subgraph: cargo run -p devstack -- export-schemas)",
        path.display()
    );
}

/// Accepts fixed bearer tokens, each standing for a viewer: lets tests act
/// as a given user through the real HTTP path without minting JWTs.
#[derive(Default)]
pub struct StaticBearerTokens {
    viewers: std::collections::HashMap<String, crate::Viewer>,
}

impl StaticBearerTokens {
    pub fn with(mut self, token: &str, viewer: crate::Viewer) -> Self {
        self.viewers.insert(token.to_owned(), viewer);
        self
    }

    pub fn shared(self) -> crate::auth::SharedAuthenticator {
        std::sync::Arc::new(self)
    }
}

impl crate::auth::Authenticator for StaticBearerTokens {
    fn authenticate<'a>(
        &'a self,
        headers: &'a http::HeaderMap,
    ) -> futures::future::BoxFuture<'a, Result<crate::Viewer, crate::auth::AuthenticationFailure>>
    {
        Box::pin(async move {
            match crate::auth::bearer_token(headers)? {
                None => Ok(crate::Viewer::Anonymous),
                Some(token) => {
                    self.viewers
                        .get(token)
                        .cloned()
                        .ok_or(crate::auth::AuthenticationFailure {
                            message: "Unknown test token.".to_owned(),
                        })
                }
            }
        })
    }
}

/// The router secret of [`strict_test_config`].
pub const TEST_ROUTER_SECRET: &str = "test-router-secret-0123456789";

impl TestApp {
    /// POSTs a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn graphql_as(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> TestResponse {
        self.graphql_with(Some(token), false, query, variables)
            .await
    }

    /// POSTs a GraphQL request as the router would send it: with the
    /// router secret of [`strict_test_config`].
    pub async fn graphql_via_router(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> TestResponse {
        self.graphql_with(Some(token), true, query, variables).await
    }

    async fn graphql_with(
        &self,
        token: Option<&str>,
        via_router: bool,
        query: &str,
        variables: serde_json::Value,
    ) -> TestResponse {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(serde_json::json!({ "query": query, "variables": variables }).to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if via_router {
            request = request.header(crate::graphql::ROUTER_SECRET_HEADER, TEST_ROUTER_SECRET);
        }
        let response = request.send().await.expect("the test app answers");
        Self::read(response).await
    }
}
