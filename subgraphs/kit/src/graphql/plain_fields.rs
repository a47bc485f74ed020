//! Objects whose selected fields are all values the object already holds,
//! resolved in one pass instead of one future per field.
//!
//! async-graphql resolves every field of every object the same way: it
//! boxes a future for the field, polls the object's futures together, and
//! inserts each answer into the object's map as it arrives. For a field
//! that needs the database that machinery is what makes batching work; for
//! a field that only copies a string the object holds, it is nearly all of
//! the cost. Counted with callgrind on employer's JobSearchPage fetch, the
//! ten organization badges of a page (five fields each, every one a copy
//! out of a card already in memory) took 16 % of the fetch's instructions,
//! about 2,400 per field.
//!
//! [`PlainObject`] wraps such an object. When every field a selection asks
//! for is one the object answers by [`PlainFields::plain_field`] (or is
//! `__typename`), it builds the object's value directly, in the order and
//! with the response keys the generic path would use. Anything else in the
//! selection (a field the object resolves asynchronously, a field with
//! arguments or a subselection, a directive, a fragment on another type) and
//! the whole object goes the generic way, so a field an implementation
//! leaves out makes a selection slower, never different. (A field it maps
//! to the wrong value would be different: the page tests read those values.)
//!
//! The wrapper registers the wrapped type itself, so the schema does not
//! change. It skips async-graphql's per-field extension hooks, which the
//! kit's schemas do not install (see [`super::configure_schema`]).

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// An object some of whose fields are values it holds: what
/// [`PlainObject`] can resolve without a future per field.
pub trait PlainFields: OutputType {
    /// The value of the field named `field_name` (its schema name, not an
    /// alias), exactly as the generic path would produce it; `None` for a
    /// field that must be resolved the generic way.
    fn plain_field(&self, field_name: &str) -> Option<Value>;
}

impl<T: PlainFields> PlainFields for std::sync::Arc<T> {
    fn plain_field(&self, field_name: &str) -> Option<Value> {
        T::plain_field(self, field_name)
    }
}

/// `T` as the same GraphQL type, resolved in one pass when the selection
/// allows it (see the module documentation).
pub struct PlainObject<T>(pub T);

impl<T: PlainFields> OutputType for PlainObject<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        context: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        match resolve_in_one_pass(context, &self.0) {
            Some(value) => Ok(value),
            None => self.0.resolve(context, field).await,
        }
    }
}

/// The value of `object` for the selection of `context`, or `None` when
/// some part of the selection needs the generic path.
fn resolve_in_one_pass<T: PlainFields>(
    context: &ContextSelectionSet<'_>,
    object: &T,
) -> Option<Value> {
    let type_name = object.introspection_type_name();
    let mut values = IndexMap::new();
    collect_plain_values(context, &context.item.node, object, &type_name, &mut values)?;
    // The generic path answers an object nothing was selected of with null.
    if values.is_empty() {
        Some(Value::Null)
    } else {
        Some(Value::Object(values))
    }
}

