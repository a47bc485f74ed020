//! A child process with its log file, a readiness wait and a stop by pid.
//!
//! Every server the launch crate starts is one of these. Dropping it stops
//! the process, so a caller that fails (a panicking test, a bench that
//! gives up) leaves nothing running; the stop names the process by its own
//! pid, never by its name.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::LaunchError;

/// When a started process counts as ready.
#[derive(Debug, Clone)]
pub enum Readiness {
    /// `GET path` on `address` answers 200.
    HttpOk { address: SocketAddr, path: String },
    /// `address` accepts TCP connections.
    Listening(SocketAddr),
    /// The process's log contains this text.
    LogLine(String),
}

/// Why a process did not become ready.
#[derive(Debug)]
pub enum StartFailure {
    Exited(ExitStatus),
    TimedOut(Duration),
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited(status) => write!(formatter, "exited with {status}"),
            Self::TimedOut(timeout) => {
                write!(formatter, "was not ready within {} s", timeout.as_secs())
            }
        }
    }
}

/// A started process; stopped by its pid when dropped.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Option<Child>,
    log_path: PathBuf,
    /// How long [`ChildProcess::stop`] waits after SIGTERM before SIGKILL.
    grace_period: Duration,
}

impl ChildProcess {
    /// Starts `command` with its standard output and error appended to a
    /// fresh `log_path` and no standard input.
    pub fn spawn(name: &str, mut command: Command, log_path: &Path) -> Result<Self, LaunchError> {
        let write_failed = |source| LaunchError::Write {
            path: log_path.to_path_buf(),
            source,
        };
        if let Some(directory) = log_path.parent() {
            std::fs::create_dir_all(directory).map_err(write_failed)?;
        }
        let log = std::fs::File::create(log_path).map_err(write_failed)?;
        let log_for_stderr = log.try_clone().map_err(write_failed)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr)
            .spawn()
            .map_err(|error| LaunchError::Process {
                name: name.to_owned(),
                message: format!("cannot start {:?}: {error}", command.get_program()),
            })?;
        Ok(Self {
            name: name.to_owned(),
            child: Some(child),
            log_path: log_path.to_path_buf(),
            grace_period: Duration::from_secs(10),
        })
    }

    /// Sets how long a stop waits for the process to end after SIGTERM.
    pub fn with_grace_period(mut self, grace_period: Duration) -> Self {
        self.grace_period = grace_period;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// What the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The exit status once the process has ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits until `readiness` holds, blocking this thread; fails when the
    /// process exits or `timeout` passes (then the process is stopped).
    pub fn wait_until_ready(
        &mut self,
        readiness: &Readiness,
        timeout: Duration,
    ) -> Result<(), StartFailure> {
        let deadline = Instant::now() + timeout;
        loop {
            let ready = self.exit_status().is_none() && readiness_holds(readiness, &self.log_path);
            if let Some(outcome) = self.wait_outcome(ready, deadline, timeout) {
                return outcome;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`ChildProcess::wait_until_ready`] for async callers: the probes run
    /// off the async workers, so servers served by the same runtime (the
    /// subgraphs of a test) keep answering meanwhile.
    pub async fn wait_until_ready_async(
        &mut self,
        readiness: &Readiness,
        timeout: Duration,
    ) -> Result<(), StartFailure> {
        let deadline = Instant::now() + timeout;
        loop {
            let probe = readiness.clone();
            let log_path = self.log_path.clone();
            let ready = self.exit_status().is_none()
                && tokio::task::spawn_blocking(move || readiness_holds(&probe, &log_path))
                    .await
                    .unwrap_or(false);
            if let Some(outcome) = self.wait_outcome(ready, deadline, timeout) {
                return outcome;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether a readiness wait is over after a probe that found the
    /// process `ready`: it is when the process is ready, has exited, or
    /// the deadline passed (then it is killed).
    fn wait_outcome(
        &mut self,
        ready: bool,
        deadline: Instant,
        timeout: Duration,
    ) -> Option<Result<(), StartFailure>> {
        if let Some(status) = self.exit_status() {
            return Some(Err(StartFailure::Exited(status)));
        }
        if ready {
            return Some(Ok(()));
        }
        if Instant::now() > deadline {
            self.kill();
            return Some(Err(StartFailure::TimedOut(timeout)));
        }
        None
    }

    /// Sends `signal` (a `kill` signal name such as `TERM` or `INT`) to
    /// the process by its pid.
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Stops the process the way an orchestrator does: SIGTERM, then
    /// SIGKILL when it has not ended within the grace period.
    pub fn stop(&mut self) {
        self.stop_with("TERM");
    }

    /// Stops the process the way Ctrl-C does (SIGINT), then SIGKILL after
    /// the grace period.
    pub fn interrupt(&mut self) {
        self.stop_with("INT");
    }

    fn stop_with(&mut self, signal: &str) {
        if self.child.is_none() {
            return;
        }
        self.signal(signal);
        let deadline = Instant::now() + self.grace_period;
        while Instant::now() < deadline {
            if self.exit_status().is_some() {
                self.child = None;
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// Kills the process at once (SIGKILL), as a crash would end it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `readiness` holds now for the process logging to `log_path`.
fn readiness_holds(readiness: &Readiness, log_path: &Path) -> bool {
    match readiness {
        Readiness::HttpOk { address, path } => answers_ok(*address, path),
        Readiness::Listening(address) => {
            TcpStream::connect_timeout(address, Duration::from_secs(1)).is_ok()
        }
        Readiness::LogLine(text) => std::fs::read_to_string(log_path)
            .unwrap_or_default()
            .contains(text.as_str()),
    }
}

/// Whether `GET path` on `address` answers 200, asked over a plain
/// HTTP/1.1 connection (this runs before any async client exists, and
/// from blocking code).
pub fn answers_ok(address: SocketAddr, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut status_line = [0_u8; 12];
    stream.read_exact(&mut status_line).is_ok() && status_line.ends_with(b" 200")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_process_is_gone_by_its_pid_and_a_failed_start_says_why() {
        let directory = std::env::temp_dir().join(format!("launch-test-{}", std::process::id()));
        let mut sleeper = ChildProcess::spawn(
            "sleep",
            {
                let mut command = Command::new("sleep");
                command.arg("30");
                command
            },
            &directory.join("sleep.log"),
        )
        .expect("sleep starts");
        let pid = sleeper.pid().expect("running");
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        sleeper.stop();
        assert!(sleeper.pid().is_none());
        // Reaped: no zombie keeps the pid.
        assert!(!Path::new(&format!("/proc/{pid}/stat")).exists());

        let mut failing =
            ChildProcess::spawn("false", Command::new("false"), &directory.join("false.log"))
                .expect("false starts");
        let failure = failing
            .wait_until_ready(
                &Readiness::LogLine("never".to_owned()),
                Duration::from_secs(10),
            )
            .expect_err("false never becomes ready");
        assert!(matches!(failure, StartFailure::Exited(_)), "{failure}");
        let _ = std::fs::remove_dir_all(directory);
    }
}
