//! Hive Router's configuration file, written from the launch, and its
//! command.

use std::path::Path;
use std::process::Command;

use super::{RouterAddresses, RouterLaunch};
use crate::LaunchError;

/// Hive Router's configuration, equivalent to `router/router.dev.yaml`
/// where Hive Router has the feature: it listens on `listen` (GraphQL at
/// `/`, health at `/health`), serves `supergraph` and reloads it when the
/// file changes (the registry's publications), sends the caller's token,
/// request id, vouched-for address and the router secret to every subgraph, merges
/// identical in-flight subgraph fetches, and lets local browser origins
/// call it. What it lacks is the Rhai query-plan bound.
pub fn hive_router_config(
    listen: std::net::SocketAddr,
    supergraph: &Path,
    secret: &str,
    trusted_proxy_hops: u8,
) -> String {
    format!(
        r#"# Written by talentgraph-launch (launch/src/router/hive.rs).
supergraph:
  source: file
  path: {supergraph}
  poll_interval: 1s
http:
  host: "{host}"
  port: {port}
  graphql_endpoint: /
log:
  level: warn
traffic_shaping:
  all:
    dedupe_enabled: true
headers:
  all:
    request:
      - propagate:
          named: [authorization, x-request-id]
      - insert:
          name: x-talentgraph-router
          value: {secret}{client_address}
cors:
  enabled: true
  allow_credentials: false
  policies:
    - match_origin: ['^http://(localhost|127\.0\.0\.1)(:[0-9]+)?$']
      allow_headers: [content-type, authorization, x-request-id, apollo-require-preflight, x-apollo-operation-name]
      methods: [GET, POST, OPTIONS]
csrf:
  enabled: true
  required_headers: [x-apollo-operation-name, apollo-require-preflight]
# As the development profile's include_subgraph_errors: the subgraphs mask
# their internal errors themselves.
error_masking:
  enabled: false
"#,
        // JSON strings are YAML double-quoted scalars, so a path or
        // secret with quotes, colons or backslashes stays one value.
        supergraph = serde_json::Value::from(supergraph.display().to_string()),
        secret = serde_json::Value::from(secret),
        host = listen.ip(),
        port = listen.port(),
        client_address = client_address_rule(trusted_proxy_hops),
    )
}

/// The header rule that sends the subgraphs the client address the
/// trusted proxies vouch for, as `router/rhai/client_address.rhai` does for
/// Apollo Router: the `trusted_proxy_hops`-th `X-Forwarded-For` entry from
/// the end, or nothing (no rule) without proxies, since Hive Router's
/// expressions see no peer address either.
fn client_address_rule(trusted_proxy_hops: u8) -> String {
    if trusted_proxy_hops == 0 {
        return String::new();
    }
    format!(
        r#"
      - insert:
          name: x-talentgraph-client-address
          expression: |
            entries = split(string(.request.headers."x-forwarded-for") ?? "", ",")
            strip_whitespace(string(entries[-{trusted_proxy_hops}]) ?? "")"#
    )
}

/// Environment variables Hive Router reads as overrides of its
/// configuration file. Names as common as `PORT`, `HOST` and `LOG_FORMAT`
/// (which the subgraphs read too, with other values) would silently move
/// or break it, so every place that starts it removes them.
pub const HIVE_ROUTER_OVERRIDE_VARIABLES: [&str; 8] = [
    "PORT",
    "HOST",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "LOG_FILTER",
    "SUPERGRAPH_FILE_PATH",
    "DISABLE_SUBGRAPH_ERROR_MASKING",
    "ROUTER_HTTP_WORKERS",
];

/// Writes the configuration beside the log and returns the command.
pub(super) fn command(
    launch: &RouterLaunch,
    addresses: &RouterAddresses,
) -> Result<Command, LaunchError> {
    let config_path = launch.directory.join(format!("{}.yaml", launch.name));
    std::fs::create_dir_all(&launch.directory).map_err(|source| LaunchError::Write {
        path: launch.directory.clone(),
        source,
    })?;
    std::fs::write(
        &config_path,
        hive_router_config(
            addresses.listen,
            &launch.supergraph,
            &launch.router_secret,
            launch.trusted_proxy_hops,
        ),
    )
    .map_err(|source| LaunchError::Write {
        path: config_path.clone(),
        source,
    })?;
    let mut command = Command::new(&launch.binary);
    for variable in HIVE_ROUTER_OVERRIDE_VARIABLES {
        command.env_remove(variable);
    }
    command.env("ROUTER_CONFIG_FILE_PATH", &config_path);
    Ok(command)
}
