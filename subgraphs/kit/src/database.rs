//! The PostgreSQL handle every subgraph uses, with statement counting.
//!
//! All SQL goes through [`Database`] (or a [`Transaction`] it opened) rather
//! than through the sqlx pool directly. That gives one place to count the
//! statements a request costs — the number the batching tests assert on —
//! and one place to put a tracing span around every statement. It is also
//! where connections come from: statements take them through
//! [`kept_connections`], which spares sqlx's check on the way back to its
//! pool when a statement ran to its end.

mod kept_connections;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgPoolOptions, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Execute, FromRow, PgPool, Postgres};

use kept_connections::ConnectionKeeper;

/// A database failure. Its detail is for logs only: clients see a masked
/// internal error unless a subgraph maps a constraint to a user-facing one.
///
/// It deliberately implements neither `Display` nor `std::error::Error`.
/// async-graphql converts any `Display` type into a code-less GraphQL error
/// with `?`, which would let a resolver forget the mapping to its domain
/// error; without `Display` such a `?` does not compile, and the only ways
/// out are a domain error's `From<DatabaseError>` or
/// [`crate::errors::database_failure`]. Logs read the detail through
/// [`DatabaseError::detail`].
#[derive(Debug)]
pub struct DatabaseError {
    source: sqlx::Error,
}

impl From<sqlx::Error> for DatabaseError {
    fn from(source: sqlx::Error) -> Self {
        Self { source }
    }
}

impl DatabaseError {
    /// The underlying sqlx error, for logs and for callers (start-up code,
    /// tools) that print it to an operator.
    pub fn detail(&self) -> &sqlx::Error {
        &self.source
    }

    /// The violated constraint's name, when PostgreSQL reported one. Subgraphs
    /// map well-known constraint names to typed, user-facing errors.
    pub fn constraint(&self) -> Option<&str> {
        match &self.source {
            sqlx::Error::Database(error) => error.constraint(),
            _ => None,
        }
    }

    /// Whether this is a unique-constraint violation on `constraint`.
    pub fn is_unique_violation_of(&self, constraint: &str) -> bool {
        match &self.source {
            sqlx::Error::Database(error) => {
                error.is_unique_violation() && error.constraint() == Some(constraint)
            }
            _ => false,
        }
    }
}

/// How the pool that serves requests is set up (from the configuration's
/// `DATABASE_*` variables).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServingPool {
    pub max_connections: u32,
    /// How long a request waits for a connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection.
    pub statement_timeout: Duration,
    /// A connection idle at least this long is pinged before it is handed
    /// out, so one the server or the network dropped is replaced instead of
    /// failing a request. Zero pings every connection on every hand-out
    /// (sqlx's default), one extra round trip per statement, and then no
    /// connection is kept between statements either.
    pub check_idle_after: Duration,
    /// Whether a connection whose statement ran to its end goes straight
    /// to the next statement instead of back to sqlx's pool, which pings
    /// every connection it takes back (see
    /// `database/kept_connections.rs`).
    pub keep_connections: bool,
    /// PostgreSQL's `random_page_cost` on every connection.
    pub random_page_cost: RandomPageCost,
    /// PostgreSQL's `plan_cache_mode` on every connection.
    pub plan_cache_mode: PlanCacheMode,
}

