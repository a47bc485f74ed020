//! The drill: deploys and faults under load, on a stack laid out as
//! production lays it out (see [`stack`]), with what each did to the
//! requests in flight and the data checks afterwards.
//!
//! `cargo run --release -p talentgraph-e2e --bin drill` runs the full
//! drill and writes its table into `docs/drill.md`; the `drill` test runs
//! the short one (each operation once, the small world, a few seconds of
//! load around each) in CI.

use std::time::{Duration, Instant};

use talentgraph_demo_world::DemoWorld;

mod checks;
pub mod load;
pub mod report;
pub mod stack;

use checks::data_checks;
use load::{Load, Recording};
use report::{OperationReport, Windows};
use stack::DrillStack;

/// What the drill does to the running stack, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A compatible change of a subgraph's schema published through the
    /// registry, which the routers hot-reload; ten times, a second apart.
    SchemaPublish,
    /// A new release of a client registered with the registry: the routers
    /// (production profile) reload the trusted-documents script.
    TrustedDocumentRegistration,
    /// Each replica of the subgraph replaced by a new process, the new one
    /// first, the old one drained.
    RollingDeploy(&'static str),
    /// Each router replica replaced the same way.
    RouterRollingRestart,
    /// PostgreSQL's fast restart.
    PostgresRestart,
    /// One NATS node killed and started again on its port and store.
    NatsNodeRestart,
    /// The node that leads auth's stream (`account.created`) killed and
    /// started again: the stream elects another leader meanwhile.
    NatsStreamLeaderRestart,
    /// The payment provider answers every call 503 for twenty seconds
    /// (the local provider's fault injection).
    ProviderOutage,
}

impl Operation {
    /// Every operation, in the drill's order.
    pub fn all() -> Vec<Operation> {
        let mut operations = vec![
            Operation::SchemaPublish,
            Operation::TrustedDocumentRegistration,
        ];
        operations.extend(
            talentgraph_subgraphs::SUBGRAPHS
                .iter()
                .map(|subgraph| Operation::RollingDeploy(subgraph.name)),
        );
        operations.extend([
            Operation::RouterRollingRestart,
            Operation::PostgresRestart,
            Operation::NatsNodeRestart,
            Operation::NatsStreamLeaderRestart,
            Operation::ProviderOutage,
        ]);
        operations
    }

    pub fn name(self) -> String {
        match self {
            Self::SchemaPublish => "10 compatible schema publishes (router hot reload)".to_owned(),
            Self::TrustedDocumentRegistration => {
                "a client release's trusted documents registered (script reload)".to_owned()
            }
            Self::RollingDeploy(subgraph) if subgraph == stack::EXPAND_MIGRATION_SUBGRAPH => {
                format!("rolling deploy of {subgraph}, with an additive migration")
            }
            Self::RollingDeploy(subgraph) => format!("rolling deploy of {subgraph}"),
            Self::RouterRollingRestart => "rolling restart of the routers".to_owned(),
            Self::PostgresRestart => "PostgreSQL fast restart".to_owned(),
            Self::NatsNodeRestart => "one NATS node killed and restarted".to_owned(),
            Self::NatsStreamLeaderRestart => {
                "the NATS node leading auth's stream killed and restarted".to_owned()
            }
            Self::ProviderOutage => "the payment provider failing for 20 s".to_owned(),
        }
    }

    /// The failures the operation may cause, and the criterion in words.
    fn criterion(self) -> (fn(&str) -> bool, &'static str) {
        match self {
            Self::PostgresRestart => (
                |kind| kind == "SERVICE_UNAVAILABLE",
                "failures only SERVICE_UNAVAILABLE",
            ),
            _ => (|_| false, "0 failed requests"),
        }
    }
}

/// How a drill runs.
#[derive(Debug, Clone)]
pub struct DrillOptions {
    pub world: DemoWorld,
    /// `release` or `debug`: which build of the subgraphs runs.
    pub profile: String,
    pub clients: usize,
    /// The load before and after each operation.
    pub window: Duration,
    pub operations: Vec<Operation>,
    /// Names the run's directory under `target/drill/`.
    pub name: String,
}

/// A recovery figure and whether it met its goal; a miss fails the drill.
#[derive(Debug)]
pub struct Recovery {
    pub description: String,
    pub met: bool,
}

