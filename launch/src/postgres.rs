//! The PostgreSQL server a stack uses: the one in `DATABASE_URL`, or a
//! cluster of the stack's own kept in a directory between runs (started
//! with `pg_ctl`, stopped by [`PostgresServer::stop_if_started`]), and the
//! databases on it.
//!
//! The tests' throwaway clusters (one per test process, reached only
//! through their socket) are the kit's `testing::postgres`; both run the
//! binaries through `talentgraph_kit::local_postgres`.

use std::path::Path;
use std::time::Duration;

use sqlx::Connection;
use talentgraph_kit::Database;
use talentgraph_kit::local_postgres::PersistentCluster;

use crate::{LaunchError, non_blank_variable};

/// The server a stack's databases live on.
#[derive(Debug)]
pub struct PostgresServer {
    admin_url: String,
    cluster: Option<PersistentCluster>,
}

impl PostgresServer {
    /// The server in `DATABASE_URL`, or the cluster in `directory` on
    /// `port` (initialized on first use, started unless already running).
    pub fn from_environment_or_cluster(directory: &Path, port: u16) -> Result<Self, LaunchError> {
        if let Some(url) = non_blank_variable("DATABASE_URL") {
            eprintln!("▸ using the PostgreSQL server in DATABASE_URL");
            return Ok(Self {
                admin_url: url,
                cluster: None,
            });
        }
        eprintln!(
            "▸ starting PostgreSQL in {} on port {port}",
            directory.display()
        );
        let cluster =
            PersistentCluster::ensure_running(directory, port).map_err(LaunchError::Postgres)?;
        if !cluster.started_here {
            eprintln!("  (it was already running; it will be left running)");
        }
        Ok(Self {
            admin_url: cluster.url_for("postgres"),
            cluster: Some(cluster),
        })
    }

    /// The URL of database `name` on this server.
    pub fn url_for(&self, name: &str) -> String {
        talentgraph_kit::config::database_url_with_name(&self.admin_url, name)
    }

    /// A connection to the maintenance database, to create others.
    pub async fn admin_connection(&self) -> Result<sqlx::PgConnection, LaunchError> {
        sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|source| LaunchError::Database {
                database: "postgres".to_owned(),
                source,
            })
    }

    /// Creates database `name` unless it exists; returns its URL.
    pub async fn ensure_database(&self, name: &str) -> Result<String, LaunchError> {
        let mut admin = self.admin_connection().await?;
        let failed = |source| LaunchError::Database {
            database: name.to_owned(),
            source,
        };
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut admin)
            .await
            .map_err(failed)?;
        if exists.is_none() {
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut admin)
                .await
                .map_err(failed)?;
        }
        let _ = admin.close().await;
        Ok(self.url_for(name))
    }

    /// Creates database `name` if needed and connects a small pool to it;
    /// returns its URL too.
    pub async fn open_database(&self, name: &str) -> Result<(String, Database), LaunchError> {
        let url = self.ensure_database(name).await?;
        let database = Database::connect(&url, 4, Duration::from_secs(10))
            .await
            .map_err(|source| LaunchError::Database {
                database: name.to_owned(),
                source,
            })?;
        Ok((url, database))
    }

    /// Stops the cluster when this process started it; a server it found
    /// running, or one from `DATABASE_URL`, is left alone.
    pub fn stop_if_started(&self) {
        if let Some(cluster) = self.cluster.as_ref().filter(|cluster| cluster.started_here) {
            eprintln!("▸ stopping PostgreSQL");
            if let Err(error) = cluster.stop() {
                eprintln!("{error}");
            }
        }
    }
}
