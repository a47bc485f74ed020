//! The schema registry end to end: the real `schema-registry` binary on a
//! throwaway PostgreSQL database, driven over HTTP by the real
//! `schema-check` binary and by raw requests.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use talentgraph_kit::testing::PostgresServer;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the repository")
        .to_path_buf()
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn free_port() -> u16 {
    talentgraph_kit::testing::unused_loopback_port()
}

/// A running `schema-registry` process with a write and a read token.
struct Registry {
    url: String,
    write_token: String,
    /// A lead's token: write and approve.
    approve_token: String,
    read_token: String,
    /// A client release pipeline's: registers operations only.
    register_token: String,
    database_url: String,
    supergraph_file: PathBuf,
    process: tokio::process::Child,
    _directory: tempfile::TempDir,
    http: reqwest::Client,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.process.start_kill();
    }
}

/// Runs the server binary with the registry's environment.
fn server_command(
    database_url: &str,
    port: u16,
    supergraph_file: &Path,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_schema-registry"));
    command
        .env("DATABASE_URL", database_url)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("REGISTRY_SUPERGRAPH_PATH", supergraph_file)
        .env(
            "REGISTRY_TRUSTED_DOCUMENTS_PATH",
            trusted_documents_file(supergraph_file),
        )
        .env("RUST_LOG", "warn")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .kill_on_drop(true);
    command
}

/// Where the registry writes the router's trusted-documents module: beside
/// the supergraph file.
fn trusted_documents_file(supergraph_file: &Path) -> PathBuf {
    supergraph_file.with_file_name("trusted_documents.rhai")
}

