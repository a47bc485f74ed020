//! Relay connections: the `connection_type!` macro, which declares a
//! connection and edge type for a node type and builds them from a child
//! page the loaders read (`loaders::load_child_page`). It sits above both
//! `pagination` (cursors, page info) and `loaders`.

// Page info holds every field it answers, so a connection declared with
// `plain_fields` takes the one pass down to it. (Here rather than beside
// `PageInfo`, so that `pagination` stays below `graphql`.)
impl crate::graphql::plain_fields::PlainFields for crate::pagination::PageInfo {
    fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
        let optional_text = |text: &Option<String>| {
            text.as_ref().map_or(async_graphql::Value::Null, |text| {
                async_graphql::Value::String(text.clone())
            })
        };
        Some(match field_name {
            "hasNextPage" => async_graphql::Value::Boolean(self.has_next_page),
            "hasPreviousPage" => async_graphql::Value::Boolean(self.has_previous_page),
            "startCursor" => optional_text(&self.start_cursor),
            "endCursor" => optional_text(&self.end_cursor),
            _ => return None,
        })
    }
}

/// Declares a Relay connection and edge type for one node type.
///
/// Connection types are value types that several subgraphs may define (two
/// subgraphs can both return `OrganizationConnection`), so they are
/// `@shareable`; their definitions come from this one macro and so agree.
///
/// With a trailing `plain_fields`, for a node type that implements
/// [`PlainFields`](crate::graphql::plain_fields::PlainFields), the
/// connection and edge implement it too, so a resolver that returns the
/// connection as a `PlainObject` answers a page of held nodes in one pass.
#[macro_export]
macro_rules! connection_type {
    ($connection:ident, $edge:ident, $node:ty, plain_fields) => {
        $crate::connection_type!($connection, $edge, $node);

        impl $crate::graphql::plain_fields::PlainFields for $edge {
            fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
                (field_name == "cursor").then(|| async_graphql::Value::String(self.cursor.clone()))
            }

            fn plain_object_field(
                &self,
                field_name: &str,
                selection: &$crate::graphql::plain_fields::PlainSelection<'_>,
            ) -> Option<async_graphql::Value> {
                (field_name == "node").then(|| selection.object(&self.node))?
            }
        }

        impl $crate::graphql::plain_fields::PlainFields for $connection {
            fn plain_field(&self, _field_name: &str) -> Option<async_graphql::Value> {
                None
            }

            fn plain_object_field(
                &self,
                field_name: &str,
                selection: &$crate::graphql::plain_fields::PlainSelection<'_>,
            ) -> Option<async_graphql::Value> {
                match field_name {
                    "edges" => selection.list(&self.edges),
                    "pageInfo" => selection.object(&self.page_info),
                    _ => None,
                }
            }
        }
    };
    ($connection:ident, $edge:ident, $node:ty) => {
        #[derive(async_graphql::SimpleObject)]
        #[graphql(shareable)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(async_graphql::SimpleObject)]
        #[graphql(shareable)]
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: $crate::PageInfo,
        }

        impl $connection {
            /// Builds a page from rows fetched with `page.fetch_limit()`.
            pub fn from_rows<Row>(
                page: &$crate::PageArgs,
                rows: Vec<Row>,
                cursor_of: impl Fn(&Row) -> $crate::Cursor,
                into_node: impl Fn(Row) -> $node,
            ) -> Self {
                let (edges, page_info) = page.paginate(rows, cursor_of);
                Self {
                    edges: edges
                        .into_iter()
                        .map(|(cursor, row)| $edge {
                            cursor,
                            node: into_node(row),
                        })
                        .collect(),
                    page_info,
                }
            }

            /// Builds a page from what [`load_child_page`]
            /// ($crate::loaders::load_child_page) read.
            pub fn from_child_page<Row: $crate::loaders::ChildRow>(
                page: $crate::loaders::ChildPage<Row>,
                into_node: impl Fn(Row) -> $node,
            ) -> Self {
                Self::from_rows(
                    &page.page,
                    page.rows,
                    $crate::loaders::ChildRow::cursor,
                    into_node,
                )
            }
        }
    };
}
