//! Reads that survive a lost connection: a read whose connection was lost
//! before it could run (PostgreSQL restarted since the connection opened)
//! runs once more on a connection that has just answered a ping.

/// Whether a statement's connection was lost before the statement could
/// have taken effect: the socket failed, or PostgreSQL ended the session
/// (57P01 admin shutdown, 57P02 crash shutdown) or refused it (57P03
/// starting up, class 08). Every kept connection dies with a PostgreSQL
/// restart, and the first statement to meet one gets such an error.
pub(super) fn connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
        _ => false,
    }
}

/// Whether `sql` only reads (a `SELECT`), so that running it a second time
/// after a lost connection repeats no effect.
pub(super) fn only_reads(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|word| word.eq_ignore_ascii_case("select"))
}

/// Runs a statement on a leased connection, and a read once more on a
/// connection that has just answered a ping when the first connection was
/// lost: after a PostgreSQL restart the request that meets a dead kept
/// connection is answered rather than failed. `$build(sql, arguments)` builds
/// the statement from its arguments (taken once, cloned per attempt) and
/// `$run(statement, connection)` runs it.
macro_rules! with_one_retry_for_reads {
    ($database:ident, $query:ident, $build:expr, $run:expr) => {{
        let sql = $query.sql();
        let arguments = Execute::take_arguments(&mut $query)
            .map_err(sqlx::Error::Encode)?
            .unwrap_or_default();
        let mut lease = $database.keeper.lease(&$database.pool).await?;
        match $run($build(sql, arguments.clone()), lease.connection()).await {
            Ok(result) => {
                lease.finished();
                Ok(result)
            }
            Err(error) if connection_lost(&error) && only_reads(sql) => {
                drop(lease);
                tracing::warn!(%error, "a read lost its connection; retrying once on a checked one");
                let mut lease = $database.keeper.lease_checked(&$database.pool).await?;
                let result = $run($build(sql, arguments), lease.connection()).await?;
                lease.finished();
                Ok(result)
            }
            Err(error) => Err(DatabaseError::from(error)),
        }
    }};
}
