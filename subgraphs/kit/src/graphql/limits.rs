//! Operation checks that run on the parsed document before execution.
//!
//! async-graphql enforces depth, complexity, recursion depth and directives
//! per field itself (configured in [`super::configure_schema`]); these checks
//! add what it lacks — aliases, root fields, page size, required variables,
//! a budget on expanded selections, the number of `_entities`
//! representations — and choose the operation. All of them run before any
//! resolver, so a rejected operation never touches the database.
//!
//! The selection budget is what keeps a "fragment bomb" cheap: a document
//! of a few fragments, each spreading the next dozens of times, expands to
//! billions of selections. The walk below counts every selection it
//! visits, fragments expanded where spread, and stops at the budget, so its
//! work is bounded by the budget whatever the document; async-graphql's own
//! validators, which expand fragments the same way, only ever see documents
//! that passed.

use std::borrow::Cow;
use std::collections::HashMap;

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
    // A variable the request leaves out takes its declared default, so a
    // limit cannot be dodged by moving the value into the default.
    let defaults = operation
        .node
        .variable_definitions
        .iter()
        .filter_map(|definition| {
            let definition = &definition.node;
            definition
                .default_value
                .as_ref()
                .map(|value| (definition.name.node.clone(), value.node.clone()))
        })
        .collect();
    let mut walk = OperationWalk {
        document,
        variables,
        defaults,
        limits,
        aliases: 0,
        selections: 0,
    };
    walk.visit(&operation.node.selection_set, 0)?;
    let root_fields = count_root_fields(document, &operation.node.selection_set);
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
) -> usize {
    root_fields(document, selection_set)
        .iter()
        .filter(|field| field.node.name.node.as_str() != "__typename")
        .count()
}

/// The fields an operation selects at its root, fragments followed.
pub(crate) fn root_fields<'a>(
    document: &'a ExecutableDocument,
    selection_set: &'a Positioned<SelectionSet>,
) -> Vec<&'a Positioned<async_graphql::parser::types::Field>> {
    fn walk<'a>(
        document: &'a ExecutableDocument,
        selection_set: &'a Positioned<SelectionSet>,
        depth: usize,
        fields: &mut Vec<&'a Positioned<async_graphql::parser::types::Field>>,
    ) {
        // Depth guards against fragment cycles; validation reports those later.
        if depth > 8 {
            return;
        }
        for selection in &selection_set.node.items {
            match &selection.node {
                Selection::Field(field) => fields.push(field),
                Selection::InlineFragment(fragment) => {
                    walk(document, &fragment.node.selection_set, depth + 1, fields);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        walk(document, &fragment.node.selection_set, depth + 1, fields);
                    }
                }
            }
        }
    }
    let mut fields = Vec::new();
    walk(document, selection_set, 0, &mut fields);
    fields
}

/// Refuses an operation that selects Federation's `_service` (the
/// subgraph's SDL): production hides its schema as it hides introspection,
/// and the router never asks for it at run time. The answer is the one a
/// field that does not exist gets.
pub fn refuse_service_sdl(
    document: &ExecutableDocument,
    operation: &Positioned<OperationDefinition>,
) -> Result<(), ServerError> {
    let fields = root_fields(document, &operation.node.selection_set);
    if fields
        .iter()
        .any(|field| field.node.name.node.as_str() == "_service")
    {
        return Err(request_error(
            ErrorCode::GraphqlValidationFailed,
            "Unknown field \"_service\" on type \"Query\".",
        ));
    }
    Ok(())
}

