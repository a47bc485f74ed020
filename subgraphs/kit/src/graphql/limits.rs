//! Operation checks that run on the parsed document before execution.
//!
//! async-graphql enforces depth, complexity, recursion depth and directives
//! per field itself (configured in [`super::configure_schema`]); these checks
//! add what it lacks — aliases, root fields, page size, required variables —
//! and choose the operation. All of them run before any resolver, so a
//! rejected operation never touches the database.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError, Value, Variables};
use async_graphql_value::Value as DocumentValue;

use crate::config::LimitsConfig;
use crate::errors::ErrorCode;

/// Arguments that bound how many items a field returns. A value above the
/// configured page size is rejected before execution.
const PAGE_SIZE_ARGUMENTS: &[&str] = &["first", "ids"];

/// Builds a request-level error with a code.
pub fn request_error(code: ErrorCode, message: impl Into<String>) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    error
}

fn request_error_at(
    code: ErrorCode,
    message: impl Into<String>,
    position: async_graphql::Pos,
) -> ServerError {
    let mut error = request_error(code, message);
    error.locations = vec![position];
    error
}

/// Picks the operation to run the way the GraphQL spec's GetOperation does.
pub fn select_operation<'document>(
    document: &'document ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<&'document Positioned<OperationDefinition>, ServerError> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), None) => Ok(operation),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .values()
            .next()
            .ok_or_else(|| request_error(ErrorCode::BadRequest, "The document has no operation.")),
        (DocumentOperations::Multiple(_), None) => Err(request_error(
            ErrorCode::BadRequest,
            "The document has several operations; say which to run with operationName.",
        )),
        (DocumentOperations::Single(_), Some(name)) => Err(request_error(
            ErrorCode::OperationNotFound,
            format!(
                "Unknown operation named \"{name}\": the document has one anonymous operation."
            ),
        )),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).ok_or_else(|| {
                request_error(
                    ErrorCode::OperationNotFound,
                    format!("Unknown operation named \"{name}\"."),
                )
            })
        }
    }
}

/// Runs every pre-execution check on the chosen operation.
pub fn check_operation(
    document: &ExecutableDocument,
    operation: &Positioned<OperationDefinition>,
    variables: &Variables,
    limits: &LimitsConfig,
) -> Result<(), ServerError> {
    check_required_variables(operation, variables)?;
    let mut walk = OperationWalk {
        document,
        variables,
        limits,
        aliases: 0,
    };
    walk.visit(&operation.node.selection_set, 0)?;
    let root_fields = count_root_fields(document, &operation.node.selection_set, 0);
    if root_fields > limits.max_root_fields {
        return Err(request_error(
            ErrorCode::RootFieldLimitExceeded,
            format!(
                "The operation selects {root_fields} root fields; at most {} are allowed.",
                limits.max_root_fields
            ),
        ));
    }
    Ok(())
}

/// A non-null variable without a default must be provided: async-graphql
/// would otherwise only notice while resolving, after other fields ran.
fn check_required_variables(
    operation: &Positioned<OperationDefinition>,
    variables: &Variables,
) -> Result<(), ServerError> {
    for definition in &operation.node.variable_definitions {
        let definition = &definition.node;
        let provided = variables
            .get(&definition.name.node)
            .is_some_and(|value| *value != Value::Null);
        if !definition.var_type.node.nullable && definition.default_value.is_none() && !provided {
            return Err(request_error(
                ErrorCode::BadUserInput,
                format!(
                    "Variable \"${}\" of required type \"{}\" was not provided.",
                    definition.name.node, definition.var_type.node
                ),
            ));
        }
    }
    Ok(())
}

fn count_root_fields(
    document: &ExecutableDocument,
    selection_set: &Positioned<SelectionSet>,
    depth: usize,
) -> usize {
    // Depth guards against fragment cycles; validation reports those later.
    if depth > 8 {
        return 0;
    }
    selection_set
        .node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) if field.node.name.node == "__typename" => 0,
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => {
                count_root_fields(document, &fragment.node.selection_set, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    count_root_fields(document, &fragment.node.selection_set, depth + 1)
                }),
        })
        .sum()
}