async fn create_token(
    database_url: &str,
    supergraph_file: &Path,
    name: &str,
    scopes: &str,
) -> String {
    let output = server_command(database_url, 1, supergraph_file)
        .args(["token", "create", "--name", name, "--scopes", scopes])
        .output()
        .await
        .expect("runs schema-registry token create");
    assert!(
        output.status.success(),
        "token create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl Registry {
    async fn start() -> Self {
        let database_url = PostgresServer::shared()
            .expect("PostgreSQL")
            .create_database("tg_registry")
            .await
            .expect("a database");
        let directory = tempfile::tempdir().expect("a temporary directory");
        let supergraph_file = directory.path().join("supergraph.graphql");
        let write_token = create_token(&database_url, &supergraph_file, "ci", "write").await;
        let approve_token =
            create_token(&database_url, &supergraph_file, "lead", "write,approve").await;
        let read_token = create_token(&database_url, &supergraph_file, "dashboard", "read").await;
        let register_token =
            create_token(&database_url, &supergraph_file, "web-release", "register").await;
        let port = free_port();
        let process = server_command(&database_url, port, &supergraph_file)
            .stdout(Stdio::null())
            .spawn()
            .expect("starts schema-registry");
        let registry = Self {
            url: format!("http://127.0.0.1:{port}"),
            write_token,
            approve_token,
            read_token,
            register_token,
            database_url,
            supergraph_file,
            process,
            _directory: directory,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = registry
                .http
                .get(format!("{}/ready", registry.url))
                .send()
                .await
                .is_ok_and(|response| response.status() == 200);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the registry did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        registry
    }

    /// Runs `schema-check` from the repository root against this registry
    /// with `token`; returns (exit code, stdout, stderr).
    async fn cli(&self, token: Option<&str>, arguments: &[&str]) -> (i32, String, String) {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_schema-check"));
        command
            .current_dir(repository())
            .args(arguments)
            .env("SCHEMA_REGISTRY_URL", &self.url)
            .env_remove("SCHEMA_REGISTRY_TOKEN");
        if let Some(token) = token {
            command.env("SCHEMA_REGISTRY_TOKEN", token);
        }
        let output = command.output().await.expect("runs schema-check");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Publishes every subgraph of `router/supergraph.yaml` with the CLI.
    async fn publish_all(&self) {
        let config =
            schema_registry::SupergraphConfig::load(&repository().join("router/supergraph.yaml"))
                .expect("the configuration");
        for subgraph in &config.subgraphs {
            let schema = subgraph.schema_file.to_string_lossy().into_owned();
            // Each subgraph after the first is new to the graph, which a
            // lead approves.
            let (code, stdout, stderr) = self
                .cli(
                    Some(&self.approve_token),
                    &[
                        "publish",
                        "--subgraph",
                        &subgraph.name,
                        "--schema",
                        &schema,
                        "--approve",
                        "initial population of the graph",
                    ],
                )
                .await;
            assert_eq!(code, 0, "publish {}: {stdout}{stderr}", subgraph.name);
            assert!(
                stdout.contains(&format!("published {} version 1", subgraph.name)),
                "{stdout}"
            );
        }
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.url));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// A GET with `token`, which must get an answer.
    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, token)
            .await
            .send()
            .await
            .expect("the registry answers")
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self
            .request(reqwest::Method::GET, path, Some(&self.read_token))
            .await
            .send()
            .await
            .expect("the registry answers");
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON")
    }

    /// Publishes over HTTP; returns the status and body.
    async fn publish_raw(&self, subgraph: &str, body: Value, token: &str) -> (u16, Value) {
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/api/subgraphs/{subgraph}/versions"),
                Some(token),
            )
            .await
            .json(&body)
            .send()
            .await
            .expect("the registry answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(repository().join(path)).expect("a committed file")
}

fn write_temporary(directory: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = directory.path().join(name);
    std::fs::write(&path, text).expect("writes a file");
    path.to_string_lossy().into_owned()
}

/// Publishing the six subgraphs composes exactly the committed supergraph,
/// serves it with an entity tag, writes it where a hot-reloading router
/// reads it, and publishing the same schema again changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn publishing_the_subgraphs_serves_the_committed_supergraph() {
    let registry = Registry::start().await;
    let (code, _, stderr) = registry.cli(Some(&registry.read_token), &["fetch"]).await;
    assert_eq!(code, 2, "nothing composed yet: {stderr}");
    assert!(stderr.contains("404"), "{stderr}");

    registry.publish_all().await;
    let expected = committed("router/supergraph.graphql");
    let directory = tempfile::tempdir().expect("a temporary directory");
    let fetched = directory.path().join("fetched.graphql");
    let fetched_text = fetched.to_string_lossy().into_owned();
    let (code, _, stderr) = registry
        .cli(
            Some(&registry.read_token),
            &["fetch", "--output", &fetched_text],
        )
        .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&fetched).expect("fetched"),
        expected
    );
    assert_eq!(
        std::fs::read_to_string(&registry.supergraph_file).expect("the hot-reload file"),
        expected
    );

    let response = registry
        .get("/api/supergraph", Some(&registry.read_token))
        .await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&expected)));
    let revalidated = registry
        .request(
            reqwest::Method::GET,
            "/api/supergraph",
            Some(&registry.read_token),
        )
        .await
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("answers");
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag.as_str());
    let (code, _, stderr) = registry
        .cli(
            Some(&registry.read_token),
            &["fetch", "--if-none-match", &etag],
        )
        .await;
    assert_eq!(code, 0);
    assert!(stderr.contains("not modified"), "{stderr}");

    let (code, stdout, _) = registry
        .cli(
            Some(&registry.write_token),
            &[
                "publish",
                "--subgraph",
                "core",
                "--schema",
                "subgraphs/core/schema.graphql",
            ],
        )
        .await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("core version 1 already has this schema"),
        "{stdout}"
    );
    let subgraphs = registry.get_json("/api/subgraphs").await;
    assert_eq!(subgraphs["subgraphs"].as_array().map(Vec::len), Some(6));
    let (code, stdout, _) = registry
        .cli(
            Some(&registry.read_token),
            &["fetch", "--subgraph", "employer", "--version", "1"],
        )
        .await;
    assert_eq!(code, 0);
    assert_eq!(stdout, committed("subgraphs/employer/schema.graphql"));
}