/// Whether PostgreSQL plans a prepared statement anew for the values of
/// each call or keeps one plan for any values (`plan_cache_mode`).
///
/// Every statement a subgraph runs is prepared once per connection and
/// then run thousands of times with other keys. In PostgreSQL's `auto`, it
/// plans the first five calls for their values, then keeps planning per
/// call whenever that plan looks cheaper than the one for any values (the
/// generic plan). For a batched lookup of a single key it always does,
/// because the generic plan prices an array of unknown length as ten keys;
/// and single keys are what a viewer's own page asks for (an account, a
/// profile, the saved jobs of one user). Under JobseekerDashboardPage,
/// `pg_stat_statements` counted 1,106 plans in 1,103 calls for seven of the
/// page's ten statements, each plan 0.04–0.12 ms against 0.02–0.05 ms of
/// execution: planning was 60 % of those statements' time. The subgraphs'
/// statements are key lookups, keyed pages and searches written per filter
/// combination, whose best plan does not depend on the values, so
/// `force_generic_plan` plans each once per connection. A statement that
/// filters a skewed column by a parameter would want `auto` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanCacheMode {
    /// PostgreSQL's default: it decides per statement, as described above.
    Auto,
    /// One plan per prepared statement and connection, for any values.
    ForceGenericPlan,
    /// A plan for the values of every call.
    ForceCustomPlan,
}

impl PlanCacheMode {
    /// What a configuration value must look like, for error messages.
    pub const EXPECTED: &'static str = "auto, force_generic_plan or force_custom_plan";

    /// The setting's value as PostgreSQL spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::ForceGenericPlan => "force_generic_plan",
            Self::ForceCustomPlan => "force_custom_plan",
        }
    }
}

impl std::str::FromStr for PlanCacheMode {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Auto, Self::ForceGenericPlan, Self::ForceCustomPlan]
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or(())
    }
}

/// What PostgreSQL's planner charges for reading a page out of order, the
/// step of an index lookup, relative to a page read in sequence (1.0).
///
/// PostgreSQL's default, 4, models a disk that seeks. The subgraphs' tables
/// are small enough to stay in memory, where an out-of-order read costs
/// about what a sequential one does, and almost every statement a request
/// runs is a batched key lookup (`WHERE job_id = ANY($1)`). Priced at 4, a
/// lookup of ten keys in a table of a few hundred rows looks dearer than
/// reading the whole table, so PostgreSQL scans it: on the demo world's
/// job promotions (715 rows) that is 0.09 ms against 0.02 ms through the
/// primary key. Worse, the plan it keeps for a prepared statement (the
/// generic plan, with the keys unknown) chooses the index and is priced
/// above the scan it plans for the actual keys, so PostgreSQL plans such a
/// statement again on every call. At 1.1 the index wins both ways and the
/// generic plan is kept. (A lookup of a single key would still be planned
/// on every call; [`PlanCacheMode`] is what keeps its plan.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomPageCost(f64);

impl RandomPageCost {
    /// The usual setting for data that lives in memory or on SSDs.
    pub const MEMORY_RESIDENT: Self = Self(1.1);

    /// What a configuration value must look like, for error messages.
    pub const EXPECTED: &'static str = "a number above 0 and at most 1000, such as 1.1";

