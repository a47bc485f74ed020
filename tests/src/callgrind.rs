//! Counting a process's instructions and allocations with Valgrind's
//! callgrind, for `bench --count-instructions`.
//!
//! CPU time on a shared two-core machine moves by ±15 % between two starts
//! of the same build, which hides any change of a few percent. Callgrind
//! counts the instructions a process executes instead: for the same binary
//! and the same requests the count repeats whatever else the machine is
//! doing, so two builds can be compared one after the other. It sees user
//! space only; the kernel's share (loopback TCP, thread switches) is not in
//! it.
//!
//! The process runs under `valgrind --tool=callgrind --instr-atstart=no`
//! (start-up uninstrumented, several times faster than counted code), and
//! [`CountedProcess`] switches counting on around the measured requests with
//! `callgrind_control`, then has callgrind write a dump whose totals
//! [`read_dump`] reads.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Rust's allocation entry points, the functions every `Box`, `Vec` or
/// `String` calls whatever the global allocator behind them (jemalloc in
/// the kit's binaries; mimalloc and glibc's malloc before it), so their
/// calls are the process's heap allocations and counts stay comparable across
/// allocators; deallocation is left out since it releases what these took.
/// Counting the C allocator's `malloc` instead would count nothing once the
/// global allocator no longer calls it.
///
/// The names are compared without the crate path that v0 symbol mangling
/// puts before them (`__rustc::__rust_alloc`, as rustc 1.95 emits them): a
/// toolchain that emits the legacy names (`__rust_alloc`) or another prefix
/// still counts the same calls, instead of silently counting none.
const ALLOCATION_FUNCTIONS: [&str; 3] = ["__rust_alloc", "__rust_alloc_zeroed", "__rust_realloc"];

/// Whether a callgrind function name is one of [`ALLOCATION_FUNCTIONS`],
/// whatever module path precedes it.
fn is_allocation_function(name: &str) -> bool {
    let unqualified = name.rsplit("::").next().unwrap_or(name);
    ALLOCATION_FUNCTIONS.contains(&unqualified)
}

/// What one callgrind dump holds for the counted window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallgrindCounts {
    /// Instructions executed (callgrind's `Ir` event).
    pub instructions: u64,
    /// Calls into the allocation functions.
    pub allocations: u64,
}

/// The arguments that run a program under callgrind with counting off until
/// [`CountedProcess::start_counting`]; `dump_file` is where its dumps go
/// (callgrind appends `.1`, `.2`, … for each requested dump).
pub fn valgrind_arguments(dump_file: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".to_owned(),
        "--instr-atstart=no".to_owned(),
        format!("--callgrind-out-file={}", dump_file.display()),
    ]
}

/// A process running under callgrind, addressed by its pid.
pub struct CountedProcess {
    pid: u32,
    dump_file: PathBuf,
    dumps_taken: usize,
}

impl CountedProcess {
    pub fn new(pid: u32, dump_file: PathBuf) -> Self {
        Self {
            pid,
            dump_file,
            dumps_taken: 0,
        }
    }

    /// Forgets what was counted so far and counts from now on.
    pub fn start_counting(&self) -> Result<(), String> {
        self.control(&["--zero"])?;
        self.control(&["--instr=on"])
    }

    /// Stops counting and returns what was counted since
    /// [`Self::start_counting`].
    pub fn stop_counting(&mut self) -> Result<CallgrindCounts, String> {
        self.control(&["--dump"])?;
        self.control(&["--instr=off"])?;
        self.dumps_taken += 1;
        let dump = PathBuf::from(format!("{}.{}", self.dump_file.display(), self.dumps_taken));
        let text = std::fs::read_to_string(&dump)
            .map_err(|error| format!("reading {}: {error}", dump.display()))?;
        read_dump(&text)
    }

