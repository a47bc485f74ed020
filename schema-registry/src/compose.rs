//! Composition of subgraph schemas into a supergraph.

use std::path::PathBuf;

use apollo_federation::composition::{CompositionOptions, compose};
use apollo_federation::subgraph::typestate::Subgraph;

use crate::RegistryError;
use crate::config::SupergraphConfig;

/// Where in which subgraph's SDL a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticLocation {
    pub subgraph: String,
    /// 1-based line and column.
    pub line: usize,
    pub column: usize,
}

/// One composition error, with its stable code and locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositionDiagnostic {
    /// Apollo's composition error code, such as `INVALID_FIELD_SHARING`.
    pub code: String,
    pub message: String,
    /// The subgraph the error is about, when it is about one.
    pub subgraph: Option<String>,
    pub locations: Vec<DiagnosticLocation>,
}

impl std::fmt::Display for CompositionDiagnostic {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "error[{}]", self.code)?;
        if let Some(subgraph) = &self.subgraph {
            write!(formatter, " in subgraph {subgraph}")?;
        }
        write!(formatter, ": {}", self.message)?;
        for location in &self.locations {
            write!(
                formatter,
                "\n  --> {}:{}:{}",
                location.subgraph, location.line, location.column
            )?;
        }
        Ok(())
    }
}

/// A composed supergraph.
#[derive(Debug, Clone)]
pub struct ComposedSupergraph {
    /// The supergraph SDL the router loads.
    pub sdl: String,
    /// The client-facing API schema (no join directives, no inaccessible parts).
    pub api_sdl: String,
    /// Composition hints: not errors, but worth a look.
    pub hints: Vec<String>,
}

/// A subgraph to compose: name, routing URL, SDL.
#[derive(Debug, Clone)]
pub struct SubgraphInput {
    pub name: String,
    pub routing_url: String,
    pub sdl: String,
}

/// A subgraph SDL as a valid schema with the federation definitions
/// expanded (`_entities`, `_service`, `_Any`, the directives): what the
/// subgraph itself serves. Used to diff two versions and by the fuzzer to
/// generate documents a subgraph accepts.
pub fn subgraph_schema(
    name: &str,
    routing_url: &str,
    sdl: &str,
) -> Result<apollo_compiler::validation::Valid<apollo_compiler::Schema>, String> {
    let subgraph = apollo_federation::subgraph::typestate::Subgraph::parse(name, routing_url, sdl)
        .map_err(|error| error.to_string())?
        .expand_links()
        .map_err(|error| error.to_string())?
        .assume_upgraded()
        .validate()
        .map_err(|error| error.to_string())?;
    Ok(subgraph.validated_schema().schema().clone())
}

/// Composes subgraphs into a supergraph.
pub fn compose_subgraphs(subgraphs: &[SubgraphInput]) -> Result<ComposedSupergraph, RegistryError> {
    let mut parsed = Vec::with_capacity(subgraphs.len());
    let mut diagnostics = Vec::new();
    for subgraph in subgraphs {
        match Subgraph::parse(&subgraph.name, &subgraph.routing_url, &subgraph.sdl) {
            Ok(parsed_subgraph) => parsed.push(parsed_subgraph),
            Err(error) => diagnostics.push(CompositionDiagnostic {
                code: "INVALID_GRAPHQL".to_owned(),
                message: error.to_string(),
                subgraph: Some(subgraph.name.clone()),
                locations: Vec::new(),
            }),
        }
    }
    if !diagnostics.is_empty() {
        return Err(RegistryError::Composition(diagnostics));
    }
    let supergraph = compose(parsed, CompositionOptions::default()).map_err(|failure| {
        RegistryError::Composition(
            failure
                .errors
                .iter()
                .map(|error| {
                    let locations: Vec<DiagnosticLocation> = error
                        .locations()
                        .iter()
                        .map(|location| DiagnosticLocation {
                            subgraph: location.subgraph.clone(),
                            line: location.range.start.line,
                            column: location.range.start.column,
                        })
                        .collect();
                    let subgraph = match error {
                        apollo_federation::error::CompositionError::SubgraphError {
                            subgraph,
                            ..
                        } => Some(subgraph.clone()),
                        _ => locations.first().map(|location| location.subgraph.clone()),
                    };
                    CompositionDiagnostic {
                        code: error.code().definition().code().to_owned(),
                        message: error.to_string(),
                        subgraph,
                        locations,
                    }
                })
                .collect(),
        )
    })?;
    let api_schema = supergraph
        .to_api_schema(router_api_schema_options())
        .map_err(|error| {
            RegistryError::Composition(vec![CompositionDiagnostic {
                code: "API_SCHEMA".to_owned(),
                message: error.to_string(),
                subgraph: None,
                locations: Vec::new(),
            }])
        })?;
    Ok(ComposedSupergraph {
        sdl: supergraph.schema().schema().to_string(),
        api_sdl: api_schema.schema().to_string(),
        hints: supergraph
            .hints()
            .iter()
            .map(|hint| format!("{hint:?}"))
            .collect(),
    })
}

/// The API schema as the router serves it: Apollo Router plans `@defer`
/// (its `supergraph.defer_support` is on by default), so client documents
/// may use it and must validate with it; `@stream` it does not support.
pub fn router_api_schema_options() -> apollo_federation::ApiSchemaOptions {
    apollo_federation::ApiSchemaOptions {
        include_defer: true,
        include_stream: false,
    }
}

/// Reads every subgraph schema a configuration names and composes them.
pub fn compose_from_config(config: &SupergraphConfig) -> Result<ComposedSupergraph, RegistryError> {
    let inputs = config
        .subgraphs
        .iter()
        .map(|subgraph| {
            let sdl = std::fs::read_to_string(&subgraph.schema_file).map_err(|source| {
                RegistryError::Read {
                    path: PathBuf::from(&subgraph.schema_file),
                    source,
                }
            })?;
            Ok(SubgraphInput {
                name: subgraph.name.clone(),
                routing_url: subgraph.routing_url.clone(),
                sdl,
            })
        })
        .collect::<Result<Vec<_>, RegistryError>>()?;
    compose_subgraphs(&inputs)
}
