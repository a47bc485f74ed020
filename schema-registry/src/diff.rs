//! Changes between two client-facing API schemas, classified by what they
//! do to existing clients.
//!
//! BREAKING: an operation that was valid may fail or receive data it cannot
//! handle. DANGEROUS: operations stay valid but may see values they never
//! saw before (a new enum value, a new union member) or behave differently
//! (a changed default). SAFE: nothing an existing client does changes.
//! The rules are at least as strict as graphql-inspector's; the table is in
//! the README.

use apollo_compiler::schema::{ExtendedType, InputValueDefinition};
use apollo_compiler::{Node, Schema, ast::Type};

/// How a change affects existing clients.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Criticality {
    Breaking,
    Dangerous,
    Safe,
}

impl Criticality {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breaking => "BREAKING",
            Self::Dangerous => "DANGEROUS",
            Self::Safe => "SAFE",
        }
    }
}

/// What changed, as a closed set: each kind has one criticality, so the
/// rating of a change cannot disagree with its name. The docs' table of
/// criticalities is rendered from [`ChangeKind::ALL`] and checked by a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    TypeRemoved,
    TypeKindChanged,
    FieldRemoved,
    FieldTypeChanged,
    ArgumentRemoved,
    InputFieldRemoved,
    ArgumentTypeChanged,
    InputFieldTypeChanged,
    ArgumentBecameRequired,
    InputFieldBecameRequired,
    RequiredArgumentAdded,
    RequiredInputFieldAdded,
    EnumValueRemoved,
    UnionMemberRemoved,
    InterfaceImplementationRemoved,
    DirectiveRemoved,
    ArgumentDefaultChanged,
    InputFieldDefaultChanged,
    EnumValueAdded,
    UnionMemberAdded,
    InterfaceImplementationAdded,
    OptionalArgumentAdded,
    DefaultedInputFieldAdded,
    OptionalInputFieldAdded,
    TypeAdded,
    FieldAdded,
    DirectiveAdded,
    FieldTypeMadeStricter,
    ArgumentTypeMadeLaxer,
    InputFieldTypeMadeLaxer,
    FieldDeprecated,
    FieldDeprecationRemoved,
    EnumValueDeprecated,
    EnumValueDeprecationRemoved,
    FieldDescriptionChanged,
}

