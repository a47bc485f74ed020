//! Connections kept between statements, outside sqlx's pool.
//!
//! sqlx's pool checks every connection it takes back: dropping a
//! `PoolConnection` spawns a task that sends PostgreSQL a Sync message and
//! waits for its ReadyForQuery before the connection counts as idle. That
//! guards against a connection left in the middle of a statement by a
//! cancelled future or a failed one, but every statement pays for it with
//! a second round trip: a task, a write and a wake-up in the subgraph
//! process, a wake-up, a read and a write in the backend.
//!
//! A statement that ran to its end has left its connection ready for the
//! next one. [`ConnectionKeeper`] keeps such connections checked out of
//! sqlx's pool and hands them to the next statement directly. Everything
//! else still takes sqlx's way back: a connection whose statement failed or
//! was cancelled, and a kept connection unused for longer than
//! `check_idle_after`, are dropped into sqlx's pool, which checks them and
//! hands them out again (after its own idle check).
//!
//! sqlx also closes a connection older than the pool's `max_lifetime` when
//! it takes it back; a connection in steady use would never be taken back,
//! so one out of sqlx's pool for that long goes back after its statement.
//!
//! Because kept connections stay checked out, sqlx cannot hand them to its
//! own callers. The keeper's permits, as many as the pool's maximum, bound
//! the connections in use; a caller that needs a connection from sqlx
//! itself (a transaction, a migration) gives a kept one back first when
//! sqlx has none to spare.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The connections a [`super::Database`] and its clones keep, and the
/// permits that bound the connections in use.
#[derive(Debug)]
pub(super) struct ConnectionKeeper {
    permits: Arc<Semaphore>,
    kept: Mutex<Kept>,
    /// How long a connection may stay kept and still be handed out
    /// unchecked. Zero keeps none: every connection goes back to sqlx and
    /// its check.
    check_idle_after: Duration,
    /// The pool's `max_lifetime`: how long a connection may stay out of
    /// sqlx's pool before it goes back for sqlx to judge its age.
    longest_out_of_pool: Option<Duration>,
}

#[derive(Debug, Default)]
struct Kept {
    /// Most recently used last, so the next statement takes the warmest
    /// connection and the ones left unused age at the bottom.
    connections: Vec<KeptConnection>,
    /// Set when the pool closes: sqlx's `close` waits for every connection
    /// to come back, so none may be kept from then on.
    closed: bool,
}

#[derive(Debug)]
struct KeptConnection {
    connection: PoolConnection<Postgres>,
    kept_since: Instant,
    out_of_pool_since: Instant,
}

/// One statement's use of a connection. Dropped after
/// [`ConnectionLease::finished`], the connection is kept for the next
/// statement; dropped before, it goes back to sqlx's pool to be checked.
pub(super) struct ConnectionLease<'keeper> {
    connection: Option<PoolConnection<Postgres>>,
    /// When the connection last left sqlx's pool.
    out_of_pool_since: Instant,
    keeper: &'keeper ConnectionKeeper,
    finished: bool,
    /// Released after `Drop::drop` has kept the connection (a value's
    /// `drop` runs before its fields are dropped), so the next holder of
    /// the permit finds it.
    _permit: OwnedSemaphorePermit,
}