    /// A cost PostgreSQL accepts and that means something: finite, above
    /// zero, and not beyond any real device (PostgreSQL itself would take
    /// up to 1.8e308).
    pub fn new(cost: f64) -> Option<Self> {
        (cost.is_finite() && cost > 0.0 && cost <= 1000.0).then_some(Self(cost))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl std::str::FromStr for RandomPageCost {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<f64>().ok().and_then(Self::new).ok_or(())
    }
}

/// A snapshot of a pool's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStatus {
    pub database: String,
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// A pooled PostgreSQL connection handle that counts every statement it runs.
///
/// Cloning is cheap and clones share the pool and the counter.
#[derive(Clone, Debug)]
pub struct Database {
    pool: PgPool,
    /// The connections statements left ready, and the permits every user
    /// of `pool` takes first; shared by clones, since they share the pool.
    keeper: Arc<ConnectionKeeper>,
    statements_executed: Arc<AtomicU64>,
}

/// How long a pool made by [`Database::connect`] or [`Database::from_pool`]
/// keeps a connection unchecked; the serving pool's default.
const DEFAULT_CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

impl Database {
    /// The pool's connections now, for the metrics endpoint.
    pub fn pool_status(&self) -> PoolStatus {
        PoolStatus {
            database: self
                .pool
                .connect_options()
                .get_database()
                .unwrap_or("default")
                .to_owned(),
            size: self.pool.size(),
            // Kept connections wait for the next statement as idle ones do;
            // sqlx counts them as in use.
            idle: u32::try_from(self.pool.num_idle() + self.keeper.kept_count())
                .unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Connects a pool to `url`.
    #[tracing::instrument(skip_all, fields(max_connections))]
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, sqlx::Error> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .connect(url)
            .await?;
        Ok(Self::from_pool(pool))
    }

    /// The pool a subgraph serves requests from, set up as `pool` says:
    /// PostgreSQL's `statement_timeout`, `random_page_cost` and
    /// `plan_cache_mode` on every connection, idle connections checked
    /// before use only when they have been idle a while (see
    /// [`ServingPool::check_idle_after`]), and connections kept between
    /// statements unless [`ServingPool::keep_connections`] is off.
    pub async fn connect_serving(url: &str, pool: &ServingPool) -> Result<Self, sqlx::Error> {
        let options: sqlx::postgres::PgConnectOptions = url.parse()?;
        let options = options.options([
            (
                "statement_timeout",
                format!("{}ms", pool.statement_timeout.as_millis()),
            ),
            ("random_page_cost", pool.random_page_cost.get().to_string()),
            ("plan_cache_mode", pool.plan_cache_mode.as_str().to_owned()),
        ]);
        let check_idle_after = pool.check_idle_after;
        let keep_unchecked_for = if pool.keep_connections {
            check_idle_after
        } else {
            Duration::ZERO
        };
        let mut pool_options = PgPoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout);
        if !check_idle_after.is_zero() {
            // sqlx's own check pings every connection it hands out, which
            // costs each statement a second round trip to PostgreSQL. This
            // hook pings only connections idle long enough to have been
            // dropped by the server or the network in between; an error
            // discards the connection and the pool hands out another.
            pool_options = pool_options.test_before_acquire(false).before_acquire(
                move |connection, metadata| {
                    Box::pin(async move {
                        if metadata.idle_for >= check_idle_after {
                            sqlx::Connection::ping(connection).await?;
                        }
                        Ok(true)
                    })
                },
            );
        }
        let pool = pool_options.connect_with(options).await?;
        Ok(Self::keeping_connections(pool, keep_unchecked_for))
    }

    /// Wraps an existing pool, starting a fresh statement counter.
    pub fn from_pool(pool: PgPool) -> Self {
        Self::keeping_connections(pool, DEFAULT_CHECK_IDLE_AFTER)
    }