impl ChangeKind {
    /// Every kind, BREAKING first.
    pub const ALL: &'static [ChangeKind] = &[
        Self::TypeRemoved,
        Self::TypeKindChanged,
        Self::FieldRemoved,
        Self::FieldTypeChanged,
        Self::ArgumentRemoved,
        Self::InputFieldRemoved,
        Self::ArgumentTypeChanged,
        Self::InputFieldTypeChanged,
        Self::ArgumentBecameRequired,
        Self::InputFieldBecameRequired,
        Self::RequiredArgumentAdded,
        Self::RequiredInputFieldAdded,
        Self::EnumValueRemoved,
        Self::UnionMemberRemoved,
        Self::InterfaceImplementationRemoved,
        Self::DirectiveRemoved,
        Self::ArgumentDefaultChanged,
        Self::InputFieldDefaultChanged,
        Self::EnumValueAdded,
        Self::UnionMemberAdded,
        Self::InterfaceImplementationAdded,
        Self::OptionalArgumentAdded,
        Self::DefaultedInputFieldAdded,
        Self::OptionalInputFieldAdded,
        Self::TypeAdded,
        Self::FieldAdded,
        Self::DirectiveAdded,
        Self::FieldTypeMadeStricter,
        Self::ArgumentTypeMadeLaxer,
        Self::InputFieldTypeMadeLaxer,
        Self::FieldDeprecated,
        Self::FieldDeprecationRemoved,
        Self::EnumValueDeprecated,
        Self::EnumValueDeprecationRemoved,
        Self::FieldDescriptionChanged,
    ];

    /// The stable name, as in reports and the registry's history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TypeRemoved => "TYPE_REMOVED",
            Self::TypeKindChanged => "TYPE_KIND_CHANGED",
            Self::FieldRemoved => "FIELD_REMOVED",
            Self::FieldTypeChanged => "FIELD_TYPE_CHANGED",
            Self::ArgumentRemoved => "ARGUMENT_REMOVED",
            Self::InputFieldRemoved => "INPUT_FIELD_REMOVED",
            Self::ArgumentTypeChanged => "ARGUMENT_TYPE_CHANGED",
            Self::InputFieldTypeChanged => "INPUT_FIELD_TYPE_CHANGED",
            Self::ArgumentBecameRequired => "ARGUMENT_BECAME_REQUIRED",
            Self::InputFieldBecameRequired => "INPUT_FIELD_BECAME_REQUIRED",
            Self::RequiredArgumentAdded => "REQUIRED_ARGUMENT_ADDED",
            Self::RequiredInputFieldAdded => "REQUIRED_INPUT_FIELD_ADDED",
            Self::EnumValueRemoved => "ENUM_VALUE_REMOVED",
            Self::UnionMemberRemoved => "UNION_MEMBER_REMOVED",
            Self::InterfaceImplementationRemoved => "INTERFACE_IMPLEMENTATION_REMOVED",
            Self::DirectiveRemoved => "DIRECTIVE_REMOVED",
            Self::ArgumentDefaultChanged => "ARGUMENT_DEFAULT_CHANGED",
            Self::InputFieldDefaultChanged => "INPUT_FIELD_DEFAULT_CHANGED",
            Self::EnumValueAdded => "ENUM_VALUE_ADDED",
            Self::UnionMemberAdded => "UNION_MEMBER_ADDED",
            Self::InterfaceImplementationAdded => "INTERFACE_IMPLEMENTATION_ADDED",
            Self::OptionalArgumentAdded => "OPTIONAL_ARGUMENT_ADDED",
            Self::DefaultedInputFieldAdded => "DEFAULTED_INPUT_FIELD_ADDED",
            Self::OptionalInputFieldAdded => "OPTIONAL_INPUT_FIELD_ADDED",
            Self::TypeAdded => "TYPE_ADDED",
            Self::FieldAdded => "FIELD_ADDED",
            Self::DirectiveAdded => "DIRECTIVE_ADDED",
            Self::FieldTypeMadeStricter => "FIELD_TYPE_MADE_STRICTER",
            Self::ArgumentTypeMadeLaxer => "ARGUMENT_TYPE_MADE_LAXER",
            Self::InputFieldTypeMadeLaxer => "INPUT_FIELD_TYPE_MADE_LAXER",
            Self::FieldDeprecated => "FIELD_DEPRECATED",
            Self::FieldDeprecationRemoved => "FIELD_DEPRECATION_REMOVED",
            Self::EnumValueDeprecated => "ENUM_VALUE_DEPRECATED",
            Self::EnumValueDeprecationRemoved => "ENUM_VALUE_DEPRECATION_REMOVED",
            Self::FieldDescriptionChanged => "FIELD_DESCRIPTION_CHANGED",
        }
    }

    pub fn criticality(self) -> Criticality {
        match self {
            Self::TypeRemoved
            | Self::TypeKindChanged
            | Self::FieldRemoved
            | Self::FieldTypeChanged
            | Self::ArgumentRemoved
            | Self::InputFieldRemoved
            | Self::ArgumentTypeChanged
            | Self::InputFieldTypeChanged
            | Self::ArgumentBecameRequired
            | Self::InputFieldBecameRequired
            | Self::RequiredArgumentAdded
            | Self::RequiredInputFieldAdded
            | Self::EnumValueRemoved
            | Self::UnionMemberRemoved
            | Self::InterfaceImplementationRemoved
            | Self::DirectiveRemoved => Criticality::Breaking,
            Self::ArgumentDefaultChanged
            | Self::InputFieldDefaultChanged
            | Self::EnumValueAdded
            | Self::UnionMemberAdded
            | Self::InterfaceImplementationAdded
            | Self::OptionalArgumentAdded
            | Self::DefaultedInputFieldAdded => Criticality::Dangerous,
            Self::OptionalInputFieldAdded
            | Self::TypeAdded
            | Self::FieldAdded
            | Self::DirectiveAdded
            | Self::FieldTypeMadeStricter
            | Self::ArgumentTypeMadeLaxer
            | Self::InputFieldTypeMadeLaxer
            | Self::FieldDeprecated
            | Self::FieldDeprecationRemoved
            | Self::EnumValueDeprecated
            | Self::EnumValueDeprecationRemoved
            | Self::FieldDescriptionChanged => Criticality::Safe,
        }
    }

    /// What the kind means, for the docs' table (docs/schema-governance.md).
    pub fn description(self) -> &'static str {
        match self {
            Self::TypeRemoved => "a type was removed",
            Self::TypeKindChanged => "a type changed kind (object to interface, …)",
            Self::FieldRemoved => "an output field was removed",
            Self::FieldTypeChanged => {
                "an output field's type changed, other than to a stricter (non-null) form"
            }
            Self::ArgumentRemoved => "an argument was removed",
            Self::InputFieldRemoved => "an input field was removed",
            Self::ArgumentTypeChanged => {
                "an argument's type changed, other than to a laxer (nullable) form"
            }
            Self::InputFieldTypeChanged => {
                "an input field's type changed, other than to a laxer (nullable) form"
            }
            Self::ArgumentBecameRequired => "an argument lost its default and became required",
            Self::InputFieldBecameRequired => "an input field lost its default and became required",
            Self::RequiredArgumentAdded => "a required argument was added",
            Self::RequiredInputFieldAdded => "a required input field was added",
            Self::EnumValueRemoved => "an enum value was removed",
            Self::UnionMemberRemoved => "a union member was removed",
            Self::InterfaceImplementationRemoved => "a type stopped implementing an interface",
            Self::DirectiveRemoved => "a directive was removed",
            Self::ArgumentDefaultChanged => "an argument's default changed",
            Self::InputFieldDefaultChanged => "an input field's default changed",
            Self::EnumValueAdded => "an enum value was added (clients may not handle it)",
            Self::UnionMemberAdded => "a union member was added",
            Self::InterfaceImplementationAdded => "a type started implementing an interface",
            Self::OptionalArgumentAdded => {
                "an optional argument was added (it may change what the field does)"
            }
            Self::DefaultedInputFieldAdded => "a non-null input field with a default was added",
            Self::OptionalInputFieldAdded => "a nullable optional input field was added",
            Self::TypeAdded => "a type was added",
            Self::FieldAdded => "an output field was added",
            Self::DirectiveAdded => "a directive was added",
            Self::FieldTypeMadeStricter => "an output field's type became stricter (non-null)",
            Self::ArgumentTypeMadeLaxer => "an argument's type became laxer (nullable)",
            Self::InputFieldTypeMadeLaxer => "an input field's type became laxer (nullable)",
            Self::FieldDeprecated => "a field was deprecated",
            Self::FieldDeprecationRemoved => "a field's deprecation was removed",
            Self::EnumValueDeprecated => "an enum value was deprecated",
            Self::EnumValueDeprecationRemoved => "an enum value's deprecation was removed",
            Self::FieldDescriptionChanged => "a field's description changed",
        }
    }

    /// The docs' table of change kinds, rendered from [`ChangeKind::ALL`].
    pub fn markdown_table() -> String {
        let mut table = String::from("| change | kind | criticality |\n|---|---|---|\n");
        for kind in Self::ALL {
            table.push_str(&format!(
                "| {} | `{}` | {} |\n",
                kind.description(),
                kind.as_str(),
                kind.criticality().as_str()
            ));
        }
        table
    }
}

