//! A local Redis: `redis-server` on a loopback port, its data in a
//! temporary directory (tests) or in a directory kept between runs (the
//! dev stack). It can be stopped and started again on the same port, which
//! is how the fail-soft tests take Redis away and bring it back.
//!
//! This is the one place that runs `redis-server`; the launch crate and the
//! test harness build on it. Never the machine's own Redis on 6379: every
//! server here gets a port of its own.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use crate::local_binaries::{DataDirectory, server_binary};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `redis-server` binary: `REDIS_SERVER` or Debian's.
fn binary() -> PathBuf {
    server_binary(
        "REDIS_SERVER",
        &["/usr/bin/redis-server", "/usr/local/bin/redis-server"],
        "redis-server",
    )
}

/// A running (or stopped) local Redis.
pub struct RedisServer {
    port: u16,
    data: DataDirectory,
    /// The data directory's canonical path: the start-up wait asks the
    /// server on the port for `CONFIG GET dir` and compares, so it knows it
    /// reached this server and not another process that took the port.
    canonical_data_path: PathBuf,
    child: Option<Child>,
}

/// How many fresh ports [`RedisServer::start`] tries.
const START_ATTEMPTS: usize = 5;

impl RedisServer {
    /// Starts a server on a free port with a temporary data directory;
    /// panics with a hint when `redis-server` is not installed. For tests.
    pub fn start() -> Self {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let mut server = Self {
            port: 0,
            canonical_data_path: directory
                .path()
                .canonicalize()
                .expect("the temporary directory resolves"),
            data: DataDirectory::Temporary(directory),
            child: None,
        };
        let mut last_failure = String::new();
        for _ in 0..START_ATTEMPTS {
            server.port = crate::local_ports::unused_loopback_port();
            match server.try_resume() {
                Ok(()) => return server,
                // Another process bound the port first: pick another.
                Err(StartFailure::Exited(message)) => last_failure = message,
                Err(failure) => panic!("{failure}"),
            }
        }
        panic!(
            "redis-server exited at each of {START_ATTEMPTS} starts, each on another port; \
             the last said: {last_failure}"
        )
    }

    /// Starts a server on `port` with its data in `directory` (created if
    /// missing and kept), as the dev stack runs it.
    pub fn start_kept(port: u16, directory: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(directory)
            .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
        let directory = directory
            .canonicalize()
            .map_err(|error| format!("cannot resolve {}: {error}", directory.display()))?;
        let mut server = Self {
            port,
            canonical_data_path: directory.clone(),
            data: DataDirectory::Kept(directory),
            child: None,
        };
        server
            .try_resume()
            .map_err(|failure| format!("{failure} (port {port})"))?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server at once (SIGKILL, as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Pauses the server (SIGSTOP): it keeps its port and connections but
    /// answers nothing, as a Redis stuck on a slow disk or a long command
    /// does, until [`RedisServer::unpause`].
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server answer again (SIGCONT).
    pub fn unpause(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg(signal)
                .arg(pid.to_string())
                .status();
        }
    }

    /// Starts the server again on the same port and data directory; waits
    /// until it answers.
    pub fn resume(&mut self) {
        if let Err(failure) = self.try_resume() {
            panic!("{failure} when started again on port {}", self.port);
        }
    }

    fn try_resume(&mut self) -> Result<(), StartFailure> {
        self.stop();
        // No snapshots and no append-only file: what the platform keeps in
        // Redis (rate-limit windows, cached reads) is rebuilt by use, and a
        // fork for a snapshot would cost the small machine a core.
        let mut child = Command::new(binary())
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.data.path())
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                StartFailure::NotRunnable(format!(
                    "cannot start redis-server ({error}); install it (Debian: apt-get install redis-server) or set REDIS_SERVER"
                ))
            })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut said = String::new();
                if let Some(stdout) = child.stdout.take() {
                    let _ = BufReader::new(stdout).read_line(&mut said);
                }
                return Err(StartFailure::Exited(format!(
                    "redis-server exited with {status}: {}",
                    said.trim()
                )));
            }
            if self.answers_as_itself() {
                // Its log is not read further; a full pipe must not block it.
                drop(child.stdout.take());
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

    /// Whether the server on this port is this one: it reports this
    /// server's data directory for `CONFIG GET dir`.
    fn answers_as_itself(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream
            .write_all(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$3\r\ndir\r\n")
            .is_err()
        {
            return false;
        }
        // `*2`, `$3`, `dir`, `$<n>`, the directory.
        let mut reader = BufReader::new(stream);
        let mut lines = Vec::new();
        for _ in 0..5 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return false;
            }
            lines.push(line.trim_end().to_owned());
        }
        lines.last().map(PathBuf::from).as_ref() == Some(&self.canonical_data_path)
    }
}

/// Why a server did not come up.
enum StartFailure {
    /// The process ended, most likely because its port was taken.
    Exited(String),
    TimedOut,
    NotRunnable(String),
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited(message) | Self::NotRunnable(message) => formatter.write_str(message),
            Self::TimedOut => formatter.write_str("redis-server did not answer within 10 s"),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
