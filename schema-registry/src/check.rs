//! `schema-check check`: a proposed subgraph schema against the supergraph
//! clients use today.
//!
//! The proposal is composed with the other subgraphs; the resulting API
//! schema (what clients see, not the join-annotated supergraph) is diffed
//! against the baseline's; every client operation is validated against the
//! new API schema and mapped to the changes it uses, so a breaking change
//! names the operations and field paths it breaks, or says nobody uses it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};

use crate::diff::{Change, Criticality, diff_schemas};
use crate::operations::OperationDocument;
use crate::{
    CompositionDiagnostic, RegistryError, SubgraphInput, SupergraphConfig, compose_subgraphs,
};

/// Where the schema to compare against comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Baseline {
    /// A composed supergraph file.
    File(PathBuf),
    /// The committed supergraph file at a git revision.
    Git { revision: String, file: PathBuf },
    /// The latest supergraph a schema registry composed; its registered
    /// client operations join the check.
    Registry { url: String },
}

impl Baseline {
    /// Parses `--baseline`: `git:<rev>`, `registry:<url>` or a file path.
    /// `supergraph_file` is the committed supergraph, used for `git:`.
    pub fn parse(text: &str, supergraph_file: &Path) -> Result<Self, String> {
        if let Some(revision) = text.strip_prefix("git:") {
            if revision.is_empty() {
                return Err("`git:` needs a revision, such as git:main".to_owned());
            }
            return Ok(Self::Git {
                revision: revision.to_owned(),
                file: supergraph_file.to_path_buf(),
            });
        }
        if let Some(url) = text.strip_prefix("registry:") {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "`registry:` needs the registry's http(s) URL, such as registry:http://127.0.0.1:4100, not {url:?}"
                ));
            }
            return Ok(Self::Registry {
                url: url.trim_end_matches('/').to_owned(),
            });
        }
        Ok(Self::File(PathBuf::from(text)))
    }

    /// The baseline supergraph's SDL.
    pub fn load(&self) -> Result<String, RegistryError> {
        match self {
            Self::Registry { url } => {
                let client = crate::client::RegistryClient::from_env(url)?;
                client
                    .block_on(client.latest_supergraph(None))?
                    .map(|supergraph| supergraph.sdl)
                    .ok_or_else(|| RegistryError::Registry {
                        status: 404,
                        message: format!("{url} has no composed supergraph yet"),
                    })
            }
            Self::File(path) => {
                std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
                    path: path.clone(),
                    source,
                })
            }
            Self::Git { revision, file } => {
                let directory = file
                    .parent()
                    .filter(|parent| !parent.as_os_str().is_empty());
                let name = file
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let mut command = std::process::Command::new("git");
                if let Some(directory) = directory {
                    command.current_dir(directory);
                }
                let output = command
                    .args(["show", &format!("{revision}:./{name}")])
                    .output()
                    .map_err(|source| RegistryError::Read {
                        path: file.clone(),
                        source,
                    })?;
                if !output.status.success() {
                    return Err(RegistryError::Config {
                        path: file.clone(),
                        message: format!(
                            "git show {revision}:{} failed: {}",
                            file.display(),
                            String::from_utf8_lossy(&output.stderr).trim()
                        ),
                    });
                }
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            }
        }
    }
}

/// An operation that uses a changed schema element.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AffectedOperation {
    pub operation: String,
    pub file: PathBuf,
    /// The response path of the field that uses it, such as `jobs.edges.node.title`.
    pub field_path: String,
}

/// A change with the operations that use what it changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckedChange {
    #[serde(flatten)]
    pub change: Change,
    pub affected_operations: Vec<AffectedOperation>,
}

/// An operation that does not validate against the new API schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvalidOperation {
    pub file: PathBuf,
    pub message: String,
}

/// Everything `check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub subgraph: String,
    pub composition_errors: Vec<CompositionDiagnostic>,
    pub changes: Vec<CheckedChange>,
    pub invalid_operations: Vec<InvalidOperation>,
}

impl CheckReport {
    /// Passes when it composes, nothing is BREAKING and every operation
    /// still validates.
    pub fn passed(&self) -> bool {
        self.composition_errors.is_empty()
            && self.invalid_operations.is_empty()
            && self
                .changes
                .iter()
                .all(|checked| checked.change.criticality != Criticality::Breaking)
    }
}

/// The client-facing API schema of a composed supergraph.
pub fn api_schema_of_supergraph(sdl: &str, origin: &Path) -> Result<Valid<Schema>, RegistryError> {
    let supergraph =
        apollo_federation::Supergraph::new_with_router_specs(sdl).map_err(|error| {
            RegistryError::Config {
                path: origin.to_path_buf(),
                message: format!("not a supergraph: {error}"),
            }
        })?;
    let api = supergraph
        .to_api_schema(crate::compose::router_api_schema_options())
        .map_err(|error| RegistryError::Config {
            path: origin.to_path_buf(),
            message: format!("no API schema: {error}"),
        })?;
    Ok(api.schema().clone())
}