/// What a drill found.
#[derive(Debug)]
pub struct DrillResult {
    pub reports: Vec<OperationReport>,
    pub checks: Vec<(String, bool)>,
    /// Recovery figures with a goal (the first page after PostgreSQL's
    /// return, the consumers' lag after a NATS node's).
    pub measurements: Vec<Recovery>,
    pub recording: Recording,
}

impl DrillResult {
    /// Whether every operation met its criterion, every recovery its goal
    /// and every data check passed.
    pub fn passed(&self) -> bool {
        self.reports.iter().all(|report| report.passed)
            && self.measurements.iter().all(|recovery| recovery.met)
            && self.checks.iter().all(|(_, ok)| *ok)
    }

    pub fn markdown(&self) -> String {
        let recoveries: Vec<(String, bool)> = self
            .measurements
            .iter()
            .map(|recovery| (recovery.description.clone(), recovery.met))
            .collect();
        report::markdown(&self.reports, &self.checks, &recoveries)
    }
}

/// Runs the drill: the stack, the load, each operation with a window of
/// load before and after it, then the data checks.
pub async fn run(options: &DrillOptions) -> DrillResult {
    let directory = stack::drill_directory(&options.name);
    let mut stack = DrillStack::start(&directory, options.world, &options.profile).await;
    let load = Load::start(&stack.router_url, options.world, options.clients).await;
    let mut spans = Vec::new();
    let mut measurements = Vec::new();
    tokio::time::sleep(options.window).await;
    for operation in &options.operations {
        let before = (
            load.elapsed().saturating_sub(options.window),
            load.elapsed(),
        );
        let started = load.elapsed();
        let began = Instant::now();
        let fault_began = perform(&mut stack, *operation).await;
        measurements.extend(measure_recovery(&stack, *operation, fault_began).await);
        eprintln!(
            "drill: {} took {:.1} s",
            operation.name(),
            began.elapsed().as_secs_f64()
        );
        let ended = load.elapsed();
        tokio::time::sleep(options.window).await;
        spans.push((
            *operation,
            Windows {
                before,
                during: (started, ended),
                after: (ended, ended + options.window),
            },
        ));
    }
    let recording = load.stop().await;
    for attempt in recording
        .attempts
        .iter()
        .filter(|attempt| attempt.outcome != load::Outcome::Ok)
        .take(20)
    {
        eprintln!(
            "drill: at {:.2} s {} failed: {:?} {}",
            attempt.at.as_secs_f64(),
            attempt.kind,
            attempt.outcome,
            attempt.detail
        );
    }
    let reports = spans
        .iter()
        .map(|(operation, windows)| {
            let (allowed, criterion) = operation.criterion();
            report::report(
                &operation.name(),
                &recording.attempts,
                windows,
                allowed,
                criterion,
            )
        })
        .collect();
    let mut checks = data_checks(&stack, &recording).await;
    let reconciled = tokio::task::block_in_place(|| stack.reconcile_payments());
    if let Err(report) = &reconciled {
        eprintln!("drill: payment-reconcile: {report}");
    }
    checks.push((
        "`payment-reconcile`: the books agree with the provider".to_owned(),
        reconciled.is_ok(),
    ));
    if options
        .operations
        .contains(&Operation::RollingDeploy(stack::EXPAND_MIGRATION_SUBGRAPH))
    {
        checks.push((
            format!(
                "{}'s rolling deploy applied its additive migration while the old replicas served",
                stack::EXPAND_MIGRATION_SUBGRAPH
            ),
            stack.expand_migration_applied().await,
        ));
    }
    DrillResult {
        reports,
        checks,
        measurements,
        recording,
    }
}