/// One change, with the schema coordinate it is about
/// (`Type`, `Type.field`, `Type.field(argument:)`, `Enum.VALUE`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// Always `kind.criticality()`; kept as a field so reports and the
    /// registry's stored history carry it.
    pub criticality: Criticality,
    pub kind: ChangeKind,
    pub coordinate: String,
    pub message: String,
}

fn change(kind: ChangeKind, coordinate: String, message: String) -> Change {
    Change {
        criticality: kind.criticality(),
        kind,
        coordinate,
        message,
    }
}

fn kind_name(ty: &ExtendedType) -> &'static str {
    match ty {
        ExtendedType::Scalar(_) => "scalar",
        ExtendedType::Object(_) => "object type",
        ExtendedType::Interface(_) => "interface",
        ExtendedType::Union(_) => "union",
        ExtendedType::Enum(_) => "enum",
        ExtendedType::InputObject(_) => "input object",
    }
}

/// Whether an output field may change from `old` to `new` without breaking
/// a client: only by becoming stricter (non-null where it was nullable, at
/// any list depth); anything else breaks.
fn output_change_is_safe(old: &Type, new: &Type) -> bool {
    match (old, new) {
        (Type::Named(a), Type::Named(b) | Type::NonNullNamed(b)) => a == b,
        (Type::NonNullNamed(a), Type::NonNullNamed(b)) => a == b,
        (Type::List(a), Type::List(b) | Type::NonNullList(b)) => output_change_is_safe(a, b),
        (Type::NonNullList(a), Type::NonNullList(b)) => output_change_is_safe(a, b),
        _ => false,
    }
}

