//! Finding and running a local PostgreSQL installation.
//!
//! Shared by the test harness (throwaway clusters) and the dev stack (a
//! cluster kept under `target/`). PostgreSQL refuses to run as root, so when
//! we are root its programs run as the `postgres` user through `setpriv`,
//! which can also give them a parent-death signal.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding `initdb` and `postgres`: from PATH, else the newest
/// version under `/usr/lib/postgresql/*/bin`.
pub fn postgres_binaries() -> Result<PathBuf, String> {
    if let Some(path) = which("initdb")
        && let Some(directory) = path.parent()
        && directory.join("postgres").exists()
    {
        return Ok(directory.to_path_buf());
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("bin"))
                .filter(|bin| bin.join("initdb").exists() && bin.join("postgres").exists())
                .collect()
        })
        .unwrap_or_default();
    // The newest installed major version sorts last.
    candidates.sort_by_key(|path| {
        path.parent()
            .and_then(|version| version.file_name())
            .and_then(|name| name.to_str())
            .and_then(|name| name.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates.pop().ok_or_else(|| {
        "PostgreSQL is not installed: no initdb on PATH or in /usr/lib/postgresql/*/bin. \
         Install it (Debian: apt-get install postgresql) or set DATABASE_URL to a server \
         where tests may create databases."
            .to_owned()
    })
}

/// The first `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|directory| directory.join(program))
        .find(|candidate| candidate.is_file())
}

pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .is_some_and(|uid| uid.trim() == "0")
}

/// Whether the postmaster recorded in a data directory is still running.
pub fn postmaster_alive(data_directory: &Path) -> bool {
    std::fs::read_to_string(data_directory.join("postmaster.pid"))
        .ok()
        .and_then(|contents| contents.lines().next().map(str::to_owned))
        .is_some_and(|pid| Path::new("/proc").join(pid.trim()).exists())
}