/// Does `operation`; returns the moment a fault with a recovery goal
/// began (a NATS node's kill), from which its recovery is timed.
async fn perform(stack: &mut DrillStack, operation: Operation) -> Option<Instant> {
    match operation {
        Operation::SchemaPublish => {
            for _ in 0..10 {
                stack.publish_compatible_change().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            stack.wait_until_the_routers_reloaded().await;
        }
        Operation::TrustedDocumentRegistration => {
            let document = stack.register_client_release().await;
            stack.wait_until_the_routers_trust(&document).await;
        }
        Operation::RollingDeploy(subgraph) => stack.rolling_deploy(subgraph).await,
        Operation::RouterRollingRestart => stack.rolling_router_restart().await,
        Operation::PostgresRestart => {
            let down = tokio::task::block_in_place(|| stack.restart_postgres());
            eprintln!(
                "drill: PostgreSQL did not accept connections for {:.2} s",
                down.as_secs_f64()
            );
        }
        Operation::NatsNodeRestart => return Some(restart_nats_member(stack, 0).await),
        Operation::NatsStreamLeaderRestart => {
            let leader = stack.stream_leader("auth").await;
            return Some(restart_nats_member(stack, leader).await);
        }
        Operation::ProviderOutage => {
            let provider = stack
                .provider
                .local_provider()
                .expect("the drill's provider is local");
            let every_call = talentgraph_payment_provider::proxy::Faults {
                fail_next: u32::MAX,
                ..talentgraph_payment_provider::proxy::Faults::default()
            };
            provider
                .inject(every_call)
                .await
                .expect("injects the outage");
            tokio::time::sleep(Duration::from_secs(20)).await;
            provider
                .inject(talentgraph_payment_provider::proxy::Faults::default())
                .await
                .expect("ends the outage");
        }
    }
    None
}

/// How fast the stack recovered from `operation`, for the operations with
/// a recovery goal: PostgreSQL's restart (a page through the router
/// succeeds within 1 s of the server accepting connections) and a NATS
/// node's, in two parts. The cluster's own: every stream and consumer led
/// again within 20 s of the kill (measured here: 4.9–7.3 s; NATS 2.9's
/// raft waits 4–9 s without a leader before an election, and a split vote
/// costs another round; the goal catches a cluster that does not recover,
/// not NATS's own pace, which no client changes). Then our
/// clients': events applied within 1 s again within 5 s of that (the
/// relay's and the consumers' backoff, at most 1 s each, a missed pull
/// heartbeat, 2 s, and the probe's own sign-up). The wait is part of the
/// operation's window.
async fn measure_recovery(
    stack: &DrillStack,
    operation: Operation,
    fault_began: Option<Instant>,
) -> Vec<Recovery> {
    let name = operation.name();
    match operation {
        Operation::PostgresRestart => {
            let recovery = match stack.seconds_until_a_page_succeeds().await {
                Some(seconds) => Recovery {
                    description: format!(
                        "{name}: first page answered {seconds:.2} s after PostgreSQL accepted connections (goal ≤ 1 s)"
                    ),
                    met: seconds <= 1.0,
                },
                None => Recovery {
                    description: format!(
                        "{name}: no page answered in the 10 s after PostgreSQL accepted connections"
                    ),
                    met: false,
                },
            };
            vec![recovery]
        }
        Operation::NatsNodeRestart | Operation::NatsStreamLeaderRestart => {
            let killed = fault_began.expect("a NATS restart reports its kill");
            let returned_after = killed.elapsed().as_secs_f64();
            let Some((led_after, last)) =
                stack.seconds_until_every_group_has_a_leader(killed).await
            else {
                return vec![Recovery {
                    description: format!(
                        "{name}: some stream or consumer still had no leader 45 s after the kill"
                    ),
                    met: false,
                }];
            };
            let elected = Recovery {
                description: format!(
                    "{name}: every stream and consumer led again {led_after:.1} s after the kill, the node back after {returned_after:.1} s{} (goal ≤ 20 s)",
                    last.map(|last| format!("; the last without: {last}"))
                        .unwrap_or_default()
                ),
                met: led_after <= 20.0,
            };
            let prompt = match stack.seconds_until_events_are_prompt().await {
                Some(seconds) => Recovery {
                    description: format!(
                        "{name}: events applied within 1 s again {seconds:.1} s after that, {:.1} s after the kill (goal ≤ 5 s)",
                        killed.elapsed().as_secs_f64()
                    ),
                    met: seconds <= 5.0,
                },
                None => Recovery {
                    description: format!(
                        "{name}: events not applied within 1 s in the 10 s after every group had a leader"
                    ),
                    met: false,
                },
            };
            vec![elected, prompt]
        }
        _ => Vec::new(),
    }
}

/// Kills NATS member `index` (SIGKILL), waits two seconds and starts it
/// again on its port and store; returns the moment of the kill.
async fn restart_nats_member(stack: &mut DrillStack, index: usize) -> Instant {
    tokio::task::block_in_place(|| stack.nats.member_mut(index).stop());
    let killed = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    tokio::task::block_in_place(|| stack.nats.member_mut(index).resume());
    killed
}