/// Whether an argument or input field may change from `old` to `new`: only
/// by becoming more lenient (nullable where it was required).
fn input_change_is_safe(old: &Type, new: &Type) -> bool {
    match (old, new) {
        (Type::Named(a) | Type::NonNullNamed(a), Type::Named(b)) => a == b,
        (Type::NonNullNamed(a), Type::NonNullNamed(b)) => a == b,
        (Type::List(a) | Type::NonNullList(a), Type::List(b)) => input_change_is_safe(a, b),
        (Type::NonNullList(a), Type::NonNullList(b)) => input_change_is_safe(a, b),
        _ => false,
    }
}

fn is_required(input: &InputValueDefinition) -> bool {
    input.ty.is_non_null() && input.default_value.is_none()
}

fn default_text(input: &InputValueDefinition) -> String {
    input
        .default_value
        .as_ref()
        .map_or_else(|| "none".to_owned(), |value| value.to_string())
}

/// Compares input values (arguments of one field, or fields of one input
/// object) by name.
fn diff_inputs(
    owner: &str,
    what: &str,
    old: &[&Node<InputValueDefinition>],
    new: &[&Node<InputValueDefinition>],
    coordinate: impl Fn(&str) -> String,
    changes: &mut Vec<Change>,
) {
    for old_input in old {
        let name = old_input.name.as_str();
        match new.iter().find(|input| input.name == old_input.name) {
            None => changes.push(change(
                if what == "argument" {
                    ChangeKind::ArgumentRemoved
                } else {
                    ChangeKind::InputFieldRemoved
                },
                coordinate(name),
                format!("{what} `{name}` was removed from `{owner}`"),
            )),
            Some(new_input) => {
                if old_input.ty != new_input.ty {
                    let safe = input_change_is_safe(&old_input.ty, &new_input.ty);
                    changes.push(change(
                        match (what == "argument", safe) {
                            (true, true) => ChangeKind::ArgumentTypeMadeLaxer,
                            (true, false) => ChangeKind::ArgumentTypeChanged,
                            (false, true) => ChangeKind::InputFieldTypeMadeLaxer,
                            (false, false) => ChangeKind::InputFieldTypeChanged,
                        },
                        coordinate(name),
                        format!(
                            "{what} `{name}` of `{owner}` changed type from `{}` to `{}`",
                            old_input.ty, new_input.ty
                        ),
                    ));
                } else if !is_required(old_input) && is_required(new_input) {
                    changes.push(change(
                        if what == "argument" {
                            ChangeKind::ArgumentBecameRequired
                        } else {
                            ChangeKind::InputFieldBecameRequired
                        },
                        coordinate(name),
                        format!(
                            "{what} `{name}` of `{owner}` lost its default and became required"
                        ),
                    ));
                }
                if old_input.default_value != new_input.default_value {
                    changes.push(change(
                        if what == "argument" {
                            ChangeKind::ArgumentDefaultChanged
                        } else {
                            ChangeKind::InputFieldDefaultChanged
                        },
                        coordinate(name),
                        format!(
                            "default of {what} `{name}` of `{owner}` changed from {} to {}",
                            default_text(old_input),
                            default_text(new_input)
                        ),
                    ));
                }
            }
        }
    }
    for new_input in new {
        let name = new_input.name.as_str();
        if old.iter().any(|input| input.name == new_input.name) {
            continue;
        }
        let required = is_required(new_input);
        // A new optional argument may change what the resolver does, and a
        // non-null input with a default changes every request that omits
        // it: DANGEROUS, as graphql-inspector rates them. Only a plain
        // optional input-object field is SAFE.
        let kind = match (what == "argument", required) {
            (true, true) => ChangeKind::RequiredArgumentAdded,
            (true, false) => ChangeKind::OptionalArgumentAdded,
            (false, true) => ChangeKind::RequiredInputFieldAdded,
            (false, false) if new_input.ty.is_non_null() => ChangeKind::DefaultedInputFieldAdded,
            (false, false) => ChangeKind::OptionalInputFieldAdded,
        };
        changes.push(change(
            kind,
            coordinate(name),
            format!(
                "{} {what} `{name}` was added to `{owner}`",
                if required { "required" } else { "optional" }
            ),
        ));
    }
}

