//! Generic DataLoaders: one SQL statement per entity type per batch.
//!
//! A subgraph supplies the SQL and a row type; these loaders supply the
//! batching contract the statement-count tests assert on:
//!
//! - [`RowsById`]: `WHERE id = ANY($1)` — entities and references;
//! - [`RowsByParent`]: all children of many parents (small, bounded lists);
//! - [`PagesByParent`]: one cursor page per parent in one statement, with a
//!   `LATERAL` subquery so each parent gets its own `LIMIT`;
//! - [`CountsByParent`]: `GROUP BY parent` counts, zero when absent.
//!
//! Loaders are created per request (see
//! [`crate::GraphqlEndpoint::with_request_data`]) so their caches never
//! serve one viewer's rows to another.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;

use async_graphql::dataloader::Loader;
use sqlx::FromRow;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::database::Database;
use crate::graphql::errors::internal_error;
use crate::pagination::{Cursor, PageArgs};

/// A row with its own id.
pub trait IdentifiedRow {
    fn row_id(&self) -> Uuid;
}

/// A row that belongs to a parent and sorts by a cursor within it.
pub trait ChildRow {
    fn parent_id(&self) -> Uuid;
    fn cursor(&self) -> Cursor;
}

/// Loads rows by id. The SQL takes the ids as `$1::uuid[]`.
pub struct RowsById<Row> {
    database: Database,
    entity: &'static str,
    /// The request's span, current when the loader was created: batches
    /// run in a task the DataLoader spawns, which would otherwise lose the
    /// request's trace.
    request_span: tracing::Span,
    sql: &'static str,
    row: PhantomData<fn() -> Row>,
}

impl<Row> RowsById<Row> {
    pub fn new(database: Database, entity: &'static str, sql: &'static str) -> Self {
        Self {
            database,
            entity,
            request_span: tracing::Span::current(),
            sql,
            row: PhantomData,
        }
    }
}

impl<Row> Loader<Uuid> for RowsById<Row>
where
    Row: IdentifiedRow + for<'r> FromRow<'r, PgRow> + Clone + Send + Sync + Unpin + 'static,
{
    type Value = Row;
    type Error = async_graphql::Error;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.request_span, skip_all, fields(entity = self.entity, batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Row>, Self::Error> {
        crate::metrics::observe_batch(self.entity, keys.len());
        let rows = self
            .database
            .fetch_all(sqlx::query_as::<_, Row>(self.sql).bind(keys))
            .await
            .map_err(internal_error)?;
        Ok(rows.into_iter().map(|row| (row.row_id(), row)).collect())
    }
}

/// Loads every child of many parents. The SQL takes the parent ids as
/// `$1::uuid[]` and must bound the children per parent itself.
pub struct RowsByParent<Row> {
    database: Database,
    entity: &'static str,
    /// The request's span, current when the loader was created: batches
    /// run in a task the DataLoader spawns, which would otherwise lose the
    /// request's trace.
    request_span: tracing::Span,
    sql: &'static str,
    row: PhantomData<fn() -> Row>,
}

impl<Row> RowsByParent<Row> {
    pub fn new(database: Database, entity: &'static str, sql: &'static str) -> Self {
        Self {
            database,
            entity,
            request_span: tracing::Span::current(),
            sql,
            row: PhantomData,
        }
    }
}

impl<Row> Loader<Uuid> for RowsByParent<Row>
where
    Row: ChildRow + for<'r> FromRow<'r, PgRow> + Clone + Send + Sync + Unpin + 'static,
{
    type Value = Vec<Row>;
    type Error = async_graphql::Error;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.request_span, skip_all, fields(entity = self.entity, batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<Row>>, Self::Error> {
        crate::metrics::observe_batch(self.entity, keys.len());
        let rows = self
            .database
            .fetch_all(sqlx::query_as::<_, Row>(self.sql).bind(keys))
            .await
            .map_err(internal_error)?;
        let mut grouped: HashMap<Uuid, Vec<Row>> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            grouped.entry(row.parent_id()).or_default().push(row);
        }
        Ok(grouped)
    }
}

/// The key of one parent's page: which parent, which page, which filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey<Filter> {
    pub parent: Uuid,
    pub page: PageArgs,
    pub filter: Filter,
}

/// Binds a page filter's values after the four page parameters.
pub trait PageFilter: Clone + Eq + Hash + Send + Sync + 'static {
    fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
}

/// No filter: the SQL uses only `$1`–`$4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NoFilter;

impl PageFilter for NoFilter {
    fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
    }
}

/// An optional text filter bound as `$5::text` (NULL when absent), such as a
/// status or kind column compared with `($5::text IS NULL OR kind = $5)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TextFilter(pub Option<&'static str>);

impl PageFilter for TextFilter {
    fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query.bind(self.0)
    }
}

/// Loads one cursor page per parent. The SQL takes `$1::uuid[]` parents,
/// `$2::timestamptz` and `$3::uuid` as the exclusive cursor bound, `$4`
/// as the per-parent row limit, then the filter's parameters; it returns
/// at most `$4` rows per parent, newest first. Keys that share page and
/// filter arguments (the usual case: one field, many parents) share one
/// statement.
pub struct PagesByParent<Row, Filter = NoFilter> {
    database: Database,
    entity: &'static str,
    /// The request's span, current when the loader was created: batches
    /// run in a task the DataLoader spawns, which would otherwise lose the
    /// request's trace.
    request_span: tracing::Span,
    sql: &'static str,
    row: PhantomData<fn() -> (Row, Filter)>,
}

