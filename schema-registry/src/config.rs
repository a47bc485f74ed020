//! Rover's `supergraph.yaml`: the federation version and, per subgraph, its
//! routing URL and where its SDL lives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::RegistryError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    federation_version: serde_yaml::Value,
    subgraphs: BTreeMap<String, RawSubgraph>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubgraph {
    routing_url: String,
    schema: RawSchemaSource,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchemaSource {
    file: PathBuf,
}

/// One subgraph of the configuration, its schema path made absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphSource {
    pub name: String,
    pub routing_url: String,
    pub schema_file: PathBuf,
}

/// A parsed `supergraph.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupergraphConfig {
    pub path: PathBuf,
    pub federation_version: String,
    /// Sorted by name, as composition orders them.
    pub subgraphs: Vec<SubgraphSource>,
}

impl SupergraphConfig {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses configuration text; `path` locates relative schema files.
    pub fn parse(path: &Path, text: &str) -> Result<Self, RegistryError> {
        let invalid = |message: String| RegistryError::Config {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawConfig =
            serde_yaml::from_str(text).map_err(|error| invalid(error.to_string()))?;
        let federation_version = match &raw.federation_version {
            serde_yaml::Value::String(text) => text.clone(),
            serde_yaml::Value::Number(number) => number.to_string(),
            other => {
                return Err(invalid(format!(
                    "federation_version must be a string such as =2.17.0, not {other:?}"
                )));
            }
        };
        if !(federation_version == "2"
            || federation_version.starts_with("=2.")
            || federation_version.starts_with("2."))
        {
            return Err(invalid(format!(
                "federation_version {federation_version:?} is not a Federation 2 version"
            )));
        }
        if raw.subgraphs.is_empty() {
            return Err(invalid("no subgraphs are listed".to_owned()));
        }
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let subgraphs = raw
            .subgraphs
            .into_iter()
            .map(|(name, subgraph)| {
                if !(subgraph.routing_url.starts_with("http://")
                    || subgraph.routing_url.starts_with("https://"))
                {
                    return Err(invalid(format!(
                        "subgraph {name}: routing_url must be an http(s) URL"
                    )));
                }
                Ok(SubgraphSource {
                    schema_file: base.join(subgraph.schema.file),
                    routing_url: subgraph.routing_url,
                    name,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            path: path.to_path_buf(),
            federation_version,
            subgraphs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schema paths resolve against the file's folder; mistakes are named.
    #[test]
    fn parses_and_validates_configuration() {
        let text = "federation_version: =2.17.0\nsubgraphs:\n  b:\n    routing_url: http://b/graphql\n    schema:\n      file: b.graphql\n  a:\n    routing_url: http://a/graphql\n    schema:\n      file: ../a.graphql\n";
        let config = SupergraphConfig::parse(Path::new("/repo/router/supergraph.yaml"), text)
            .expect("valid");
        assert_eq!(config.subgraphs[0].name, "a");
        assert_eq!(
            config.subgraphs[0].schema_file,
            Path::new("/repo/router/../a.graphql")
        );
        assert_eq!(
            config.subgraphs[1].schema_file,
            Path::new("/repo/router/b.graphql")
        );

        let wrong_version = text.replace("=2.17.0", "1");
        assert!(SupergraphConfig::parse(Path::new("x.yaml"), &wrong_version).is_err());
        let typo = text.replace("routing_url: http://b", "routingurl: http://b");
        let error = SupergraphConfig::parse(Path::new("x.yaml"), &typo).expect_err("unknown field");
        assert!(error.to_string().contains("routingurl"), "{error}");
    }
}