    fn control(&self, arguments: &[&str]) -> Result<(), String> {
        let output = Command::new("callgrind_control")
            .args(arguments)
            .arg(self.pid.to_string())
            .output()
            .map_err(|error| {
                format!("callgrind_control (Debian: apt-get install valgrind): {error}")
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "callgrind_control {} {} failed: {}",
                arguments.join(" "),
                self.pid,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

/// Reads a callgrind dump: its total instruction count and the number of
/// calls into [`ALLOCATION_FUNCTIONS`].
///
/// Callgrind names a function in full the first time it appears and by a
/// number afterwards (`fn=(12) __rustc::__rust_alloc`, later `cfn=(12)`), in one number
/// space for `fn=` and `cfn=`; a `calls=N …` line counts the calls of the
/// function named by the `cfn=` before it.
pub fn read_dump(text: &str) -> Result<CallgrindCounts, String> {
    let mut names_by_id = std::collections::HashMap::<&str, &str>::new();
    let mut called_is_allocation = false;
    let mut counts = CallgrindCounts::default();
    let mut instructions = None;
    for line in text.lines() {
        if let Some(total) = line
            .strip_prefix("totals:")
            .or_else(|| line.strip_prefix("summary:"))
        {
            let first = total.split_whitespace().next().unwrap_or_default();
            instructions = Some(
                first
                    .parse::<u64>()
                    .map_err(|_| format!("a callgrind total that is not a number: {line}"))?,
            );
        } else if let Some(reference) = line.strip_prefix("cfn=") {
            let name = resolve_name(&mut names_by_id, reference);
            called_is_allocation = is_allocation_function(name);
        } else if let Some(reference) = line.strip_prefix("fn=") {
            resolve_name(&mut names_by_id, reference);
        } else if let Some(calls) = line.strip_prefix("calls=")
            && called_is_allocation
        {
            let count = calls.split_whitespace().next().unwrap_or_default();
            counts.allocations += count
                .parse::<u64>()
                .map_err(|_| format!("a callgrind call count that is not a number: {line}"))?;
        }
    }
    counts.instructions =
        instructions.ok_or_else(|| "the callgrind dump has no totals line".to_owned())?;
    Ok(counts)
}

/// The function name a `fn=`/`cfn=` value stands for, remembering the
/// number a first mention gives it. Uncompressed dumps name it in full.
fn resolve_name<'a>(
    names_by_id: &mut std::collections::HashMap<&'a str, &'a str>,
    reference: &'a str,
) -> &'a str {
    let Some(rest) = reference.strip_prefix('(') else {
        return reference;
    };
    let Some((id, name)) = rest.split_once(')') else {
        return reference;
    };
    let name = name.trim();
    if name.is_empty() {
        names_by_id.get(id).copied().unwrap_or_default()
    } else {
        names_by_id.insert(id, name);
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump in callgrind's format, cut down: two functions that allocate,
    /// one through a name given by number only, and the allocator's own
    /// call under Rust's entry point, which is not another allocation.
    const DUMP: &str = "# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 4242
cmd: target/release/talentgraph-employer
part: 1

desc: I1 cache:
desc: Timerange: Basic block 1 - 2
desc: Trigger: Client Request: dump

positions: line
events: Ir
summary: 123456

ob=(1) target/release/talentgraph-employer
fl=(1) ???
fn=(1) __rustc::__rust_alloc
0 40
cfn=(6) mi_malloc_aligned
calls=9 0
0 400

fn=(2) talentgraph_kit::graphql::http::execution::execute
cfn=(1)
calls=7 0
0 280
cfn=(3) hashbrown::raw::RawTableInner::reserve_rehash
calls=2 0
0 90
0 1000

fn=(4) serde_json::de::from_slice
cfn=(5) __rustc::__rust_realloc
calls=3 0
0 60
cfn=(1)
calls=5 0
0 200

totals: 123456
";

    #[test]
    fn a_dump_gives_its_totals_and_the_calls_into_the_allocator() {
        assert_eq!(
            read_dump(DUMP).expect("reads"),
            CallgrindCounts {
                instructions: 123_456,
                allocations: 7 + 3 + 5,
            }
        );
    }

    #[test]
    fn allocation_functions_are_recognised_with_or_without_their_crate_path() {
        for name in [
            "__rustc::__rust_alloc",
            "__rust_alloc",
            "__rust_alloc_zeroed",
            "__rustc::__rust_realloc",
        ] {
            assert!(is_allocation_function(name), "{name}");
        }
        for name in [
            "__rustc::__rust_dealloc",
            "__rust_alloc_error_handler",
            "mi_malloc_aligned",
            "malloc",
            "my_crate::__rust_allocator_stats",
        ] {
            assert!(!is_allocation_function(name), "{name}");
        }
    }

    #[test]
    fn a_dump_without_totals_is_refused() {
        let error = read_dump("events: Ir\nfn=(1) main\n0 3\n").expect_err("no totals");
        assert!(error.contains("no totals"), "{error}");
    }
}