/// An operation's name and the schema elements it uses, keyed by
/// coordinate (`Type` and `Type.field`), each with the first response path
/// that uses it.
type OperationUsage = (String, BTreeMap<String, String>);

/// What each named operation of a document uses.
fn usages(schema: &Valid<Schema>, operation: &OperationDocument) -> Vec<OperationUsage> {
    let Ok(document) =
        ExecutableDocument::parse_and_validate(schema, &operation.source, &operation.path)
    else {
        return Vec::new();
    };
    let mut result = Vec::new();
    for (name, definition) in document.operations.named.iter() {
        let mut used = BTreeMap::new();
        for variable in &definition.variables {
            note_input_type(
                schema,
                variable.ty.inner_named_type().as_str(),
                "(variables)",
                &mut used,
            );
        }
        walk_selection_set(
            schema,
            &document,
            &definition.selection_set,
            "",
            &mut used,
            0,
        );
        result.push((name.to_string(), used));
    }
    result
}

fn note(used: &mut BTreeMap<String, String>, coordinate: String, path: &str) {
    used.entry(coordinate).or_insert_with(|| path.to_owned());
}

/// Records an input type and, recursively, the types of its fields.
fn note_input_type(
    schema: &Schema,
    type_name: &str,
    path: &str,
    used: &mut BTreeMap<String, String>,
) {
    if used.contains_key(type_name) {
        return;
    }
    note(used, type_name.to_owned(), path);
    if let Some(ExtendedType::InputObject(input)) = schema.types.get(type_name) {
        for field in input.fields.values() {
            note_input_type(schema, field.ty.inner_named_type().as_str(), path, used);
        }
    }
}

fn walk_selection_set(
    schema: &Schema,
    document: &ExecutableDocument,
    selection_set: &SelectionSet,
    prefix: &str,
    used: &mut BTreeMap<String, String>,
    depth: usize,
) {
    // Fragments can nest, but a valid document has no cycles; the bound is
    // a guard against pathological input.
    if depth > 64 {
        return;
    }
    let parent = selection_set.ty.as_str();
    for selection in &selection_set.selections {
        match selection {
            Selection::Field(field) => {
                let response_name = field.alias.as_ref().unwrap_or(&field.name);
                let path = if prefix.is_empty() {
                    response_name.to_string()
                } else {
                    format!("{prefix}.{response_name}")
                };
                if field.name.as_str().starts_with("__") {
                    continue;
                }
                note(used, parent.to_owned(), &path);
                note(used, format!("{parent}.{}", field.name), &path);
                note(
                    used,
                    field.definition.ty.inner_named_type().to_string(),
                    &path,
                );
                for argument in &field.definition.arguments {
                    note_input_type(schema, argument.ty.inner_named_type().as_str(), &path, used);
                }
                walk_selection_set(
                    schema,
                    document,
                    &field.selection_set,
                    &path,
                    used,
                    depth + 1,
                );
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                    note(used, fragment.selection_set.ty.to_string(), prefix);
                    walk_selection_set(
                        schema,
                        document,
                        &fragment.selection_set,
                        prefix,
                        used,
                        depth + 1,
                    );
                }
            }
            Selection::InlineFragment(inline) => {
                note(used, inline.selection_set.ty.to_string(), prefix);
                walk_selection_set(
                    schema,
                    document,
                    &inline.selection_set,
                    prefix,
                    used,
                    depth + 1,
                );
            }
        }
    }
}

/// The usage key a change is matched on: argument changes affect every use
/// of their field; enum-value and input-field changes every use of their
/// type; everything else its own coordinate.
fn usage_key(change: &Change, old: &Schema) -> String {
    let coordinate = change.coordinate.as_str();
    if let Some((field, _)) = coordinate.split_once('(') {
        return field.to_owned();
    }
    if let Some((owner, _)) = coordinate.split_once('.')
        && matches!(
            old.types.get(owner),
            Some(ExtendedType::Enum(_) | ExtendedType::InputObject(_))
        )
    {
        return owner.to_owned();
    }
    coordinate.to_owned()
}

/// Runs the whole check, reading the other subgraphs' schemas from the
/// configuration's files.
pub fn check_subgraph(
    config: &SupergraphConfig,
    subgraph: &str,
    proposed_sdl: &str,
    baseline_sdl: &str,
    baseline_origin: &Path,
    operations: &[OperationDocument],
) -> Result<CheckReport, RegistryError> {
    if !config
        .subgraphs
        .iter()
        .any(|source| source.name == subgraph)
    {
        return Err(RegistryError::Config {
            path: config.path.clone(),
            message: format!("has no subgraph named {subgraph}"),
        });
    }
    let mut inputs = Vec::new();
    for source in &config.subgraphs {
        let sdl = if source.name == subgraph {
            proposed_sdl.to_owned()
        } else {
            std::fs::read_to_string(&source.schema_file).map_err(|error| RegistryError::Read {
                path: source.schema_file.clone(),
                source: error,
            })?
        };
        inputs.push(SubgraphInput {
            name: source.name.clone(),
            routing_url: source.routing_url.clone(),
            sdl,
        });
    }
    let (report, _) = check_proposal(
        &inputs,
        subgraph,
        Some((baseline_sdl, baseline_origin)),
        operations,
    )?;
    Ok(report)
}