/// Runs a PostgreSQL program, as the `postgres` user when we are root
/// (initdb and postgres refuse to run as root).
pub fn postgres_command(
    binaries: &Path,
    program: &str,
    as_postgres_user: bool,
    die_with_parent: bool,
) -> Command {
    let program_path = binaries.join(program);
    let use_setpriv = as_postgres_user || (die_with_parent && which("setpriv").is_some());
    if !use_setpriv {
        return Command::new(program_path);
    }
    let mut command = Command::new("setpriv");
    if as_postgres_user {
        command.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    if die_with_parent {
        command.args(["--pdeathsig", "SIGQUIT"]);
    }
    command.arg("--").arg(program_path);
    command
}

/// The URL of database `name` on a cluster of ours started with `-p port`,
/// which keeps its Unix-domain socket in `socket_directory` (`postgres -k`).
///
/// The dev stack's cluster also listens on 127.0.0.1 for other tools (the
/// tests' throwaway clusters do not), but our own connections take the
/// socket: a statement's round trip then skips the kernel's TCP stack in
/// both processes. Under the page benchmark,
/// where PostgreSQL, the subgraphs and the router share two cores, that
/// took 9 to 20 % off PostgreSQL's CPU per page (docs/performance.md, "Pages
/// under load"). PostgreSQL refuses to start when the socket's path is
/// longer than the kernel allows, so a running cluster's socket path
/// always fits.
///
/// The directory goes into the URL's `host` parameter, which sqlx reads as
/// a socket directory when it starts with `/`; its bytes are
/// percent-encoded, since sqlx decodes the query as a form (`+` would
/// become a space).
pub fn local_cluster_url(port: u16, socket_directory: &Path, name: &str) -> String {
    let mut encoded_directory = String::new();
    for &byte in socket_directory.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'.' | b'_' | b'-' | b'~') {
            encoded_directory.push(char::from(byte));
        } else {
            encoded_directory.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("postgres://postgres@localhost:{port}/{name}?host={encoded_directory}")
}

/// A cluster kept in a directory between runs (the dev stack's), started
/// with `pg_ctl` and stopped by [`PersistentCluster::stop`].
#[derive(Debug)]
pub struct PersistentCluster {
    binaries: PathBuf,
    data_directory: PathBuf,
    /// The directory `postgres -k` puts the Unix-domain socket in: the
    /// cluster's own, beside `data_directory`.
    socket_directory: PathBuf,
    as_postgres_user: bool,
    /// Whether this process started the server (and so should stop it).
    pub started_here: bool,
    pub port: u16,
}

impl PersistentCluster {
    /// Initializes `directory` on first use and starts the server on `port`
    /// unless it is already running.
    pub fn ensure_running(directory: &Path, port: u16) -> Result<Self, String> {
        let binaries = postgres_binaries()?;
        let as_postgres_user = running_as_root();
        let data_directory = directory.join("data");
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
        if as_postgres_user {
            // Only the cluster directory changes owner; the postgres user
            // also needs to traverse the path to it.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(directory)
                .status()
                .map_err(|error| format!("cannot run chown: {error}"))?;
            if !status.success() {
                return Err(format!(
                    "chown of {} to postgres failed",
                    directory.display()
                ));
            }
            let mut ancestor = directory.parent();
            while let Some(path) = ancestor {
                let _ = Command::new("chmod").arg("o+x").arg(path).status();
                ancestor = path.parent();
            }
        }
        if !data_directory.join("PG_VERSION").exists() {
            let output = postgres_command(&binaries, "initdb", as_postgres_user, false)
                .arg("-D")
                .arg(&data_directory)
                .args([
                    "--auth=trust",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "--locale=C",
                ])
                .output()
                .map_err(|error| format!("cannot run initdb: {error}"))?;
            if !output.status.success() {
                return Err(format!(
                    "initdb failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
        let mut cluster = Self {
            binaries,
            data_directory,
            socket_directory: directory.to_path_buf(),
            as_postgres_user,
            started_here: false,
            port,
        };
        if postmaster_alive(&cluster.data_directory) {
            return Ok(cluster);
        }
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            directory.display()
        );
        let output = postgres_command(&cluster.binaries, "pg_ctl", as_postgres_user, false)
            .arg("-D")
            .arg(&cluster.data_directory)
            .arg("-l")
            .arg(directory.join("postgres.log"))
            .args(["-o", &options, "-w", "-t", "60", "start"])
            .output()
            .map_err(|error| format!("cannot run pg_ctl: {error}"))?;
        if !output.status.success() {
            let log = std::fs::read_to_string(directory.join("postgres.log")).unwrap_or_default();
            return Err(format!(
                "pg_ctl start failed: {}\n{}",
                String::from_utf8_lossy(&output.stderr),
                log.lines()
                    .rev()
                    .take(15)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        cluster.started_here = true;
        Ok(cluster)
    }

    /// The URL of database `name` on this cluster, by its Unix-domain
    /// socket (see [`local_cluster_url`]).
    pub fn url_for(&self, name: &str) -> String {
        local_cluster_url(self.port, &self.socket_directory, name)
    }

    /// Stops the server (fast shutdown: sessions are ended, data is kept).
    pub fn stop(&self) -> Result<(), String> {
        let output = postgres_command(&self.binaries, "pg_ctl", self.as_postgres_user, false)
            .arg("-D")
            .arg(&self.data_directory)
            .args(["-m", "fast", "-w", "stop"])
            .output()
            .map_err(|error| format!("cannot run pg_ctl: {error}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::str::FromStr;

    use sqlx::postgres::PgConnectOptions;

    use super::local_cluster_url;

    #[test]
    fn a_local_cluster_url_names_the_socket_directory_the_port_and_the_database() {
        let url = local_cluster_url(
            55432,
            Path::new("/work/target/devstack/postgres"),
            "tg_core",
        );
        let options = PgConnectOptions::from_str(&url).expect("sqlx reads the URL");
        assert_eq!(
            options.get_socket().map(|path| path.as_path()),
            Some(Path::new("/work/target/devstack/postgres"))
        );
        assert_eq!(options.get_port(), 55432);
        assert_eq!(options.get_database(), Some("tg_core"));
        assert_eq!(options.get_username(), "postgres");
    }

    #[test]
    fn a_socket_directory_with_spaces_pluses_and_ampersands_survives_the_url() {
        let directory = Path::new("/home/a user/c++ & rust/postgres");
        let url = local_cluster_url(5432, directory, "postgres");
        let options = PgConnectOptions::from_str(&url).expect("sqlx reads the URL");
        assert_eq!(
            options.get_socket().map(|path| path.as_path()),
            Some(directory)
        );
        assert_eq!(
            crate::config::database_url_with_name(&url, "tg_auth")
                .parse::<PgConnectOptions>()
                .expect("sqlx reads the renamed URL")
                .get_database(),
            Some("tg_auth")
        );
    }
}
