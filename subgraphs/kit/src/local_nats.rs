//! A local NATS server with JetStream: `nats-server -js` on a loopback
//! port, with its store in a temporary directory (tests) or in a directory
//! kept between runs (the dev stack). It can be stopped and started again
//! on the same port and store, which is how the fault tests take the broker
//! away and bring it back.
//!
//! This is the one place that runs `nats-server`; the launch crate and the
//! test harness build on it.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use crate::local_binaries::{DataDirectory, server_binary};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `nats-server` binary: `NATS_SERVER` or the one on the `PATH`
/// (Debian's package puts it in /usr/sbin).
fn binary() -> PathBuf {
    server_binary(
        "NATS_SERVER",
        &[
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
            "/usr/local/bin/nats-server",
        ],
        "nats-server",
    )
}

/// A server's place in a cluster: the cluster's name, the port its routes
/// listen on, and the other members' route ports.
#[derive(Debug, Clone)]
pub struct ClusterMembership {
    pub cluster_name: String,
    pub route_port: u16,
    pub peer_route_ports: Vec<u16>,
}

/// A running (or stopped) local broker.
pub struct NatsServer {
    port: u16,
    cluster: Option<ClusterMembership>,
    /// The name the server announces in its `INFO` greeting, so that the
    /// start-up wait knows it reached this server and not another process
    /// that took the port.
    name: String,
    store: DataDirectory,
    child: Option<Child>,
}

/// Why a server did not come up.
enum StartFailure {
    /// The process ended, most likely because its port was taken.
    Exited(std::process::ExitStatus),
    /// It neither ended nor greeted within the deadline.
    TimedOut,
    /// The binary could not be run at all.
    NotRunnable(String),
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited(status) => write!(formatter, "nats-server exited with {status}"),
            Self::TimedOut => write!(formatter, "nats-server did not start within 10 s"),
            Self::NotRunnable(message) => formatter.write_str(message),
        }
    }
}

/// How many fresh ports [`NatsServer::start`] tries.
const START_ATTEMPTS: usize = 5;

impl NatsServer {
    /// Starts a server on a free port with a temporary store; panics with a
    /// hint when `nats-server` is not installed. For tests.
    pub fn start() -> Self {
        let mut server = Self {
            port: 0,
            cluster: None,
            name: format!("talentgraph-test-{}", uuid::Uuid::new_v4().simple()),
            store: DataDirectory::Temporary(tempfile::tempdir().expect("a temporary directory")),
            child: None,
        };
        for _ in 0..START_ATTEMPTS {
            server.port = crate::local_ports::unused_loopback_port();
            match server.try_resume() {
                Ok(()) => return server,
                // Another process bound the port first: pick another.
                Err(StartFailure::Exited(_)) => {}
                Err(failure) => panic!("{failure}"),
            }
        }
        panic!(
            "nats-server exited at each of {START_ATTEMPTS} starts, each on another port \
             (if not its port, the binary: try `{} --version`)",
            binary().display()
        )
    }

    /// Starts a server on `port` with its store in `store` (created if
    /// missing and kept afterwards), as the dev stack runs it.
    pub fn start_kept(port: u16, store: &Path) -> Result<Self, String> {
        Self::start_kept_member(port, store, None)
    }

    /// Starts a member of a JetStream cluster on `port`, its store in
    /// `store`, its routes as `membership` says. The cluster elects its
    /// JetStream leader once a majority of members run.
    pub fn start_cluster_member(
        port: u16,
        store: &Path,
        membership: ClusterMembership,
    ) -> Result<Self, String> {
        Self::start_kept_member(port, store, Some(membership))
    }

    fn start_kept_member(
        port: u16,
        store: &Path,
        cluster: Option<ClusterMembership>,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(store)
            .map_err(|error| format!("cannot create {}: {error}", store.display()))?;
        let mut server = Self {
            port,
            cluster,
            name: format!("talentgraph-{port}-{}", uuid::Uuid::new_v4().simple()),
            store: DataDirectory::Kept(store.to_path_buf()),
            child: None,
        };
        server.try_resume().map_err(|failure| match failure {
            StartFailure::Exited(status) => {
                format!("nats-server exited with {status} on port {port} (is the port taken?)")
            }
            other => other.to_string(),
        })?;
        Ok(server)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The name the server announces (and JetStream reports leaders by).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (the store stays, as after a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store; waits until it
    /// accepts connections.
    pub fn resume(&mut self) {
        if let Err(failure) = self.try_resume() {
            panic!("{failure} when started again on port {}", self.port);
        }
    }

    fn try_resume(&mut self) -> Result<(), StartFailure> {
        self.stop();
        let mut command = Command::new(binary());
        command
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-n")
            .arg(&self.name)
            .arg("-sd")
            .arg(self.store.path());
        if let Some(cluster) = &self.cluster {
            let routes: Vec<String> = cluster
                .peer_route_ports
                .iter()
                .map(|port| format!("nats://127.0.0.1:{port}"))
                .collect();
            command
                .arg("--cluster_name")
                .arg(&cluster.cluster_name)
                .arg("--cluster")
                .arg(format!("nats://127.0.0.1:{}", cluster.route_port))
                .arg("--routes")
                .arg(routes.join(","));
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                StartFailure::NotRunnable(format!(
                    "cannot start nats-server ({error}); install it (Debian: apt-get install nats-server) or set NATS_SERVER"
                ))
            })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(StartFailure::Exited(status));
            }
            if self.greets_with_its_name() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartFailure::TimedOut);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the server on this port is this one: a NATS server greets
    /// every connection with an `INFO` line that carries its name.
    fn greets_with_its_name(&self) -> bool {
        let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut greeting = String::new();
        let _ = BufReader::new(stream).read_line(&mut greeting);
        greeting.starts_with("INFO ")
            && greeting.contains(&format!("\"server_name\":\"{}\"", self.name))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
