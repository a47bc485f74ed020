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
//! `tests/README.md` and every figure as JSON in `target/bench/bench.json`.
//! The dev stack's ports (4000–4006, 4100, 4200, 54329, 54222) must be free.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use talentgraph_demo_world::{DEMO_PASSWORD, DemoWorld};
use talentgraph_e2e::recorded_subgraphs::recording_statistics;
use talentgraph_e2e::{page_document, repository_root, write_tests_readme_section};

const TABLE_START: &str = "<!-- bench:start -->";
const TABLE_END: &str = "<!-- bench:end -->";
/// A run with several variants compares them; it has its own section so the
/// full table stays.
const VARIANTS_TABLE_START: &str = "<!-- bench-variants:start -->";
const VARIANTS_TABLE_END: &str = "<!-- bench-variants:end -->";
/// `--count-instructions` writes a section of its own.
const INSTRUCTIONS_TABLE_START: &str = "<!-- bench-instructions:start -->";
const INSTRUCTIONS_TABLE_END: &str = "<!-- bench-instructions:end -->";
const ROUTER_URL: &str = "http://127.0.0.1:4000/";
const WORLD: DemoWorld = DemoWorld::STANDARD;

/// The pages measured: every page but CheckoutPage, whose one request is a
/// payment (measured by the payment tests, not under load).
const PAGES: [&str; 6] = [
    "JobSearchPage",
    "JobDetailPage",
    "OrganizationPage",
    "InternshipBrowsePage",
    "JobseekerDashboardPage",
    "EmployerDashboardPage",
];

/// One configuration of the stack: a label and the environment it runs in.
#[derive(Clone)]
struct Variant {
    label: String,
    environment: Vec<(String, String)>,
}

/// Parses `LABEL:NAME=VALUE NAME=VALUE;LABEL:...`.
fn parse_variants(text: &str) -> Vec<Variant> {
    text.split(';')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (label, assignments) = entry.split_once(':').unwrap_or((entry, ""));
            let environment = assignments
                .split_whitespace()
                .map(|assignment| {
                    let (name, value) = assignment.split_once('=').unwrap_or_else(|| {
                        panic!("variant {label}: `{assignment}` is not NAME=VALUE")
                    });
                    if name == "LD_PRELOAD" && !Path::new(value).exists() {
                        panic!(
                            "variant {label}: {value} does not exist (Debian: apt-get install libmimalloc2.0 libjemalloc2)"
                        );
                    }
                    (name.to_owned(), value.to_owned())
                })
                .collect();
            Variant {
                label: label.trim().to_owned(),
                environment,
            }
        })
        .collect()
}

struct Options {
    variants: Vec<Variant>,
    direct: bool,
    router_ceiling: bool,
    hive_router: bool,
    /// Every router on a core of its own, everything else on the others.
    router_own_core: bool,
    /// The cores `--router-own-core` places processes on, read once at
    /// start-up: the first placement confines this process too, so a
    /// later reading would see only the others' cores.
    core_placement: Option<CorePlacement>,
    /// The subgraph run as standalone replicas for the scale-out figure.
    scale_out: Option<String>,
    /// The subgraph whose instructions and allocations per page are counted
    /// under callgrind instead of running the load.
    count_instructions: Option<String>,
    /// How many pages, one at a time, each count covers.
    counted_pages: usize,
    /// Another supergraph of the same subgraphs (an earlier commit's, say),
    /// served by a second Apollo Router beside the dev stack's: its label
    /// and file.
    compare_supergraph: Option<(String, PathBuf)>,
    seconds: u64,
    warm_up_seconds: u64,
    connections: Vec<usize>,
    page_sizes: Vec<i64>,
    pages: Vec<String>,
}

fn parse_options() -> Options {
    let mut options = Options {
        variants: vec![Variant {
            label: "as configured".to_owned(),
            environment: Vec::new(),
        }],
        direct: false,
        router_ceiling: false,
        hive_router: false,
        router_own_core: false,
        core_placement: None,
        scale_out: None,
        count_instructions: None,
        counted_pages: 100,
        compare_supergraph: None,
        seconds: 5,
        warm_up_seconds: 1,
        connections: vec![1, 8, 32, 64],
        page_sizes: vec![10, 100],
        pages: PAGES.iter().map(|page| (*page).to_owned()).collect(),
    };
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let mut index = 0;
    while index < arguments.len() {
        let switch = match arguments[index].as_str() {
            "--direct" => Some(&mut options.direct),
            "--router-ceiling" => Some(&mut options.router_ceiling),
            "--hive-router" => Some(&mut options.hive_router),
            "--router-own-core" => Some(&mut options.router_own_core),
            _ => None,
        };
        if let Some(switch) = switch {
            *switch = true;
            index += 1;
            continue;
        }
        let value = arguments
            .get(index + 1)
            .unwrap_or_else(|| panic!("{} needs a value", arguments[index]));
        let list = || {
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
        };
        match arguments[index].as_str() {
            "--seconds" => options.seconds = value.parse().expect("--seconds is a number"),
            "--warm-up-seconds" => {
                options.warm_up_seconds = value.parse().expect("--warm-up-seconds is a number");
            }
            "--connections" => {
                options.connections = list().map(|item| item.parse().expect("a number")).collect();
            }
            "--page-sizes" => {
                options.page_sizes = list().map(|item| item.parse().expect("a number")).collect();
            }
            "--pages" => options.pages = list().map(str::to_owned).collect(),
            "--variants" => options.variants = parse_variants(value),
            "--scale-out" => options.scale_out = Some(value.clone()),
            "--count-instructions" => options.count_instructions = Some(value.clone()),
            "--counted-pages" => {
                options.counted_pages = value
                    .parse()
                    .ok()
                    .filter(|pages| *pages > 0)
                    .expect("--counted-pages is a number above zero");
            }
            "--compare-supergraph" => {
                let (label, path) = value
                    .split_once('=')
                    .expect("--compare-supergraph takes LABEL=PATH");
                options.compare_supergraph = Some((label.to_owned(), PathBuf::from(path)));
            }
            other => panic!("unknown option {other}"),
        }
        index += 2;
    }
    if options.router_own_core {
        options.core_placement = Some(CorePlacement::of_this_process());
    }
    assert!(
        options.count_instructions.is_none() || options.variants.len() == 1,
        "--count-instructions counts one build at a time: its counts repeat, so two builds are compared by two runs"
    );
    options
}

/// The processes whose CPU time is read, by label.
struct Processes {
    by_label: Vec<(&'static str, ProcessGroup)>,
}

/// The processes one label's CPU time is read from.
struct ProcessGroup {
    /// Processes that live through the whole run (the dev stack, the
    /// routers, NATS, this process).
    long_lived: Vec<u32>,
    /// A parent whose children come and go: PostgreSQL's postmaster forks
    /// one backend per connection, and the subgraphs' pools open most of
    /// theirs only once the load rises. So its children are listed again at
    /// every snapshot, and the time of children that exited is read from
    /// the parent's own count of its reaped children.
    forking_parent: Option<u32>,
}

impl ProcessGroup {
    fn long_lived(pids: Vec<u32>) -> Self {
        Self {
            long_lived: pids,
            forking_parent: None,
        }
    }

    fn snapshot(&self, ticks_per_second: f64) -> GroupSnapshot {
        let mut pids = self.long_lived.clone();
        let mut reaped_children_seconds = CpuSeconds::default();
        if let Some(parent) = self.forking_parent {
            pids.extend(children_of(parent).into_iter().map(|(pid, _)| pid));
            reaped_children_seconds = process_times(parent)
                .map_or_else(CpuSeconds::default, |times| {
                    times.reaped_children.in_seconds(ticks_per_second)
                });
        }
        GroupSnapshot {
            seconds_by_pid: pids
                .into_iter()
                .filter_map(|pid| {
                    process_times(pid).map(|times| (pid, times.own.in_seconds(ticks_per_second)))
                })
                .collect(),
            reaped_children_seconds,
        }
    }
}

/// `--router-own-core`'s split of the cores this process may run on, as
/// `taskset -c` lists read them.
#[derive(Clone)]
struct CorePlacement {
    router_core: String,
    other_cores: String,
}

impl CorePlacement {
    fn of_this_process() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").expect("reads /proc/self/status");
        let cores = allowed_cores(&status);
        assert!(
            cores.len() >= 2,
            "--router-own-core needs two cores or more; this process may run on {cores:?}"
        );
        Self {
            router_core: cores[0].to_string(),
            other_cores: comma_separated(&cores[1..]),
        }
    }
}