impl<Row, Filter> PagesByParent<Row, Filter> {
    pub fn new(database: Database, entity: &'static str, sql: &'static str) -> Self {
        Self {
            database,
            entity,
            request_span: tracing::Span::current(),
            sql,
            row: PhantomData,
        }
    }
}

impl<Row, Filter> Loader<PageKey<Filter>> for PagesByParent<Row, Filter>
where
    Row: ChildRow + for<'r> FromRow<'r, PgRow> + Clone + Send + Sync + Unpin + 'static,
    Filter: PageFilter,
{
    type Value = Vec<Row>;
    type Error = async_graphql::Error;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.request_span, skip_all, fields(entity = self.entity, batch_size = keys.len()))]
    async fn load(
        &self,
        keys: &[PageKey<Filter>],
    ) -> Result<HashMap<PageKey<Filter>, Vec<Row>>, Self::Error> {
        crate::metrics::observe_batch(self.entity, keys.len());
        let mut groups: HashMap<(PageArgs, Filter), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.page, key.filter.clone()))
                .or_default()
                .push(key.parent);
        }
        let mut pages = HashMap::with_capacity(keys.len());
        for ((page, filter), parents) in groups {
            let (cursor_at, cursor_id) = page.sql_bounds();
            let query = sqlx::query(self.sql)
                .bind(&parents)
                .bind(cursor_at)
                .bind(cursor_id)
                .bind(page.fetch_limit());
            let rows = self
                .database
                .fetch_rows(filter.bind(query))
                .await
                .map_err(internal_error)?;
            let mut by_parent: HashMap<Uuid, Vec<Row>> =
                parents.iter().map(|parent| (*parent, Vec::new())).collect();
            for row in rows {
                let row = Row::from_row(&row).map_err(internal_error)?;
                by_parent.entry(row.parent_id()).or_default().push(row);
            }
            for (parent, rows) in by_parent {
                pages.insert(
                    PageKey {
                        parent,
                        page,
                        filter: filter.clone(),
                    },
                    rows,
                );
            }
        }
        Ok(pages)
    }
}

/// Loads a count per parent. The SQL takes `$1::uuid[]` and returns
/// `(parent uuid, count bigint)` rows; parents without rows count zero.
pub struct CountsByParent {
    database: Database,
    entity: &'static str,
    /// The request's span, current when the loader was created: batches
    /// run in a task the DataLoader spawns, which would otherwise lose the
    /// request's trace.
    request_span: tracing::Span,
    sql: &'static str,
}

impl CountsByParent {
    pub fn new(database: Database, entity: &'static str, sql: &'static str) -> Self {
        Self {
            database,
            entity,
            request_span: tracing::Span::current(),
            sql,
        }
    }
}

impl Loader<Uuid> for CountsByParent {
    type Value = i64;
    type Error = async_graphql::Error;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.request_span, skip_all, fields(entity = self.entity, batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, i64>, Self::Error> {
        crate::metrics::observe_batch(self.entity, keys.len());
        let rows: Vec<(Uuid, i64)> = self
            .database
            .fetch_all(sqlx::query_as(self.sql).bind(keys))
            .await
            .map_err(internal_error)?;
        let mut counts: HashMap<Uuid, i64> = keys.iter().map(|key| (*key, 0)).collect();
        counts.extend(rows);
        Ok(counts)
    }
}

/// The DataLoader type of every per-request loader.
pub type RequestLoader<L> =
    async_graphql::dataloader::DataLoader<L, async_graphql::dataloader::HashMapCache>;

/// A DataLoader spawning its batches on the Tokio runtime, gathering keys
/// for `delay` (the configured `DATALOADER_DELAY_MS`), with a cache that
/// lives as long as the request: an entity asked for twice in one request
/// is read once, and rows a list query already read can be fed to it.
///
/// async-graphql resolves lists of more than 30 items through
/// `FuturesUnordered`, which yields to the runtime every 32 polls; the keys
/// of a 100-item list therefore arrive in waves, and a window shorter than
/// the gap between waves splits one batch into several statements.
pub fn data_loader<L>(loader: L, delay: std::time::Duration) -> RequestLoader<L> {
    async_graphql::dataloader::DataLoader::with_cache(
        loader,
        tokio::spawn,
        async_graphql::dataloader::HashMapCache::default(),
    )
    .delay(delay)
}

/// Parses a GraphQL `ID` as a UUID. Entity resolvers treat a malformed id
/// like an unknown one (a null), so one bad representation cannot fail a
/// whole `_entities` batch.
pub fn parse_id(id: &async_graphql::ID) -> Option<Uuid> {
    Uuid::parse_str(id.as_str()).ok()
}

/// Loads the row with `id` through the request's [`RowsById`] loader; a
/// malformed id is a null, like an unknown one (entity resolvers must not
/// fail a whole `_entities` batch over one bad representation).
pub async fn load_by_id<Row>(
    context: &async_graphql::Context<'_>,
    id: &async_graphql::ID,
) -> async_graphql::Result<Option<Row>>
where
    Row: IdentifiedRow + for<'r> FromRow<'r, PgRow> + Clone + Send + Sync + Unpin + 'static,
{
    let Some(id) = parse_id(id) else {
        return Ok(None);
    };
    context
        .data_unchecked::<RequestLoader<RowsById<Row>>>()
        .load_one(id)
        .await
}

/// Parses an `ID` argument of a root field or mutation, with a
/// `BAD_USER_INPUT` error naming the argument when it is not a UUID.
pub fn parse_id_argument(
    argument: &str,
    id: &async_graphql::ID,
) -> Result<Uuid, async_graphql::Error> {
    parse_id(id).ok_or_else(|| {
        crate::graphql::errors::input_error(argument, format!("`{argument}` is not a valid id."))
    })
}