impl ConnectionKeeper {
    pub(super) fn new(
        max_connections: u32,
        check_idle_after: Duration,
        longest_out_of_pool: Option<Duration>,
    ) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(
                usize::try_from(max_connections).unwrap_or(usize::MAX),
            )),
            kept: Mutex::new(Kept::default()),
            check_idle_after,
            longest_out_of_pool,
        }
    }

    /// A connection for one statement: a kept one if a fresh one is there,
    /// else one from sqlx's pool. Waits for it at most the pool's acquire
    /// timeout in all, as sqlx's own `acquire` would.
    pub(super) async fn lease(&self, pool: &PgPool) -> Result<ConnectionLease<'_>, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + pool.options().get_acquire_timeout();
        let permit = self.permit(deadline).await?;
        let (connection, out_of_pool_since) = match self.take_fresh() {
            Some(kept) => (kept.connection, kept.out_of_pool_since),
            None => (acquire_before(deadline, pool).await?, Instant::now()),
        };
        Ok(ConnectionLease {
            connection: Some(connection),
            out_of_pool_since,
            keeper: self,
            finished: false,
            _permit: permit,
        })
    }

    /// A connection that has just answered a ping, for a statement run
    /// again after its first connection was lost. The kept connections
    /// most likely died with it (a PostgreSQL restart ends every session),
    /// so they go back to sqlx first, whose check closes the dead ones; a
    /// connection of sqlx's that fails the ping is closed and another
    /// taken, until the pool's acquire timeout.
    pub(super) async fn lease_checked(
        &self,
        pool: &PgPool,
    ) -> Result<ConnectionLease<'_>, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + pool.options().get_acquire_timeout();
        let permit = self.permit(deadline).await?;
        let given_back = std::mem::take(&mut self.lock().connections);
        drop(given_back);
        loop {
            let mut connection = acquire_before(deadline, pool).await?;
            match sqlx::Connection::ping(&mut *connection).await {
                Ok(()) => {
                    return Ok(ConnectionLease {
                        connection: Some(connection),
                        out_of_pool_since: Instant::now(),
                        keeper: self,
                        finished: false,
                        _permit: permit,
                    });
                }
                Err(error) => {
                    tracing::debug!(%error, "a pooled connection failed its ping; closing it");
                    connection.close_on_drop();
                    drop(connection);
                    if tokio::time::Instant::now() >= deadline {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// A permit for a caller that uses sqlx's pool itself, with a kept
    /// connection given back to sqlx first when sqlx has none idle and may
    /// open no more, so the caller does not wait for one the keeper holds.
    pub(super) async fn permit_for_pool(
        &self,
        pool: &PgPool,
    ) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        let deadline = tokio::time::Instant::now() + pool.options().get_acquire_timeout();
        let permit = self.permit(deadline).await?;
        if pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections() {
            let given_back = self.lock().connections.pop();
            drop(given_back);
        }
        Ok(permit)
    }

    /// Gives every kept connection back to sqlx's pool and keeps none from
    /// now on, so that the pool can close.
    pub(super) fn close(&self) {
        let mut kept = self.lock();
        kept.closed = true;
        let given_back = std::mem::take(&mut kept.connections);
        drop(kept);
        drop(given_back);
    }

    /// How many connections are kept now; they are idle, though sqlx counts
    /// them as in use.
    pub(super) fn kept_count(&self) -> usize {
        self.lock().connections.len()
    }

    async fn permit(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<OwnedSemaphorePermit, sqlx::Error> {
        match tokio::time::timeout_at(deadline, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(sqlx::Error::PoolClosed),
            Err(_elapsed) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// The most recently kept connection, if it was kept less than
    /// `check_idle_after` ago. When it was not, it and every connection
    /// below it (kept even longer) go back to sqlx's pool.
    fn take_fresh(&self) -> Option<KeptConnection> {
        let mut kept = self.lock();
        let newest = kept.connections.pop()?;
        if newest.kept_since.elapsed() < self.check_idle_after {
            return Some(newest);
        }
        let stale = std::mem::take(&mut kept.connections);
        drop(kept);
        drop(newest);
        drop(stale);
        None
    }

    /// Keeps `connection` unless the pool is closing or the connection has
    /// been out of sqlx's pool for its `max_lifetime`; then it goes back.
    fn keep(&self, connection: PoolConnection<Postgres>, out_of_pool_since: Instant) {
        let out_too_long = self
            .longest_out_of_pool
            .is_some_and(|longest| out_of_pool_since.elapsed() >= longest);
        let mut kept = self.lock();
        if kept.closed || out_too_long {
            drop(kept);
            drop(connection);
            return;
        }
        kept.connections.push(KeptConnection {
            connection,
            kept_since: Instant::now(),
            out_of_pool_since,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // The list stays consistent whatever panicked while holding it: a
        // push or a pop either happened or did not.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// sqlx's `acquire`, bounded by what is left of the caller's wait.
async fn acquire_before(
    deadline: tokio::time::Instant,
    pool: &PgPool,
) -> Result<PoolConnection<Postgres>, sqlx::Error> {
    tokio::time::timeout_at(deadline, pool.acquire())
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

impl ConnectionLease<'_> {
    pub(super) fn connection(&mut self) -> &mut PgConnection {
        self.connection
            .as_deref_mut()
            .expect("a lease holds its connection until it is dropped")
    }

    /// Records that the statement ran to its end (its result read up to
    /// PostgreSQL's ReadyForQuery), so the connection can be kept.
    pub(super) fn finished(&mut self) {
        self.finished = true;
    }
}

impl Drop for ConnectionLease<'_> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        if self.finished && !self.keeper.check_idle_after.is_zero() {
            self.keeper.keep(connection, self.out_of_pool_since);
        }
        // Otherwise dropping the connection hands it back to sqlx's pool,
        // which checks it before anyone uses it again.
    }
}