/// A change that breaks registered operations is refused with the
/// operations it breaks named; the same change with an approval is
/// published and the approval (who, why, what) is in the history; the
/// diff between the versions and `check --baseline registry:` agree.
#[tokio::test(flavor = "multi_thread")]
async fn breaking_changes_need_an_approval_that_is_recorded() {
    let registry = Registry::start().await;
    registry.publish_all().await;

    let register = [
        "register-operations",
        "--client",
        "web",
        "--client-version",
        "1.0.0",
        "--operations",
        "pages",
    ];
    // Registering rewrites what production executes: a publishing token
    // may not; the client's release token may.
    let (code, stdout, stderr) = registry.cli(Some(&registry.write_token), &register).await;
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("INSUFFICIENT_SCOPE"),
        "{stdout}{stderr}"
    );
    let (code, stdout, stderr) = registry
        .cli(Some(&registry.register_token), &register)
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("7 operation(s) registered"), "{stdout}");
    let safelist = registry.get_json("/api/safelist").await;
    assert_eq!(safelist["format"], "apollo-persisted-query-manifest");
    let page = committed("pages/JobSearchPage.graphql");
    let entry = safelist["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|operation| operation["name"] == "JobSearchPage")
        .expect("the page is on the safelist")
        .clone();
    assert_eq!(entry["id"], sha256_hex(&page));
    assert_eq!(entry["body"], page.as_str());
    let lookup = registry
        .get_json(&format!("/api/operations/{}", sha256_hex(&page)))
        .await;
    assert_eq!(lookup["operations"][0]["client"], "web");
    let unknown = registry
        .get(
            &format!(
                "/api/operations/{}",
                sha256_hex("query Unknown { __typename }")
            ),
            Some(&registry.read_token),
        )
        .await;
    assert_eq!(unknown.status(), 404);

    let directory = tempfile::tempdir().expect("a temporary directory");
    let invalid = write_temporary(
        &directory,
        "Invalid.graphql",
        "query Invalid { job(id: \"1\") { salaryInBitcoin } }",
    );
    let (code, _, stderr) = registry
        .cli(
            Some(&registry.register_token),
            &[
                "register-operations",
                "--client",
                "web",
                "--client-version",
                "1.0.1",
                "--operations",
                &invalid,
            ],
        )
        .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("INVALID_OPERATION") && stderr.contains("salaryInBitcoin"),
        "{stderr}"
    );

    let proposal = committed("subgraphs/employer/schema.graphql").replacen(
        "\ttitle: String!",
        "\theadline: String!",
        1,
    );
    let proposal_file = write_temporary(&directory, "employer.graphql", &proposal);
    let publish = [
        "publish",
        "--subgraph",
        "employer",
        "--schema",
        &proposal_file,
    ];
    let (code, stdout, _) = registry.cli(Some(&registry.write_token), &publish).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("refused: APPROVAL_REQUIRED"), "{stdout}");
    assert!(
        stdout.contains("error[FIELD_REMOVED] BREAKING: field `Job.title` was removed"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "breaks JobSearchPage at jobs.edges.node.title (registry:web@1.0.0/JobSearchPage)"
        ),
        "{stdout}"
    );

    let (code, stdout, _) = registry
        .cli(
            Some(&registry.read_token),
            &[
                "check",
                "--subgraph",
                "employer",
                "--schema",
                &proposal_file,
                "--baseline",
                &format!("registry:{}", registry.url),
            ],
        )
        .await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("registry:web@1.0.0/JobDetailPage"),
        "{stdout}"
    );

    let (code, _, stderr) = registry
        .cli(
            Some(&registry.read_token),
            &[&publish[..], &["--approve", "headline replaces title"]].concat(),
        )
        .await;
    assert_eq!(code, 2, "a read token cannot publish");
    assert!(stderr.contains("INSUFFICIENT_SCOPE"), "{stderr}");
    let approval = [
        &publish[..],
        &["--approve", "web 1.1 reads headline; 1.0 is retired"],
    ]
    .concat();
    let (code, _, stderr) = registry.cli(Some(&registry.write_token), &approval).await;
    assert_eq!(code, 2, "a publisher cannot approve their own break");
    assert!(stderr.contains("INSUFFICIENT_SCOPE"), "{stderr}");
    let (code, stdout, stderr) = registry.cli(Some(&registry.approve_token), &approval).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("published employer version 2"), "{stdout}");
    assert!(
        stdout.contains("approved by lead: web 1.1 reads headline; 1.0 is retired"),
        "{stdout}"
    );

    let history = registry.get_json("/api/subgraphs/employer/versions").await;
    let newest = &history["versions"][0];
    assert_eq!(newest["version"], 2);
    // The lead who approved is the one who published the approved version.
    assert_eq!(newest["published_by"], "lead");
    assert_eq!(newest["approval"]["approved_by"], "lead");
    assert_eq!(
        newest["approval"]["reason"],
        "web 1.1 reads headline; 1.0 is retired"
    );
    assert!(
        newest["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .any(|change| change["kind"] == "FIELD_REMOVED" && change["coordinate"] == "Job.title"),
        "{newest}"
    );
    assert_eq!(
        history["versions"][1]["approval"]["reason"], "initial population of the graph",
        "version 1 was a new subgraph, approved as such"
    );
    let (code, stdout, _) = registry
        .cli(
            Some(&registry.read_token),
            &["history", "--subgraph", "employer"],
        )
        .await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("approved by lead: web 1.1 reads headline"),
        "{stdout}"
    );

    let (code, stdout, _) = registry
        .cli(
            Some(&registry.read_token),
            &[
                "diff",
                "--subgraph",
                "employer",
                "--from",
                "1",
                "--to",
                "2",
                "--format",
                "json",
            ],
        )
        .await;
    assert_eq!(code, 0, "{stdout}");
    let diff: Value = serde_json::from_str(&stdout).expect("JSON");
    let changes = diff["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .any(|change| change["kind"] == "FIELD_REMOVED"
                && change["coordinate"] == "Job.title"
                && change["criticality"] == "BREAKING")
    );
    assert!(changes.iter().any(|change| change["kind"] == "FIELD_ADDED"
        && change["coordinate"] == "Job.headline"));

    let served = std::fs::read_to_string(&registry.supergraph_file).expect("the hot-reload file");
    assert!(
        served.contains("headline: String!"),
        "the file follows publications"
    );

    // Operations already broken by the approved change are not held against
    // the next, unrelated publication.
    let core = committed("subgraphs/core/schema.graphql").replacen(
        "type Query {",
        "type Query {\n\t\"\"\"A harmless new field.\"\"\"\n\tregistryProbe: Int\n",
        1,
    );
    assert_ne!(core, committed("subgraphs/core/schema.graphql"));
    let (status, body) = registry
        .publish_raw("core", json!({ "sdl": core }), &registry.write_token)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["approval_needed"], false);
}

