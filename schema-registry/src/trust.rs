//! What a subgraph schema claims over other subgraphs' fields, read from
//! the parsed schema: fields it takes over with federation's `@override`,
//! and the fields it resolves itself. The registry compares them between
//! a subgraph's versions to find changes of trust (see the publish
//! handler), so they must not be fooled by spelling: `@override (from:
//! "core")`, a line break before the arguments, or the directive imported
//! under another name (`@link(…, import: [{name: "@override", as:
//! "@moved"}])`, or namespaced as `@federation__override`) are all the
//! same directive here.

use std::collections::{BTreeMap, BTreeSet};

use apollo_compiler::Node;
use apollo_compiler::ast::{
    Definition, Directive, DirectiveList, Document, FieldDefinition, Value,
};

/// The federation specification's `@link` URL prefix.
const FEDERATION_SPEC: &str = "https://specs.apollo.dev/federation/";

/// The names a schema gives federation's directives.
struct FederationNames {
    override_name: String,
    external: String,
    key: String,
}

impl FederationNames {
    /// From the schema's `@link` to the federation spec: an imported
    /// directive keeps its name or takes its `as:`; any other is
    /// `<namespace>__<name>`, the namespace being the link's `as:` or
    /// `federation`. Without a link (a Federation 1 schema) every
    /// directive has its plain name.
    fn of(document: &Document) -> Self {
        let link = document
            .definitions
            .iter()
            .flat_map(|definition| match definition {
                Definition::SchemaDefinition(schema) => schema.directives.iter().collect(),
                Definition::SchemaExtension(schema) => schema.directives.iter().collect(),
                _ => Vec::new(),
            })
            .find(|directive| {
                directive
                    .specified_argument_by_name("url")
                    .and_then(|url| url.as_str())
                    .is_some_and(|url| url.starts_with(FEDERATION_SPEC))
            });
        let Some(link) = link else {
            return Self {
                override_name: "override".to_owned(),
                external: "external".to_owned(),
                key: "key".to_owned(),
            };
        };
        let namespace = link
            .specified_argument_by_name("as")
            .and_then(|value| value.as_str())
            .map_or_else(
                || "federation".to_owned(),
                |name| name.trim_start_matches('@').to_owned(),
            );
        let imports = imports(link);
        let name_of = |directive: &str| {
            imports
                .iter()
                .find(|(name, _)| name == directive)
                .map_or_else(
                    || format!("{namespace}__{directive}"),
                    |(_, local)| local.clone(),
                )
        };
        Self {
            override_name: name_of("override"),
            external: name_of("external"),
            key: name_of("key"),
        }
    }
}

/// A link's imports as (specified name, local name), without `@`.
fn imports(link: &Directive) -> Vec<(String, String)> {
    let Some(Value::List(items)) = link
        .specified_argument_by_name("import")
        .map(|value| &**value)
    else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match &**item {
            Value::String(name) => Some((name.clone(), name.clone())),
            Value::Object(fields) => {
                let field = |wanted: &str| {
                    fields
                        .iter()
                        .find(|(name, _)| name.as_str() == wanted)
                        .and_then(|(_, value)| value.as_str())
                        .map(str::to_owned)
                };
                let name = field("name")?;
                let local = field("as").unwrap_or_else(|| name.clone());
                Some((name, local))
            }
            _ => None,
        })
        .map(|(name, local)| {
            (
                name.trim_start_matches('@').to_owned(),
                local.trim_start_matches('@').to_owned(),
            )
        })
        .collect()
}

/// Every object type's fields in the document, definitions and
/// extensions alike, with the type's directives.
fn object_fields(document: &Document) -> Vec<(&str, &DirectiveList, &Node<FieldDefinition>)> {
    let mut fields = Vec::new();
    for definition in &document.definitions {
        let (name, directives, type_fields) = match definition {
            Definition::ObjectTypeDefinition(object) => {
                (object.name.as_str(), &object.directives, &object.fields)
            }
            Definition::ObjectTypeExtension(object) => {
                (object.name.as_str(), &object.directives, &object.fields)
            }
            _ => continue,
        };
        fields.extend(type_fields.iter().map(|field| (name, directives, field)));
    }
    fields
}

fn parse(sdl: &str) -> Document {
    // A schema that does not parse fails composition anyway; what did
    // parse is still read, so nothing it claims is overlooked.
    Document::parse(sdl, "subgraph.graphql").unwrap_or_else(|with_errors| with_errors.partial)
}

/// The fields the schema takes over from another subgraph: `Type.field`
/// and the subgraph named in `from:`.
pub fn overridden_fields(sdl: &str) -> BTreeMap<String, String> {
    let document = parse(sdl);
    let names = FederationNames::of(&document);
    object_fields(&document)
        .into_iter()
        .flat_map(|(type_name, _, field)| {
            field
                .directives
                .get_all(&names.override_name)
                .map(move |directive| {
                    let from = directive
                        .specified_argument_by_name("from")
                        .and_then(|value| value.as_str())
                        .unwrap_or("?");
                    (format!("{type_name}.{}", field.name), from.to_owned())
                })
        })
        .collect()
}

