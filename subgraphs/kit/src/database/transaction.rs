//! [`Transaction`]: statements inside one transaction, counted and traced
//! like [`Database`]'s, and the cache invalidations it owes after commit.

use std::sync::Arc;

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Execute, FromRow, Postgres};

use super::{Database, DatabaseError, statement_summary};

/// An open transaction whose statements count towards its [`Database`].
pub struct Transaction {
    pub(super) inner: sqlx::Transaction<'static, Postgres>,
    pub(super) database: Database,
    /// The transaction's connection is one of those the pool's permits
    /// bound; released after the connection goes back to sqlx.
    pub(super) _permit: tokio::sync::OwnedSemaphorePermit,
    /// The cached entities the transaction changed, invalidated once it
    /// has committed.
    pub(super) invalidated_tags: Vec<crate::entity_cache::CacheTag>,
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

    /// Names a cached entity this transaction changes: its cached value
    /// stops counting once the transaction has committed (before
    /// [`Transaction::commit`] returns), so the writer's next read, and
    /// anyone's read after it, is fresh.
    pub fn invalidate(&mut self, tag: crate::entity_cache::CacheTag) {
        if self.database.entity_cache.is_some() && !self.invalidated_tags.contains(&tag) {
            self.invalidated_tags.push(tag);
        }
    }

    /// Commits the transaction, then invalidates the tags it named.
    pub async fn commit(self) -> Result<(), DatabaseError> {
        let Self {
            inner,
            database,
            _permit,
            invalidated_tags,
        } = self;
        commit_statement(&database, inner).await?;
        drop(_permit);
        if let Some(cache) = &database.entity_cache
            && !invalidated_tags.is_empty()
        {
            // In a task of its own: a request cancelled after the commit
            // (its client went away) must still invalidate, or the cache
            // would serve the old value until its time to live runs out.
            let cache = Arc::clone(cache);
            let invalidation =
                tokio::spawn(async move { cache.invalidate(&invalidated_tags).await });
            if let Err(error) = invalidation.await {
                tracing::error!(%error, "entity cache: the invalidation task failed");
            }
        }
        Ok(())
    }
}

#[tracing::instrument(name = "sql", skip_all, fields(db.statement = "COMMIT"))]
async fn commit_statement(
    database: &Database,
    transaction: sqlx::Transaction<'static, Postgres>,
) -> Result<(), DatabaseError> {
    database.count_statement();
    Ok(transaction.commit().await?)
}
