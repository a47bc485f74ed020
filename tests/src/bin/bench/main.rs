//! `bench`: the pages under load through the dev stack, with CPU time per
//! page by process.
//!
//!   cargo run --release -p talentgraph-e2e --bin bench -- [--seconds S] [--warm-up-seconds W]
//!       [--connections 1,8,32,64] [--page-sizes 10,100] [--pages JobSearchPage,...]
//!       [--variants 'LABEL:NAME=VALUE NAME=VALUE;LABEL:...'] [--direct]
//!       [--router-ceiling] [--hive-router] [--scale-out SUBGRAPH]
//!       [--compare-supergraph 'LABEL=PATH'] [--router-own-core]
//!   cargo run --release -p talentgraph-e2e --bin bench -- --count-instructions SUBGRAPH
//!       [--counted-pages N] [--page-sizes 10,100] [--pages JobSearchPage,...]
//!
//! `--count-instructions employer` runs no load: it counts the instructions
//! and allocations per page of one subgraph, run as a standalone replica
//! under Valgrind's callgrind (see `talentgraph_e2e::callgrind`), with the
//! pages sent one at a time. Unlike CPU time, those counts repeat from run
//! to run on a busy machine, so a change is measured by counting the build
//! before it and the build after it. Needs Debian's `valgrind`.
//!
//! `--compare-supergraph` adds every page through a second Apollo Router
//! that serves another supergraph of the same subgraphs (routing URLs
//! replaced by the dev stack's): with the supergraph of an earlier commit,
//! the rows measure a change of query plans (fewer fetches) before and
//! after against the very same subgraph processes.
//!
//! `--scale-out employer` adds JobSearchPage with that subgraph run as
//! standalone replicas (its release binary) sharing one port through
//! SO_REUSEPORT (`LISTEN_REUSE_PORT=true`), behind a second Apollo Router:
//! first one replica, then two, so the rows show what a second replica
//! adds on this machine.
//!
//! `--router-ceiling` adds the router's ceiling on this machine: a second
//! Apollo Router, the same binary and configuration, in front of subgraphs
//! that answer JobSearchPage's subgraph requests from memory (recorded
//! from the real subgraphs before the load; see
//! `talentgraph_e2e::recorded_subgraphs`). The row says how many subgraph
//! requests of the run missed the recording (zero when the ceiling is
//! clean), and the recorded subgraphs' CPU has a column of its own.
//!
//! `--hive-router` adds every page through Hive Router
//! (`scripts/install-hive-router.sh`) in front of the same subgraphs, after
//! checking that it answers each page as Apollo Router does; a page whose
//! answer differs is left out and named in the output.
//!
//! `--router-own-core` places the processes before the load: every router
//! on the first core, everything else (the subgraphs, PostgreSQL, NATS,
//! the recorded subgraphs and this load generator) on the others, with
//! `taskset` (Debian's util-linux). On a machine of few cores the router
//! otherwise shares them with the processes behind it, so a run cannot
//! tell whether the router limits the stack; placed apart, as a
//! deployment places them on hosts of their own, the router serves with
//! one core in every row, the ceiling's included.
//!
//! `--direct` adds a reference line: JobSearchPage's data fetched straight
//! from the subgraphs, as a client of separate services would, once with
//! one call per service and level (the fetches the router would make, made
//! by the client) and once with one call per entity (one for the jobs with
//! their organizations' cards, then two per job). The page's row says how
//! many calls a page took on average.
//!
//! `--variants` measures the same ladder against the stack started several
//! times in one run, each time with the environment variables its variant
//! names (for example `DATALOADER_DELAY_MS=2` against `=0`), so a change
//! is measured before and after on the same machine in the same minutes.
//! The one name it reads itself, `DEVSTACK_BINARY`, starts another build of
//! devstack instead of the one it built (relative to the repository), for
//! changes made at compile time: the release build of the commit before a
//! change, copied aside, against the build of the change.
//!
//! It builds and starts `devstack up` in release mode (the full demo world;
//! the six subgraphs in the devstack process, Apollo Router and PostgreSQL
//! as their own processes, all with `RUST_LOG=warn`), signs the demo
//! accounts in, and for each page, page size and number of connections runs
//! a closed-loop load for a fixed time after a discarded warm-up. The load
//! generator is this process: a tokio client, one HTTP/1.1 keep-alive
//! connection per simulated user, each sending its next request when the
//! last one answered, with every latency kept (exact percentiles, no
//! histogram buckets). It was chosen over `wrk` and `oha` because each
//! request needs its own variables (a random organization, job or slug), so
//! the router's deduplication of identical in-flight fetches cannot merge
//! requests, and because its own CPU time is measured the same way as the
//! stack's.
//!
//! CPU seconds per 1,000 pages come from `/proc/<pid>/stat` (user + system
//! time) before and after each measured window, for the router, the
//! devstack process (the subgraphs), every PostgreSQL process, NATS and the
//! load generator itself. The system (kernel) part is kept apart as well,
//! in the JSON and the progress lines: part of a process's CPU (a sixth of
//! the subgraph process's at 32 connections on JobSearchPage) is the
//! kernel's work on its sockets and thread switches, which changes to the
//! process's own code reach only by making fewer system calls.
//!
//! Output: a markdown table between the `bench` markers of
//! `docs/performance.md` and every figure as JSON in `target/bench/bench.json`.
//! The dev stack's ports (4000–4006, 4100, 4200, 54329, 54222) must be free.

