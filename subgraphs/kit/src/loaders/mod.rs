//! Generic DataLoaders: one SQL statement per entity type per batch.
//!
//! A subgraph supplies the SQL and a row type; these loaders supply the
//! batching contract the statement-count tests assert on:
//!
//! - [`RowsById`]: `WHERE id = ANY($1)` — entities and references;
//! - [`RowsByParent`]: all children of many parents (small, bounded lists);
//! - [`PagesByParent`]: one cursor page per parent in one statement, with a
//!   `LATERAL` subquery so each parent gets its own `LIMIT` (its SQL comes
//!   from [`child_page_sql!`](crate::child_page_sql));
//! - [`CountsByParent`]: `GROUP BY parent` counts, zero when absent;
//! - [`CountsWithSubjectByParent`]: those counts together with whether one
//!   subject (the viewer) is among each parent's counted rows;
//! - [`FlagsByKey`]: a yes/no per key, no when absent.
//!
//! Each subgraph gathers its loaders in one struct that implements
//! [`RequestLoaders`]. The kit builds that struct afresh for every request
//! (so caches never serve one viewer's rows to another) and resolvers read
//! it with `Loaders::of(context)`: a typed field access, so a loader that
//! was never built is a compile error rather than a panic mid-request.

use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use sqlx::FromRow;
use sqlx::postgres::PgRow;
use uuid::Uuid;

mod cached;
mod flags;

pub use crate::batching::RequestLoader;
use crate::batching::{BatchGathering, BatchLoad, LoaderMap};
use crate::database::Database;
use crate::errors::{database_failure, internal_error};
use crate::pagination::{Cursor, PageArgs};
pub use cached::CachedRowsById;
pub use flags::FlagsByKey;

/// What a subgraph's loader constructor gets for each request.
pub struct LoaderScope<'a> {
    pub database: &'a Database,
    /// When the request's loaders load a batch (`DATALOADER_DELAY_MS`:
    /// zero, the default, means when the request goes idle).
    pub gathering: BatchGathering,
    pub request: &'a crate::RequestContext,
}

impl LoaderScope<'_> {
    /// A per-request DataLoader around `loader`.
    pub fn loader<L: BatchLoad>(&self, loader: L) -> RequestLoader<L> {
        RequestLoader::new(loader, self.gathering.clone())
    }

    /// The statement a loader runs, tied to this request's database and
    /// trace; see [`BatchStatement`].
    pub fn statement(&self, entity: &'static str, sql: &'static str) -> BatchStatement {
        BatchStatement::new(self.database, entity, sql)
    }
}

/// A subgraph's per-request loaders, as one struct.
///
/// The kit calls [`RequestLoaders::for_request`] for every request and puts
/// the result into the request's data; resolvers reach it through
/// [`RequestLoaders::of`].
pub trait RequestLoaders: Send + Sync + Sized + 'static {
    fn for_request(scope: &LoaderScope<'_>) -> Self;

    /// The loaders of the request a resolver runs in. The kit registers
    /// them for every request of an app built for this subgraph, so the
    /// lookup cannot miss.
    fn of<'a>(context: &'a async_graphql::Context<'_>) -> &'a Self {
        context.data_unchecked::<Self>()
    }
}

/// One batched statement: its SQL, the database it runs on, the entity name
/// for metrics and spans, and the request's span.
///
/// The span is the one current when the loaders were built: batches run in
/// a task the DataLoader spawns, which would otherwise lose the request's
/// trace.
pub struct BatchStatement {
    pub(crate) database: Database,
    pub(crate) entity: &'static str,
    pub(crate) request_span: tracing::Span,
    pub(crate) sql: &'static str,
}

impl BatchStatement {
    /// A statement in the current span (tools and tests; a request's
    /// loaders take theirs from [`LoaderScope::statement`]).
    pub fn new(database: &Database, entity: &'static str, sql: &'static str) -> Self {
        Self {
            database: database.clone(),
            entity,
            request_span: tracing::Span::current(),
            sql,
        }
    }