/// Every change from `old` to `new`, sorted BREAKING first, then by
/// coordinate.
pub fn diff_schemas(old: &Schema, new: &Schema) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, old_type) in &old.types {
        if old_type.is_built_in() {
            continue;
        }
        let Some(new_type) = new.types.get(name) else {
            changes.push(change(
                ChangeKind::TypeRemoved,
                name.to_string(),
                format!("{} `{name}` was removed", kind_name(old_type)),
            ));
            continue;
        };
        if kind_name(old_type) != kind_name(new_type) {
            changes.push(change(
                ChangeKind::TypeKindChanged,
                name.to_string(),
                format!(
                    "`{name}` changed from {} to {}",
                    kind_name(old_type),
                    kind_name(new_type)
                ),
            ));
            continue;
        }
        diff_type(name.as_str(), old_type, new_type, &mut changes);
    }
    for (name, new_type) in &new.types {
        if !new_type.is_built_in() && !old.types.contains_key(name) {
            changes.push(change(
                ChangeKind::TypeAdded,
                name.to_string(),
                format!("{} `{name}` was added", kind_name(new_type)),
            ));
        }
    }
    for (name, definition) in &new.directive_definitions {
        if !definition.is_built_in() && !old.directive_definitions.contains_key(name) {
            changes.push(change(
                ChangeKind::DirectiveAdded,
                format!("@{name}"),
                format!("directive `@{name}` was added"),
            ));
        }
    }
    for (name, definition) in &old.directive_definitions {
        if !definition.is_built_in() && !new.directive_definitions.contains_key(name) {
            changes.push(change(
                ChangeKind::DirectiveRemoved,
                format!("@{name}"),
                format!("directive `@{name}` was removed"),
            ));
        }
    }
    changes.sort_by(|a, b| {
        a.criticality
            .cmp(&b.criticality)
            .then_with(|| a.coordinate.cmp(&b.coordinate))
            .then_with(|| a.kind.as_str().cmp(b.kind.as_str()))
    });
    changes
}

