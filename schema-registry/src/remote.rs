//! The CLI commands that talk to a schema registry: `publish`, `fetch`,
//! `history`, `diff` and `register-operations`, and the registry's client
//! operations for `check --baseline registry:<url>`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::client::{RegistryAnswer, RegistryClient};
use crate::operations::{OperationDocument, load_operations};
use crate::report::Format;
use crate::{RegistryError, SupergraphConfig};

/// `--registry`, else `SCHEMA_REGISTRY_URL`, else the registry's local port.
pub fn default_registry_url() -> String {
    std::env::var("SCHEMA_REGISTRY_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:4100".to_owned())
}

/// The options of `schema-check publish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishArguments {
    pub registry: String,
    pub subgraph: String,
    pub schema: PathBuf,
    pub routing_url: Option<String>,
    pub config: PathBuf,
    pub approval_reason: Option<String>,
    pub dry_run: bool,
    pub format: Format,
}

/// The options of `schema-check fetch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchArguments {
    pub registry: String,
    pub subgraph: Option<String>,
    pub version: Option<String>,
    pub output: Option<PathBuf>,
    pub if_none_match: Option<String>,
}

/// The routing URL to publish with: the flag, else the configuration's
/// entry for the subgraph when the file exists, else none (the registry
/// keeps the previous version's).
fn routing_url(arguments: &PublishArguments) -> Result<Option<String>, RegistryError> {
    if let Some(url) = &arguments.routing_url {
        return Ok(Some(url.clone()));
    }
    if !arguments.config.exists() {
        return Ok(None);
    }
    let config = SupergraphConfig::load(&arguments.config)?;
    Ok(config
        .subgraphs
        .into_iter()
        .find(|source| source.name == arguments.subgraph)
        .map(|source| source.routing_url))
}

/// Publishes (or checks) a schema; `Ok(false)` when the registry refused it.
#[allow(clippy::print_stdout)]
pub fn publish(arguments: &PublishArguments) -> Result<bool, RegistryError> {
    let sdl = std::fs::read_to_string(&arguments.schema).map_err(|source| RegistryError::Read {
        path: arguments.schema.clone(),
        source,
    })?;
    let body = crate::api::PublishRequest {
        sdl: sdl.clone(),
        routing_url: routing_url(arguments)?,
        approval: arguments
            .approval_reason
            .clone()
            .map(|reason| crate::api::ApprovalRequest { reason }),
    };
    let client = RegistryClient::from_env(&arguments.registry)?;
    let RegistryAnswer { status, body } =
        client.block_on(client.publish(&arguments.subgraph, &body, arguments.dry_run))?;
    if arguments.format == Format::Json {
        println!("{body:#}");
    } else {
        let report = body
            .get("report")
            .filter(|report| !report.is_null())
            .map(crate::report::from_json)
            .transpose()
            .map_err(|message| RegistryError::RegistryUnreachable {
                url: arguments.registry.clone(),
                message,
            })?;
        if let Some(report) = &report {
            let rendered = match arguments.format {
                Format::Markdown => crate::report::markdown(report),
                _ => crate::report::human(report, &sdl, &arguments.schema),
            };
            print!("{rendered}");
        }
        println!(
            "{}",
            publication_outcome(&arguments.subgraph, status, &body)
        );
    }
    Ok(match status {
        200 if arguments.dry_run => body["passed"].as_bool().unwrap_or(false),
        200 | 201 => true,
        _ => false,
    })
}

fn publication_outcome(subgraph: &str, status: u16, body: &Value) -> String {
    match status {
        201 => {
            let mut line = format!(
                "published {subgraph} version {} (supergraph version {}, etag {})",
                body["version"], body["supergraph"]["version"], body["supergraph"]["etag"]
            );
            if let Some(reason) = body["approval"]["reason"].as_str() {
                let _ = write!(
                    line,
                    "\napproved by {}: {reason}",
                    body["approval"]["approved_by"].as_str().unwrap_or("?")
                );
            }
            line
        }
        200 if body.get("passed").is_some() => {
            if body["passed"].as_bool().unwrap_or(false) {
                format!("{subgraph}: the registry's check passed")
            } else {
                format!("{subgraph}: the registry's check failed")
            }
        }
        200 => body["message"]
            .as_str()
            .map_or_else(|| format!("{subgraph} is unchanged"), str::to_owned),
        _ => format!("refused: {}", crate::client::error_message(body)),
    }
}

/// Fetches the supergraph or a subgraph's SDL to `--output` or stdout;
/// `Ok(false)` never: not-modified is success.
#[allow(clippy::print_stdout)]
pub fn fetch(arguments: &FetchArguments) -> Result<bool, RegistryError> {
    let client = RegistryClient::from_env(&arguments.registry)?;
    let (sdl, description) = match &arguments.subgraph {
        None => {
            let fetched =
                client.block_on(client.latest_supergraph(arguments.if_none_match.as_deref()))?;
            let Some(fetched) = fetched else {
                eprintln!("the supergraph is unchanged (not modified)");
                return Ok(true);
            };
            (
                fetched.sdl,
                format!(
                    "supergraph version {} (etag {})",
                    fetched.version, fetched.etag
                ),
            )
        }
        Some(subgraph) => {
            let version = arguments.version.as_deref().unwrap_or("latest");
            let body = client.block_on(
                client.get_json(&format!("/api/subgraphs/{subgraph}/versions/{version}")),
            )?;
            (
                body["sdl"].as_str().unwrap_or_default().to_owned(),
                format!("{subgraph} version {}", body["version"]),
            )
        }
    };
    match &arguments.output {
        Some(path) => {
            std::fs::write(path, &sdl).map_err(|source| RegistryError::Write {
                path: path.clone(),
                source,
            })?;
            eprintln!("wrote {description} to {}", path.display());
        }
        None => {
            print!("{sdl}");
            eprintln!("fetched {description}");
        }
    }
    Ok(true)
}

