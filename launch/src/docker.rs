//! A Docker engine of our own, for the compose smoke: Debian's `dockerd`
//! with its data root, exec root, socket and pid file in one folder of
//! ours, no default bridge (`--bridge none`), no iptables rules
//! (`--iptables=false`) and no IP forwarding switched on. It changes nothing on the host that another engine
//! uses, and another engine's containers, images and networks never reach
//! it: every command goes to its own socket. Published ports are served by
//! its userland proxy; compose networks are bridges it makes and removes.
//!
//! One thing it does add: its networks take their addresses from
//! [`ADDRESS_POOL`], and one `FORWARD` rule accepts traffic within that
//! pool. On a host where another engine set the `FORWARD` policy to
//! `DROP` (and bridged traffic passes through iptables), containers on one
//! compose network could not reach each other without it.
//!
//! [`Dockerd::stop`] (also on drop) removes every container, network and
//! volume it holds, that rule, stops the engine by its pid and deletes the
//! folder, images included.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::LaunchError;
use crate::process::ChildProcess;

/// Debian's engine and client (`docker.io`). The client is named by path:
/// a newer client elsewhere on `PATH` may lack the BuildKit builder that
/// Debian's 20.10 client carries.
const DOCKERD: &str = "/usr/sbin/dockerd";
const DOCKER_CLIENT: &str = "/usr/bin/docker";
const IPTABLES: &str = "/usr/sbin/iptables";

/// Where the engine's networks take their addresses: a range no other
/// engine's default pools use (172.17.0.0/16 and up, 192.168.0.0/16).
pub const ADDRESS_POOL: &str = "10.213.0.0/16";

/// The `FORWARD` rule that lets containers of the engine's networks reach
/// each other, as `iptables` arguments after `-I FORWARD 1` / `-D FORWARD`.
const FORWARD_RULE: [&str; 10] = [
    "-s",
    ADDRESS_POOL,
    "-d",
    ADDRESS_POOL,
    "-m",
    "comment",
    "--comment",
    "talentgraph compose smoke engine",
    "-j",
    "ACCEPT",
];

/// A running engine; stopped and wiped when dropped.
pub struct Dockerd {
    process: Option<ChildProcess>,
    directory: PathBuf,
    socket: PathBuf,
    /// Whether [`FORWARD_RULE`] was added (and must be removed).
    forward_rule_added: bool,
}