fn diff_type(name: &str, old: &ExtendedType, new: &ExtendedType, changes: &mut Vec<Change>) {
    match (old, new) {
        (ExtendedType::Object(old), ExtendedType::Object(new)) => {
            diff_fields(name, &old.fields, &new.fields, changes);
            diff_interfaces(
                name,
                &old.implements_interfaces,
                &new.implements_interfaces,
                changes,
            );
        }
        (ExtendedType::Interface(old), ExtendedType::Interface(new)) => {
            diff_fields(name, &old.fields, &new.fields, changes);
            diff_interfaces(
                name,
                &old.implements_interfaces,
                &new.implements_interfaces,
                changes,
            );
        }
        (ExtendedType::Union(old), ExtendedType::Union(new)) => {
            for member in &old.members {
                if !new.members.contains(member) {
                    changes.push(change(
                        ChangeKind::UnionMemberRemoved,
                        name.to_owned(),
                        format!("`{}` is no longer a member of union `{name}`", member.name),
                    ));
                }
            }
            for member in &new.members {
                if !old.members.contains(member) {
                    changes.push(change(
                        ChangeKind::UnionMemberAdded,
                        name.to_owned(),
                        format!("`{}` joined union `{name}`: clients may receive a type they do not handle", member.name),
                    ));
                }
            }
        }
        (ExtendedType::Enum(old), ExtendedType::Enum(new)) => {
            for value in old.values.keys() {
                if !new.values.contains_key(value) {
                    changes.push(change(
                        ChangeKind::EnumValueRemoved,
                        format!("{name}.{value}"),
                        format!("value `{value}` was removed from enum `{name}`"),
                    ));
                }
            }
            for (value, definition) in &new.values {
                if let Some(old_definition) = old.values.get(value) {
                    let was = old_definition.directives.get("deprecated").is_some();
                    let is = definition.directives.get("deprecated").is_some();
                    if was != is {
                        changes.push(change(
                            if is {
                                ChangeKind::EnumValueDeprecated
                            } else {
                                ChangeKind::EnumValueDeprecationRemoved
                            },
                            format!("{name}.{value}"),
                            format!(
                                "value `{value}` of enum `{name}` {}",
                                if is {
                                    "was deprecated"
                                } else {
                                    "is no longer deprecated"
                                }
                            ),
                        ));
                    }
                }
                if !old.values.contains_key(value) {
                    changes.push(change(
                        ChangeKind::EnumValueAdded,
                        format!("{name}.{value}"),
                        format!("value `{value}` was added to enum `{name}`: clients may receive a value they do not handle"),
                    ));
                }
            }
        }
        (ExtendedType::InputObject(old), ExtendedType::InputObject(new)) => {
            let old_fields: Vec<&Node<InputValueDefinition>> =
                old.fields.values().map(|field| &field.node).collect();
            let new_fields: Vec<&Node<InputValueDefinition>> =
                new.fields.values().map(|field| &field.node).collect();
            diff_inputs(
                name,
                "input field",
                &old_fields,
                &new_fields,
                |field| format!("{name}.{field}"),
                changes,
            );
        }
        _ => {}
    }
}

fn diff_interfaces(
    name: &str,
    old: &apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
    new: &apollo_compiler::collections::IndexSet<apollo_compiler::schema::ComponentName>,
    changes: &mut Vec<Change>,
) {
    for interface in old {
        if !new.contains(interface) {
            changes.push(change(
                ChangeKind::InterfaceImplementationRemoved,
                name.to_owned(),
                format!("`{name}` no longer implements `{}`", interface.name),
            ));
        }
    }
    for interface in new {
        if !old.contains(interface) {
            changes.push(change(
                ChangeKind::InterfaceImplementationAdded,
                name.to_owned(),
                format!(
                    "`{name}` now implements `{}`: fragments on it may match new objects",
                    interface.name
                ),
            ));
        }
    }
}

