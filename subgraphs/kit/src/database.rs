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
#[macro_use]
mod reads;
mod rows;
mod serving_pool;
mod transaction;

pub use rows::{ColumnsInOrder, escape_like, push_equals_if_given};
pub use serving_pool::{PlanCacheMode, RandomPageCost, ServingPool};
pub use transaction::Transaction;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgPoolOptions, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Execute, FromRow, PgPool, Postgres};

use kept_connections::ConnectionKeeper;
use reads::{connection_lost, only_reads};

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

    /// Whether the database could not be reached rather than refused the
    /// statement: the connection broke (PostgreSQL restarting or gone, the
    /// network), PostgreSQL said it is shutting down or starting up
    /// (SQLSTATE class 57P) or reported a connection exception (class 08),
    /// or no connection came free in time. Such a failure says nothing
    /// about the request, and the same request can succeed moments later.
    pub fn is_unavailable(&self) -> bool {
        match &self.source {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(error) => error
                .code()
                .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
            _ => false,
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
    /// The entity cache cached loaders read and transactions invalidate;
    /// `None` without Redis (see `entity_cache`).
    entity_cache: Option<Arc<crate::entity_cache::EntityCache>>,
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
            entity_cache: None,
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
            // Consumers change cached entities too, and must invalidate them.
            entity_cache: self.entity_cache.clone(),
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
    ///
    /// Migrations the database has but `migrator` lacks are ignored, not an
    /// error: during a rolling deploy the new build's migration runs while
    /// the old build still serves, and an old replica that restarts then
    /// (or a rollback) must start against the migrated database. Expand /
    /// contract (ARCHITECTURE.md) is what keeps that database usable by
    /// the old code; sqlx still refuses a changed migration (checksums).
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
        // sqlx offers `set_ignore_missing` only on an owned migrator and
        // `migrate!()` builds statics, so this copies one (its fields are
        // public for the macro; `tests/migrations.rs` pins the behaviour).
        let tolerant = Migrator {
            migrations: migrator.migrations.clone(),
            ignore_missing: true,
            locking: migrator.locking,
            no_tx: migrator.no_tx,
        };
        tolerant.run(&self.pool).await
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
        mut query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<Vec<O>, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.count_statement();
        let rows: Vec<O> = with_one_retry_for_reads!(
            self,
            query,
            |sql, arguments| sqlx::query_as_with::<_, O, _>(sql, arguments),
            |statement: QueryAs<'q, Postgres, O, PgArguments>, connection| statement
                .fetch_all(connection)
        )?;
        tracing::Span::current().record("db.rows", rows.len());
        Ok(rows)
    }

    /// Runs a query and returns the raw rows, for callers that bind
    /// parameters generically and map rows themselves.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn fetch_rows<'q>(
        &self,
        mut query: Query<'q, Postgres, PgArguments>,
    ) -> Result<Vec<PgRow>, DatabaseError> {
        self.count_statement();
        let rows: Vec<PgRow> = with_one_retry_for_reads!(
            self,
            query,
            sqlx::query_with,
            |statement: Query<'q, Postgres, PgArguments>, connection| statement
                .fetch_all(connection)
        )?;
        tracing::Span::current().record("db.rows", rows.len());
        Ok(rows)
    }

    /// Runs a query that returns at most one row.
    #[tracing::instrument(name = "sql", skip_all, fields(db.statement = %statement_summary(query.sql()), db.rows))]
    pub async fn fetch_optional<'q, O>(
        &self,
        mut query: QueryAs<'q, Postgres, O, PgArguments>,
    ) -> Result<Option<O>, DatabaseError>
    where
        O: Send + Unpin + for<'r> FromRow<'r, PgRow>,
    {
        self.count_statement();
        let row: Option<O> = with_one_retry_for_reads!(
            self,
            query,
            |sql, arguments| sqlx::query_as_with::<_, O, _>(sql, arguments),
            |statement: QueryAs<'q, Postgres, O, PgArguments>, connection| statement
                .fetch_optional(connection)
        )?;
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
        mut query: QueryScalar<'q, Postgres, O, PgArguments>,
    ) -> Result<O, DatabaseError>
    where
        O: Send + Unpin,
        (O,): for<'r> FromRow<'r, PgRow>,
    {
        self.count_statement();
        with_one_retry_for_reads!(
            self,
            query,
            |sql, arguments| sqlx::query_scalar_with::<_, O, _>(sql, arguments),
            |statement: QueryScalar<'q, Postgres, O, PgArguments>, connection| statement
                .fetch_one(connection)
        )
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

    /// This database with `cache` in front of its cached loaders; every
    /// transaction begun on it invalidates the tags it names in `cache`.
    pub fn with_entity_cache(mut self, cache: Arc<crate::entity_cache::EntityCache>) -> Self {
        self.entity_cache = Some(cache);
        self
    }

    /// This database with the entity cache `settings` give `subgraph`, when
    /// they enable one and name a Redis. A URL the Redis client cannot
    /// parse leaves the process reading PostgreSQL alone, with an error in
    /// the log: the cache is an optimisation, never a reason not to serve.
    pub fn with_configured_entity_cache(
        self,
        subgraph: &str,
        settings: &crate::entity_cache::EntityCacheSettings,
    ) -> Self {
        match crate::entity_cache::EntityCache::new(subgraph, settings) {
            Ok(Some(cache)) => {
                tracing::info!(subgraph, "entity cache in Redis");
                self.with_entity_cache(Arc::new(cache))
            }
            Ok(None) => self,
            Err(error) => {
                tracing::error!(%error, "REDIS_URL cannot be used: entities are read from PostgreSQL alone");
                self
            }
        }
    }

    pub fn entity_cache(&self) -> Option<&Arc<crate::entity_cache::EntityCache>> {
        self.entity_cache.as_ref()
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
            invalidated_tags: Vec::new(),
        })
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
