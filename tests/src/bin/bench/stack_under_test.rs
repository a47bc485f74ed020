//! The dev stack under measurement: built and started in release mode.

use std::process::Command;
use std::time::Duration;

use talentgraph_e2e::repository_root;
use talentgraph_launch::{ChildProcess, Readiness};

use crate::options::Variant;
use crate::routers::bench_directory;

/// Every rate limit times this in the bench's subgraphs
/// (`RATE_LIMIT_MULTIPLIER`).
pub const BENCH_RATE_LIMIT_MULTIPLIER: &str = "100000";

/// The running dev stack (`devstack up`, its log in
/// `target/bench/devstack.log`). Dropping it stops it the way Ctrl-C does
/// (SIGINT), so PostgreSQL, NATS and the router stop with it even when the
/// bench fails.
pub struct RunningDevstack(pub ChildProcess);

impl RunningDevstack {
    pub fn pid(&self) -> u32 {
        self.0.pid().expect("the dev stack runs")
    }
}

impl Drop for RunningDevstack {
    fn drop(&mut self) {
        self.0.interrupt();
    }
}

/// Builds `devstack` in release mode, and the standalone binary of the
/// subgraph the scale-out run replicates.
pub fn build_devstack(scale_out: Option<&str>) {
    let mut packages = vec!["devstack".to_owned()];
    packages.extend(scale_out.map(|subgraph| format!("talentgraph-{subgraph}")));
    // One package per build: building them together would unify their
    // features into different artifacts than the README's commands build.
    // `cargo run` gives this process the package variables of the bench's
    // own crate (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...). Build
    // scripts that watch them (ring's does) would see them change against
    // a build from a shell (or from the last run) and rerun, rebuilding
    // everything above them: about ten minutes on two cores. Removed, a
    // build of unchanged sources has nothing to do.
    let inherited_package_variables = std::env::vars_os()
        .filter_map(|(name, _)| {
            let text = name.to_string_lossy();
            let set_by_cargo_run = text.starts_with("CARGO_PKG_")
                || text.starts_with("CARGO_MANIFEST_")
                || text.starts_with("CARGO_BIN_")
                || text.starts_with("CARGO_CRATE_")
                || text == "CARGO_PRIMARY_PACKAGE"
                || text == "OUT_DIR";
            set_by_cargo_run.then_some(name)
        })
        .collect::<Vec<_>>();
    for package in packages {
        let mut build = Command::new("cargo");
        for name in &inherited_package_variables {
            build.env_remove(name);
        }
        let status = build
            .args(["build", "--release", "-p", &package])
            .current_dir(repository_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {package} failed");
    }
}

/// Starts `devstack up` (release) in `variant`'s environment; returns it
/// once it printed that the stack is up.
#[allow(clippy::print_stdout)]
pub fn start_devstack(variant: &Variant) -> RunningDevstack {
    let root = repository_root();
    let binary = variant
        .environment
        .iter()
        .find(|(name, _)| name == "DEVSTACK_BINARY")
        .map_or_else(
            || root.join("target/release/devstack"),
            |(_, path)| root.join(path),
        );
    let mut command = Command::new(&binary);
    command
        .arg("up")
        .current_dir(root)
        .env("RUST_LOG", "warn")
        .envs(
            variant
                .environment
                .iter()
                .map(|(name, value)| (name, value)),
        )
        .env_remove("DATABASE_URL")
        .env_remove("NATS_URL")
        .env_remove("REDIS_URL")
        .env_remove("PAYMENT_PROVIDER_URL")
        // The load is a few users sending thousands of pages a second:
        // the limits stay on (every page pays its Redis round trip) but
        // far above it.
        .env("RATE_LIMIT_MULTIPLIER", BENCH_RATE_LIMIT_MULTIPLIER);
    let log_path = bench_directory().join("devstack.log");
    println!("devstack's log: {}", log_path.display());
    let mut devstack = ChildProcess::spawn("devstack", command, &log_path)
        .unwrap_or_else(|error| panic!("{error}"))
        // devstack stops PostgreSQL, NATS and the router on Ctrl-C.
        .with_grace_period(Duration::from_secs(60));
    if let Err(failure) = devstack.wait_until_ready(
        &Readiness::LogLine("dev stack is up".to_owned()),
        Duration::from_secs(900),
    ) {
        panic!("devstack {failure}; see {}", log_path.display());
    }
    RunningDevstack(devstack)
}