    pub(crate) fn observe(&self, batch_size: usize) {
        crate::metrics::observe_batch(self.entity, batch_size);
    }
}

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
///
/// Each row comes shared (`Arc`): a batch hands its value to every resolver
/// that asked for the key and keeps it for the rest of the request, and an
/// organization's card, say, is asked for by each of its four fields next
/// to every job on a page. Cloning the row for each of them allocated
/// every string in it again; a resolver now copies only the field it
/// returns.
pub struct RowsById<Row> {
    statement: BatchStatement,
    row: PhantomData<fn() -> Row>,
}

impl<Row> RowsById<Row> {
    pub fn new(statement: BatchStatement) -> Self {
        Self {
            statement,
            row: PhantomData,
        }
    }
}

impl<Row> BatchLoad for RowsById<Row>
where
    Row: IdentifiedRow + for<'r> FromRow<'r, PgRow> + Send + Sync + Unpin + 'static,
{
    type Value = Arc<Row>;
    type Key = Uuid;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.statement.request_span, skip_all, fields(entity = self.statement.entity, batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> async_graphql::Result<LoaderMap<Uuid, Arc<Row>>> {
        self.statement.observe(keys.len());
        let rows = self
            .statement
            .database
            .fetch_all(sqlx::query_as::<_, Row>(self.statement.sql).bind(keys))
            .await
            .map_err(database_failure)?;
        Ok(rows
            .into_iter()
            .map(|row| (row.row_id(), Arc::new(row)))
            .collect())
    }
}

/// Loads every child of many parents. The SQL takes the parent ids as
/// `$1::uuid[]` and must bound the children per parent itself. A parent's
/// children come shared, as [`RowsById`]'s rows do.
pub struct RowsByParent<Row> {
    statement: BatchStatement,
    row: PhantomData<fn() -> Row>,
}

impl<Row> RowsByParent<Row> {
    pub fn new(statement: BatchStatement) -> Self {
        Self {
            statement,
            row: PhantomData,
        }
    }
}

impl<Row> BatchLoad for RowsByParent<Row>
where
    Row: ChildRow + for<'r> FromRow<'r, PgRow> + Send + Sync + Unpin + 'static,
{
    type Value = Arc<[Row]>;
    type Key = Uuid;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.statement.request_span, skip_all, fields(entity = self.statement.entity, batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> async_graphql::Result<LoaderMap<Uuid, Arc<[Row]>>> {
        self.statement.observe(keys.len());
        let rows = self
            .statement
            .database
            .fetch_all(sqlx::query_as::<_, Row>(self.statement.sql).bind(keys))
            .await
            .map_err(database_failure)?;
        let mut grouped: LoaderMap<Uuid, Vec<Row>> =
            keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            grouped.entry(row.parent_id()).or_default().push(row);
        }
        Ok(grouped
            .into_iter()
            .map(|(parent, rows)| (parent, Arc::from(rows)))
            .collect())
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
/// at most `$4` rows per parent, newest first. [`child_page_sql!`]
/// (crate::child_page_sql) writes such a statement. Keys that share page
/// and filter arguments (the usual case: one field, many parents) share
/// one statement.
pub struct PagesByParent<Row, Filter = NoFilter> {
    statement: BatchStatement,
    row: PhantomData<fn() -> (Row, Filter)>,
}

impl<Row, Filter> PagesByParent<Row, Filter> {
    pub fn new(statement: BatchStatement) -> Self {
        Self {
            statement,
            row: PhantomData,
        }
    }
}

impl<Row, Filter> BatchLoad for PagesByParent<Row, Filter>
where
    Row: ChildRow + for<'r> FromRow<'r, PgRow> + Send + Sync + Unpin + 'static,
    Filter: PageFilter,
{
    type Value = Arc<[Row]>;
    type Key = PageKey<Filter>;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.statement.request_span, skip_all, fields(entity = self.statement.entity, batch_size = keys.len()))]
    async fn load(
        &self,
        keys: &[PageKey<Filter>],
    ) -> async_graphql::Result<LoaderMap<PageKey<Filter>, Arc<[Row]>>> {
        self.statement.observe(keys.len());
        let mut groups: LoaderMap<(PageArgs, Filter), Vec<Uuid>> = LoaderMap::default();
        for key in keys {
            groups
                .entry((key.page, key.filter.clone()))
                .or_default()
                .push(key.parent);
        }
        let mut pages = LoaderMap::with_capacity_and_hasher(keys.len(), Default::default());
        for ((page, filter), parents) in groups {
            let (cursor_at, cursor_id) = page.sql_bounds();
            let query = sqlx::query(self.statement.sql)
                .bind(&parents)
                .bind(cursor_at)
                .bind(cursor_id)
                .bind(page.fetch_limit());
            let rows = self
                .statement
                .database
                .fetch_rows(filter.bind(query))
                .await
                .map_err(database_failure)?;
            let mut by_parent: LoaderMap<Uuid, Vec<Row>> =
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
                    Arc::from(rows),
                );
            }
        }
        Ok(pages)
    }
}