mod cpu;
mod direct;
mod instructions;
mod load;
mod options;
mod report;
mod routers;
mod stack_under_test;

use std::path::PathBuf;
use std::sync::Arc;

use crate::cpu::Processes;
use crate::cpu::ReferenceProcesses;
use crate::cpu::postmaster_pid;
use crate::cpu::ticks_per_second;
use crate::instructions::count_instructions;
use crate::load::LoadTarget;
use crate::load::Measurement;
use crate::load::RequestFactory;
use crate::load::Route;
use crate::load::RouterUnderTest;
use crate::load::RunContext;
use crate::load::SCALE_OUT_REPLICAS;
use crate::options::Options;
use crate::options::parse_options;
use crate::report::INSTRUCTIONS_TABLE_END;
use crate::report::INSTRUCTIONS_TABLE_START;
use crate::report::TABLE_END;
use crate::report::TABLE_START;
use crate::report::VARIANTS_TABLE_END;
use crate::report::VARIANTS_TABLE_START;
use crate::report::instructions_markdown;
use crate::report::markdown;
use crate::routers::ScaleOut;
use crate::routers::pages_hive_answers_alike;
use crate::routers::record_job_search;
use crate::routers::serve_recorded_subgraphs;
use crate::routers::start_compared_supergraph;
use crate::routers::start_hive_router;
use crate::routers::start_router_ceiling;
use crate::stack_under_test::RunningDevstack;
use crate::stack_under_test::build_devstack;
use crate::stack_under_test::start_devstack;
use talentgraph_demo_world::DemoWorld;
use talentgraph_e2e::{repository_root, write_docs_section};
use talentgraph_launch::{ChildProcess, RunningRouter};

pub const ROUTER_URL: &str = "http://127.0.0.1:4000/";
pub const WORLD: DemoWorld = DemoWorld::STANDARD;

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() {
    // The bench starts itself a second time as the recorded subgraphs, so
    // their CPU time is read apart from the load generator's.
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if arguments.first().map(String::as_str) == Some("serve-recorded-subgraphs") {
        serve_recorded_subgraphs(&arguments[1..]).await;
        return;
    }
    let options = parse_options();
    let root = repository_root();
    build_devstack(
        options
            .scale_out
            .as_deref()
            .or(options.count_instructions.as_deref()),
    );
    // The second routers' supergraphs, the logs and the dumps go here.
    std::fs::create_dir_all(root.join("target/bench")).expect("creates target/bench");
    if let Some(subgraph) = &options.count_instructions {
        println!("starting the stack");
        let devstack = start_devstack(&options.variants[0]);
        let counts = count_instructions(&options, subgraph).await;
        drop(devstack);
        let output: PathBuf = root.join("target/bench");
        std::fs::write(
            output.join("instructions.json"),
            serde_json::to_string_pretty(&counts).expect("serializes"),
        )
        .expect("writes target/bench/instructions.json");
        write_docs_section(
            "docs/performance.md",
            INSTRUCTIONS_TABLE_START,
            INSTRUCTIONS_TABLE_END,
            &instructions_markdown(&counts, &options),
            "## Instructions per page\n\n",
        );
        return;
    }
    let mut measurements = Vec::new();
    for variant in &options.variants {
        println!("variant {}: starting the stack", variant.label);
        let devstack = start_devstack(variant);
        for mut measurement in measure_variant(&devstack, &options).await {
            measurement.variant.clone_from(&variant.label);
            measurements.push(measurement);
        }
        // Ctrl-C stops everything devstack started (PostgreSQL, NATS, router).
        drop(devstack);
    }
    let output: PathBuf = root.join("target/bench");
    std::fs::create_dir_all(&output).expect("creates target/bench");
    std::fs::write(
        output.join("bench.json"),
        serde_json::to_string_pretty(&measurements).expect("serializes"),
    )
    .expect("writes target/bench/bench.json");
    let (start, end, heading) = if options.variants.len() > 1 {
        (
            VARIANTS_TABLE_START,
            VARIANTS_TABLE_END,
            "## Pages under load: variants compared\n\n",
        )
    } else {
        (TABLE_START, TABLE_END, "## Pages under load\n\n")
    };
    write_docs_section(
        "docs/performance.md",
        start,
        end,
        &markdown(&measurements, &options, (start, end)),
        heading,
    );
}