fn diff_fields(
    owner: &str,
    old: &apollo_compiler::collections::IndexMap<
        apollo_compiler::Name,
        apollo_compiler::schema::Component<apollo_compiler::schema::FieldDefinition>,
    >,
    new: &apollo_compiler::collections::IndexMap<
        apollo_compiler::Name,
        apollo_compiler::schema::Component<apollo_compiler::schema::FieldDefinition>,
    >,
    changes: &mut Vec<Change>,
) {
    for (name, old_field) in old {
        let coordinate = format!("{owner}.{name}");
        let Some(new_field) = new.get(name) else {
            changes.push(change(
                ChangeKind::FieldRemoved,
                coordinate,
                format!(
                    "field `{coordinate_name}` was removed",
                    coordinate_name = format_args!("{owner}.{name}")
                ),
            ));
            continue;
        };
        if old_field.ty != new_field.ty {
            let safe = output_change_is_safe(&old_field.ty, &new_field.ty);
            changes.push(change(
                if safe {
                    ChangeKind::FieldTypeMadeStricter
                } else {
                    ChangeKind::FieldTypeChanged
                },
                coordinate.clone(),
                format!(
                    "field `{coordinate}` changed type from `{}` to `{}`",
                    old_field.ty, new_field.ty
                ),
            ));
        }
        let old_deprecated = old_field.directives.get("deprecated").is_some();
        let new_deprecated = new_field.directives.get("deprecated").is_some();
        if old_deprecated != new_deprecated {
            changes.push(change(
                if new_deprecated {
                    ChangeKind::FieldDeprecated
                } else {
                    ChangeKind::FieldDeprecationRemoved
                },
                coordinate.clone(),
                if new_deprecated {
                    format!("field `{coordinate}` was deprecated")
                } else {
                    format!("field `{coordinate}` is no longer deprecated")
                },
            ));
        }
        if old_field.description != new_field.description {
            changes.push(change(
                ChangeKind::FieldDescriptionChanged,
                coordinate.clone(),
                format!("the description of field `{coordinate}` changed"),
            ));
        }
        let old_arguments: Vec<&Node<InputValueDefinition>> = old_field.arguments.iter().collect();
        let new_arguments: Vec<&Node<InputValueDefinition>> = new_field.arguments.iter().collect();
        diff_inputs(
            &coordinate,
            "argument",
            &old_arguments,
            &new_arguments,
            |argument| format!("{owner}.{name}({argument}:)"),
            changes,
        );
    }
    for name in new.keys() {
        if !old.contains_key(name) {
            changes.push(change(
                ChangeKind::FieldAdded,
                format!("{owner}.{name}"),
                format!("field `{owner}.{name}` was added"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(sdl: &str) -> Schema {
        Schema::parse_and_validate(sdl, "schema.graphql")
            .expect("a valid schema")
            .into_inner()
    }

    fn kinds(old: &str, new: &str) -> Vec<(Criticality, String, String)> {
        diff_schemas(&schema(old), &schema(new))
            .into_iter()
            .map(|change| {
                (
                    change.criticality,
                    change.kind.as_str().to_owned(),
                    change.coordinate,
                )
            })
            .collect()
    }

    const BASE: &str =
        "type Query { job(id: ID!, first: Int = 10): Job, jobs(filter: Filter): [Job!]! }
        type Job implements Node { id: ID! title: String status: Status! tags: [String!] }
        interface Node { id: ID! }
        enum Status { OPEN CLOSED }
        union Result = Job
        input Filter { text: String, remote: Boolean = false }";

    #[test]
    fn identical_schemas_have_no_changes() {
        assert_eq!(kinds(BASE, BASE), Vec::new());
    }

    #[test]
    fn removals_and_incompatible_changes_are_breaking() {
        let changed = BASE
            .replace("title: String", "")
            .replace("status: Status!", "status: Status")
            .replace("OPEN CLOSED", "OPEN")
            .replace("text: String,", "text: String!,")
            .replace(
                "job(id: ID!, first: Int = 10)",
                "job(id: ID!, first: Int = 10, region: String!)",
            );
        let found = kinds(BASE, &changed);
        for (kind, coordinate) in [
            ("FIELD_REMOVED", "Job.title"),
            ("FIELD_TYPE_CHANGED", "Job.status"),
            ("ENUM_VALUE_REMOVED", "Status.CLOSED"),
            ("INPUT_FIELD_TYPE_CHANGED", "Filter.text"),
            ("REQUIRED_ARGUMENT_ADDED", "Query.job(region:)"),
        ] {
            assert!(
                found.contains(&(
                    Criticality::Breaking,
                    kind.to_owned(),
                    coordinate.to_owned()
                )),
                "{kind} {coordinate} in {found:?}"
            );
        }
    }

    /// Each kind's serialized name is its `as_str`, so stored histories
    /// and reports use one spelling.
    #[test]
    fn change_kinds_serialize_as_their_names() {
        for kind in ChangeKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).expect("serializes"),
                serde_json::Value::String(kind.as_str().to_owned())
            );
        }
    }

    /// The docs' table of change kinds (docs/schema-governance.md) is the
    /// one the code renders.
    #[test]
    fn the_docs_list_every_change_kind_with_its_criticality() {
        talentgraph_kit::testing::assert_readme_table(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema-governance.md"),
            "| change | kind | criticality |",
            &ChangeKind::markdown_table(),
        );
    }

    #[test]
    fn stricter_outputs_and_laxer_inputs_are_safe_additions_to_enums_dangerous() {
        let changed = BASE
            .replace("title: String", "title: String!")
            .replace("text: String,", "text: String, city: String,")
            .replace("OPEN CLOSED", "OPEN CLOSED DRAFT")
            .replace("first: Int = 10", "first: Int = 20")
            .replace("job(id: ID!,", "job(id: ID,");
        let found = kinds(BASE, &changed);
        assert!(found.contains(&(
            Criticality::Safe,
            "FIELD_TYPE_MADE_STRICTER".to_owned(),
            "Job.title".to_owned()
        )));
        assert!(found.contains(&(
            Criticality::Safe,
            "OPTIONAL_INPUT_FIELD_ADDED".to_owned(),
            "Filter.city".to_owned()
        )));
        assert!(found.contains(&(
            Criticality::Safe,
            "ARGUMENT_TYPE_MADE_LAXER".to_owned(),
            "Query.job(id:)".to_owned()
        )));
        assert!(found.contains(&(
            Criticality::Dangerous,
            "ENUM_VALUE_ADDED".to_owned(),
            "Status.DRAFT".to_owned()
        )));
        assert!(found.contains(&(
            Criticality::Dangerous,
            "ARGUMENT_DEFAULT_CHANGED".to_owned(),
            "Query.job(first:)".to_owned()
        )));
        assert!(
            found
                .iter()
                .all(|(criticality, _, _)| *criticality != Criticality::Breaking),
            "{found:?}"
        );
    }

    #[test]
    fn union_and_interface_membership() {
        let changed = BASE
            .replace(
                "union Result = Job",
                "union Result = Job | Other\n type Other { id: ID }",
            )
            .replace("type Job implements Node", "type Job");
        let found = kinds(BASE, &changed);
        assert!(found.contains(&(
            Criticality::Dangerous,
            "UNION_MEMBER_ADDED".to_owned(),
            "Result".to_owned()
        )));
        assert!(found.contains(&(
            Criticality::Breaking,
            "INTERFACE_IMPLEMENTATION_REMOVED".to_owned(),
            "Job".to_owned()
        )));
        let removed = kinds(&changed, BASE);
        assert!(removed.contains(&(
            Criticality::Breaking,
            "UNION_MEMBER_REMOVED".to_owned(),
            "Result".to_owned()
        )));
        assert!(removed.contains(&(
            Criticality::Breaking,
            "TYPE_REMOVED".to_owned(),
            "Other".to_owned()
        )));
    }
}