/// One parent's page of a nested list, as [`load_child_page`] read it.
pub struct ChildPage<Row> {
    pub page: PageArgs,
    pub rows: Vec<Row>,
}

/// Reads one parent's page of a nested list (`Organization.jobs(first:,
/// after:)` and the like) through the request's [`PagesByParent`] loader,
/// after validating `first` and `after`. Turn the result into a connection
/// with the `from_child_page` that [`connection_type!`](crate::connection_type)
/// declares.
pub async fn load_child_page<Row, Filter>(
    loader: &RequestLoader<PagesByParent<Row, Filter>>,
    parent: Uuid,
    first: Option<i32>,
    after: Option<String>,
    filter: Filter,
) -> async_graphql::Result<ChildPage<Row>>
where
    Row: ChildRow + for<'r> FromRow<'r, PgRow> + Clone + Send + Sync + Unpin + 'static,
    Filter: PageFilter,
{
    let page = PageArgs::new(first, after.as_deref())?;
    let rows = loader
        .load_one(PageKey {
            parent,
            page,
            filter,
        })
        .await?
        .unwrap_or_default();
    // The loader keeps the shared page for the rest of the request; the
    // connection owns its rows.
    Ok(ChildPage {
        page,
        rows: rows.to_vec(),
    })
}

/// Writes the statement a [`PagesByParent`] loader runs: for each parent in
/// `$1`, at most `$4` rows after the cursor `($2, $3)`, newest first, with
/// an optional extra condition (whose parameters start at `$5`).
///
/// Every argument is a string literal or a macro expanding to one, so the
/// result is a `&'static str` built at compile time from the store's one
/// column list.
#[macro_export]
macro_rules! child_page_sql {
    (
        select: $columns:expr,
        from: $table:literal,
        parent: $parent:literal,
        $(filter: $filter:literal,)?
        order: ($at:literal, $id:literal) $(,)?
    ) => {
        concat!(
            "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL (SELECT ",
            $columns,
            " FROM ",
            $table,
            " WHERE ",
            $parent,
            " = parent.id",
            $(" AND ", $filter,)?
            " AND (",
            $at,
            ", ",
            $id,
            ") < ($2, $3) ORDER BY ",
            $at,
            " DESC, ",
            $id,
            " DESC LIMIT $4) page"
        )
    };
}

/// Loads a count per parent. The SQL takes `$1::uuid[]` and returns
/// `(parent uuid, count bigint)` rows; parents without rows count zero.
pub struct CountsByParent {
    statement: BatchStatement,
}

impl CountsByParent {
    pub fn new(statement: BatchStatement) -> Self {
        Self { statement }
    }
}

impl BatchLoad for CountsByParent {
    type Value = i64;
    type Key = Uuid;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.statement.request_span, skip_all, fields(entity = self.statement.entity, batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> async_graphql::Result<LoaderMap<Uuid, i64>> {
        self.statement.observe(keys.len());
        let rows: Vec<(Uuid, i64)> = self
            .statement
            .database
            .fetch_all(sqlx::query_as(self.statement.sql).bind(keys))
            .await
            .map_err(database_failure)?;
        let mut counts: LoaderMap<Uuid, i64> = keys.iter().map(|key| (*key, 0)).collect();
        counts.extend(rows);
        Ok(counts)
    }
}

/// A parent's count, and whether one subject is among the rows counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountWithSubject {
    pub count: i64,
    pub includes_subject: bool,
}