fn change_lines(changes: &Value) -> String {
    let mut out = String::new();
    for change in changes.as_array().map(Vec::as_slice).unwrap_or_default() {
        let _ = writeln!(
            out,
            "    {:<9} {:<32} {}",
            change["criticality"].as_str().unwrap_or_default(),
            change["kind"].as_str().unwrap_or_default(),
            change["message"].as_str().unwrap_or_default()
        );
    }
    out
}

/// Prints a subgraph's published versions, newest first.
#[allow(clippy::print_stdout)]
pub fn history(registry: &str, subgraph: &str, format: Format) -> Result<bool, RegistryError> {
    let client = RegistryClient::from_env(registry)?;
    let body = client.block_on(client.get_json(&format!("/api/subgraphs/{subgraph}/versions")))?;
    if format == Format::Json {
        println!("{body:#}");
        return Ok(true);
    }
    for version in body["versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let changes = version["changes"].as_array().map_or(0, Vec::len);
        println!(
            "{subgraph} v{}  {}  by {}  {changes} change(s)  supergraph v{}",
            version["version"],
            version["published_at"].as_str().unwrap_or_default(),
            version["published_by"].as_str().unwrap_or_default(),
            version["supergraph_version"],
        );
        if let Some(approval) = version["approval"].as_object() {
            println!(
                "    approved by {}: {}",
                approval["approved_by"].as_str().unwrap_or_default(),
                approval["reason"].as_str().unwrap_or_default()
            );
        }
        print!("{}", change_lines(&version["changes"]));
    }
    Ok(true)
}

/// Prints the changes between two versions of a subgraph.
#[allow(clippy::print_stdout)]
pub fn diff(
    registry: &str,
    subgraph: &str,
    from: Option<&str>,
    to: Option<&str>,
    format: Format,
) -> Result<bool, RegistryError> {
    let client = RegistryClient::from_env(registry)?;
    let mut query = Vec::new();
    if let Some(from) = from {
        query.push(format!("from={from}"));
    }
    if let Some(to) = to {
        query.push(format!("to={to}"));
    }
    let path = format!("/api/subgraphs/{subgraph}/diff?{}", query.join("&"));
    let body = client.block_on(client.get_json(&path))?;
    if format == Format::Json {
        println!("{body:#}");
        return Ok(true);
    }
    let changes = body["changes"].as_array().map_or(0, Vec::len);
    println!(
        "{subgraph} v{} -> v{}: {changes} change(s)",
        body["from"], body["to"]
    );
    print!("{}", change_lines(&body["changes"]));
    Ok(true)
}

/// Registers a client version's operations; `Ok(false)` when a document
/// does not validate against the registry's supergraph.
#[allow(clippy::print_stdout)]
pub fn register_operations(
    registry: &str,
    client_name: &str,
    client_version: &str,
    operations: &Path,
) -> Result<bool, RegistryError> {
    let documents: Vec<String> = load_operations(operations)?
        .into_iter()
        .map(|document| document.source)
        .collect();
    let client = RegistryClient::from_env(registry)?;
    let request = crate::api::RegisterOperationsRequest {
        client: client_name.to_owned(),
        client_version: client_version.to_owned(),
        documents,
    };
    let RegistryAnswer { status, body } = client.block_on(client.register_operations(&request))?;
    if status == 422 {
        eprintln!("refused: {}", crate::client::error_message(&body));
        for problem in body["report"]["invalid_documents"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            eprintln!(
                "  document {}: {}",
                problem["document"],
                problem["message"].as_str().unwrap_or_default()
            );
        }
        return Ok(false);
    }
    println!(
        "{client_name} {client_version}: {} operation(s) registered, {} already registered",
        body["registered"], body["already_registered"]
    );
    Ok(true)
}

/// The registry's client operations, for a usage-aware `check`.
pub fn registry_operations(registry: &str) -> Result<Vec<OperationDocument>, RegistryError> {
    let client = RegistryClient::from_env(registry)?;
    let body = client.block_on(client.get_json("/api/operations"))?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(body["operations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|operation| {
            seen.insert(
                operation["document_sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .map(|operation| OperationDocument {
            path: PathBuf::from(format!(
                "registry:{}@{}/{}",
                operation["client"].as_str().unwrap_or_default(),
                operation["client_version"].as_str().unwrap_or_default(),
                operation["name"].as_str().unwrap_or_default()
            )),
            source: operation["document"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
        .collect())
}