/// The cores a process may run on, from the `Cpus_allowed_list` line of
/// its `/proc/PID/status` (`0-3,6`), so that a run confined to some of the
/// machine's cores (a container's cpuset) places processes on those.
fn allowed_cores(status: &str) -> Vec<usize> {
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
        .map(str::trim)
        .unwrap_or_default();
    let mut cores = Vec::new();
    for range in list.split(',').filter(|range| !range.is_empty()) {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (Ok(first), Ok(last)) = (first.parse::<usize>(), last.parse::<usize>()) else {
            continue;
        };
        cores.extend(first..=last);
    }
    cores
}

/// Restricts every thread of `pid` to `cores` (a list as `taskset -c`
/// reads it).
fn place_on_cores(pid: u32, cores: &str) -> Result<(), String> {
    let output = Command::new("taskset")
        .args([
            "--all-tasks",
            "--cpu-list",
            "--pid",
            cores,
            &pid.to_string(),
        ])
        .output()
        .map_err(|error| format!("taskset (Debian's util-linux) does not run: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// CPU time split as the kernel accounts it: in the process's own code and
/// libraries (user) and in the kernel on its behalf (system).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct CpuSeconds {
    user: f64,
    system: f64,
}

impl CpuSeconds {
    fn total(self) -> f64 {
        self.user + self.system
    }
}

impl std::ops::Add for CpuSeconds {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            user: self.user + other.user,
            system: self.system + other.system,
        }
    }
}

impl std::ops::Sub for CpuSeconds {
    type Output = Self;

    fn sub(self, other: Self) -> Self {
        Self {
            user: self.user - other.user,
            system: self.system - other.system,
        }
    }
}

impl std::iter::Sum for CpuSeconds {
    fn sum<I: Iterator<Item = Self>>(iterator: I) -> Self {
        iterator.fold(Self::default(), |sum, seconds| sum + seconds)
    }
}

/// One group's CPU seconds at one moment.
struct GroupSnapshot {
    seconds_by_pid: HashMap<u32, CpuSeconds>,
    /// The forking parent's count for its children that exited and were
    /// reaped (`cutime` and `cstime`).
    reaped_children_seconds: CpuSeconds,
}

impl GroupSnapshot {
    /// The CPU seconds the group spent between `before` and `self`:
    /// each process's growth (all of it for one that started in between),
    /// plus what children reaped in between had spent, less what those of
    /// them that `before` saw had already spent by then.
    fn seconds_since(&self, before: &Self) -> CpuSeconds {
        let living: CpuSeconds = self
            .seconds_by_pid
            .iter()
            .map(|(pid, seconds)| {
                *seconds - before.seconds_by_pid.get(pid).copied().unwrap_or_default()
            })
            .sum();
        let exited_before_counted: CpuSeconds = before
            .seconds_by_pid
            .iter()
            .filter(|(pid, _)| !self.seconds_by_pid.contains_key(pid))
            .map(|(_, seconds)| *seconds)
            .sum();
        living + (self.reaped_children_seconds - before.reaped_children_seconds)
            - exited_before_counted
    }
}

fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((command, rest)) = stat
            .split_once(" (")
            .and_then(|(_, rest)| rest.rsplit_once(") "))
        else {
            continue;
        };
        let parent_pid: Option<u32> = rest.split(' ').nth(1).and_then(|field| field.parse().ok());
        if parent_pid == Some(parent) {
            children.push((pid, command.to_owned()));
        }
    }
    children
}

/// A process's CPU time from `/proc/PID/stat`, in clock ticks.
struct ProcessTimes {
    /// `utime` and `stime`: the process's own user and system time.
    own: CpuTicks,
    /// `cutime` and `cstime`: the time of its children that exited and
    /// were waited for.
    reaped_children: CpuTicks,
}

/// User and system time in clock ticks.
struct CpuTicks {
    user: f64,
    system: f64,
}

impl CpuTicks {
    fn in_seconds(&self, ticks_per_second: f64) -> CpuSeconds {
        CpuSeconds {
            user: self.user / ticks_per_second,
            system: self.system / ticks_per_second,
        }
    }
}

/// The CPU times of a process, or `None` once it has exited.
fn process_times(pid: u32) -> Option<ProcessTimes> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    // Fields after the command: state is field 3; utime, stime, cutime and
    // cstime are fields 14 to 17.
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Some(ProcessTimes {
        own: CpuTicks {
            user: ticks(11),
            system: ticks(12),
        },
        reaped_children: CpuTicks {
            user: ticks(13),
            system: ticks(14),
        },
    })
}

/// The processes a run starts beside the dev stack, whose CPU is read too.
#[derive(Default)]
struct ReferenceProcesses {
    /// The ceiling's Apollo Router and Hive Router: counted as "router",
    /// since only the router serving the run does work.
    routers: Vec<u32>,
    /// The subgraphs answering from memory, a column of their own.
    recorded_subgraphs: Option<u32>,
    /// Standalone replicas of one subgraph (scale-out): counted as
    /// "subgraphs" with the dev stack.
    subgraph_replicas: Vec<u32>,
}

impl Processes {
    fn find(devstack: u32, postmaster: u32, references: &ReferenceProcesses) -> Self {
        let children = children_of(devstack);
        let pids_named = |name: &str| -> Vec<u32> {
            children
                .iter()
                .filter(|(_, command)| command.starts_with(name))
                .map(|(pid, _)| *pid)
                .collect()
        };
        let mut routers = pids_named("router");
        routers.extend(&references.routers);
        let mut by_label = vec![
            ("router", ProcessGroup::long_lived(routers)),
            (
                "subgraphs",
                ProcessGroup::long_lived(
                    std::iter::once(devstack)
                        .chain(references.subgraph_replicas.iter().copied())
                        .collect(),
                ),
            ),
            (
                "PostgreSQL",
                ProcessGroup {
                    long_lived: vec![postmaster],
                    forking_parent: Some(postmaster),
                },
            ),
            ("NATS", ProcessGroup::long_lived(pids_named("nats-server"))),
            (
                "load generator",
                ProcessGroup::long_lived(vec![std::process::id()]),
            ),
        ];
        if let Some(recorded_subgraphs) = references.recorded_subgraphs {
            by_label.push((
                "recorded subgraphs",
                ProcessGroup::long_lived(vec![recorded_subgraphs]),
            ));
        }
        Self { by_label }
    }

    /// `--router-own-core`: every router on the first core, every other
    /// process of the run (and the dev stack's other children, such as the
    /// payment provider) on the rest. PostgreSQL's backends forked later
    /// inherit the postmaster's cores, and threads started later their
    /// process's.
    #[allow(clippy::print_stdout)]
    fn give_the_routers_a_core_of_their_own(&self, devstack: u32, placement: &CorePlacement) {
        let CorePlacement {
            router_core,
            other_cores,
        } = placement;
        let routers: Vec<u32> = self
            .by_label
            .iter()
            .filter(|(label, _)| *label == "router")
            .flat_map(|(_, group)| group.long_lived.iter().copied())
            .collect();
        let mut others: Vec<u32> = Vec::new();
        for (label, group) in &self.by_label {
            if *label == "router" {
                continue;
            }
            others.extend(&group.long_lived);
            if let Some(parent) = group.forking_parent {
                others.push(parent);
                others.extend(children_of(parent).into_iter().map(|(pid, _)| pid));
            }
        }
        for parent in [devstack, std::process::id()] {
            others.extend(children_of(parent).into_iter().map(|(pid, _)| pid));
        }
        others.sort_unstable();
        others.dedup();
        others.retain(|pid| !routers.contains(pid));
        for pid in &routers {
            place_on_cores(*pid, router_core)
                .unwrap_or_else(|error| panic!("placing router {pid}: {error}"));
        }
        for pid in &others {
            // A PostgreSQL backend may exit between the listing and here.
            if let Err(error) = place_on_cores(*pid, other_cores)
                && Path::new(&format!("/proc/{pid}")).exists()
            {
                panic!("placing process {pid}: {error}");
            }
        }
        println!(
            "placed {} router process(es) on core {router_core} and {} other process(es) on cores {other_cores}",
            routers.len(),
            others.len()
        );
    }

    fn snapshot(&self, ticks_per_second: f64) -> Vec<GroupSnapshot> {
        self.by_label
            .iter()
            .map(|(_, group)| group.snapshot(ticks_per_second))
            .collect()
    }
}

