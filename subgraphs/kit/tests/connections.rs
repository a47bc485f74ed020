//! How statements get their connections: a connection whose statement ran
//! to its end goes straight to the next statement, without the round trip
//! sqlx's pool makes to check every connection it takes back, and a
//! connection whose statement failed or was cancelled still takes sqlx's
//! way back.
//!
//! The round trips are counted on the wire: the pool talks to PostgreSQL
//! through a proxy of the test's own that counts the Sync messages the
//! client sends. Every statement of the extended protocol ends in one Sync,
//! and sqlx's check is a Sync alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use talentgraph_kit::testing::PostgresServer;
use talentgraph_kit::{Database, PlanCacheMode, RandomPageCost, ServingPool};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where the proxy forwards to: the harness cluster's socket, or the TCP
/// server of `DATABASE_URL`.
#[derive(Clone)]
enum Upstream {
    Socket(PathBuf),
    Tcp(String, u16),
}

/// What the server sends, on a socket or a TCP connection.
type ServerReader = Box<dyn AsyncRead + Unpin + Send>;
/// What is sent to the server.
type ServerWriter = Box<dyn AsyncWrite + Unpin + Send>;

impl Upstream {
    async fn connect(&self) -> (ServerReader, ServerWriter) {
        match self {
            Self::Socket(path) => {
                let (reader, writer) = tokio::net::UnixStream::connect(path)
                    .await
                    .expect("connects to the cluster's socket")
                    .into_split();
                (Box::new(reader), Box::new(writer))
            }
            Self::Tcp(host, port) => {
                let (reader, writer) = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .expect("connects to the server")
                    .into_split();
                (Box::new(reader), Box::new(writer))
            }
        }
    }
}

/// A TCP proxy in front of PostgreSQL that counts the Sync messages
/// clients send.
struct SyncCountingProxy {
    port: u16,
    syncs: Arc<AtomicU64>,
}

impl SyncCountingProxy {
    async fn start(upstream: Upstream) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds the proxy");
        let port = listener.local_addr().expect("an address").port();
        let syncs = Arc::new(AtomicU64::new(0));
        let counter = syncs.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let (client_reader, client_writer) = client.into_split();
                    let (server_reader, server_writer) = upstream.connect().await;
                    relay(
                        client_reader,
                        client_writer,
                        server_reader,
                        server_writer,
                        counter,
                    )
                    .await;
                });
            }
        });
        Self { port, syncs }
    }

    fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::SeqCst)
    }
}

/// Copies both ways, counting the client's Sync messages on the way.
async fn relay(
    client_reader: impl AsyncRead + Unpin,
    mut client_writer: impl AsyncWrite + Unpin,
    mut server_reader: impl AsyncRead + Unpin,
    server_writer: impl AsyncWrite + Unpin,
    syncs: Arc<AtomicU64>,
) {
    let to_server = count_syncs_while_copying(client_reader, server_writer, syncs);
    let to_client = tokio::io::copy(&mut server_reader, &mut client_writer);
    let _ = tokio::join!(to_server, to_client);
}

/// The frontend protocol: a startup message without a type byte (the URL
/// turns TLS off, so no SSLRequest comes before it), then messages of a
/// type byte and a four-byte length that counts itself. A Sync is `S`.
async fn count_syncs_while_copying(
    mut reader: impl AsyncRead + Unpin,
    mut writer: impl AsyncWrite + Unpin,
    syncs: Arc<AtomicU64>,
) {
    let mut pending = Vec::new();
    let mut startup_done = false;
    let mut chunk = [0_u8; 8192];
    loop {
        let Ok(read) = reader.read(&mut chunk).await else {
            return;
        };
        if read == 0 || writer.write_all(&chunk[..read]).await.is_err() {
            return;
        }
        pending.extend_from_slice(&chunk[..read]);
        loop {
            let header = if startup_done { 5 } else { 4 };
            if pending.len() < header {
                break;
            }
            let length_at = header - 4;
            let length = u32::from_be_bytes(
                pending[length_at..header]
                    .try_into()
                    .expect("four bytes of length"),
            ) as usize;
            let whole = length_at + length;
            if pending.len() < whole {
                break;
            }
            if startup_done && pending[0] == b'S' {
                syncs.fetch_add(1, Ordering::SeqCst);
            }
            startup_done = true;
            pending.drain(..whole);
        }
    }
}

/// A new database reached through a [`SyncCountingProxy`], and the proxy.
async fn database_behind_a_proxy(
    keep_connections: bool,
    max_connections: u32,
) -> (Database, SyncCountingProxy) {
    let direct_url = PostgresServer::shared()
        .expect("a PostgreSQL server for tests")
        .create_database("tg_connections")
        .await
        .expect("a database");
    let options: PgConnectOptions = direct_url.parse().expect("a URL");
    let upstream = match options.get_socket() {
        Some(directory) => {
            Upstream::Socket(directory.join(format!(".s.PGSQL.{}", options.get_port())))
        }
        None => Upstream::Tcp(options.get_host().to_owned(), options.get_port()),
    };
    let proxy = SyncCountingProxy::start(upstream).await;
    let proxied_url = format!(
        "postgres://{}@127.0.0.1:{}/{}?sslmode=disable",
        options.get_username(),
        proxy.port,
        options.get_database().expect("a database name")
    );
    let database = Database::connect_serving(
        &proxied_url,
        &ServingPool {
            max_connections,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            check_idle_after: Duration::from_secs(60),
            keep_connections,
            random_page_cost: RandomPageCost::MEMORY_RESIDENT,
            plan_cache_mode: PlanCacheMode::ForceGenericPlan,
        },
    )
    .await
    .expect("connects through the proxy");
    (database, proxy)
}

