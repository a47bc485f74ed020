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
//! with the response keys the generic path would use. A field whose type is
//! an object (or a nullable object, or a list of objects) can take the same
//! pass through [`PlainFields::plain_object_field`], when the objects it
//! holds are [`PlainFields`] themselves and their subselection allows it:
//! a search's connection, its edges, its jobs and their badges are then one
//! pass. Counted the same way, that took employer's JobSearchPage fetch
//! 17 % below the count with plain badges alone.
//!
//! Anything else anywhere in the selection (a field the object resolves
//! asynchronously, a field with arguments, a directive, a fragment on
//! another type, an object field selected twice) and the whole wrapped
//! object goes the generic way, so a field an implementation leaves out
//! makes a selection slower, never different. (A field it maps to the wrong
//! value would be different: the page tests read those values.)
//!
//! The wrapper registers the wrapped type itself, so the schema does not
//! change. It skips async-graphql's per-field extension hooks, which the
//! kit's schemas do not install (see [`super::configure_schema`]).

use std::any::Any;
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

    /// The value of the field named `field_name` whose type is an object,
    /// a nullable object or a list of objects that are themselves
    /// [`PlainFields`], built by `selection` (which holds the field's
    /// subselection); `None` for a field that must be resolved the generic
    /// way. Most objects hold no such field, hence the default.
    fn plain_object_field(
        &self,
        field_name: &str,
        selection: &PlainSelection<'_>,
    ) -> Option<Value> {
        let _ = (field_name, selection);
        None
    }
}

impl<T: PlainFields> PlainFields for std::sync::Arc<T> {
    fn plain_field(&self, field_name: &str) -> Option<Value> {
        T::plain_field(self, field_name)
    }

    fn plain_object_field(
        &self,
        field_name: &str,
        selection: &PlainSelection<'_>,
    ) -> Option<Value> {
        T::plain_object_field(self, field_name, selection)
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
        let selection = PlainSelection {
            context,
            selection_set: &context.item.node,
        };
        match selection.object(&self.0) {
            Some(value) => Ok(value),
            None => self.0.resolve(context, field).await,
        }
    }
}

/// The subselection of a field that [`PlainFields::plain_object_field`]
/// answers, and the request it belongs to.
pub struct PlainSelection<'a> {
    context: &'a ContextSelectionSet<'a>,
    selection_set: &'a SelectionSet,
}

impl<'a> PlainSelection<'a> {
    /// The value of `object` for this selection, or `None` when some part
    /// of the selection needs the generic path.
    pub fn object<T: PlainFields>(&self, object: &T) -> Option<Value> {
        let type_name = object.introspection_type_name();
        let mut values = IndexMap::new();
        self.collect_plain_values(self.selection_set, object, &type_name, &mut values)?;
        // The generic path answers an object nothing was selected of with null.
        if values.is_empty() {
            Some(Value::Null)
        } else {
            Some(Value::Object(values))
        }
    }

    /// [`Self::object`] for a nullable object: null for `None`.
    pub fn optional_object<T: PlainFields>(&self, object: Option<&T>) -> Option<Value> {
        match object {
            Some(object) => self.object(object),
            None => Some(Value::Null),
        }
    }

    /// [`Self::object`] for each of `objects`, as a list; `None` when any
    /// one of them needs the generic path.
    pub fn list<'item, T: PlainFields + 'item>(
        &self,
        objects: impl IntoIterator<Item = &'item T>,
    ) -> Option<Value> {
        let values = objects
            .into_iter()
            .map(|object| self.object(object))
            .collect::<Option<Vec<Value>>>()?;
        Some(Value::List(values))
    }