struct OperationWalk<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The operation's declared variable defaults.
    defaults: HashMap<Name, Value>,
    limits: &'a LimitsConfig,
    aliases: usize,
    /// Selections visited so far, fragments expanded where spread.
    selections: usize,
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
            self.selections += 1;
            if self.selections > self.limits.max_selections {
                return Err(request_error_at(
                    ErrorCode::SelectionLimitExceeded,
                    format!(
                        "The operation expands to more than {} selections (fragments count each time they are spread).",
                        self.limits.max_selections
                    ),
                    selection.pos,
                ));
            }
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
                        self.check_representations(&field.name.node, name, value)?;
                    }
                    if !field.selection_set.node.items.is_empty() {
                        self.visit(&field.selection_set, depth + 1)?;
                    }
                    if field.name.node.as_str() == "_entities" {
                        self.check_entities_cost(field, selection.pos)?;
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

    /// The value an argument has in this request: a literal, a provided
    /// variable, or a left-out variable's declared default.
    ///
    /// A variable's value is borrowed, not copied: the router's
    /// `_entities` fetches carry every representation in one variable,
    /// and copying that list to learn its length, twice per fetch, cost
    /// jobseeker 6 % and payment 9 % of their instructions per JobSearchPage
    /// fetch (counted under callgrind; docs/performance.md).
    fn resolve(&self, value: &DocumentValue) -> Option<Cow<'_, Value>> {
        match value {
            DocumentValue::Variable(variable) => self
                .variables
                .get(variable)
                .or_else(|| self.defaults.get(variable))
                .map(Cow::Borrowed),
            other => other.clone().into_const().map(Cow::Owned),
        }
    }

    /// How many items a list argument holds, even when some of them are
    /// variables (a literal list's length is known without them).
    fn list_length(&self, value: &DocumentValue) -> Option<usize> {
        match value {
            DocumentValue::List(items) => Some(items.len()),
            other => match self.resolve(other).as_deref() {
                Some(Value::List(items)) => Some(items.len()),
                _ => None,
            },
        }
    }

    /// `_entities(representations:)` carries at most the configured number
    /// of representations, identical ones included: each is resolved.
    fn check_representations(
        &self,
        field_name: &Name,
        argument: &Positioned<Name>,
        value: &Positioned<DocumentValue>,
    ) -> Result<(), ServerError> {
        if field_name.as_str() != "_entities" || argument.node.as_str() != "representations" {
            return Ok(());
        }
        match self.list_length(&value.node) {
            Some(count) if count > self.limits.max_representations => Err(request_error_at(
                ErrorCode::RepresentationLimitExceeded,
                format!(
                    "`_entities` got {count} representations; at most {} are allowed.",
                    self.limits.max_representations
                ),
                argument.pos,
            )),
            _ => Ok(()),
        }
    }

    /// async-graphql charges `_entities` once, however many representations
    /// it carries, so a few thousand representations each with a nested
    /// page pass its complexity check. Here each representation pays for
    /// its whole selection, lists multiplied by their page size, against
    /// the same complexity limit.
    fn check_entities_cost(
        &self,
        field: &async_graphql::parser::types::Field,
        position: async_graphql::Pos,
    ) -> Result<(), ServerError> {
        let representations = field
            .arguments
            .iter()
            .find(|(name, _)| name.node.as_str() == "representations")
            .and_then(|(_, value)| self.list_length(&value.node))
            .unwrap_or(1) as u64;
        let per_representation = self.selection_cost(&field.selection_set, 0);
        let cost = representations.saturating_mul(per_representation);
        let limit = self.limits.max_complexity as u64;
        if cost > limit {
            return Err(request_error_at(
                ErrorCode::ComplexityLimitExceeded,
                format!(
                    "`_entities` with {representations} representations costs {cost} (each representation's selection, lists counted at their page size); at most {limit} is allowed."
                ),
                position,
            ));
        }
        Ok(())
    }

    /// What a selection set costs: one per field, a field with a page-size
    /// argument paying its sub-selection once per item. The walk already
    /// bounded the expanded size, so this recursion is bounded too.
    fn selection_cost(&self, selection_set: &Positioned<SelectionSet>, depth: usize) -> u64 {
        if depth > self.limits.max_recursive_depth {
            return 0;
        }
        selection_set
            .node
            .items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.name.node.as_str() == "__typename" {
                        return 0;
                    }
                    let items = field
                        .arguments
                        .iter()
                        .find(|(name, _)| PAGE_SIZE_ARGUMENTS.contains(&name.node.as_str()))
                        .and_then(|(_, value)| match self.resolve(&value.node).as_deref() {
                            Some(Value::Number(number)) => number.as_u64(),
                            Some(Value::List(items)) => Some(items.len() as u64),
                            _ => None,
                        })
                        .unwrap_or(1);
                    let children = self.selection_cost(&field.selection_set, depth + 1);
                    1_u64.saturating_add(items.saturating_mul(children))
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_cost(&fragment.node.selection_set, depth + 1)
                }
                Selection::FragmentSpread(spread) => self
                    .document
                    .fragments
                    .get(&spread.node.fragment_name.node)
                    .map_or(0, |fragment| {
                        self.selection_cost(&fragment.node.selection_set, depth + 1)
                    }),
            })
            .fold(0_u64, u64::saturating_add)
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
        let size = match &value.node {
            DocumentValue::List(items) => i64::try_from(items.len()).ok(),
            other => match self.resolve(other).as_deref() {
                Some(Value::Number(number)) => number.as_i64(),
                Some(Value::List(items)) => i64::try_from(items.len()).ok(),
                _ => None,
            },
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

#[cfg(test)]
mod tests;
