//! Tables the measuring binaries keep current in the docs, between
//! markers, each with the date, commit and machine of its run.

use std::process::Command;

use crate::repository_root;

/// Replaces the part of `document` (a markdown file of the repository,
/// relative to its root, such as `docs/performance.md`) between `start`
/// and `end` (the markers included) with `section`, which carries the
/// markers, adding a line that says when, at which commit and on what
/// machine it was made; when the markers are missing, appends `heading`
/// and the section. The measuring binaries keep their tables current this
/// way.
pub fn write_docs_section(document: &str, start: &str, end: &str, section: &str, heading: &str) {
    let path = repository_root().join(document);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let section = section.replacen(end, &format!("{}\n{end}", run_provenance()), 1);
    let updated = match (text.find(start), text.find(end)) {
        (Some(first), Some(last)) => {
            format!("{}{section}{}", &text[..first], &text[last + end.len()..])
        }
        _ => format!("{text}\n{heading}{section}\n"),
    };
    std::fs::write(&path, updated)
        .unwrap_or_else(|error| panic!("writes {}: {error}", path.display()));
}

/// "Run of 2026-12-07 (commit 1a2b3c4) on a machine with 2 logical CPUs
/// (its model) and 24 GiB."
pub fn run_provenance() -> String {
    let output = |program: &str, arguments: &[&str]| {
        Command::new(program)
            .args(arguments)
            .current_dir(repository_root())
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let date = output("date", &["-u", "+%F"]);
    let commit = output("git", &["rev-parse", "--short", "HEAD"]);
    let changed = !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown model", |(_, model)| model.trim());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let gibibytes = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kibibytes| kibibytes.parse::<u64>().ok())
        .map_or(0, |kibibytes| (kibibytes + 512 * 1024) / (1024 * 1024));
    format!(
        "Run of {date} (commit {commit}{}) on a machine with {cpus} logical CPUs ({model}) and {gibibytes} GiB.",
        if changed {
            " with uncommitted changes"
        } else {
            ""
        }
    )
}