/// Tokens and scopes, and every kind of bad input, get a clear JSON error
/// and change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn bad_tokens_and_bad_input_are_refused_clearly() {
    let registry = Registry::start().await;
    let core_sdl = committed("subgraphs/core/schema.graphql");
    let good = json!({ "sdl": core_sdl, "routing_url": "http://127.0.0.1:4001/graphql" });

    let anonymous = registry.get("/api/subgraphs", None).await;
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let body: Value = anonymous.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let (status, body) = registry
        .publish_raw("core", good.clone(), "tgr_not-a-real-token")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let (status, body) = registry
        .publish_raw("core", good.clone(), &registry.read_token)
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("INSUFFICIENT_SCOPE"))
    );

    let raw = |content_type: &'static str, body: &'static str| {
        let registry = &registry;
        async move {
            let response = registry
                .request(
                    reqwest::Method::POST,
                    "/api/subgraphs/core/versions",
                    Some(&registry.write_token),
                )
                .await
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("answers");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = raw("text/plain", "{}").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let (status, body) = raw("application/json", "{\"sdl\": ").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    let (status, body) = raw(
        "application/json",
        "{\"sdl\": \"type Query { a: Int }\", \"force\": true}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("force"),
        "{body}"
    );

    let (status, body) = registry
        .publish_raw("Core!", good.clone(), &registry.write_token)
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = registry
        .publish_raw("core", json!({ "sdl": core_sdl }), &registry.write_token)
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("routing_url")
    );
    let (status, _) = registry
        .publish_raw(
            "core",
            json!({ "sdl": core_sdl, "routing_url": "http://127.0.0.1:4001/graphql", "approval": { "reason": "  " } }),
            &registry.write_token,
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = registry
        .publish_raw(
            "core",
            json!({ "sdl": "type Query { broken: Unknown }", "routing_url": "http://127.0.0.1:4001/graphql" }),
            &registry.write_token,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "COMPOSITION_FAILED");
    assert!(
        !body["report"]["compositionErrors"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );

    // The server answers 413 without reading the rest of the body and
    // closes the connection, so this request gets a connection of its own.
    let huge = "x".repeat(5 * 1024 * 1024);
    let too_large = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client")
        .post(format!("{}/api/subgraphs/core/versions", registry.url))
        .bearer_auth(&registry.write_token)
        .json(&json!({ "sdl": huge }))
        .send()
        .await;
    // Either the 413 arrives, or the server closed the connection while
    // the client was still sending; both refuse the body.
    if let Ok(response) = too_large {
        assert_eq!(response.status(), 413);
    }

    let missing = registry
        .get(
            "/api/subgraphs/core/versions/abc",
            Some(&registry.read_token),
        )
        .await;
    assert_eq!(missing.status(), 400);
    let nothing = registry
        .get("/api/nothing", Some(&registry.read_token))
        .await;
    assert_eq!(nothing.status(), 404);

    // Nothing above was stored.
    let subgraphs = registry.get_json("/api/subgraphs").await;
    assert_eq!(subgraphs["subgraphs"], json!([]));

    // A revoked token stops working at once.
    let revoke = server_command(&registry.database_url, 1, &registry.supergraph_file)
        .args(["token", "revoke", "--name", "dashboard"])
        .output()
        .await
        .expect("runs token revoke");
    assert!(revoke.status.success());
    let revoked = registry
        .get("/api/subgraphs", Some(&registry.read_token))
        .await;
    assert_eq!(revoked.status(), 401);

    // The CLI reports refusals and unreachable registries with exit 2.
    let (code, _, stderr) = registry.cli(None, &["history", "--subgraph", "core"]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("UNAUTHENTICATED"), "{stderr}");
    let (code, _, stderr) = registry
        .cli(
            Some(&registry.write_token),
            &[
                "history",
                "--subgraph",
                "core",
                "--registry",
                &format!("http://127.0.0.1:{}", free_port()),
            ],
        )
        .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot talk to the registry"), "{stderr}");

    // Bad environment stops the server at start-up with the variable named.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_schema-registry"))
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("runs schema-registry");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
}

/// Publications of one subgraph at the same moment are serialised: each
/// gets its own version, none is lost, each is checked against the one
/// before it, and the supergraph served is the last one's.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_publications_get_distinct_versions() {
    let registry = Registry::start().await;
    let base = committed("subgraphs/core/schema.graphql");
    let proposals: Vec<Value> = (0..4)
        .map(|index| {
            json!({
                "sdl": base.replacen("type Query {", &format!("type Query {{\n\tprobe{index}: Int\n"), 1),
                "routing_url": "http://127.0.0.1:4001/graphql",
                // Whichever runs second removes the first one's field.
                "approval": { "reason": "probe fields come and go" },
            })
        })
        .collect();
    let answers = futures::future::join_all(
        proposals
            .into_iter()
            .map(|proposal| registry.publish_raw("core", proposal, &registry.approve_token)),
    )
    .await;
    let mut versions: Vec<i64> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 201, "{body}");
            body["version"].as_i64().expect("a version")
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let history = registry.get_json("/api/subgraphs/core/versions").await;
    assert_eq!(history["versions"].as_array().map(Vec::len), Some(4));
    let approvals = history["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter(|version| !version["approval"].is_null())
        .count();
    assert_eq!(
        approvals, 3,
        "each later version removed its predecessor's field"
    );
    let latest = registry
        .get_json("/api/subgraphs/core/versions/latest")
        .await;
    let served = std::fs::read_to_string(&registry.supergraph_file).expect("the hot-reload file");
    let latest_field = latest["sdl"]
        .as_str()
        .and_then(|sdl| sdl.split("probe").nth(1))
        .and_then(|rest| rest.chars().next())
        .expect("a probe field");
    assert!(served.contains(&format!("probe{latest_field}: Int")));
    assert_eq!(
        served.matches("probe").count(),
        1,
        "only the last version's field"
    );
}

/// What changes whom the router trusts needs an approval from a token with
/// the approve scope, like a breaking change: a new subgraph, a new routing
/// URL, a field taken over with `@override`. A publisher's write token gets
/// 409 APPROVAL_REQUIRED naming the change, and 403 when it tries to
/// approve it itself.
#[tokio::test]
async fn changes_of_trust_need_an_approver() {
    let registry = Registry::start().await;
    registry.publish_all().await;
    let core = committed("subgraphs/core/schema.graphql");

    let moved = json!({ "sdl": core, "routing_url": "http://attacker.example/graphql" });
    let (status, body) = registry
        .publish_raw("core", moved.clone(), &registry.write_token)
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "APPROVAL_REQUIRED");
    let trust = body["report"]["trust_changes"].to_string();
    assert!(trust.contains("routing URL of core changes"), "{trust}");

    let mut self_approved = moved.clone();
    self_approved["approval"] = json!({ "reason": "trust me" });
    let (status, body) = registry
        .publish_raw("core", self_approved.clone(), &registry.write_token)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "INSUFFICIENT_SCOPE");

    let employer = committed("subgraphs/employer/schema.graphql");
    let taking_over = employer.replacen(
        "type Organization @key(fields: \"id\") {",
        "type Organization @key(fields: \"id\") {\n\tindustry: String! @override(from: \"core\")",
        1,
    );
    assert_ne!(taking_over, employer, "employer declares Organization");
    let (status, body) = registry
        .publish_raw(
            "employer",
            json!({ "sdl": taking_over }),
            &registry.write_token,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let trust = body["report"]["trust_changes"].to_string();
    assert!(trust.contains("takes a field over"), "{trust}");

    // However `@override` is spelled, and a second resolver of a field
    // another subgraph resolves, each need an approver too.
    let spelled_apart = employer.replacen(
        "type Organization @key(fields: \"id\") {",
        "type Organization @key(fields: \"id\") {\n\tindustry: String! @override\n\t\t(from: \"core\")",
        1,
    );
    // Core adds a field any subgraph may also resolve: a plain addition.
    let core_with_tagline = core.replacen(
        "type Organization @key(fields: \"id\") {",
        "type Organization @key(fields: \"id\") {\n\ttagline: String @shareable",
        1,
    );
    let (status, body) = registry
        .publish_raw(
            "core",
            json!({ "sdl": core_with_tagline }),
            &registry.write_token,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let second_resolver = employer.replacen(
        "type Organization @key(fields: \"id\") {",
        "type Organization @key(fields: \"id\") {\n\ttagline: String @shareable",
        1,
    );
    for (sdl, expected) in [
        (spelled_apart, "takes a field over"),
        (
            second_resolver,
            "would also resolve Organization.tagline, which core resolves",
        ),
    ] {
        let (status, body) = registry
            .publish_raw("employer", json!({ "sdl": sdl }), &registry.write_token)
            .await;
        assert_eq!(status, 409, "{body}");
        let trust = body["report"]["trust_changes"].to_string();
        assert!(trust.contains(expected), "{trust}");
    }

    let newcomer = json!({
        "sdl": "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [\"@key\"])\ntype Query { newcomerPing: Int }",
        "routing_url": "http://newcomer.internal/graphql",
    });
    let (status, body) = registry
        .publish_raw("newcomer", newcomer.clone(), &registry.write_token)
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["report"]["trust_changes"]
            .to_string()
            .contains("new subgraph")
    );

    // A lead approves the new subgraph; it is recorded with the change.
    let mut approved = newcomer;
    approved["approval"] = json!({ "reason": "the newcomer team's service, reviewed" });
    let (status, body) = registry
        .publish_raw("newcomer", approved, &registry.approve_token)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["approval"]["approved_by"], "lead");
}