impl Dockerd {
    /// Starts an engine in `directory` (created, and emptied first) and
    /// waits until its API answers.
    pub fn start(directory: &Path) -> Result<Self, LaunchError> {
        let failed = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LaunchError::Write { path, source }
        };
        if directory.exists() {
            std::fs::remove_dir_all(directory).map_err(failed(directory))?;
        }
        std::fs::create_dir_all(directory).map_err(failed(directory))?;
        let socket = directory.join("docker.sock");
        let mut command = Command::new(DOCKERD);
        command
            .arg("--data-root")
            .arg(directory.join("data"))
            .arg("--exec-root")
            .arg(directory.join("exec"))
            .arg("--pidfile")
            .arg(directory.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            // No docker0, no firewall rules, no forwarding switched on:
            // the host is on each compose bridge itself, and published
            // ports go through the engine's userland proxy.
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .args(["--ip-forward=false", "--ip-masq=false"])
            .arg("--default-address-pool")
            .arg(format!("base={ADDRESS_POOL},size=24"))
            .args(["--log-level", "warn"]);
        let mut process = ChildProcess::spawn("dockerd", command, &directory.join("dockerd.log"))
            .map_err(|error| match error {
            LaunchError::Process { message, .. } => LaunchError::Process {
                name: "dockerd".to_owned(),
                message: format!("{message} (Debian: apt-get install docker.io)"),
            },
            other => other,
        })?;
        // dockerd stops its containers on SIGTERM, which takes a while.
        process = process.with_grace_period(Duration::from_secs(30));
        let mut engine = Self {
            process: Some(process),
            directory: directory.to_path_buf(),
            socket,
            forward_rule_added: false,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if engine.socket.exists() && engine.docker(&["version"]).is_ok() {
                engine.allow_forwarding_within_the_pool()?;
                return Ok(engine);
            }
            let process = engine.process.as_mut().expect("just started");
            if let Some(status) = process.exit_status() {
                return Err(LaunchError::Process {
                    name: "dockerd".to_owned(),
                    message: format!("exited with {status}; its log:\n{}", process.log()),
                });
            }
            if std::time::Instant::now() > deadline {
                return Err(LaunchError::Process {
                    name: "dockerd".to_owned(),
                    message: format!(
                        "its API did not answer within 60 s; its log:\n{}",
                        process.log()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Adds [`FORWARD_RULE`] where iptables exists (without it, nothing
    /// filters bridged traffic).
    fn allow_forwarding_within_the_pool(&mut self) -> Result<(), LaunchError> {
        if !Path::new(IPTABLES).exists() {
            return Ok(());
        }
        // A run that was killed (SIGKILL, no drop) left its rule behind;
        // there is never more than one.
        loop {
            let mut leftover = Command::new(IPTABLES);
            leftover.args(["-w", "-D", "FORWARD"]).args(FORWARD_RULE);
            if checked_output("iptables -D FORWARD", leftover).is_err() {
                break;
            }
        }
        let mut command = Command::new(IPTABLES);
        command
            .args(["-w", "-I", "FORWARD", "1"])
            .args(FORWARD_RULE);
        checked_output("iptables -I FORWARD", command)?;
        self.forward_rule_added = true;
        Ok(())
    }

    /// `DOCKER_HOST` for this engine.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The engine's folder (logs, data).
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// `program` with the environment that sends it to this engine only.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("DOCKER_HOST", self.host())
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_CONFIG")
            .env("DOCKER_BUILDKIT", "1")
            .stdin(Stdio::null());
        command
    }

    /// Runs the Docker client with `arguments`; its standard output, or
    /// an error with both outputs.
    pub fn docker(&self, arguments: &[&str]) -> Result<String, LaunchError> {
        let mut command = self.command(DOCKER_CLIENT);
        command.args(arguments);
        checked_output(&format!("docker {}", arguments.join(" ")), command)
    }

    /// Stops the engine: removes its containers, networks and volumes,
    /// stops it by its pid and deletes its folder.
    pub fn stop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        if let Ok(containers) = self.docker(&["ps", "--all", "--quiet"]) {
            let ids: Vec<&str> = containers.split_whitespace().collect();
            if !ids.is_empty() {
                let mut arguments = vec!["rm", "--force", "--volumes"];
                arguments.extend(ids);
                let _ = self.docker(&arguments);
            }
        }
        let _ = self.docker(&["network", "prune", "--force"]);
        let _ = self.docker(&["volume", "prune", "--force"]);
        process.stop();
        if self.forward_rule_added {
            let mut command = Command::new(IPTABLES);
            command.args(["-w", "-D", "FORWARD"]).args(FORWARD_RULE);
            if let Err(error) = checked_output("iptables -D FORWARD", command) {
                eprintln!("could not remove the engine's FORWARD rule: {error}");
            }
            self.forward_rule_added = false;
        }
        // The data root held overlay mounts, which the engine undid on its
        // way out; what is left is plain files.
        if let Err(error) = std::fs::remove_dir_all(&self.directory) {
            eprintln!(
                "could not remove the engine's folder {}: {error}",
                self.directory.display()
            );
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `command`, named `what` in errors; its standard output when it
/// succeeded.
pub fn checked_output(what: &str, mut command: Command) -> Result<String, LaunchError> {
    let output: Output = command.output().map_err(|error| LaunchError::Process {
        name: what.to_owned(),
        message: error.to_string(),
    })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(LaunchError::Process {
            name: what.to_owned(),
            message: format!(
                "{}:\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}