/// Waits until the pool's one connection is idle again: kept, or back in
/// sqlx's pool once its check (a task of sqlx's own) has finished.
async fn until_idle(database: &Database) {
    for _ in 0..500 {
        if database.pool_status().idle == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the connection did not come back: {:?}",
        database.pool_status()
    );
}

/// Runs the tests' one prepared statement, which answers `value`.
async fn echo(database: &Database, value: i32) -> i32 {
    database
        .fetch_scalar(sqlx::query_scalar("SELECT $1::int").bind(value))
        .await
        .expect("the connection serves the statement")
}

/// Runs the same prepared statement `times` times, one after another.
async fn run_lookups(database: &Database, times: i32) {
    for value in 0..times {
        assert_eq!(echo(database, value).await, value);
    }
}

/// A warm connection costs one Sync per statement when it is kept, and two
/// when it goes back to sqlx's pool after each statement: the second is
/// sqlx's check on the way back, the round trip keeping saves.
#[tokio::test]
async fn a_kept_connection_costs_one_round_trip_per_statement_and_a_returned_one_two() {
    for (keep_connections, syncs_per_statement) in [(true, 1), (false, 2)] {
        let (database, proxy) = database_behind_a_proxy(keep_connections, 1).await;
        // The first call prepares the statement (a Sync of its own).
        run_lookups(&database, 1).await;
        until_idle(&database).await;
        let before = proxy.syncs();
        run_lookups(&database, 10).await;
        until_idle(&database).await;
        assert_eq!(
            proxy.syncs() - before,
            10 * syncs_per_statement,
            "keep_connections: {keep_connections}"
        );
        let status = database.pool_status();
        assert_eq!((status.size, status.idle), (1, 1), "{status:?}");
        database.close().await;
    }
}

/// A statement cancelled halfway (its future dropped, as when a client
/// goes away) and a statement that failed leave their connection to sqlx's
/// check; the next statement on the pool's one connection gets its own
/// answer. Each costs four Syncs: preparing the new statement, running
/// it, sqlx's check, and the next statement; a connection kept unchecked
/// would cost three.
#[tokio::test]
async fn a_cancelled_or_failed_statement_does_not_leave_its_connection_to_the_next() {
    let (database, proxy) = database_behind_a_proxy(true, 1).await;
    run_lookups(&database, 1).await;
    let before_cancel = proxy.syncs();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        database.fetch_scalar(sqlx::query_scalar::<_, i32>("SELECT 7 FROM pg_sleep(0.3)")),
    )
    .await;
    assert!(cancelled.is_err(), "the sleep outlasted the timeout");
    assert_eq!(echo(&database, 41).await, 41);
    assert_eq!(proxy.syncs() - before_cancel, 4);

    let before_failure = proxy.syncs();
    let failed = database
        .fetch_scalar(sqlx::query_scalar::<_, i32>("SELECT 1 / (0 * $1::int)").bind(1))
        .await;
    assert!(failed.is_err(), "division by zero fails");
    assert_eq!(echo(&database, 42).await, 42);
    assert_eq!(proxy.syncs() - before_failure, 4);
}

/// With every connection kept, a transaction and a script, which take
/// their connection from sqlx's pool itself, still get one (a wait for a
/// connection the keeper holds would end in the acquire timeout's error).
#[tokio::test]
async fn a_transaction_and_a_script_get_a_connection_while_every_connection_is_kept() {
    let (database, _proxy) = database_behind_a_proxy(true, 2).await;
    // Two statements at once open both connections; both are then kept.
    let sleep =
        || database.fetch_scalar(sqlx::query_scalar::<_, i32>("SELECT 1 FROM pg_sleep(0.1)"));
    let (first, second) = tokio::join!(sleep(), sleep());
    assert_eq!((first.expect("runs"), second.expect("runs")), (1, 1));
    let status = database.pool_status();
    assert_eq!((status.size, status.idle), (2, 2), "{status:?}");

    let mut transaction = database.begin().await.expect("a transaction begins");
    transaction
        .execute(sqlx::query("CREATE TABLE kept (id int)"))
        .await
        .expect("creates a table");
    transaction.commit().await.expect("commits");
    database
        .execute_script("INSERT INTO kept VALUES (1); INSERT INTO kept VALUES (2);")
        .await
        .expect("runs a script");
    let rows: i64 = database
        .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM kept"))
        .await
        .expect("counts");
    assert_eq!(rows, 2);
}

/// A connection in steady use is never idle long enough to go back to
/// sqlx's pool on its own, yet the pool's `max_lifetime` still retires it:
/// once it has been out of the pool that long, it goes back after its
/// statement and sqlx closes it for its age.
#[tokio::test]
async fn a_kept_connection_still_retires_at_the_pools_max_lifetime() {
    let url = PostgresServer::shared()
        .expect("a PostgreSQL server for tests")
        .create_database("tg_lifetime")
        .await
        .expect("a database");
    let max_lifetime = Duration::from_millis(300);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(max_lifetime)
        .connect(&url)
        .await
        .expect("connects");
    let database = Database::from_pool(pool);
    let mut backends = std::collections::BTreeSet::new();
    // Twenty statements 50 ms apart: never idle for the second after which
    // a kept connection is returned unused, and three lifetimes long.
    for _ in 0..20 {
        let backend: i32 = database
            .fetch_scalar(sqlx::query_scalar("SELECT pg_backend_pid()"))
            .await
            .expect("runs");
        backends.insert(backend);
        tokio::time::sleep(max_lifetime / 6).await;
    }
    assert!(
        backends.len() >= 2,
        "one backend served every statement: {backends:?}"
    );
}