/// The check itself: `inputs` is every subgraph as it would be with the
/// proposal (the proposed one among them), `baseline` the supergraph
/// clients use today and where it came from (`None` when there is none
/// yet, as in an empty registry: then there is nothing to break). Returns
/// the report and, when composition succeeded, the new supergraph.
pub fn check_proposal(
    inputs: &[SubgraphInput],
    subgraph: &str,
    baseline: Option<(&str, &Path)>,
    operations: &[OperationDocument],
) -> Result<(CheckReport, Option<crate::ComposedSupergraph>), RegistryError> {
    let mut report = CheckReport {
        subgraph: subgraph.to_owned(),
        ..CheckReport::default()
    };
    let composed = match compose_subgraphs(inputs) {
        Ok(composed) => composed,
        Err(RegistryError::Composition(diagnostics)) => {
            report.composition_errors = diagnostics;
            return Ok((report, None));
        }
        Err(other) => return Err(other),
    };
    let new_api = Schema::parse_and_validate(&composed.api_sdl, "proposed-api.graphql").map_err(
        |errors| RegistryError::Config {
            path: PathBuf::from("proposed-api.graphql"),
            message: errors.to_string(),
        },
    )?;
    if let Some((baseline_sdl, baseline_origin)) = baseline {
        let old_api = api_schema_of_supergraph(baseline_sdl, baseline_origin)?;
        report.changes = checked_changes(&old_api, &new_api, operations);
    }
    report.invalid_operations = operations
        .iter()
        .filter_map(|operation| {
            ExecutableDocument::parse_and_validate(&new_api, &operation.source, &operation.path)
                .err()
                .map(|errors| InvalidOperation {
                    file: operation.path.clone(),
                    message: errors.to_string(),
                })
        })
        .collect();
    Ok((report, Some(composed)))
}

/// The operations that validate against `api`: what clients can run today.
/// An operation already broken by an earlier, approved change is not held
/// against every later proposal.
pub fn operations_valid_against(
    api: &Valid<Schema>,
    operations: impl IntoIterator<Item = OperationDocument>,
) -> Vec<OperationDocument> {
    operations
        .into_iter()
        .filter(|operation| {
            ExecutableDocument::parse_and_validate(api, &operation.source, &operation.path).is_ok()
        })
        .collect()
}

/// The changes from `old_api` to `new_api`, each with the operations (as
/// they validate against `old_api`) that use what it changes.
pub fn checked_changes(
    old_api: &Valid<Schema>,
    new_api: &Valid<Schema>,
    operations: &[OperationDocument],
) -> Vec<CheckedChange> {
    let changes = diff_schemas(old_api, new_api);
    let usage: Vec<(OperationDocument, Vec<OperationUsage>)> = operations
        .iter()
        .map(|operation| (operation.clone(), usages(old_api, operation)))
        .collect();
    changes
        .into_iter()
        .map(|change| {
            let key = usage_key(&change, old_api);
            let affected_operations = usage
                .iter()
                .flat_map(|(document, operations)| {
                    operations.iter().filter_map(|(name, used)| {
                        used.get(&key).map(|path| AffectedOperation {
                            operation: name.clone(),
                            file: document.path.clone(),
                            field_path: path.clone(),
                        })
                    })
                })
                .collect();
            CheckedChange {
                change,
                affected_operations,
            }
        })
        .collect()
}

/// Where a coordinate is defined in a subgraph's SDL (line and column, from
/// 1), for pointing at the source; the parent type when the element itself
/// is gone.
pub fn locate(sdl: &str, path: &Path, coordinate: &str) -> Option<(usize, usize)> {
    let schema = match Schema::builder()
        .adopt_orphan_extensions()
        .parse(sdl, path)
        .build()
    {
        Ok(schema) => schema,
        Err(with_errors) => with_errors.partial,
    };
    let base = coordinate.split('(').next().unwrap_or(coordinate);
    let (type_name, member) = match base.split_once('.') {
        Some((type_name, member)) => (type_name, Some(member)),
        None => (base, None),
    };
    let ty = schema.types.get(type_name)?;
    let member_location = member.and_then(|member| match ty {
        ExtendedType::Object(object) => {
            object.fields.get(member).and_then(|field| field.location())
        }
        ExtendedType::Interface(interface) => interface
            .fields
            .get(member)
            .and_then(|field| field.location()),
        ExtendedType::Enum(enumeration) => enumeration
            .values
            .get(member)
            .and_then(|value| value.location()),
        ExtendedType::InputObject(input) => {
            input.fields.get(member).and_then(|field| field.location())
        }
        _ => None,
    });
    let location = member_location
        .or_else(|| ty.name().location())
        .or_else(|| ty.location())?;
    let line_column = location.line_column(&schema.sources)?;
    Some((line_column.line, line_column.column))
}