/// Dry-run checks are composition work any read token can ask for: at
/// most a few run at once and the rest are answered 429 at once, never a
/// 5xx or a queue.
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_checks_are_bounded() {
    let registry = Registry::start().await;
    registry.publish_all().await;
    let core = committed("subgraphs/core/schema.graphql");
    let checks = (0..12).map(|_| {
        let request = registry
            .http
            .post(format!("{}/api/subgraphs/core/checks", registry.url))
            .bearer_auth(&registry.read_token)
            .json(&json!({ "sdl": core }));
        async move {
            let response = request.send().await.expect("the registry answers");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    });
    let answers = futures::future::join_all(checks).await;
    let mut statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort_unstable();
    for (status, body) in &answers {
        assert!(
            *status == 200 || (*status == 429 && body["error"]["code"] == "TOO_MANY_CHECKS"),
            "{status}: {body}"
        );
    }
    assert!(statuses.contains(&200), "{statuses:?}");
    println!("12 concurrent dry-run checks: {statuses:?}");
}

/// Registrations that commit at once all end up in the router's
/// trusted-documents file: each write reads the database after the one
/// before it has renamed its file into place, and no two writers share a
/// temporary file, so the last write lists every document and nothing is
/// left beside it.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_registrations_all_reach_the_router_file() {
    let registry = Registry::start().await;
    registry.publish_all().await;
    let releases = 16;
    let documents: Vec<String> = (0..releases)
        .map(|index| {
            format!(
                "query Probe{index} {{ jobs(first: {}) {{ pageInfo {{ hasNextPage }} }} }}",
                index + 1
            )
        })
        .collect();
    let registry = &registry;
    let answers = futures::future::join_all(documents.iter().enumerate().map(
        |(index, document)| async move {
            let response = registry
                .request(
                    reqwest::Method::POST,
                    "/api/operations",
                    Some(&registry.register_token),
                )
                .await
                .json(&json!({
                    "client": "probe",
                    "client_version": format!("1.0.{index}"),
                    "documents": [document],
                }))
                .send()
                .await
                .expect("the registry answers");
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        },
    ))
    .await;
    for (status, body) in &answers {
        assert_eq!(*status, 201, "{body}");
    }
    let file = trusted_documents_file(&registry.supergraph_file);
    let module = std::fs::read_to_string(&file).expect("the trusted-documents file");
    let missing: Vec<&String> = documents
        .iter()
        .filter(|document| !module.contains(&sha256_hex(document)))
        .collect();
    assert!(missing.is_empty(), "not in the router's file: {missing:?}");
    let leftovers: Vec<String> = std::fs::read_dir(file.parent().expect("a directory"))
        .expect("lists the directory")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