fn collect_plain_values<T: PlainFields>(
    context: &ContextSelectionSet<'_>,
    selection_set: &SelectionSet,
    object: &T,
    type_name: &str,
    values: &mut IndexMap<Name, Value>,
) -> Option<()> {
    for selection in &selection_set.items {
        // A fragment with a directive, or on another type (an interface the
        // object implements, say), is left to the generic path.
        let (fragment_applies, fragment_selection) = match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                let is_plain_shape = field.directives.is_empty()
                    && field.arguments.is_empty()
                    && field.selection_set.node.items.is_empty();
                if !is_plain_shape {
                    return None;
                }
                let response_key = &field.response_key().node;
                // A response key selected twice keeps its first value, as
                // the generic path does for values that are not objects.
                if values.contains_key(response_key) {
                    continue;
                }
                let value = match field.name.node.as_str() {
                    "__typename" => Value::String(type_name.to_owned()),
                    field_name => object.plain_field(field_name)?,
                };
                values.insert(response_key.clone(), value);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let fragment = context
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                let applies = spread.node.directives.is_empty()
                    && fragment.node.type_condition.node.on.node == type_name;
                (applies, &fragment.node.selection_set)
            }
            Selection::InlineFragment(fragment) => {
                let applies = fragment.node.directives.is_empty()
                    && (fragment.node.type_condition.as_ref())
                        .is_none_or(|condition| condition.node.on.node == type_name);
                (applies, &fragment.node.selection_set)
            }
        };
        if !fragment_applies {
            return None;
        }
        collect_plain_values(context, &fragment_selection.node, object, type_name, values)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Enum, Object, Schema, SimpleObject};

    use super::*;

    #[derive(Clone, Copy, PartialEq, Eq, Enum)]
    enum Tier {
        Gold,
    }

    #[derive(Clone, SimpleObject)]
    #[graphql(complex)]
    struct Badge {
        name: String,
        logo_url: Option<String>,
        verified: bool,
        tier: Tier,
        rank: i32,
    }

    #[async_graphql::ComplexObject]
    impl Badge {
        /// Resolved asynchronously, so a selection of it goes the generic way.
        async fn shouted(&self) -> String {
            self.name.to_uppercase()
        }
    }

    impl PlainFields for Badge {
        fn plain_field(&self, field_name: &str) -> Option<Value> {
            use async_graphql::ScalarType;
            Some(match field_name {
                "name" => self.name.to_value(),
                "logoUrl" => self
                    .logo_url
                    .as_ref()
                    .map_or(Value::Null, ScalarType::to_value),
                "verified" => self.verified.to_value(),
                "tier" => async_graphql::resolver_utils::enum_value(self.tier),
                "rank" => self.rank.to_value(),
                _ => return None,
            })
        }
    }

    struct Query;

    fn badge() -> Badge {
        Badge {
            name: "Acme \"Tools\"".to_owned(),
            logo_url: None,
            verified: true,
            tier: Tier::Gold,
            rank: 3,
        }
    }

    #[Object]
    impl Query {
        async fn generic(&self) -> Badge {
            badge()
        }

        async fn plain(&self) -> PlainObject<Badge> {
            PlainObject(badge())
        }

        async fn plain_list(&self) -> Vec<PlainObject<std::sync::Arc<Badge>>> {
            vec![PlainObject(std::sync::Arc::new(badge()))]
        }
    }

    fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::new(Query, EmptyMutation, EmptySubscription)
    }

    /// Runs `selection` on the generic field and on the wrapped one and
    /// returns both answers as JSON text.
    async fn both_ways(selection: &str, fragments: &str) -> (String, String) {
        let schema = schema();
        let mut answers = Vec::new();
        for field in ["generic", "plain"] {
            let response = schema
                .execute(format!("{{ {field} {selection} }} {fragments}"))
                .await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            let data = serde_json::to_value(&response.data).unwrap();
            answers.push(serde_json::to_string(&data[field]).unwrap());
        }
        (answers.remove(0), answers.remove(0))
    }

    #[tokio::test]
    async fn the_one_pass_answer_is_the_generic_answer_byte_for_byte() {
        let selections = [
            ("{ name logoUrl verified tier rank }", ""),
            ("{ rank name __typename }", ""),
            ("{ title: name n: name name verified }", ""),
            (
                "{ ...Card verified }",
                "fragment Card on Badge { tier name }",
            ),
            ("{ ... on Badge { name } ... { rank } }", ""),
            ("{ name shouted }", ""),
            ("{ name @include(if: true) rank @skip(if: true) }", ""),
        ];
        for (selection, fragments) in selections {
            let (generic, plain) = both_ways(selection, fragments).await;
            assert_eq!(generic, plain, "{selection} {fragments}");
        }
    }

    /// An object whose one-pass answer differs from its generic one, so a
    /// test can tell which path answered (a real implementation must never
    /// do this), and whose `rank` only the generic path answers.
    #[derive(SimpleObject)]
    struct Marked {
        name: String,
        rank: i32,
    }

    impl PlainFields for Marked {
        fn plain_field(&self, field_name: &str) -> Option<Value> {
            (field_name == "name").then(|| Value::from("one pass"))
        }
    }

    struct MarkedQuery;

    #[Object]
    impl MarkedQuery {
        async fn marked(&self) -> PlainObject<Marked> {
            PlainObject(Marked {
                name: "generic".to_owned(),
                rank: 1,
            })
        }
    }

    #[tokio::test]
    async fn only_selections_of_held_fields_without_directives_take_the_one_pass() {
        let schema = Schema::new(MarkedQuery, EmptyMutation, EmptySubscription);
        let answer_of = async |document: &str| {
            let response = schema.execute(document).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            let data = serde_json::to_value(&response.data).unwrap();
            data["marked"]["name"].as_str().unwrap().to_owned()
        };
        for one_pass in [
            "{ marked { name __typename } }",
            "{ marked { ...M } } fragment M on Marked { name }",
            "{ marked { ... on Marked { name } } }",
            "{ marked { name @include(if: true) } }",
        ] {
            assert_eq!(answer_of(one_pass).await, "one pass", "{one_pass}");
        }
        for generic in [
            "{ marked { name rank } }",
            "{ marked { rank ...M } } fragment M on Marked { name }",
        ] {
            assert_eq!(answer_of(generic).await, "generic", "{generic}");
        }
    }

    #[tokio::test]
    async fn the_wrapper_keeps_the_schema_as_it_was() {
        let sdl = schema().sdl();
        assert!(sdl.contains("plain: Badge!"), "{sdl}");
        assert!(sdl.contains("plainList: [Badge!]!"), "{sdl}");
        let (generic, plain) = both_ways("{ name }", "").await;
        assert_eq!(generic, plain);
        let response = schema().execute("{ plainList { name tier } }").await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
    }
}
