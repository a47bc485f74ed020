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

/// Reads every `.graphql` file of a directory, sorted by name.
pub fn load_operations(directory: &Path) -> Result<Vec<OperationDocument>, RegistryError> {
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
