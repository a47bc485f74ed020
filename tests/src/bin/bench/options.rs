//! The command line: what to measure, and against which variants of the stack.

use crate::cpu::CorePlacement;
use std::path::{Path, PathBuf};

/// The pages measured: every page but CheckoutPage, whose one request is a
/// payment (measured by the payment tests, not under load).
pub const PAGES: [&str; 6] = [
    "JobSearchPage",
    "JobDetailPage",
    "OrganizationPage",
    "InternshipBrowsePage",
    "JobseekerDashboardPage",
    "EmployerDashboardPage",
];

/// One configuration of the stack: a label and the environment it runs in.
#[derive(Clone)]
pub struct Variant {
    pub label: String,
    pub environment: Vec<(String, String)>,
}

/// Parses `LABEL:NAME=VALUE NAME=VALUE;LABEL:...`.
pub fn parse_variants(text: &str) -> Vec<Variant> {
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

pub struct Options {
    pub variants: Vec<Variant>,
    pub direct: bool,
    pub router_ceiling: bool,
    pub hive_router: bool,
    /// Every router on a core of its own, everything else on the others.
    pub router_own_core: bool,
    /// The cores `--router-own-core` places processes on, read once at
    /// start-up: the first placement confines this process too, so a
    /// later reading would see only the others' cores.
    pub core_placement: Option<CorePlacement>,
    /// The subgraph run as standalone replicas for the scale-out figure.
    pub scale_out: Option<String>,
    /// The subgraph whose instructions and allocations per page are counted
    /// under callgrind instead of running the load.
    pub count_instructions: Option<String>,
    /// How many pages, one at a time, each count covers.
    pub counted_pages: usize,
    /// Another supergraph of the same subgraphs (an earlier commit's, say),
    /// served by a second Apollo Router beside the dev stack's: its label
    /// and file.
    pub compare_supergraph: Option<(String, PathBuf)>,
    pub seconds: u64,
    pub warm_up_seconds: u64,
    pub connections: Vec<usize>,
    pub page_sizes: Vec<i64>,
    pub pages: Vec<String>,
}

pub fn parse_options() -> Options {
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
