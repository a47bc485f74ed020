//! `compose-smoke`: `docker-compose.yml` run for real (see
//! `talentgraph_e2e::compose_smoke`). `scripts/compose-smoke.sh` installs
//! what it needs, builds the release binaries and runs it:
//!
//!   compose-smoke --compose <docker-compose v2> --router <router binary>
//!
//! Exit code 0 when every step passed, 1 otherwise; the engine's log and,
//! on failure, the containers' logs are in `target/compose-smoke/`.

use std::path::PathBuf;
use std::process::ExitCode;

use talentgraph_e2e::compose_smoke::{SmokeTools, run};
use talentgraph_e2e::repository_root;

#[derive(Debug, clap::Parser)]
#[command(name = "compose-smoke")]
struct Arguments {
    /// Docker Compose v2 (scripts/install-compose.sh prints its path).
    #[arg(long)]
    compose: PathBuf,
    /// The pinned Apollo Router (scripts/install-router.sh prints its path).
    #[arg(long)]
    router: PathBuf,
    /// Where the Debian base images' tarballs are kept between runs.
    #[arg(long)]
    cache: PathBuf,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    use clap::Parser;
    let arguments = Arguments::parse();
    let directory = repository_root().join("target").join("compose-smoke");
    let tools = SmokeTools {
        compose: arguments.compose,
        router: arguments.router,
        cache: arguments.cache,
    };
    match run(&directory, &tools).await {
        Ok(steps) => {
            let total: f64 = steps.iter().map(|step| step.seconds).sum();
            eprintln!("compose-smoke: passed in {total:.0} s");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "compose-smoke: FAILED: {error}\n(logs in {})",
                directory.display()
            );
            ExitCode::FAILURE
        }
    }
}