/// The fields the schema resolves itself where the router chooses who
/// resolves them, each as `Type.field`: the root types' fields and the
/// entities' (types with a key), except those marked external (resolved
/// elsewhere) and an entity's key fields (every subgraph that declares
/// the entity has them from the reference the router sends). A value
/// type's fields (`PageInfo`) are left out: the router reads them from
/// whichever subgraph returned the object, never asks another for them.
pub fn resolved_fields(sdl: &str) -> BTreeSet<String> {
    let document = parse(sdl);
    let names = FederationNames::of(&document);
    let fields = object_fields(&document);
    let entities: BTreeSet<&str> = fields
        .iter()
        .filter(|(_, type_directives, _)| type_directives.has(&names.key))
        .map(|(type_name, _, _)| *type_name)
        .collect();
    fields
        .into_iter()
        .filter(|(type_name, type_directives, field)| {
            (ROOT_TYPES.contains(type_name) || entities.contains(type_name))
                && !field.directives.has(&names.external)
                && !key_fields(type_directives, &names.key).contains(field.name.as_str())
        })
        .map(|(type_name, _, field)| format!("{type_name}.{}", field.name))
        .collect()
}

/// The root operation types, by their default names (every subgraph here
/// uses them).
const ROOT_TYPES: [&str; 3] = ["Query", "Mutation", "Subscription"];

/// The top-level field names of a type's `@key(fields: …)` selections.
fn key_fields(directives: &DirectiveList, key: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for directive in directives.get_all(key) {
        let Some(selection) = directive
            .specified_argument_by_name("fields")
            .and_then(|value| value.as_str())
        else {
            continue;
        };
        let mut depth = 0_usize;
        for token in selection
            .replace('{', " { ")
            .replace('}', " } ")
            .split(|character: char| character.is_whitespace() || character == ',')
        {
            match token {
                "{" => depth += 1,
                "}" => depth = depth.saturating_sub(1),
                "" => {}
                name if depth == 0 => {
                    names.insert(name.to_owned());
                }
                _ => {}
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [\"@key\", \"@override\", \"@external\", \"@shareable\"])\n";

    /// Every way of writing `@override` is found, and each names its type,
    /// field and source.
    #[test]
    fn finds_override_however_it_is_written() {
        let plain = format!(
            "{LINK}type Organization @key(fields: \"id\") {{ id: ID! industry: String @override(from: \"core\") }}"
        );
        let spaced = format!(
            "{LINK}type Organization @key(fields: \"id\") {{ id: ID! industry: String @override (from: \"core\") }}"
        );
        let broken = format!(
            "{LINK}type Organization @key(fields: \"id\") {{\n id: ID!\n industry: String @override\n(\n from: \"core\"\n)\n}}"
        );
        let renamed = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [\"@key\", { name: \"@override\", as: \"@moved\" }])\ntype Organization @key(fields: \"id\") { id: ID! industry: String @moved(from: \"core\") }";
        let namespaced = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [\"@key\"])\ntype Organization @key(fields: \"id\") { id: ID! industry: String @federation__override(from: \"core\") }";
        let aliased_namespace = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", as: \"fed\")\ntype Organization @fed__key(fields: \"id\") { id: ID! industry: String @fed__override(from: \"core\") }";
        let expected: BTreeMap<String, String> =
            [("Organization.industry".to_owned(), "core".to_owned())].into();
        for sdl in [
            plain.as_str(),
            spaced.as_str(),
            broken.as_str(),
            renamed,
            namespaced,
            aliased_namespace,
        ] {
            assert_eq!(overridden_fields(sdl), expected, "{sdl}");
        }
        // A directive that only looks like it is not federation's.
        let lookalike = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.3\", import: [{ name: \"@override\", as: \"@moved\" }])\ndirective @override(from: String) on FIELD_DEFINITION\ntype Query { a: Int @override(from: \"x\") }";
        assert!(overridden_fields(lookalike).is_empty());
    }

    /// The fields a subgraph resolves leave out externals and key fields.
    #[test]
    fn resolved_fields_leave_out_externals_and_keys() {
        let sdl = format!(
            "{LINK}type Job @key(fields: \"id organization {{ id }}\") {{ id: ID! organization: Organization! title: String @external summary: String @shareable }}\ntype Query {{ jobs: [Job] }}\ntype PageInfo @shareable {{ hasNextPage: Boolean! }}"
        );
        let resolved = resolved_fields(&sdl);
        assert_eq!(
            resolved,
            ["Job.summary".to_owned(), "Query.jobs".to_owned()].into()
        );
    }
}