/// What one page at one page size and one number of connections did.
#[derive(serde::Serialize)]
struct Measurement {
    variant: String,
    page: String,
    page_size: i64,
    connections: usize,
    pages: usize,
    errors: usize,
    pages_per_second: f64,
    p50_milliseconds: f64,
    p95_milliseconds: f64,
    p99_milliseconds: f64,
    /// CPU seconds per 1,000 pages, by process label.
    cpu_seconds_per_1000_pages: BTreeMap<String, f64>,
    /// The part of `cpu_seconds_per_1000_pages` the kernel spent on the
    /// process's behalf (system time), by process label.
    system_cpu_seconds_per_1000_pages: BTreeMap<String, f64>,
}

/// Variables and token for one request of `page`, varied per request so
/// identical requests are rare.
struct RequestFactory {
    slugs: Vec<String>,
    jobseeker_token: String,
    recruiter_token: String,
    direct: DirectFetches,
    /// The second Apollo Router's URL, in front of the recorded subgraphs,
    /// when the run measures the router's ceiling.
    ceiling_router_url: Option<String>,
    /// Hive Router's URL, when the run measures it.
    hive_router_url: Option<String>,
    /// The scale-out router's URL, when the run measures scale-out.
    scale_out_router_url: Option<String>,
    /// The URL of the router serving the compared supergraph.
    compared_router_url: Option<String>,
}

impl RequestFactory {
    /// The demo accounts signed in and the organizations' slugs read, with
    /// only the dev stack's router to send to; a run adds the others it
    /// started.
    async fn signed_in(client: &reqwest::Client) -> Self {
        Self {
            slugs: organization_slugs(client).await,
            jobseeker_token: sign_in(client, &WORLD.email(WORLD.demo_jobseeker())).await,
            recruiter_token: sign_in(client, &WORLD.email(WORLD.demo_recruiter())).await,
            direct: DirectFetches::new(),
            ceiling_router_url: None,
            hive_router_url: None,
            scale_out_router_url: None,
            compared_router_url: None,
        }
    }

    fn router_url(&self, router: RouterUnderTest) -> &str {
        let started = match router {
            RouterUnderTest::Apollo => Some(ROUTER_URL),
            RouterUnderTest::ApolloAgainstRecordedSubgraphs => self.ceiling_router_url.as_deref(),
            RouterUnderTest::Hive => self.hive_router_url.as_deref(),
            RouterUnderTest::ScaleOut { .. } => self.scale_out_router_url.as_deref(),
            RouterUnderTest::ApolloWithComparedSupergraph => self.compared_router_url.as_deref(),
        };
        started.expect("a run only targets a router it started")
    }

    fn request(&self, page: &str, page_size: i64, random: &mut impl Rng) -> (Option<&str>, Value) {
        let organization = random.gen_range(0..WORLD.organizations);
        match page {
            "JobSearchPage" => (
                Some(&self.jobseeker_token),
                job_search_variables(page_size, organization),
            ),
            "JobDetailPage" => (
                Some(&self.jobseeker_token),
                json!({ "jobId": WORLD.job_id(random.gen_range(0..WORLD.jobs)).to_string(), "internshipsFirst": page_size }),
            ),
            "OrganizationPage" => (
                None,
                json!({
                    "slug": self.slugs[random.gen_range(0..self.slugs.len())],
                    "jobsFirst": page_size,
                    "internshipsFirst": page_size,
                }),
            ),
            "InternshipBrowsePage" => (
                None,
                json!({ "first": page_size, "filter": { "organizationId": WORLD.organization_id(organization).to_string() } }),
            ),
            // One demo account each: these requests repeat, so the router's
            // deduplication of identical in-flight fetches flatters them
            // above one connection.
            "JobseekerDashboardPage" => {
                (Some(&self.jobseeker_token), json!({ "first": page_size }))
            }
            "EmployerDashboardPage" => (
                Some(&self.recruiter_token),
                json!({ "jobsFirst": page_size, "applicationsFirst": 5 }),
            ),
            other => panic!("unknown page {other}"),
        }
    }
}

/// JobSearchPage's variables for the organization with index `organization`.
fn job_search_variables(page_size: i64, organization: u64) -> Value {
    json!({ "first": page_size, "filter": { "organizationId": WORLD.organization_id(organization).to_string() } })
}

async fn post(
    client: &reqwest::Client,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    post_to(client, ROUTER_URL, token, body).await
}

async fn post_to(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            "accept",
            "application/json, multipart/mixed;deferSpec=20220824;q=0.5",
        )
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.map_err(|error| error.to_string())?;
    let (body, _) = talentgraph_e2e::router_answer_body(&content_type, &text)
        .map_err(|error| format!("{status}: {error}: {text}"))?;
    if !status.is_success() || body.get("errors").is_some() {
        return Err(format!("{status}: {body}"));
    }
    Ok(body)
}

async fn sign_in(client: &reqwest::Client, email: &str) -> String {
    let body = json!({
        "query": "mutation SignIn($input: SignInInput!) { signIn(input: $input) { accessToken } }",
        "variables": { "input": { "email": email, "password": DEMO_PASSWORD } },
    });
    let answer = post(client, None, &body)
        .await
        .unwrap_or_else(|error| panic!("signing in {email}: {error}"));
    answer["data"]["signIn"]["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// How long one run lasts: a discarded warm-up, then the measured window.
#[derive(Clone, Copy)]
struct LoadWindow {
    warm_up: Duration,
    duration: Duration,
}

/// Which router serves a page in a run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RouterUnderTest {
    /// The dev stack's Apollo Router in front of the real subgraphs.
    Apollo,
    /// A second Apollo Router, same binary and configuration, in front of
    /// subgraphs that answer from memory: the router's ceiling.
    ApolloAgainstRecordedSubgraphs,
    /// Hive Router in front of the real subgraphs.
    Hive,
    /// A second Apollo Router in front of the dev stack's subgraphs but
    /// one, which runs as standalone replicas sharing a port.
    ScaleOut { replicas: usize },
    /// A second Apollo Router in front of the dev stack's subgraphs,
    /// serving the supergraph of `--compare-supergraph`.
    ApolloWithComparedSupergraph,
}

/// How many replicas the scale-out run ends with.
const SCALE_OUT_REPLICAS: usize = 2;

/// How a page's data is fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// One request to a router, which plans the subgraph fetches.
    ThroughRouter(RouterUnderTest),
    /// The client makes the router's fetches itself: jobs with their
    /// organizations' cards from employer, then one call each to jobseeker
    /// and payment for all the jobs.
    DirectOneCallPerService,
    /// The client makes one call per entity in the second level, as a client
    /// of per-resource endpoints would.
    DirectOneCallPerEntity,
}

/// What one load run fetches, and how.
#[derive(Clone, Copy)]
struct LoadTarget<'a> {
    page: &'a str,
    route: Route,
}

/// JobSearchPage's first fetch, as the router sends it to employer (which
/// provides the organizations' cards).
const DIRECT_JOBS: &str = "query($first: Int!, $after: String, $filter: JobFilter) { jobs(first: $first, after: $after, filter: $filter) { edges { cursor node { __typename id title location remote employmentType postedAt salaryRange { min max currency } organization { __typename id name slug logoUrl verified } } } pageInfo { hasNextPage endCursor } } }";
/// The second level, on the jobs: (subgraph, selection on `Job`).
const DIRECT_JOB_FETCHES: [(&str, &str); 2] = [
    (
        "jobseeker",
        "... on Job { applicationCount viewerHasApplied }",
    ),
    ("payment", "... on Job { promotion { tier endsAt } }"),
];

fn subgraph_url(name: &str) -> String {
    let port = talentgraph_subgraphs::subgraph_named(name)
        .unwrap_or_else(|| panic!("a subgraph named {name}"))
        .default_port;
    format!("http://127.0.0.1:{port}/graphql")
}

/// The direct route's URLs and queries, built once per run so the load
/// generator's own CPU (a measured column) is spent on requests alone.
struct DirectFetches {
    jobs_url: String,
    /// The second level: (subgraph URL, `_entities` query).
    job_fetches: Vec<(String, String)>,
}

impl DirectFetches {
    fn new() -> Self {
        Self {
            jobs_url: subgraph_url("employer"),
            job_fetches: DIRECT_JOB_FETCHES
                .iter()
                .map(|(subgraph, selection)| {
                    (
                        subgraph_url(subgraph),
                        format!(
                            "query($representations: [_Any!]!) {{ _entities(representations: $representations) {{ {selection} }} }}"
                        ),
                    )
                })
                .collect(),
        }
    }
}

