//! Where test databases come from.
//!
//! When `DATABASE_URL` is set, tests create their databases on that server.
//! Otherwise the harness starts a throwaway cluster of its own the first
//! time a test in the process asks for one: `initdb` into a temporary
//! directory, `postgres` tuned for speed over durability and reached only
//! through its Unix-domain socket in that directory. It opens no TCP port,
//! so no other process on the machine can take its port before it starts
//! or be mistaken for it. The cluster dies with the test process (it is
//! started with a parent-death signal from a thread that lives as long as
//! the process), and directories left by killed runs are swept the next
//! time.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnection;

use crate::database::Database;
use crate::errors::KitError;
use crate::local_postgres::{
    local_cluster_url, postgres_binaries, postgres_command, postmaster_alive, running_as_root,
};

const CLUSTER_DIRECTORY_PREFIX: &str = "talentgraph-pg-";

/// The port number the cluster's socket is named by (`.s.PGSQL.5432`). The
/// socket lives in the cluster's own directory, so every cluster can use
/// the same number.
const SOCKET_PORT: u16 = 5432;

/// Where test databases are created.
#[derive(Debug)]
pub struct PostgresServer {
    /// A URL to a maintenance database on the server, used to create others.
    admin_url: String,
}

static SERVER: OnceLock<Result<PostgresServer, String>> = OnceLock::new();

impl PostgresServer {
    /// The process-wide server: `DATABASE_URL`'s, or a throwaway cluster.
    pub fn shared() -> Result<&'static PostgresServer, KitError> {
        SERVER
            .get_or_init(|| match std::env::var("DATABASE_URL") {
                Ok(url) if !url.trim().is_empty() => Ok(PostgresServer { admin_url: url }),
                _ => start_throwaway_cluster().map(|(port, socket_directory)| PostgresServer {
                    admin_url: local_cluster_url(port, &socket_directory, "postgres"),
                }),
            })
            .as_ref()
            .map_err(|message| KitError::TestHarness(message.clone()))
    }

    /// The URL of database `name` on this server.
    pub fn url_for(&self, name: &str) -> String {
        crate::config::database_url_with_name(&self.admin_url, name)
    }

    /// Creates an empty database with a unique name and returns its URL.
    pub async fn create_database(&self, prefix: &str) -> Result<String, KitError> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .map_err(|error| {
                KitError::TestHarness(format!("cannot connect to {}: {error}", self.admin_url))
            })?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .map_err(|error| {
                KitError::TestHarness(format!("cannot create database {name}: {error}"))
            })?;
        let _ = admin.close().await;
        Ok(self.url_for(&name))
    }
}

/// A fresh database with `migrator` applied, and a statement counter that
/// starts at zero after the migrations.
pub async fn fresh_database(migrator: &Migrator) -> Result<(Database, String), KitError> {
    let server = PostgresServer::shared()?;
    let url = server.create_database("tg_test").await?;
    let migrations = Database::connect(&url, 2, Duration::from_secs(10))
        .await
        .map_err(KitError::DatabaseConnect)?;
    migrations.run_migrations(migrator).await?;
    migrations.close().await;
    let database = Database::connect(&url, 8, Duration::from_secs(10))
        .await
        .map_err(KitError::DatabaseConnect)?;
    Ok((database, url))
}

/// A fresh database with the event tables (`outbox`, `inbox`) and then
/// `extra_sql`, for tests and measurements of the event machinery itself,
/// with a pool of `max_connections`.
pub async fn fresh_event_database(extra_sql: &'static str, max_connections: u32) -> Database {
    let url = PostgresServer::shared()
        .expect("a PostgreSQL server for tests")
        .create_database("tg_events")
        .await
        .expect("a database");
    let database = Database::connect(&url, max_connections, Duration::from_secs(10))
        .await
        .expect("connects");
    database
        .execute_script(crate::events::EVENT_TABLES_SQL)
        .await
        .unwrap_or_else(|error| panic!("the event tables: {}", error.detail()));
    database
        .execute_script(extra_sql)
        .await
        .unwrap_or_else(|error| panic!("{extra_sql}: {}", error.detail()));
    database
}

/// Removes cluster directories whose postmaster is gone (left by test
/// processes that were killed before they could clean up).
fn sweep_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let is_ours = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(CLUSTER_DIRECTORY_PREFIX));
        let old_enough = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(120));
        if is_ours && old_enough && !postmaster_alive(&path.join("data")) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Starts a throwaway cluster and returns its port and the directory of its
/// Unix-domain socket.
fn start_throwaway_cluster() -> Result<(u16, PathBuf), String> {
    sweep_stale_clusters();
    let binaries = postgres_binaries()?;
    let as_postgres_user = running_as_root();
    let directory = tempfile::Builder::new()
        .prefix(CLUSTER_DIRECTORY_PREFIX)
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory: {error}"))?
        .keep();
    if as_postgres_user {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&directory)
            .status()
            .map_err(|error| format!("cannot run chown: {error}"))?;
        if !status.success() {
            return Err(format!(
                "chown of {} to postgres failed",
                directory.display()
            ));
        }
    }
    let data = directory.join("data");
    let output = postgres_command(&binaries, "initdb", as_postgres_user, true)
        .arg("-D")
        .arg(&data)
        .args([
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run initdb from {}: {error}", binaries.display()))?;
    if !output.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let port = SOCKET_PORT;
    let log_path = directory.join("postgres.log");
    let (sender, receiver) = std::sync::mpsc::channel();
    let socket_directory = directory.clone();
    // The parent-death signal fires when the *thread* that spawned the
    // server ends, so the server is spawned from a thread that never ends.
    std::thread::Builder::new()
        .name("test-postgres".to_owned())
        .spawn(move || {
            let log = std::fs::File::create(&log_path);
            let spawned = log.map_err(|error| error.to_string()).and_then(|log| {
                postgres_command(&binaries, "postgres", as_postgres_user, true)
                    .arg("-D")
                    .arg(&data)
                    .args(["-p", &port.to_string(), "-c", "listen_addresses="])
                    .arg("-k")
                    .arg(&socket_directory)
                    .args([
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=300",
                        "-c",
                        "shared_buffers=128MB",
                    ])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
                    .map_err(|error| error.to_string())
            });
            let _ = sender.send(spawned.map(|_child| ()));
            loop {
                std::thread::park();
            }
        })
        .map_err(|error| format!("cannot start the PostgreSQL thread: {error}"))?;
    receiver
        .recv()
        .map_err(|error| error.to_string())?
        .map_err(|error| format!("cannot start postgres: {error}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        // The socket is the cluster's only way in.
        if directory.join(format!(".s.PGSQL.{port}")).exists()
            && postmaster_alive(&directory.join("data"))
        {
            // The socket comes a moment before accepting logins; a short
            // pause avoids "the database system is starting up".
            std::thread::sleep(Duration::from_millis(200));
            return Ok((port, directory));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(directory.join("postgres.log")).unwrap_or_default();
    Err(format!(
        "postgres did not start within 30 s; its log says:\n{log}"
    ))
}