    /// Wraps `pool`, keeping connections between statements for up to
    /// `keep_unchecked_for` (none when it is zero).
    fn keeping_connections(pool: PgPool, keep_unchecked_for: Duration) -> Self {
        let keeper = ConnectionKeeper::new(
            pool.options().get_max_connections(),
            keep_unchecked_for,
            pool.options().get_max_lifetime(),
        );
        Self {
            pool,
            keeper: Arc::new(keeper),
            statements_executed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The same pool with a statement counter of its own, for background
    /// work (the outbox relay, event consumers) whose statements must not be
    /// counted against the requests that tests and metrics measure.
    pub fn with_separate_counter(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            keeper: self.keeper.clone(),
            statements_executed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Runs a script of several statements (a migration's text) as one
    /// simple query; for tests and tools, not for requests.
    pub async fn execute_script(&self, script: &'static str) -> Result<(), DatabaseError> {
        self.count_statement();
        let _permit = self.keeper.permit_for_pool(&self.pool).await?;
        sqlx::raw_sql(script).execute(&self.pool).await?;
        Ok(())
    }

    /// A pool of one connection to the same database, apart from this
    /// handle's pool, for a task that holds its connection for as long as
    /// it runs (the outbox relay's `LISTEN`). Taken from the serving pool,
    /// such a connection leaves the requests one fewer than
    /// `DATABASE_MAX_CONNECTIONS` says, and none at all when it is 1.
    /// Connects lazily: the first acquire opens the connection.
    pub(crate) fn dedicated_single_connection(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(self.pool.options().get_acquire_timeout())
            .connect_lazy_with((*self.pool.connect_options()).clone())
    }

    /// Applies the migrations embedded in `migrator` that have not run yet.
    #[tracing::instrument(skip_all)]
    pub async fn run_migrations(
        &self,
        migrator: &Migrator,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        let _permit = self
            .keeper
            .permit_for_pool(&self.pool)
            .await
            .map_err(sqlx::migrate::MigrateError::Execute)?;
        migrator.run(&self.pool).await
    }

    /// How many statements this handle (and its clones and transactions)
    /// has sent to PostgreSQL so far, `BEGIN` and `COMMIT` included.
    pub fn statements_executed(&self) -> u64 {
        self.statements_executed.load(Ordering::SeqCst)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.keeper.close();
        self.pool.close().await;
    }

    /// Checks that the database answers, for the readiness probe.
    #[tracing::instrument(skip_all)]
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        self.execute(sqlx::query("SELECT 1")).await.map(|_| ())
    }

    fn count_statement(&self) {
        self.statements_executed.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs a query and returns all rows.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn fetch_all<'q, O>(
        &self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<Vec<O>, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.count_statement();
        let mut lease = self.keeper.lease(&self.pool).await?;
        let rows = query.fetch_all(lease.connection()).await?;
        lease.finished();
        tracing::Span::current().record("db.rows", rows.len());
        Ok(rows)
    }

    /// Runs a query and returns the raw rows, for callers that bind
    /// parameters generically and map rows themselves.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn fetch_rows<'q>(
        &self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Result<Vec<PgRow>, DatabaseError> {
        self.count_statement();
        let mut lease = self.keeper.lease(&self.pool).await?;
        let rows = query.fetch_all(lease.connection()).await?;
        lease.finished();
        tracing::Span::current().record("db.rows", rows.len());
        Ok(rows)
    }

    /// Runs a query that returns at most one row.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn fetch_optional<'q, O>(
        &self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<Option<O>, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.count_statement();
        let mut lease = self.keeper.lease(&self.pool).await?;
        let row = query.fetch_optional(lease.connection()).await?;
        lease.finished();
        tracing::Span::current().record("db.rows", usize::from(row.is_some()));
        Ok(row)
    }

    /// Runs a query that returns exactly one row, such as an `INSERT …
    /// RETURNING`. No row is a database error (`RowNotFound`), never a
    /// client's "not found": callers use it where a missing row is
    /// impossible, and the error surfaces as an internal one.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql())))]
    pub async fn fetch_one<'q, O>(
        &self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<O, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.count_statement();
        let mut lease = self.keeper.lease(&self.pool).await?;
        let row = query.fetch_one(lease.connection()).await?;
        lease.finished();
        Ok(row)
    }

    /// Runs a query that returns exactly one scalar.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql())))]
    pub async fn fetch_scalar<'q, O>(
        &self,
        query: QueryScalar<'q, Postgres, O, PgArguments>,
    ) -> Result<O, DatabaseError>
    where
        O: Send + Unpin,
        (O,): for<'r> FromRow<'r, PgRow>,
    {
        self.count_statement();
        let mut lease = self.keeper.lease(&self.pool).await?;
        let row = query.fetch_one(lease.connection()).await?;
        lease.finished();
        Ok(row)
    }

    /// Runs a statement and returns the number of rows it affected.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn execute<'q>(
        &self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Result<u64, DatabaseError> {
        self.count_statement();
        let mut lease = self.keeper.lease(&self.pool).await?;
        let affected = query.execute(lease.connection()).await?.rows_affected();
        lease.finished();
        tracing::Span::current().record("db.rows", affected);
        Ok(affected)
    }