/// Fetches JobSearchPage's data from the subgraphs without the router and
/// checks that every representation got its entity.
/// Returns the number of calls it made.
async fn direct_job_search(
    client: &reqwest::Client,
    fetches: &DirectFetches,
    token: Option<&str>,
    variables: &Value,
    route: Route,
) -> Result<usize, String> {
    let jobs = post_to(
        client,
        &fetches.jobs_url,
        token,
        &json!({ "query": DIRECT_JOBS, "variables": variables }),
    )
    .await?;
    let edges = jobs["data"]["jobs"]["edges"]
        .as_array()
        .ok_or("employer answered without jobs")?;
    if edges
        .iter()
        .any(|edge| edge["node"]["organization"]["name"].as_str().is_none())
    {
        return Err("employer answered a job without its organization's card".to_owned());
    }
    let job_representations: Vec<Value> = edges
        .iter()
        .map(|edge| json!({ "__typename": "Job", "id": edge["node"]["id"] }))
        .collect();
    let mut calls = Vec::new();
    for (url, query) in &fetches.job_fetches {
        let representations = &job_representations;
        if representations.is_empty() {
            continue;
        }
        let groups: Vec<Vec<Value>> = if route == Route::DirectOneCallPerEntity {
            representations
                .iter()
                .map(|one| vec![one.clone()])
                .collect()
        } else {
            vec![representations.clone()]
        };
        for group in groups {
            calls.push(async move {
                let expected = group.len();
                let answer = post_to(
                    client,
                    url,
                    token,
                    &json!({ "query": query, "variables": { "representations": group } }),
                )
                .await?;
                let found = answer["data"]["_entities"]
                    .as_array()
                    .map_or(0, |entities| {
                        entities.iter().filter(|entity| !entity.is_null()).count()
                    });
                if found == expected {
                    Ok(())
                } else {
                    Err(format!("{url}: {found} of {expected} entities"))
                }
            });
        }
    }
    let second_level = calls.len();
    futures::future::try_join_all(calls).await?;
    Ok(1 + second_level)
}

/// One closed-loop run: `connections` users, each with its own keep-alive
/// connection, for the window's warm-up (discarded) and then its duration.
async fn run_load(
    factory: Arc<RequestFactory>,
    target: LoadTarget<'_>,
    page_size: i64,
    connections: usize,
    window: LoadWindow,
    processes: &Processes,
    ticks_per_second: f64,
) -> Measurement {
    let LoadWindow { warm_up, duration } = window;
    let LoadTarget { page, route } = target;
    let document = Arc::new(page_document(page));
    let started = Instant::now();
    let measure_from = started + warm_up;
    let stop_at = measure_from + duration;
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let factory = factory.clone();
        let document = document.clone();
        let page = page.to_owned();
        tasks.push(tokio::spawn(async move {
            // A user through a router holds one connection. A direct user
            // makes its second-level calls at once, so it keeps as many as
            // a page has calls in flight: with one idle connection kept,
            // every other call would open a new one, and the closed ones
            // pile up in TIME_WAIT until the machine runs out of ports.
            let idle_connections = match route {
                Route::ThroughRouter(_) => 1,
                Route::DirectOneCallPerService | Route::DirectOneCallPerEntity => 256,
            };
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(idle_connections)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client");
            let mut random = rand::rngs::StdRng::seed_from_u64(connection as u64);
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut first_error: Option<String> = None;
            let mut calls_made = 0_usize;
            loop {
                let sent = Instant::now();
                if sent >= stop_at {
                    break;
                }
                let (token, variables) = factory.request(&page, page_size, &mut random);
                let outcome = match route {
                    Route::ThroughRouter(router) => {
                        let body = json!({ "query": *document, "operationName": page, "variables": variables });
                        post_to(&client, factory.router_url(router), token, &body)
                            .await
                            .map(|_| 1)
                    }
                    Route::DirectOneCallPerService | Route::DirectOneCallPerEntity => {
                        direct_job_search(&client, &factory.direct, token, &variables, route).await
                    }
                };
                let answered = Instant::now();
                if sent >= measure_from && answered <= stop_at {
                    match outcome {
                        Ok(calls) => {
                            latencies.push(answered - sent);
                            calls_made += calls;
                        }
                        Err(error) => {
                            errors += 1;
                            first_error.get_or_insert(error);
                        }
                    }
                }
            }
            (latencies, errors, first_error, calls_made)
        }));
    }
    tokio::time::sleep_until((measure_from).into()).await;
    let cpu_before = processes.snapshot(ticks_per_second);
    tokio::time::sleep_until(stop_at.into()).await;
    let cpu_after = processes.snapshot(ticks_per_second);
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error: Option<String> = None;
    let mut calls_made = 0;
    for task in tasks {
        let (mut some, failed, error, calls) = task.await.expect("a load task");
        latencies.append(&mut some);
        errors += failed;
        if first_error.is_none() {
            first_error = error;
        }
        calls_made += calls;
    }
    // A failing run says why, so its error count can be looked into.
    if let Some(error) = first_error {
        #[allow(clippy::print_stdout)]
        {
            println!("{page}: {errors} errors; the first: {error}");
        }
    }
    latencies.sort();
    let pages = latencies.len();
    #[allow(clippy::cast_precision_loss)]
    let per_page = |calls: usize| {
        if pages == 0 {
            0.0
        } else {
            calls as f64 / pages as f64
        }
    };
    #[allow(clippy::cast_precision_loss)]
    let per_thousand = |seconds: f64| {
        if pages == 0 {
            0.0
        } else {
            seconds * 1000.0 / pages as f64
        }
    };
    let cpu_seconds_by_label: Vec<(String, CpuSeconds)> = processes
        .by_label
        .iter()
        .zip(cpu_before.iter().zip(&cpu_after))
        .map(|((label, _), (before, after))| ((*label).to_owned(), after.seconds_since(before)))
        .collect();
    let cpu_seconds_per_1000_pages = cpu_seconds_by_label
        .iter()
        .map(|(label, seconds)| (label.clone(), per_thousand(seconds.total())))
        .collect();
    let system_cpu_seconds_per_1000_pages = cpu_seconds_by_label
        .iter()
        .map(|(label, seconds)| (label.clone(), per_thousand(seconds.system)))
        .collect();
    #[allow(clippy::cast_precision_loss)]
    Measurement {
        variant: String::new(),
        page: match route {
            Route::ThroughRouter(RouterUnderTest::Apollo) => page.to_owned(),
            Route::ThroughRouter(RouterUnderTest::ApolloAgainstRecordedSubgraphs) => {
                format!("{page}, Apollo Router against recorded subgraphs (the router's ceiling)")
            }
            Route::ThroughRouter(RouterUnderTest::Hive) => format!("{page} through Hive Router"),
            Route::ThroughRouter(RouterUnderTest::ScaleOut { replicas }) => {
                format!("{page}, scale-out with {replicas} replicas")
            }
            Route::ThroughRouter(RouterUnderTest::ApolloWithComparedSupergraph) => {
                format!("{page} through the compared supergraph")
            }
            Route::DirectOneCallPerService => format!(
                "{page} direct, one call per service and level ({:.1} calls per page)",
                per_page(calls_made)
            ),
            Route::DirectOneCallPerEntity => format!(
                "{page} direct, one call per entity ({:.1} calls per page)",
                per_page(calls_made)
            ),
        },
        page_size,
        connections,
        pages,
        errors,
        pages_per_second: pages as f64 / duration.as_secs_f64(),
        p50_milliseconds: percentile(&latencies, 0.50),
        p95_milliseconds: percentile(&latencies, 0.95),
        p99_milliseconds: percentile(&latencies, 0.99),
        cpu_seconds_per_1000_pages,
        system_cpu_seconds_per_1000_pages,
    }
}

/// The running dev stack; dropping it stops it the way Ctrl-C does, so
/// PostgreSQL, NATS and the router stop with it even when the bench fails.
struct RunningDevstack(Child);

impl Drop for RunningDevstack {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// A process the bench started beside the dev stack; killed when dropped.
struct BenchChild(Child);

impl Drop for BenchChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    talentgraph_e2e::free_address().port()
}

