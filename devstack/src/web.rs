//! Serves the web app (`web/dist`) and the development GraphiQL page
//! (`web/dist-graphiql`) over HTTP, as the dev stack and the browser tests
//! run them.
//!
//! One build runs against any router: the app reads the router's URL from
//! `/config.js`, which this server writes from its argument, so the dev
//! stack (router on :4000) and a test stack (router on a free port) serve
//! the same files. Paths that are not files get `index.html`, because the
//! app routes on the client (`/jobs/<id>` is a page, not a file).

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use crate::DevstackError;

/// The built app and, for development, the built GraphiQL page.
#[derive(Debug, Clone)]
pub struct WebBuild {
    pub app_directory: PathBuf,
    pub graphiql_directory: Option<PathBuf>,
}

impl WebBuild {
    /// The committed app's build output under the repository root.
    pub fn in_repository(repository_root: &Path) -> Self {
        let web = repository_root.join("web");
        let graphiql = web.join("dist-graphiql");
        Self {
            app_directory: web.join("dist"),
            graphiql_directory: graphiql.join("index.html").exists().then_some(graphiql),
        }
    }

    /// The persisted-query manifest the build wrote: every document the app
    /// sends, with the id it sends it by.
    pub fn persisted_query_manifest(&self) -> PathBuf {
        self.app_directory.join("persisted-query-manifest.json")
    }
}

/// Builds the app and the GraphiQL page with `scripts/build-web.sh`, which
/// installs the npm packages when their lock file changed and skips the
/// build when nothing it reads changed since the last one.
pub fn build_web_app(repository_root: &Path) -> Result<WebBuild, DevstackError> {
    let status = Command::new("bash")
        .arg(repository_root.join("scripts").join("build-web.sh"))
        .current_dir(repository_root)
        .status()
        .map_err(|error| DevstackError::Web(format!("cannot run scripts/build-web.sh: {error}")))?;
    if !status.success() {
        return Err(DevstackError::Web(format!(
            "scripts/build-web.sh failed ({status})"
        )));
    }
    Ok(WebBuild::in_repository(repository_root))
}

/// The app's HTTP routes: `/config.js` naming `graphql_url`, GraphiQL under
/// `/graphiql/` when built, and the app's files with `index.html` for every
/// other path.
pub fn web_app(build: &WebBuild, graphql_url: &str) -> Router {
    // The URL is written as a JSON string, so no character of it can end
    // the script early.
    let config_script = format!(
        "window.TALENTGRAPH_CONFIG = {{ graphqlUrl: {} }};\n",
        serde_json::Value::String(graphql_url.to_owned())
    );
    let config = get(move || {
        let body = config_script.clone();
        async move {
            (
                [
                    (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
                .into_response()
        }
    });
    let index = build.app_directory.join("index.html");
    let mut router = Router::new().route("/config.js", config);
    if let Some(graphiql) = &build.graphiql_directory {
        router = router.nest_service(
            "/graphiql",
            ServeDir::new(graphiql).fallback(ServeFile::new(graphiql.join("index.html"))),
        );
    }
    router.fallback_service(ServeDir::new(&build.app_directory).fallback(ServeFile::new(index)))
}

/// What `npm run register` does in a deployment pipeline: the registry at
/// `registry_url` records the web client's documents, which makes schema
/// checks count them and puts them on the safelist.
pub async fn register_web_operations(
    build: &WebBuild,
    registry_url: &str,
    token: &str,
) -> Result<(), DevstackError> {
    let manifest = build.persisted_query_manifest();
    let version = web_app_version()?;
    let documents = schema_registry::operations::load_operations(&manifest)
        .map_err(|error| DevstackError::Web(format!("{}: {error}", manifest.display())))?
        .into_iter()
        .map(|document| document.source)
        .collect();
    talentgraph_launch::registry::register_operations(
        registry_url,
        token,
        schema_registry::api::RegisterOperationsRequest {
            client: "web".to_owned(),
            client_version: version.clone(),
            documents,
        },
    )
    .await
    .map_err(|error| DevstackError::Web(format!("registering its documents: {error}")))?;
    eprintln!("▸ registered the web app's documents as client web {version}");
    Ok(())
}

/// The version in `web/package.json`, which the registry records the
/// web client's documents under.
fn web_app_version() -> Result<String, DevstackError> {
    let path = talentgraph_launch::workspace_root()
        .join("web")
        .join("package.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| DevstackError::Web(format!("{}: {error}", path.display())))?;
    let package: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| DevstackError::Web(format!("{}: {error}", path.display())))?;
    package["version"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| DevstackError::Web(format!("{} has no version", path.display())))
}
