//! A subgraph as its own process: its binary (`talentgraph-<name>`, built
//! by cargo), configured through the environment as a deployment would,
//! ready once its `/ready` answers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::LaunchError;
use crate::process::{ChildProcess, Readiness};

/// Everything one replica is started with.
#[derive(Debug, Clone)]
pub struct SubgraphReplica {
    /// The subgraph's name (`core`, …).
    pub subgraph: String,
    /// Names the replica's log (`<subgraph>-<label>.log`).
    pub label: String,
    pub binary: PathBuf,
    pub listen: SocketAddr,
    /// More environment: the database, the broker, secrets, the drain.
    pub environment: Vec<(String, String)>,
}

impl SubgraphReplica {
    /// The release or debug build of `subgraph` under `target/<profile>`.
    pub fn built_binary(profile: &str, subgraph: &str) -> PathBuf {
        crate::workspace_root()
            .join("target")
            .join(profile)
            .join(format!("talentgraph-{subgraph}"))
    }

    /// Starts the replica, logging into `directory`, and waits until it
    /// answers `/ready`.
    pub fn start(&self, directory: &Path) -> Result<ChildProcess, LaunchError> {
        if !self.binary.exists() {
            return Err(LaunchError::Process {
                name: self.subgraph.clone(),
                message: format!(
                    "{} is not built (cargo build -p talentgraph-{})",
                    self.binary.display(),
                    self.subgraph
                ),
            });
        }
        let mut command = Command::new(&self.binary);
        command
            .env("LISTEN_ADDR", self.listen.to_string())
            .env_remove("DATABASE_URL")
            .env_remove("NATS_URL")
            .envs(self.environment.iter().map(|(name, value)| (name, value)));
        let name = format!("{}-{}", self.subgraph, self.label);
        let mut process =
            ChildProcess::spawn(&name, command, &directory.join(format!("{name}.log")))?
                // Drain, then the in-flight requests' grace.
                .with_grace_period(Duration::from_secs(60));
        let readiness = Readiness::HttpOk {
            address: self.listen,
            path: "/ready".to_owned(),
        };
        if let Err(failure) = process.wait_until_ready(&readiness, Duration::from_secs(60)) {
            return Err(LaunchError::Process {
                name,
                message: format!("{failure}; see {}", process.log_path().display()),
            });
        }
        Ok(process)
    }
}