    /// Starts a transaction. Dropping it without [`Transaction::commit`]
    /// rolls back, so an error anywhere in a mutation leaves no partial write.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = "BEGIN"))]
    pub async fn begin(&self) -> Result<Transaction, DatabaseError> {
        self.count_statement();
        let permit = self.keeper.permit_for_pool(&self.pool).await?;
        Ok(Transaction {
            inner: self.pool.begin().await?,
            database: self.clone(),
            _permit: permit,
        })
    }
}

/// An open transaction whose statements count towards its [`Database`].
pub struct Transaction {
    inner: sqlx::Transaction<'static, Postgres>,
    database: Database,
    /// The transaction's connection is one of those the pool's permits
    /// bound; released after the connection goes back to sqlx.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Transaction {
    /// Runs a query inside the transaction and returns all rows.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn fetch_all<'q, O>(
        &mut self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<Vec<O>, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.database.count_statement();
        let rows = query.fetch_all(&mut *self.inner).await?;
        tracing::Span::current().record("db.rows", rows.len());
        Ok(rows)
    }

    /// Runs a query inside the transaction that returns at most one row.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn fetch_optional<'q, O>(
        &mut self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<Option<O>, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.database.count_statement();
        let row = query.fetch_optional(&mut *self.inner).await?;
        tracing::Span::current().record("db.rows", usize::from(row.is_some()));
        Ok(row)
    }

    /// Runs a query inside the transaction that returns exactly one row;
    /// no row is a database error (see [`Database::fetch_one`]).
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql())))]
    pub async fn fetch_one<'q, O>(
        &mut self,
        query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<O, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.database.count_statement();
        Ok(query.fetch_one(&mut *self.inner).await?)
    }

    /// Runs a query inside the transaction that returns exactly one value.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql())))]
    pub async fn fetch_scalar<'q, O>(
        &mut self,
        query: QueryScalar<'q, Postgres, O, PgArguments>,
    ) -> Result<O, DatabaseError>
    where
        O: Send + Unpin,
        (O,): for<'r> FromRow<'r, PgRow>,
    {
        self.database.count_statement();
        Ok(query.fetch_one(&mut *self.inner).await?)
    }

    /// Runs a statement inside the transaction; returns the rows affected.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn execute<'q>(
        &mut self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Result<u64, DatabaseError> {
        self.database.count_statement();
        let affected = query.execute(&mut *self.inner).await?.rows_affected();
        tracing::Span::current().record("db.rows", affected);
        Ok(affected)
    }

    /// Commits the transaction.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = "COMMIT"))]
    pub async fn commit(self) -> Result<(), DatabaseError> {
        self.database.count_statement();
        Ok(self.inner.commit().await?)
    }
}

/// The first words of a statement with whitespace folded, short enough for
/// a span attribute and free of bound values (those are `$n` placeholders).
pub fn statement_summary(sql: &str) -> String {
    const MAX_CHARS: usize = 120;
    let folded = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= MAX_CHARS {
        folded
    } else {
        let mut short: String = folded.chars().take(MAX_CHARS).collect();
        short.push('…');
        short
    }
}

/// Reads a row's columns by position, in the order its statement selected
/// them, and checks each column's name on the way.
///
/// sqlx's derived `FromRow` finds every column by name through a map of the
/// statement's column names, hashed with SipHash, once per column and row.
/// A search row of thirteen columns (employer's `Job`) is read ten to a
/// hundred times per page, and the lookups were a quarter of reading it
/// (counted: `Job::from_row` 4.3 → 3.2 million instructions over 50
/// JobSearchPages). A hand-written `from_row` that walks the columns with
/// this cursor compares each expected name with the column's own instead,
/// which costs a few byte comparisons and still turns a column list that
/// drifted from the struct into an error (`ColumnNotFound`, naming the
/// column and its expected position) rather than a wrong value.
///
/// It also spares sqlx's type check where it can prove it would pass. sqlx's
/// `try_get` asks the Rust type whether each column's type is one it
/// accepts, once per row and column, and for text that question builds and
/// compares a list of six PostgreSQL types (`text`, `varchar`, `citext`, …):
/// about 230 instructions per column, 3 % of an employer search. When the
/// column's type is exactly the Rust type's own (the same built-in type
/// OID), the check cannot fail, so the value is decoded directly; any other
/// column type still goes through sqlx's full check and its
/// mismatched-type error.
pub struct ColumnsInOrder<'r> {
    row: &'r PgRow,
    position: usize,
}