struct OperationWalk<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    limits: &'a LimitsConfig,
    aliases: usize,
}

impl OperationWalk<'_> {
    /// Visits selections with fragments expanded, so a fragment spread ten
    /// times counts ten times: that is what the server would execute.
    /// Nesting is counted as async-graphql counts it (the root selection set
    /// is level 0; each sub-selection or fragment adds one), so the two
    /// checks agree and ours, which runs first, supplies the error code.
    fn visit(
        &mut self,
        selection_set: &Positioned<SelectionSet>,
        depth: usize,
    ) -> Result<(), ServerError> {
        if depth > self.limits.max_recursive_depth {
            return Err(request_error_at(
                ErrorCode::RecursionLimitExceeded,
                format!(
                    "Selections are nested deeper than {} levels.",
                    self.limits.max_recursive_depth
                ),
                selection_set.pos,
            ));
        }
        for selection in &selection_set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > self.limits.max_aliases {
                            return Err(request_error_at(
                                ErrorCode::AliasLimitExceeded,
                                format!(
                                    "The operation uses more than {} aliases.",
                                    self.limits.max_aliases
                                ),
                                selection.pos,
                            ));
                        }
                    }
                    if field.directives.len() > self.limits.max_directives_per_field {
                        return Err(request_error_at(
                            ErrorCode::DirectiveLimitExceeded,
                            format!(
                                "Field `{}` has {} directives; at most {} are allowed.",
                                field.name.node,
                                field.directives.len(),
                                self.limits.max_directives_per_field
                            ),
                            selection.pos,
                        ));
                    }
                    for (name, value) in &field.arguments {
                        self.check_page_size(&field.name.node, name, value)?;
                    }
                    if !field.selection_set.node.items.is_empty() {
                        self.visit(&field.selection_set, depth + 1)?;
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.visit(&fragment.node.selection_set, depth + 1)?;
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.visit(&fragment.node.selection_set, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn check_page_size(
        &self,
        field_name: &Name,
        argument: &Positioned<Name>,
        value: &Positioned<DocumentValue>,
    ) -> Result<(), ServerError> {
        if !PAGE_SIZE_ARGUMENTS.contains(&argument.node.as_str()) {
            return Ok(());
        }
        let resolved = match &value.node {
            DocumentValue::Variable(variable) => self.variables.get(variable).cloned(),
            other => other.clone().into_const(),
        };
        let size = match resolved {
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::List(items)) => i64::try_from(items.len()).ok(),
            _ => None,
        };
        let maximum = i64::from(self.limits.max_page_size);
        match size {
            Some(size) if size > maximum => Err(request_error_at(
                ErrorCode::PageSizeExceeded,
                format!(
                    "`{field_name}({})` asks for {size} items; at most {maximum} are allowed.",
                    argument.node
                ),
                argument.pos,
            )),
            Some(size) if size < 0 => Err(request_error_at(
                ErrorCode::BadUserInput,
                format!("`{field_name}({})` must not be negative.", argument.node),
                argument.pos,
            )),
            _ => Ok(()),
        }
    }
}

/// Gives async-graphql's own validation errors a stable code. It reports
/// its limits with fixed messages and no code, so they are matched here, in
/// one place, against the texts of the pinned async-graphql version (the
/// limit tests fail if an upgrade changes them).
pub fn code_for_validation_message(message: &str) -> ErrorCode {
    if message == "Query is too complex." {
        ErrorCode::ComplexityLimitExceeded
    } else if message == "Query is nested too deep." {
        ErrorCode::DepthLimitExceeded
    } else if message.starts_with("The recursion depth of the query cannot be greater than") {
        ErrorCode::RecursionLimitExceeded
    } else if message.starts_with("The number of directives on the field") {
        ErrorCode::DirectiveLimitExceeded
    } else if message.starts_with("Invalid value for argument") {
        ErrorCode::BadUserInput
    } else {
        ErrorCode::GraphqlValidationFailed
    }
}
