//! A throwaway NATS server with JetStream for one test: `nats-server -js`
//! on a free loopback port (see [`super::ports`]) with its store in a
//! temporary directory. It can be stopped and started again on the same
//! port and store, which is how the fault tests take the broker away and
//! bring it back.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `nats-server` binary: `NATS_SERVER` or the one on the `PATH`
/// (Debian's package puts it in /usr/sbin).
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    for candidate in [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ] {
        let path = PathBuf::from(candidate);
        if path.exists() {
            return path;
        }
    }
    PathBuf::from("nats-server")
}

/// A running (or stopped) test broker.
pub struct NatsServer {
    port: u16,
    /// The name the server announces in its `INFO` greeting, so that the
    /// start-up wait knows it reached this server and not another process
    /// that took the port.
    name: String,
    store: tempfile::TempDir,
    child: Option<Child>,
}

/// Why a server did not come up.
enum StartFailure {
    /// The process ended, most likely because its port was taken.
    Exited(std::process::ExitStatus),
    /// It neither ended nor greeted within the deadline.
    TimedOut,
}

/// How many fresh ports [`NatsServer::start`] tries.
const START_ATTEMPTS: usize = 5;

impl NatsServer {
    /// Starts a server on a free port; panics with a hint when
    /// `nats-server` is not installed.
    pub fn start() -> Self {
        let mut server = Self {
            port: 0,
            name: format!("talentgraph-test-{}", uuid::Uuid::new_v4().simple()),
            store: tempfile::tempdir().expect("a temporary directory"),
            child: None,
        };
        for _ in 0..START_ATTEMPTS {
            server.port = super::ports::unused_loopback_port();
            match server.try_resume() {
                Ok(()) => return server,
                // Another process bound the port first: pick another.
                Err(StartFailure::Exited(_)) => {}
                Err(StartFailure::TimedOut) => panic!("nats-server did not start within 10 s"),
            }
        }
        panic!(
            "nats-server exited at each of {START_ATTEMPTS} starts, each on another port \
             (if not its port, the binary: try `{} --version`)",
            binary().display()
        )
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
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
        match self.try_resume() {
            Ok(()) => {}
            Err(StartFailure::Exited(status)) => panic!(
                "nats-server exited with {status} when started again on port {}",
                self.port
            ),
            Err(StartFailure::TimedOut) => panic!("nats-server did not start within 10 s"),
        }
    }

    fn try_resume(&mut self) -> Result<(), StartFailure> {
        self.stop();
        let mut child = Command::new(binary())
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-n")
            .arg(&self.name)
            .arg("-sd")
            .arg(self.store.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start nats-server ({error}); install it (Debian: apt-get install nats-server) or set NATS_SERVER"
                )
            });
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