/// Waits until `port` accepts connections, failing early when `child`
/// exits; `log` is named in the failure.
fn wait_until_listening(child: &mut BenchChild, port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("{what} exited with {status}; see {}", log.display());
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not listen within 60 s; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A log file for a process the bench starts, in `target/bench`.
fn bench_log(name: &str) -> (PathBuf, std::fs::File) {
    let directory = repository_root().join("target/bench");
    std::fs::create_dir_all(&directory).expect("creates target/bench");
    let path = directory.join(name);
    let file = std::fs::File::create(&path)
        .unwrap_or_else(|error| panic!("creates {}: {error}", path.display()));
    (path, file)
}

/// The supergraph the dev stack composed and its router serves.
fn devstack_supergraph() -> String {
    let path = repository_root().join("target/devstack/supergraph.graphql");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Each subgraph's name and routing URL, from the supergraph's
/// `@join__graph(name: "…", url: "…")` lines.
fn routing_urls(supergraph: &str) -> Vec<(String, String)> {
    supergraph
        .lines()
        .filter_map(|line| {
            let arguments = line.split_once("@join__graph(name: \"")?.1;
            let (name, rest) = arguments.split_once('"')?;
            let url = rest.split_once("url: \"")?.1.split_once('"')?.0;
            Some((name.to_owned(), url.to_owned()))
        })
        .collect()
}

/// The router's ceiling: subgraphs answering from memory (this binary
/// with `serve-recorded-subgraphs`, its own process so its CPU is read
/// apart) and a second Apollo Router, same binary and configuration as the
/// dev stack's, whose supergraph routes every subgraph to them.
struct RouterCeiling {
    recorded_subgraphs: BenchChild,
    recorded_subgraphs_address: std::net::SocketAddr,
    router: BenchChild,
    router_url: String,
}

fn start_router_ceiling() -> RouterCeiling {
    let supergraph = devstack_supergraph();
    let upstreams = routing_urls(&supergraph);
    assert_eq!(
        upstreams.len(),
        talentgraph_subgraphs::SUBGRAPHS.len(),
        "the dev stack's supergraph names every subgraph"
    );
    let recorded_port = free_port();
    let (recorded_log_path, recorded_log) = bench_log("recorded-subgraphs.log");
    let mut recorded_subgraphs = BenchChild(
        Command::new(std::env::current_exe().expect("the bench binary's path"))
            .arg("serve-recorded-subgraphs")
            .arg(format!("127.0.0.1:{recorded_port}"))
            .args(upstreams.iter().map(|(name, url)| format!("{name}={url}")))
            .stdout(Stdio::null())
            .stderr(recorded_log)
            .spawn()
            .expect("the recorded subgraphs start"),
    );
    wait_until_listening(
        &mut recorded_subgraphs,
        recorded_port,
        "the recorded subgraphs",
        &recorded_log_path,
    );
    let mut rerouted = supergraph;
    for (name, url) in &upstreams {
        rerouted = rerouted.replace(
            &format!("url: \"{url}\""),
            &format!("url: \"http://127.0.0.1:{recorded_port}/{name}/graphql\""),
        );
    }
    let (router, router_url) = start_apollo_router(&rerouted, "recorded-subgraphs");
    RouterCeiling {
        recorded_subgraphs,
        recorded_subgraphs_address: std::net::SocketAddr::from(([127, 0, 0, 1], recorded_port)),
        router,
        router_url,
    }
}

/// A second Apollo Router serving the supergraph in `path` (composed from
/// the same subgraphs at another commit, say), with each subgraph's routing
/// URL replaced by the dev stack's, so both routers reach the same
/// processes and only the query plans differ.
fn start_compared_supergraph(path: &Path) -> (BenchChild, String) {
    let mut supergraph = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("--compare-supergraph {}: {error}", path.display()));
    let devstack_urls = routing_urls(&devstack_supergraph());
    for (name, url) in routing_urls(&supergraph) {
        let (_, devstack_url) = devstack_urls
            .iter()
            .find(|(devstack_name, _)| *devstack_name == name)
            .unwrap_or_else(|| panic!("the dev stack has no subgraph {name}"));
        supergraph = supergraph.replace(
            &format!("url: \"{url}\""),
            &format!("url: \"{devstack_url}\""),
        );
    }
    start_apollo_router(&supergraph, "compared")
}

/// Starts a second Apollo Router, the dev stack's binary and development
/// profile, on free ports, serving `supergraph` (written under
/// `target/bench/supergraph-{name}.graphql`). Returns it and its URL.
fn start_apollo_router(supergraph: &str, name: &str) -> (BenchChild, String) {
    let root = repository_root();
    let supergraph_path = root.join(format!("target/bench/supergraph-{name}.graphql"));
    std::fs::write(&supergraph_path, supergraph).expect("writes the rerouted supergraph");
    let (router_port, health_port, metrics_port) = (free_port(), free_port(), free_port());
    let (router_log_path, router_log) = bench_log(&format!("router-{name}.log"));
    let mut router = BenchChild(
        Command::new(talentgraph_e2e::router_binary())
            .arg("--supergraph")
            .arg(&supergraph_path)
            .arg("--config")
            .arg(root.join("router/router.dev.yaml"))
            .env("ROUTER_RHAI_SCRIPTS", root.join("router/rhai"))
            .env("ROUTER_LISTEN", format!("127.0.0.1:{router_port}"))
            .env("ROUTER_HEALTH_LISTEN", format!("127.0.0.1:{health_port}"))
            .env("ROUTER_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
            .env("APOLLO_TELEMETRY_DISABLED", "true")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(router_log)
            .spawn()
            .expect("a second Apollo Router starts"),
    );
    wait_until_listening(
        &mut router,
        health_port,
        "a second Apollo Router",
        &router_log_path,
    );
    (router, format!("http://127.0.0.1:{router_port}/"))
}

/// Scale-out: the dev stack's subgraphs, except one subgraph served by
/// standalone replicas (its release binary, the dev stack's database, NATS
/// and secret) that share one port with SO_REUSEPORT
/// (`LISTEN_REUSE_PORT=true`), so the kernel spreads the router's
/// connections across them with nothing in between. A second Apollo
/// Router routes that subgraph to the shared port.
struct ScaleOut {
    subgraph: String,
    port: u16,
    replicas: Vec<BenchChild>,
    router: BenchChild,
    router_url: String,
}

impl ScaleOut {
    fn start(subgraph: &str) -> Self {
        Self::start_with_first_replica(subgraph, None)
    }

    /// One replica, run under callgrind with its dumps in `dump_file`, for
    /// `--count-instructions`.
    fn start_counted(subgraph: &str, dump_file: &Path) -> Self {
        Self::start_with_first_replica(subgraph, Some(dump_file))
    }

    fn start_with_first_replica(subgraph: &str, callgrind_dump_file: Option<&Path>) -> Self {
        let supergraph = devstack_supergraph();
        let (_, url) = routing_urls(&supergraph)
            .into_iter()
            .find(|(name, _)| name == subgraph)
            .unwrap_or_else(|| panic!("--scale-out {subgraph}: no such subgraph"));
        let port = free_port();
        let rerouted = supergraph.replace(
            &format!("url: \"{url}\""),
            &format!("url: \"http://127.0.0.1:{port}/graphql\""),
        );
        let (router, router_url) = start_apollo_router(&rerouted, &format!("scale-out-{subgraph}"));
        let mut scale_out = Self {
            subgraph: subgraph.to_owned(),
            port,
            replicas: Vec::new(),
            router,
            router_url,
        };
        scale_out.add_replica_running(callgrind_dump_file);
        scale_out
    }

    /// Starts one more replica and waits until it serves.
    fn add_replica(&mut self) {
        self.add_replica_running(None);
    }

    /// Starts one more replica, under callgrind when `callgrind_dump_file`
    /// is given, and waits until it serves.
    fn add_replica_running(&mut self, callgrind_dump_file: Option<&Path>) {
        let root = repository_root();
        let binary = root.join(format!("target/release/talentgraph-{}", self.subgraph));
        let replica = self.replicas.len() + 1;
        let (log_path, log) = bench_log(&format!("{}-replica-{replica}.log", self.subgraph));
        let mut command = match callgrind_dump_file {
            Some(dump_file) => {
                let mut command = Command::new("valgrind");
                command
                    .args(talentgraph_e2e::callgrind::valgrind_arguments(dump_file))
                    .arg(&binary);
                command
            }
            None => Command::new(&binary),
        };
        let mut child = BenchChild(
            command
                .env("TALENTGRAPH_ENV", "development")
                // Warnings only, as the dev stack runs, plus the one line
                // that says the replica listens.
                .env("RUST_LOG", "warn,talentgraph_kit::server=info")
                // The dev stack's cluster, by its socket as the dev stack's
                // own subgraphs reach it.
                .env(
                    "DATABASE_URL",
                    talentgraph_kit::local_postgres::local_cluster_url(
                        devstack::DEFAULT_POSTGRES_PORT,
                        &devstack::postgres_directory(),
                        &format!("talentgraph_{}", self.subgraph),
                    ),
                )
                .env(
                    "NATS_URL",
                    format!("nats://127.0.0.1:{}", devstack::DEFAULT_NATS_PORT),
                )
                .env("LISTEN_ADDR", format!("127.0.0.1:{}", self.port))
                .env("LISTEN_REUSE_PORT", "true")
                // The secret the second router sends, as the dev stack's
                // subgraphs know it: requests from it are the router's.
                .env("ROUTER_SHARED_SECRET", devstack::router_secret())
                .env_remove("METRICS_LISTEN_ADDR")
                .stdout(log.try_clone().expect("a second handle on the log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|error| panic!("{} starts: {error}", binary.display())),
        );
        // The shared port already answers from the first replica; wait for
        // this one by its log line instead. Under valgrind, start-up runs
        // several times slower.
        let start_up = if callgrind_dump_file.is_some() {
            Duration::from_secs(600)
        } else {
            Duration::from_secs(60)
        };
        let deadline = Instant::now() + start_up;
        while !std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .contains("subgraph listening")
        {
            if let Ok(Some(status)) = child.0.try_wait() {
                panic!(
                    "{} exited with {status}; see {}",
                    binary.display(),
                    log_path.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen within {} s; see {}",
                binary.display(),
                start_up.as_secs(),
                log_path.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.replicas.push(child);
    }
}

/// Hive Router in front of the dev stack's subgraphs, on a free port, with
/// the configuration `devstack up --router hive` uses.
fn start_hive_router() -> (BenchChild, String) {
    let root = repository_root();
    let binary = devstack::install_router("install-hive-router.sh")
        .unwrap_or_else(|error| panic!("installing Hive Router: {error}"));
    let port = free_port();
    let config = devstack::hive_router_config(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        &root.join("target/devstack/supergraph.graphql"),
        &devstack::router_secret(),
    );
    let config_path = root.join("target/bench/hive-router.yaml");
    std::fs::write(&config_path, config).expect("writes the Hive Router configuration");
    let (log_path, log) = bench_log("hive-router.log");
    let mut command = Command::new(&binary);
    for variable in devstack::HIVE_ROUTER_OVERRIDE_VARIABLES {
        command.env_remove(variable);
    }
    let mut router = BenchChild(
        command
            .env("ROUTER_CONFIG_FILE_PATH", &config_path)
            .stdout(log.try_clone().expect("a second handle on the log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("{binary} starts: {error}")),
    );
    wait_until_listening(&mut router, port, "Hive Router", &log_path);
    // Listening is not ready: /readiness answers 200 once the supergraph
    // is loaded.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !devstack::answers_ok(&format!("127.0.0.1:{port}"), "/readiness") {
        assert!(
            Instant::now() < deadline,
            "Hive Router was not ready within 60 s; see {}",
            log_path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (router, format!("http://127.0.0.1:{port}/"))
}

/// Builds `devstack` in release mode, and the standalone binary of the
/// subgraph the scale-out run replicates.
fn build_devstack(scale_out: Option<&str>) {
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
fn start_devstack(variant: &Variant) -> RunningDevstack {
    let root = repository_root();
    let binary = variant
        .environment
        .iter()
        .find(|(name, _)| name == "DEVSTACK_BINARY")
        .map_or_else(
            || root.join("target/release/devstack"),
            |(_, path)| root.join(path),
        );
    let mut child = Command::new(&binary)
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
        .env_remove("PAYMENT_PROVIDER_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("devstack starts");
    let stdout = child.stdout.take().expect("devstack's output");
    let (ready, is_ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("dev stack is up") {
                let _ = ready.send(());
            }
        }
    });
    let devstack = RunningDevstack(child);
    is_ready
        .recv_timeout(Duration::from_secs(900))
        .expect("devstack comes up within 15 minutes");
    devstack
}

fn postmaster_pid(root: &Path) -> u32 {
    let file = root.join("target/devstack/postgres/data/postmaster.pid");
    std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| {
            text.lines()
                .next()
                .and_then(|line| line.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("{} names the PostgreSQL server", file.display()))
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn comma_separated<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn markdown(measurements: &[Measurement], options: &Options, (start, end): (&str, &str)) -> String {
    let labels: Vec<String> = measurements
        .first()
        .map(|measurement| {
            measurement
                .cpu_seconds_per_1000_pages
                .keys()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let by_variant = options.variants.len() > 1;
    let mut table = format!(
        "| {}page | size | connections | pages/s | p50 ms | p95 ms | p99 ms | errors | {} |\n|---|---|---|---|---|---|---|---|{}\n",
        if by_variant { "variant | " } else { "" },
        labels
            .iter()
            .map(|label| format!("CPU s/1000 pages: {label}"))
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(labels.len() + usize::from(by_variant))
    );
    for measurement in measurements {
        table.push_str(&format!(
            "| {}{} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
            if by_variant {
                format!("{} | ", measurement.variant)
            } else {
                String::new()
            },
            measurement.page,
            measurement.page_size,
            measurement.connections,
            measurement.pages_per_second,
            measurement.p50_milliseconds,
            measurement.p95_milliseconds,
            measurement.p99_milliseconds,
            measurement.errors,
            labels
                .iter()
                .map(|label| format!("{:.2}", measurement.cpu_seconds_per_1000_pages[label]))
                .collect::<Vec<_>>()
                .join(" | ")
        ));
    }
    format!(
        "{start}\n{table}\nMeasured with `cargo run --release -p talentgraph-e2e --bin bench -- --seconds {} --warm-up-seconds {} --connections {} --page-sizes {}{}` \
         on one 2-core machine: `devstack up` in release mode with `RUST_LOG=warn` (the full demo world; the six subgraphs \
         share the devstack process), the pinned Apollo Router with the development profile, the load generator in the same \
         machine. JobSearchPage and InternshipBrowsePage filter by a random organization per request, JobDetailPage and \
         OrganizationPage take a random job or organization; the dashboards repeat one demo account's request.{}\n",
        options.seconds,
        options.warm_up_seconds,
        comma_separated(&options.connections),
        comma_separated(&options.page_sizes),
        [
            (
                options.pages.len() != PAGES.len(),
                format!(" --pages {}", options.pages.join(",")),
            ),
            (options.direct, " --direct".to_owned()),
            (options.router_ceiling, " --router-ceiling".to_owned()),
            (options.hive_router, " --hive-router".to_owned()),
            (options.router_own_core, " --router-own-core".to_owned()),
            (
                options.scale_out.is_some(),
                format!(
                    " --scale-out {}",
                    options.scale_out.as_deref().unwrap_or_default()
                ),
            ),
            (
                options.compare_supergraph.is_some(),
                options
                    .compare_supergraph
                    .as_ref()
                    .map(|(label, path)| {
                        format!(" --compare-supergraph '{label}={}'", path.display())
                    })
                    .unwrap_or_default(),
            ),
        ]
        .iter()
        .filter(|(chosen, _)| *chosen)
        .map(|(_, flag)| flag.as_str())
        .collect::<String>(),
        if by_variant {
            format!(
                " The stack was started once per variant, in this order, with `--variants '{}'`.",
                options
                    .variants
                    .iter()
                    .map(|variant| format!(
                        "{}:{}",
                        variant.label,
                        variant
                            .environment
                            .iter()
                            .map(|(name, value)| format!("{name}={value}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ))
                    .collect::<Vec<_>>()
                    .join(";")
            )
        } else {
            String::new()
        }
    ) + end
}

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
        write_tests_readme_section(
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
    write_tests_readme_section(
        start,
        end,
        &markdown(&measurements, &options, (start, end)),
        heading,
    );
}

/// `serve-recorded-subgraphs ADDRESS NAME=URL...`: see
/// [`talentgraph_e2e::recorded_subgraphs`].
async fn serve_recorded_subgraphs(arguments: &[String]) {
    let address = arguments
        .first()
        .expect("serve-recorded-subgraphs ADDRESS NAME=URL...");
    let upstreams = arguments[1..]
        .iter()
        .map(|argument| {
            let (name, url) = argument
                .split_once('=')
                .unwrap_or_else(|| panic!("`{argument}` is not NAME=URL"));
            (name.to_owned(), url.to_owned())
        })
        .collect();
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .unwrap_or_else(|error| panic!("binds {address}: {error}"));
    talentgraph_e2e::recorded_subgraphs::serve_recorded_subgraphs(listener, upstreams)
        .await
        .expect("serves the recorded subgraphs");
}

/// Sends one request of JobSearchPage per organization and page size
/// through the ceiling's router, so the recorded subgraphs hold every
/// answer the measured load asks for.
async fn record_job_search(client: &reqwest::Client, factory: &RequestFactory, page_sizes: &[i64]) {
    let url = factory.router_url(RouterUnderTest::ApolloAgainstRecordedSubgraphs);
    let document = page_document("JobSearchPage");
    for page_size in page_sizes {
        for organization in 0..WORLD.organizations {
            let body = json!({
                "query": document,
                "operationName": "JobSearchPage",
                "variables": job_search_variables(*page_size, organization),
            });
            post_to(client, url, Some(&factory.jobseeker_token), &body)
                .await
                .unwrap_or_else(|error| panic!("recording JobSearchPage: {error}"));
        }
    }
}

/// The pages Hive Router answers as Apollo Router does: one request per
/// page at each page size, compared as JSON.
#[allow(clippy::print_stdout)]
async fn pages_hive_answers_alike(
    client: &reqwest::Client,
    factory: &RequestFactory,
    options: &Options,
) -> std::collections::BTreeSet<String> {
    let mut alike: std::collections::BTreeSet<String> = options.pages.iter().cloned().collect();
    for page in &options.pages {
        let document = page_document(page);
        for page_size in &options.page_sizes {
            let mut random = rand::rngs::StdRng::seed_from_u64(7);
            let (token, variables) = factory.request(page, *page_size, &mut random);
            let body = json!({ "query": document, "operationName": page, "variables": variables });
            let apollo = post_to(
                client,
                factory.router_url(RouterUnderTest::Apollo),
                token,
                &body,
            )
            .await;
            let hive = post_to(
                client,
                factory.router_url(RouterUnderTest::Hive),
                token,
                &body,
            )
            .await;
            if apollo.is_ok() && apollo == hive {
                println!("{page} size {page_size}: Hive Router's answer equals Apollo Router's");
            } else {
                println!(
                    "{page} size {page_size}: the answers differ\n  Apollo Router: {apollo:?}\n  Hive Router: {hive:?}"
                );
                alike.remove(page);
            }
        }
    }
    alike
}

/// What every load run of one stack shares.
struct RunContext<'a> {
    options: &'a Options,
    client: reqwest::Client,
    factory: Arc<RequestFactory>,
    ticks_per_second: f64,
    ceiling: Option<&'a RouterCeiling>,
}

impl RunContext<'_> {
    /// Runs `target` at every page size and connection count.
    #[allow(clippy::print_stdout)]
    async fn measure(&self, target: LoadTarget<'_>, processes: &Processes) -> Vec<Measurement> {
        let mut measurements = Vec::new();
        for page_size in &self.options.page_sizes {
            for connections in &self.options.connections {
                let recorded_before = self.recording_statistics().await;
                let mut measurement = run_load(
                    self.factory.clone(),
                    target,
                    *page_size,
                    *connections,
                    LoadWindow {
                        warm_up: Duration::from_secs(self.options.warm_up_seconds),
                        duration: Duration::from_secs(self.options.seconds),
                    },
                    processes,
                    self.ticks_per_second,
                )
                .await;
                match target.route {
                    Route::ThroughRouter(RouterUnderTest::ApolloAgainstRecordedSubgraphs) => {
                        if let (Some(before), Some(after)) =
                            (recorded_before, self.recording_statistics().await)
                        {
                            measurement.page.push_str(&format!(
                                "; {} of {} subgraph requests missed the recording",
                                after.forwarded - before.forwarded,
                                (after.forwarded + after.answered_from_memory)
                                    - (before.forwarded + before.answered_from_memory)
                            ));
                        }
                    }
                    Route::ThroughRouter(RouterUnderTest::Hive) => {
                        measurement
                            .page
                            .push_str(" (answers equal Apollo Router's)");
                    }
                    Route::ThroughRouter(RouterUnderTest::ApolloWithComparedSupergraph) => {
                        if let Some((label, _)) = &self.options.compare_supergraph {
                            measurement.page = format!("{} through {label}", target.page);
                        }
                    }
                    _ => {}
                }
                println!(
                    "{} size {page_size} connections {connections}: {:.0} pages/s, p50 {:.1} ms, p99 {:.1} ms, {} errors, CPU s/1000 pages {:?}, of it system {:?}",
                    measurement.page,
                    measurement.pages_per_second,
                    measurement.p50_milliseconds,
                    measurement.p99_milliseconds,
                    measurement.errors,
                    measurement.cpu_seconds_per_1000_pages,
                    measurement.system_cpu_seconds_per_1000_pages
                );
                measurements.push(measurement);
            }
        }
        measurements
    }

    /// Signs the demo accounts in again before each target: a full run
    /// outlasts an access token (15 minutes), after which every signed-in
    /// request would fail as UNAUTHENTICATED.
    async fn sign_in_again(&mut self) {
        let jobseeker_token = sign_in(&self.client, &WORLD.email(WORLD.demo_jobseeker())).await;
        let recruiter_token = sign_in(&self.client, &WORLD.email(WORLD.demo_recruiter())).await;
        let factory = Arc::get_mut(&mut self.factory)
            .expect("no load task holds the request factory between targets");
        factory.jobseeker_token = jobseeker_token;
        factory.recruiter_token = recruiter_token;
    }

    async fn recording_statistics(
        &self,
    ) -> Option<talentgraph_e2e::recorded_subgraphs::RecordingStatistics> {
        let ceiling = self.ceiling?;
        recording_statistics(&self.client, ceiling.recorded_subgraphs_address)
            .await
            .ok()
    }
}

/// The slugs of the organizations OrganizationPage's requests pick from.
async fn organization_slugs(client: &reqwest::Client) -> Vec<String> {
    let slugs_answer = post(
        client,
        None,
        &json!({ "query": "{ jobs(first: 100) { edges { node { organization { slug } } } } }" }),
    )
    .await
    .expect("reads organization slugs");
    let mut slugs: Vec<String> = slugs_answer["data"]["jobs"]["edges"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|edge| {
            edge["node"]["organization"]["slug"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

/// Runs every page, page size and connection count against a running stack.
#[allow(clippy::print_stdout)]
async fn measure_variant(devstack: &RunningDevstack, options: &Options) -> Vec<Measurement> {
    let root = repository_root();
    let client = reqwest::Client::new();
    let ceiling = options.router_ceiling.then(start_router_ceiling);
    let hive = options.hive_router.then(start_hive_router);
    let mut scale_out = options.scale_out.as_deref().map(ScaleOut::start);
    let compared = options
        .compare_supergraph
        .as_ref()
        .map(|(_, path)| start_compared_supergraph(path));
    let references = |scale_out: Option<&ScaleOut>| ReferenceProcesses {
        routers: ceiling
            .iter()
            .map(|ceiling| ceiling.router.0.id())
            .chain(hive.iter().map(|(router, _)| router.0.id()))
            .chain(compared.iter().map(|(router, _)| router.0.id()))
            .chain(scale_out.iter().map(|scale_out| scale_out.router.0.id()))
            .collect(),
        recorded_subgraphs: ceiling
            .as_ref()
            .map(|ceiling| ceiling.recorded_subgraphs.0.id()),
        subgraph_replicas: scale_out
            .iter()
            .flat_map(|scale_out| scale_out.replicas.iter().map(|replica| replica.0.id()))
            .collect(),
    };
    let processes = Processes::find(
        devstack.0.id(),
        postmaster_pid(root),
        &references(scale_out.as_ref()),
    );
    if let Some(placement) = &options.core_placement {
        processes.give_the_routers_a_core_of_their_own(devstack.0.id(), placement);
    }
    let factory = Arc::new(RequestFactory {
        ceiling_router_url: ceiling.as_ref().map(|ceiling| ceiling.router_url.clone()),
        hive_router_url: hive.as_ref().map(|(_, url)| url.clone()),
        scale_out_router_url: scale_out
            .as_ref()
            .map(|scale_out| scale_out.router_url.clone()),
        compared_router_url: compared.as_ref().map(|(_, url)| url.clone()),
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
                devstack.0.id(),
                postmaster_pid(root),
                &references(Some(scale_out)),
            );
            if let Some(placement) = &options.core_placement {
                processes.give_the_routers_a_core_of_their_own(devstack.0.id(), placement);
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

/// Pages sent before each count, one at a time, so the counted ones find
/// the subgraph's parsed documents, pooled connections and remembered
/// tokens as a warm process has them.
const COUNTED_WARM_UP_PAGES: usize = 20;

/// Instructions and allocations per page in one subgraph process.
#[derive(serde::Serialize)]
struct InstructionCount {
    subgraph: String,
    page: String,
    page_size: i64,
    pages: usize,
    instructions_per_page: u64,
    allocations_per_page: u64,
}

/// `--count-instructions SUBGRAPH`: the subgraph as one standalone replica
/// under callgrind behind a second Apollo Router (as `--scale-out` runs
/// it); for each page and page size, [`COUNTED_WARM_UP_PAGES`] pages and
/// then `--counted-pages` counted ones, one at a time, with the same
/// seeded variables on every run.
#[allow(clippy::print_stdout)]
async fn count_instructions(options: &Options, subgraph: &str) -> Vec<InstructionCount> {
    let dump_file = repository_root().join(format!("target/bench/callgrind-{subgraph}.out"));
    let counted = ScaleOut::start_counted(subgraph, &dump_file);
    let replica_pid = counted.replicas[0].0.id();
    let mut process = talentgraph_e2e::callgrind::CountedProcess::new(replica_pid, dump_file);
    let client = reqwest::Client::new();
    let factory = RequestFactory {
        scale_out_router_url: Some(counted.router_url.clone()),
        ..RequestFactory::signed_in(&client).await
    };
    let router_url = factory.router_url(RouterUnderTest::ScaleOut { replicas: 1 });
    let mut counts = Vec::new();
    for page in &options.pages {
        let document = page_document(page);
        for page_size in &options.page_sizes {
            let mut random = rand::rngs::StdRng::seed_from_u64(0);
            for index in 0..COUNTED_WARM_UP_PAGES + options.counted_pages {
                if index == COUNTED_WARM_UP_PAGES {
                    process
                        .start_counting()
                        .unwrap_or_else(|error| panic!("{error}"));
                }
                let (token, variables) = factory.request(page, *page_size, &mut random);
                let body =
                    json!({ "query": document, "operationName": page, "variables": variables });
                post_to(&client, router_url, token, &body)
                    .await
                    .unwrap_or_else(|error| panic!("{page} under callgrind: {error}"));
            }
            let totals = process
                .stop_counting()
                .unwrap_or_else(|error| panic!("{error}"));
            let pages = options.counted_pages as u64;
            let count = InstructionCount {
                subgraph: subgraph.to_owned(),
                page: page.clone(),
                page_size: *page_size,
                pages: options.counted_pages,
                instructions_per_page: totals.instructions / pages,
                allocations_per_page: totals.allocations / pages,
            };
            println!(
                "{page} size {page_size}: {subgraph} executed {} instructions and {} allocations per page",
                count.instructions_per_page, count.allocations_per_page
            );
            counts.push(count);
        }
    }
    counts
}

/// The markdown section of `--count-instructions`.
fn instructions_markdown(counts: &[InstructionCount], options: &Options) -> String {
    let subgraph = options.count_instructions.as_deref().unwrap_or_default();
    let mut table = format!(
        "| page | size | pages counted | {subgraph}: instructions per page | {subgraph}: allocations per page |\n|---|---|---|---|---|\n"
    );
    for count in counts {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            count.page,
            count.page_size,
            count.pages,
            thousands(count.instructions_per_page),
            thousands(count.allocations_per_page)
        ));
    }
    format!(
        "{INSTRUCTIONS_TABLE_START}\n{table}\nCounted with `cargo run --release -p talentgraph-e2e --bin bench -- --count-instructions {subgraph} --counted-pages {} --page-sizes {}{}`: \
         {subgraph}'s release binary under `valgrind --tool=callgrind`, behind a second Apollo Router, the rest of the dev stack as `devstack up` runs it; \
         {COUNTED_WARM_UP_PAGES} pages uncounted, then the counted ones one at a time, with the same variables on every run. \
         Instructions are user space only; allocations are calls to Rust's allocation functions (`__rust_alloc`, `__rust_alloc_zeroed`, `__rust_realloc`), whichever allocator serves them.\n",
        options.counted_pages,
        comma_separated(&options.page_sizes),
        if options.pages.len() == PAGES.len() {
            String::new()
        } else {
            format!(" --pages {}", options.pages.join(","))
        }
    ) + INSTRUCTIONS_TABLE_END
}

/// `1234567` as `1,234,567`.
fn thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_cores_are_read_from_the_status_list() {
        let status =
            "Name:\tbench\nCpus_allowed:\t4f\nCpus_allowed_list:\t0-3,6\nMems_allowed:\t1\n";
        assert_eq!(allowed_cores(status), vec![0, 1, 2, 3, 6]);
        assert_eq!(allowed_cores("Cpus_allowed_list:\t1\n"), vec![1]);
        assert!(allowed_cores("Name:\tbench\n").is_empty());
    }

    /// A process placed on one core may run only there, every thread of
    /// it, as the kernel reports it.
    #[test]
    fn a_placed_process_runs_only_on_its_cores() {
        let own = std::fs::read_to_string("/proc/self/status").expect("reads its status");
        let core = *allowed_cores(&own).last().expect("at least one core");
        let mut sleeper = Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep starts");
        let placed = place_on_cores(sleeper.id(), &core.to_string());
        let status = std::fs::read_to_string(format!("/proc/{}/status", sleeper.id()))
            .expect("reads the sleeper's status");
        sleeper.kill().expect("stops the sleeper");
        sleeper.wait().expect("reaps the sleeper");
        placed.expect("taskset places the process");
        assert_eq!(allowed_cores(&status), vec![core]);
    }

    #[test]
    fn thousands_are_grouped_by_commas() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }

    /// A snapshot whose system time is a tenth of its user time, so the
    /// two sums can be told apart.
    fn snapshot(user_seconds_by_pid: &[(u32, f64)], reaped_children_user: f64) -> GroupSnapshot {
        let split = |user: f64| CpuSeconds {
            user,
            system: user / 10.0,
        };
        GroupSnapshot {
            seconds_by_pid: user_seconds_by_pid
                .iter()
                .map(|(pid, user)| (*pid, split(*user)))
                .collect(),
            reaped_children_seconds: split(reaped_children_user),
        }
    }

    #[test]
    fn a_group_counts_children_that_started_or_exited_during_the_window() {
        // In user time: the parent (1) spends 1 s. Backend 2 lives
        // throughout and spends 2 s. Backend 3 had spent 4 s and exits with
        // 7 s in all, so 3 s fall in the window. Backend 4 starts in the
        // window and spends 5 s. Backend 5 starts and exits in the window,
        // spending 6 s. Each spends a tenth of that in system time.
        let before = snapshot(&[(1, 10.0), (2, 20.0), (3, 4.0)], 100.0);
        let after = snapshot(&[(1, 11.0), (2, 22.0), (4, 5.0)], 100.0 + 7.0 + 6.0);
        let seconds = after.seconds_since(&before);
        let user = 1.0 + 2.0 + 3.0 + 5.0 + 6.0;
        assert!((seconds.user - user).abs() < 1e-9, "{seconds:?}");
        assert!((seconds.system - user / 10.0).abs() < 1e-9, "{seconds:?}");
        assert!((seconds.total() - user * 1.1).abs() < 1e-9, "{seconds:?}");
    }

    #[test]
    fn a_parent_counts_the_time_of_its_reaped_children() {
        let before = process_times(std::process::id()).expect("this process is alive");
        // A child that spends at least a few clock ticks, then is waited for.
        let status = Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
            .status()
            .expect("sh runs");
        assert!(status.success());
        let after = process_times(std::process::id()).expect("this process is alive");
        let reaped =
            |times: &ProcessTimes| times.reaped_children.user + times.reaped_children.system;
        assert!(
            reaped(&after) > reaped(&before),
            "cutime + cstime did not grow: {} then {}",
            reaped(&before),
            reaped(&after)
        );
        assert!(process_times(u32::MAX).is_none());
    }
}