    /// The request's data of type `D` (a subgraph's loaders, say), as a
    /// resolver would read it from its context.
    pub fn data<D: Any + Send + Sync>(&self) -> Option<&'a D> {
        self.context.data_opt::<D>()
    }

    fn collect_plain_values<T: PlainFields>(
        &self,
        selection_set: &'a SelectionSet,
        object: &T,
        type_name: &str,
        values: &mut IndexMap<Name, Value>,
    ) -> Option<()> {
        for selection in &selection_set.items {
            // A fragment with a directive, or on another type (an interface
            // the object implements, say), is left to the generic path.
            let (fragment_applies, fragment_selection) = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if !(field.directives.is_empty() && field.arguments.is_empty()) {
                        return None;
                    }
                    let response_key = &field.response_key().node;
                    let subselection = &field.selection_set.node;
                    let value = if subselection.items.is_empty() {
                        // A response key selected twice keeps its first
                        // value, as the generic path does for values that
                        // are not objects.
                        if values.contains_key(response_key) {
                            continue;
                        }
                        match field.name.node.as_str() {
                            "__typename" => Value::String(type_name.to_owned()),
                            field_name => object.plain_field(field_name)?,
                        }
                    } else {
                        // The generic path merges the objects of a key
                        // selected twice; that is left to it.
                        if values.contains_key(response_key) {
                            return None;
                        }
                        let nested = PlainSelection {
                            context: self.context,
                            selection_set: subselection,
                        };
                        object.plain_object_field(field.name.node.as_str(), &nested)?
                    };
                    values.insert(response_key.clone(), value);
                    continue;
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self
                        .context
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
            self.collect_plain_values(&fragment_selection.node, object, type_name, values)?;
        }
        Some(())
    }
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

    /// Holds badges in each of the shapes `plain_object_field` answers.
    #[derive(Clone, SimpleObject)]
    struct Shelf {
        label: String,
        featured: Badge,
        spare: Option<Badge>,
        missing: Option<Badge>,
        all: Vec<Badge>,
    }

    impl PlainFields for Shelf {
        fn plain_field(&self, field_name: &str) -> Option<Value> {
            use async_graphql::ScalarType;
            (field_name == "label").then(|| self.label.to_value())
        }

        fn plain_object_field(
            &self,
            field_name: &str,
            selection: &PlainSelection<'_>,
        ) -> Option<Value> {
            match field_name {
                "featured" => selection.object(&self.featured),
                "spare" => selection.optional_object(self.spare.as_ref()),
                "missing" => selection.optional_object(self.missing.as_ref()),
                "all" => selection.list(&self.all),
                _ => None,
            }
        }
    }

    fn shelf() -> Shelf {
        let mut second = badge();
        second.name = "Second".to_owned();
        second.logo_url = Some("https://example.com/logo.png".to_owned());
        Shelf {
            label: "Shelf".to_owned(),
            featured: badge(),
            spare: Some(second.clone()),
            missing: None,
            all: vec![badge(), second],
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

        async fn generic_shelf(&self) -> Shelf {
            shelf()
        }

        async fn plain_shelf(&self) -> PlainObject<Shelf> {
            PlainObject(shelf())
        }
    }

    fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::new(Query, EmptyMutation, EmptySubscription)
    }

    /// Runs `selection` on the generic field and on the wrapped one and
    /// returns both answers as JSON text.
    async fn both_ways(selection: &str, fragments: &str) -> (String, String) {
        both_ways_on(["generic", "plain"], selection, fragments).await
    }

    async fn both_ways_on(fields: [&str; 2], selection: &str, fragments: &str) -> (String, String) {
        let schema = schema();
        let mut answers = Vec::new();
        for field in fields {
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

    #[tokio::test]
    async fn nested_objects_lists_and_nulls_answer_as_the_generic_path_does() {
        let selections = [
            ("{ label featured { name rank } }", ""),
            (
                "{ all { name logoUrl } spare { ...B } missing { name } __typename }",
                "fragment B on Badge { tier __typename }",
            ),
            ("{ ... on Shelf { first: featured { name } label } }", ""),
            ("{ featured { name shouted } all { rank } }", ""),
            ("{ featured { name } featured { rank } }", ""),
            ("{ all { name } all { tier } label }", ""),
        ];
        for (selection, fragments) in selections {
            let (generic, plain) =
                both_ways_on(["genericShelf", "plainShelf"], selection, fragments).await;
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
        child: Option<Box<Marked>>,
    }

    impl PlainFields for Marked {
        fn plain_field(&self, field_name: &str) -> Option<Value> {
            (field_name == "name").then(|| Value::from("one pass"))
        }

        fn plain_object_field(
            &self,
            field_name: &str,
            selection: &PlainSelection<'_>,
        ) -> Option<Value> {
            (field_name == "child").then(|| selection.optional_object(self.child.as_deref()))?
        }
    }

    struct MarkedQuery;

    #[Object]
    impl MarkedQuery {
        async fn marked(&self) -> PlainObject<Marked> {
            PlainObject(Marked {
                name: "generic".to_owned(),
                rank: 1,
                child: Some(Box::new(Marked {
                    name: "generic".to_owned(),
                    rank: 2,
                    child: None,
                })),
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
            "{ marked { name child { name child { name } } } }",
        ] {
            assert_eq!(answer_of(one_pass).await, "one pass", "{one_pass}");
        }
        for generic in [
            "{ marked { name rank } }",
            "{ marked { rank ...M } } fragment M on Marked { name }",
            // A field only the generic path answers, one level down, sends
            // the whole object the generic way.
            "{ marked { name child { rank } } }",
            "{ marked { name child { name } child { name } } }",
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