impl<'r> ColumnsInOrder<'r> {
    /// A cursor at the row's first column.
    pub fn from_first(row: &'r PgRow) -> Self {
        Self { row, position: 0 }
    }

    /// A cursor at the column named `name`, for columns selected after
    /// another type's (a search's joined card after its own row).
    pub fn from_column(row: &'r PgRow, name: &'static str) -> Result<Self, sqlx::Error> {
        use sqlx::{Column as _, Row as _};
        row.columns()
            .iter()
            .position(|column| column.name() == name)
            .map(|position| Self { row, position })
            .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_owned()))
    }

    /// The value of the next column, which must be named `name`.
    pub fn next<T>(&mut self, name: &'static str) -> Result<T, sqlx::Error>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        use sqlx::{Column as _, Row as _};
        let position = self.position;
        self.position += 1;
        match self.row.columns().get(position) {
            Some(column) if column.name() == name => {
                if is_exactly_the_type_of::<T>(column.type_info()) {
                    self.row.try_get_unchecked(position)
                } else {
                    self.row.try_get(position)
                }
            }
            _ => Err(sqlx::Error::ColumnNotFound(format!(
                "{name} (expected as column {position} of the statement)"
            ))),
        }
    }
}

/// Whether a column of type `column_type` is of `T`'s own PostgreSQL type,
/// compared by OID. Types known by name only (enums and other types an
/// extension or a migration creates, whose OIDs differ between databases)
/// have no OID on `T`'s side and are never taken as exact.
fn is_exactly_the_type_of<T: sqlx::Type<Postgres>>(
    column_type: &sqlx::postgres::PgTypeInfo,
) -> bool {
    match (column_type.oid(), T::type_info().oid()) {
        (Some(column_oid), Some(own_oid)) => column_oid == own_oid,
        _ => false,
    }
}

/// Implements `sqlx::FromRow` for a row struct whose fields are named after
/// its columns, reading them with [`ColumnsInOrder`] in the order listed,
/// which must be the order of the store's column list:
/// `columns_in_order_row!(Job { id, organization_id, title })`.
#[macro_export]
macro_rules! columns_in_order_row {
    ($row:ident { $($field:ident),+ $(,)? }) => {
        impl<'r> $crate::reexports::sqlx::FromRow<'r, $crate::reexports::sqlx::postgres::PgRow>
            for $row
        {
            fn from_row(
                row: &'r $crate::reexports::sqlx::postgres::PgRow,
            ) -> Result<Self, $crate::reexports::sqlx::Error> {
                let mut columns = $crate::database::ColumnsInOrder::from_first(row);
                Ok(Self {
                    $($field: columns.next(stringify!($field))?,)+
                })
            }
        }
    };
}

/// Adds ` AND <column> = <value>` to a statement being built, when a value
/// is given. The searches write only the filters asked for this way, so
/// that each combination of filters is its own prepared statement, for
/// which PostgreSQL can keep one generic plan. The column is a `'static` text, written in the
/// caller's code and never taken from a request.
pub fn push_equals_if_given<'args, T>(
    statement: &mut sqlx::QueryBuilder<'args, Postgres>,
    column: &'static str,
    value: Option<T>,
) where
    T: 'args + sqlx::Encode<'args, Postgres> + sqlx::Type<Postgres>,
{
    if let Some(value) = value {
        statement
            .push(" AND ")
            .push(column)
            .push(" = ")
            .push_bind(value);
    }
}

/// Escapes `LIKE`/`ILIKE` wildcards so a search for "100%" matches the text
/// "100%" rather than everything starting with "100".
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
