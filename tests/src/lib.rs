//! The end-to-end harness: the whole stack, started per test.
//!
//! [`Stack::start`] (in `stack/`) gives each subgraph a fresh database with
//! the small demo world, serves the six subgraphs on free loopback ports,
//! composes a supergraph that routes to them, and starts the real router
//! through `talentgraph-launch`. Identity is real: the auth subgraph signs
//! EdDSA access tokens, the other subgraphs verify them against its JWKS,
//! and the stack signs the three demo accounts in through the router before
//! any test runs.
//!
//! - `stack/`: [`Stack`] and its requests, with their [`Cost`];
//! - `answers.rs`: the router's answers, `@defer` parts merged;
//! - `pages.rs`: the pages' documents, budgets and variables;
//! - `readme.rs`: the tables the measuring binaries write into the docs;
//! - `drill/`: deploys and faults under load, on a production-like stack;
//! - `compose_smoke/`: `docker-compose.yml` on a Docker engine of its own,
//!   with images built here;
//! - `projections.rs`: the wait for the demo world's events to be applied;
//! - the rest serve single test files and binaries (web, traces, fuzzing,
//!   callgrind, recorded subgraphs).

use std::net::SocketAddr;
use std::path::Path;

use talentgraph_demo_world::DemoWorld;

pub mod answers;
pub mod callgrind;
pub mod compose_smoke;
pub mod drill;
pub mod fuzz;
pub mod otlp;
pub mod pages;
pub mod projections;
pub mod readme;
pub mod recorded_subgraphs;
pub mod stack;
pub mod web;

pub use answers::{RouterResponse, merge_multipart_answer, router_answer_body};
pub use pages::{PAGES, PageBudget, operation_document, page_budgets, page_document, page_request};
pub use readme::{run_provenance, write_docs_section};
pub use stack::{Cost, PROVIDER_WEBHOOK_SECRET, RunningSubgraph, Stack, StackOptions};
pub use talentgraph_launch::RouterKind;
pub use talentgraph_launch::router::{
    APOLLO_ROUTER_VERSION as ROUTER_VERSION, HIVE_ROUTER_VERSION,
};

pub const WORLD: DemoWorld = DemoWorld::SMALL;

/// The secret the router sends to the subgraphs in end-to-end tests.
pub const ROUTER_SECRET: &str = "e2e-router-secret-0123456789";

/// The demo accounts with known credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoAccount {
    Jobseeker,
    Recruiter,
    Admin,
}

impl DemoAccount {
    pub const ALL: [DemoAccount; 3] = [Self::Jobseeker, Self::Recruiter, Self::Admin];

    pub fn user(self) -> u64 {
        match self {
            Self::Jobseeker => WORLD.demo_jobseeker(),
            Self::Recruiter => WORLD.demo_recruiter(),
            Self::Admin => WORLD.demo_admin(),
        }
    }

    pub fn email(self) -> String {
        WORLD.email(self.user())
    }
}

/// Tokens from one sign-in.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
}

/// Runs each named test through both routers. For every `name`, the test
/// file defines `async fn name(router: RouterKind)`; this generates the
/// tests `through_apollo_router::name` and `through_hive_router::name`.
#[macro_export]
macro_rules! test_through_both_routers {
    ($($test:ident),+ $(,)?) => {
        mod through_apollo_router {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::RouterKind::Apollo).await;
                }
            )+
        }
        mod through_hive_router {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::RouterKind::Hive).await;
                }
            )+
        }
    };
}

pub fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate sits in the repository")
}

/// A loopback address nobody listens on now, for a server a test starts
/// as a child process (see `talentgraph_kit::local_ports` for why it is
/// not the kernel's choice).
pub fn free_address() -> SocketAddr {
    talentgraph_kit::local_ports::unused_loopback_address()
}