/// Runs every page, page size and connection count against a running stack.
#[allow(clippy::print_stdout)]
pub async fn measure_variant(devstack: &RunningDevstack, options: &Options) -> Vec<Measurement> {
    let root = repository_root();
    let client = reqwest::Client::new();
    let ceiling = match options.router_ceiling {
        true => Some(start_router_ceiling().await),
        false => None,
    };
    let hive = match options.hive_router {
        true => Some(start_hive_router().await),
        false => None,
    };
    let mut scale_out = match options.scale_out.as_deref() {
        Some(subgraph) => Some(ScaleOut::start(subgraph).await),
        None => None,
    };
    let compared = match &options.compare_supergraph {
        Some((_, path)) => Some(start_compared_supergraph(path).await),
        None => None,
    };
    let references = |scale_out: Option<&ScaleOut>| ReferenceProcesses {
        routers: ceiling
            .iter()
            .filter_map(|ceiling| ceiling.router.pid())
            .chain(hive.iter().filter_map(RunningRouter::pid))
            .chain(compared.iter().filter_map(RunningRouter::pid))
            .chain(
                scale_out
                    .iter()
                    .filter_map(|scale_out| scale_out.router.pid()),
            )
            .collect(),
        recorded_subgraphs: ceiling
            .as_ref()
            .and_then(|ceiling| ceiling.recorded_subgraphs.pid()),
        subgraph_replicas: scale_out
            .iter()
            .flat_map(|scale_out| scale_out.replicas.iter().filter_map(ChildProcess::pid))
            .collect(),
    };
    let processes = Processes::find(
        devstack.pid(),
        postmaster_pid(root),
        &references(scale_out.as_ref()),
    );
    if let Some(placement) = &options.core_placement {
        processes.give_the_routers_a_core_of_their_own(devstack.pid(), placement);
    }
    let factory = Arc::new(RequestFactory {
        ceiling_router_url: ceiling.as_ref().map(|ceiling| ceiling.router.url()),
        hive_router_url: hive.as_ref().map(RunningRouter::url),
        scale_out_router_url: scale_out.as_ref().map(|scale_out| scale_out.router.url()),
        compared_router_url: compared.as_ref().map(RunningRouter::url),
        ..RequestFactory::signed_in(&client).await
    });
    let pages_hive_answers_alike = if hive.is_some() {
        pages_hive_answers_alike(&client, &factory, options).await
    } else {
        std::collections::BTreeSet::new()
    };
    // Each page through the compared supergraph runs right after the same
    // page through the dev stack's, so the two rows see the machine in the
    // same state.
    let mut targets: Vec<LoadTarget<'_>> = Vec::new();
    for page in &options.pages {
        targets.push(LoadTarget {
            page,
            route: Route::ThroughRouter(RouterUnderTest::Apollo),
        });
        if compared.is_some() {
            targets.push(LoadTarget {
                page,
                route: Route::ThroughRouter(RouterUnderTest::ApolloWithComparedSupergraph),
            });
        }
    }
    if ceiling.is_some() {
        targets.push(LoadTarget {
            page: "JobSearchPage",
            route: Route::ThroughRouter(RouterUnderTest::ApolloAgainstRecordedSubgraphs),
        });
    }
    if hive.is_some() {
        // A page Hive Router answers differently (JobDetailPage: 0.2.0
        // refuses `@defer`) would only measure errors.
        for page in &options.pages {
            if pages_hive_answers_alike.contains(page) {
                targets.push(LoadTarget {
                    page,
                    route: Route::ThroughRouter(RouterUnderTest::Hive),
                });
            } else {
                println!("{page}: not loaded through Hive Router, whose answer differs");
            }
        }
    }

    if options.direct {
        for route in [
            Route::DirectOneCallPerService,
            Route::DirectOneCallPerEntity,
        ] {
            targets.push(LoadTarget {
                page: "JobSearchPage",
                route,
            });
        }
    }
    let mut context = RunContext {
        options,
        client: client.clone(),
        factory,
        ticks_per_second: ticks_per_second(),
        ceiling: ceiling.as_ref(),
    };
    let mut measurements = Vec::new();
    for target in targets {
        context.sign_in_again().await;
        // The recording is keyed by the exact request, token included, so
        // it is made with the tokens the ceiling's load will send.
        if target.route == Route::ThroughRouter(RouterUnderTest::ApolloAgainstRecordedSubgraphs) {
            println!("recording JobSearchPage's subgraph answers for the router's ceiling");
            record_job_search(&client, &context.factory, &options.page_sizes).await;
        }
        measurements.extend(context.measure(target, &processes).await);
    }
    if let Some(scale_out) = &mut scale_out {
        for replicas in 1..=SCALE_OUT_REPLICAS {
            if replicas > 1 {
                println!("starting {} replica {replicas}", scale_out.subgraph);
                scale_out.add_replica();
            }
            let processes = Processes::find(
                devstack.pid(),
                postmaster_pid(root),
                &references(Some(scale_out)),
            );
            if let Some(placement) = &options.core_placement {
                processes.give_the_routers_a_core_of_their_own(devstack.pid(), placement);
            }
            let target = LoadTarget {
                page: "JobSearchPage",
                route: Route::ThroughRouter(RouterUnderTest::ScaleOut { replicas }),
            };
            context.sign_in_again().await;
            for mut measurement in context.measure(target, &processes).await {
                measurement.page = format!(
                    "JobSearchPage, {} as {replicas} standalone replica{} on one port",
                    scale_out.subgraph,
                    if replicas == 1 { "" } else { "s" }
                );
                measurements.push(measurement);
            }
        }
    }
    measurements
}
