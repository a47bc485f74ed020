//! Client operations checked against the client-facing API schema.

use std::path::{Path, PathBuf};

use apollo_compiler::{ExecutableDocument, Schema};

use crate::RegistryError;

/// A client operation document, such as a page in `pages/`.
#[derive(Debug, Clone)]
pub struct OperationDocument {
    pub path: PathBuf,
    pub source: String,
}

/// Why an operation does not validate against a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationProblem {
    pub path: PathBuf,
    pub message: String,
}

/// Reads client operations from `path`: a directory (every `.graphql`
/// file, sorted by name), one `.graphql` file, or a JSON manifest in Apollo's
/// persisted-query format (`{"format": "apollo-persisted-query-manifest",
/// "version": 1, "operations": [{"id", "name", "type", "body"}]}`), which is
/// what client build tools generate and what the registry's safelist serves.
pub fn load_operations(path: &Path) -> Result<Vec<OperationDocument>, RegistryError> {
    if path.is_dir() {
        return load_directory(path);
    }
    let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if path
        .extension()
        .is_some_and(|extension| extension == "json")
    {
        return parse_manifest(path, &text);
    }
    Ok(vec![OperationDocument {
        path: path.to_path_buf(),
        source: text,
    }])
}

/// The operations of a persisted-query manifest, each named
/// `<manifest>#<operation name>`.
pub fn parse_manifest(path: &Path, text: &str) -> Result<Vec<OperationDocument>, RegistryError> {
    let invalid = |message: String| RegistryError::Config {
        path: path.to_path_buf(),
        message,
    };
    let manifest: serde_json::Value =
        serde_json::from_str(text).map_err(|error| invalid(format!("not JSON: {error}")))?;
    if manifest["format"] != "apollo-persisted-query-manifest" || manifest["version"] != 1 {
        return Err(invalid(
            "not a persisted-query manifest: expected \"format\": \"apollo-persisted-query-manifest\" and \"version\": 1".to_owned(),
        ));
    }
    let Some(operations) = manifest["operations"].as_array() else {
        return Err(invalid("\"operations\" must be a list".to_owned()));
    };
    operations
        .iter()
        .enumerate()
        .map(|(index, operation)| {
            let body = operation["body"]
                .as_str()
                .ok_or_else(|| invalid(format!("operations[{index}] has no \"body\" string")))?;
            let name = operation["name"]
                .as_str()
                .map_or_else(|| format!("operations[{index}]"), str::to_owned);
            let mut labelled = path.as_os_str().to_owned();
            labelled.push(format!("#{name}"));
            Ok(OperationDocument {
                path: PathBuf::from(labelled),
                source: body.to_owned(),
            })
        })
        .collect()
}

fn load_directory(directory: &Path) -> Result<Vec<OperationDocument>, RegistryError> {
    let entries = std::fs::read_dir(directory).map_err(|source| RegistryError::Read {
        path: directory.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "graphql")
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let source = std::fs::read_to_string(&path).map_err(|source| RegistryError::Read {
                path: path.clone(),
                source,
            })?;
            Ok(OperationDocument { path, source })
        })
        .collect()
}

/// Validates each operation against the API schema SDL; returns the problems.
pub fn validate_operations(
    api_sdl: &str,
    operations: &[OperationDocument],
) -> Result<Vec<OperationProblem>, RegistryError> {
    let schema = Schema::parse_and_validate(api_sdl, "api-schema.graphql").map_err(|errors| {
        RegistryError::Config {
            path: PathBuf::from("api-schema.graphql"),
            message: errors.to_string(),
        }
    })?;
    Ok(operations
        .iter()
        .filter_map(|operation| {
            ExecutableDocument::parse_and_validate(&schema, &operation.source, &operation.path)
                .err()
                .map(|errors| OperationProblem {
                    path: operation.path.clone(),
                    message: errors.to_string(),
                })
        })
        .collect())
}