/// Loads a count per parent together with whether one subject is among each
/// parent's counted rows: "how many active applications has this job, and
/// is one of them the viewer's?". A page that shows both asked them of two
/// loaders, a count and a flag, which cost two statements over the same
/// rows; this loader answers both in one.
///
/// The SQL takes the parents as `$1::uuid[]` and the subject as `$2::uuid`,
/// null for an anonymous viewer (a null matches no row), and returns
/// `(parent uuid, count bigint, includes_subject bool)` rows. Parents
/// without rows count zero and do not include the subject.
pub struct CountsWithSubjectByParent {
    statement: BatchStatement,
    subject: Option<Uuid>,
}

impl CountsWithSubjectByParent {
    pub fn new(statement: BatchStatement, subject: Option<Uuid>) -> Self {
        Self { statement, subject }
    }
}

impl BatchLoad for CountsWithSubjectByParent {
    type Value = CountWithSubject;
    type Key = Uuid;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.statement.request_span, skip_all, fields(entity = self.statement.entity, batch_size = keys.len()))]
    async fn load(
        &self,
        keys: &[Uuid],
    ) -> async_graphql::Result<LoaderMap<Uuid, CountWithSubject>> {
        self.statement.observe(keys.len());
        let rows: Vec<(Uuid, i64, bool)> = self
            .statement
            .database
            .fetch_all(
                sqlx::query_as(self.statement.sql)
                    .bind(keys)
                    .bind(self.subject),
            )
            .await
            .map_err(database_failure)?;
        let mut tallies: LoaderMap<Uuid, CountWithSubject> = keys
            .iter()
            .map(|key| (*key, CountWithSubject::default()))
            .collect();
        tallies.extend(rows.into_iter().map(|(parent, count, includes_subject)| {
            (
                parent,
                CountWithSubject {
                    count,
                    includes_subject,
                },
            )
        }));
        Ok(tallies)
    }
}

/// Loads the entity with `id` through `loader`; a malformed id is a null,
/// like an unknown one (entity resolvers must not fail a whole `_entities`
/// batch over one bad representation).
pub async fn load_entity<Load, Row>(
    loader: &RequestLoader<Load>,
    id: &async_graphql::ID,
) -> async_graphql::Result<Option<Row>>
where
    Load: BatchLoad<Key = Uuid, Value = Arc<Row>>,
    Row: Clone + Send + Sync + 'static,
{
    let Some(id) = crate::input::parse_id(id) else {
        return Ok(None);
    };
    // The loader keeps the shared row for the rest of the request, so this
    // is the one copy the entity's resolver owns.
    Ok(loader.load_one(id).await?.map(Arc::unwrap_or_clone))
}

/// Implements [`IdentifiedRow`] for a row type from the field that holds
/// its id: `identified_row!(Job, id);`.
#[macro_export]
macro_rules! identified_row {
    ($row:ty, $id:ident) => {
        impl $crate::loaders::IdentifiedRow for $row {
            fn row_id(&self) -> $crate::reexports::uuid::Uuid {
                self.$id
            }
        }
    };
}

/// Implements [`ChildRow`] for a row type: the field naming its parent and
/// the two fields of its cursor, `child_row!(Job, parent: organization_id,
/// cursor: (posted_at, id));`. A list that is bounded and ranked rather than
/// paged (`Internship.skills`) has no timestamp: `cursor: (unordered, id)`
/// keeps the id alone.
#[macro_export]
macro_rules! child_row {
    ($row:ty, parent: $parent:ident, cursor: (unordered, $id:ident)) => {
        impl $crate::loaders::ChildRow for $row {
            fn parent_id(&self) -> $crate::reexports::uuid::Uuid {
                self.$parent
            }
            fn cursor(&self) -> $crate::Cursor {
                $crate::Cursor::new(
                    $crate::reexports::chrono::DateTime::<$crate::reexports::chrono::Utc>::UNIX_EPOCH,
                    self.$id,
                )
            }
        }
    };
    ($row:ty, parent: $parent:ident, cursor: ($at:ident, $id:ident)) => {
        impl $crate::loaders::ChildRow for $row {
            fn parent_id(&self) -> $crate::reexports::uuid::Uuid {
                self.$parent
            }
            fn cursor(&self) -> $crate::Cursor {
                $crate::Cursor::new(self.$at, self.$id)
            }
        }
    };
}
