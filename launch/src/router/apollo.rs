//! Apollo Router's command line and environment.

use std::process::Command;

use super::{RouterAddresses, RouterLaunch};

/// Variables the router must not inherit: the standard OTLP variables make
/// it refuse to start (its endpoint comes from `ROUTER_OTLP_ENDPOINT`),
/// GraphOS credentials would connect it to Apollo's services, and a
/// `RUST_BACKTRACE` meant for our own binaries makes it warn at every start.
const REMOVED_VARIABLES: [&str; 6] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "APOLLO_KEY",
    "APOLLO_GRAPH_REF",
    "RUST_BACKTRACE",
];

pub(super) fn command(launch: &RouterLaunch, addresses: &RouterAddresses) -> Command {
    let mut command = Command::new(&launch.binary);
    command
        .arg("--supergraph")
        .arg(&launch.supergraph)
        .arg("--config")
        .arg(&launch.apollo_config);
    if launch.hot_reload {
        command.arg("--hot-reload");
    }
    for variable in REMOVED_VARIABLES {
        command.env_remove(variable);
    }
    // The production profile routes by SUBGRAPH_<NAME>_URL.
    for (name, url) in &launch.subgraph_urls {
        command.env(format!("SUBGRAPH_{}_URL", name.to_uppercase()), url);
    }
    match &launch.otlp_endpoint {
        Some(endpoint) => {
            command
                .env("ROUTER_OTLP_ENABLED", "true")
                .env("ROUTER_OTLP_ENDPOINT", endpoint);
        }
        None => {
            command.env("ROUTER_OTLP_ENABLED", "false");
        }
    }
    if !launch.router_secret.is_empty() {
        command.env("ROUTER_SHARED_SECRET", &launch.router_secret);
    }
    command
        .env(
            "ROUTER_TRUSTED_PROXY_HOPS",
            launch.trusted_proxy_hops.to_string(),
        )
        .env("ROUTER_RHAI_SCRIPTS", &launch.rhai_scripts)
        .env("ROUTER_LISTEN", addresses.listen.to_string())
        .env("ROUTER_HEALTH_LISTEN", addresses.health.to_string())
        .env("ROUTER_METRICS_LISTEN", addresses.metrics.to_string())
        .env("APOLLO_TELEMETRY_DISABLED", "true");
    command
}

/// Copies the committed Rhai scripts (`router/rhai`) into
/// `directory/rhai` and returns that folder: a stack whose registry
/// rewrites `trusted_documents.rhai` must not rewrite the committed one.
pub fn copy_of_committed_rhai_scripts(
    directory: &std::path::Path,
) -> Result<std::path::PathBuf, crate::LaunchError> {
    let committed = crate::workspace_root().join("router").join("rhai");
    let copy = directory.join("rhai");
    let failed = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| crate::LaunchError::Write { path, source }
    };
    std::fs::create_dir_all(&copy).map_err(failed(&copy))?;
    for entry in std::fs::read_dir(&committed).map_err(failed(&committed))? {
        let path = entry.map_err(failed(&committed))?.path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, copy.join(name)).map_err(failed(&path))?;
        }
    }
    Ok(copy)
}
