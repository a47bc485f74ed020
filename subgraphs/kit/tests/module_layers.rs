//! The kit's modules form layers: no two of them use each other, directly
//! or around a cycle, so each can be read knowing only those below it
//! (ARCHITECTURE.md lists them bottom up). A `crate::<module>` path in one
//! top-level module's source (comments aside) counts as a use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level module a source file belongs to (`graphql/http/mod.rs`
/// belongs to `graphql`).
fn top_module(source_root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(source_root).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a path")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_owned()
}

fn rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).expect("reads a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// Which top-level modules each top-level module uses.
fn module_uses() -> BTreeMap<String, BTreeSet<String>> {
    let source_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&source_root, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|file| top_module(&source_root, file))
        .collect();
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = top_module(&source_root, file);
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("reads a source file");
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or_default();
            for (index, _) in code.match_indices("crate::") {
                let used: String = code[index + "crate::".len()..]
                    .chars()
                    .take_while(|character| character.is_ascii_alphanumeric() || *character == '_')
                    .collect();
                if used != module && modules.contains(&used) && used != "lib" {
                    uses.entry(module.clone()).or_default().insert(used);
                }
            }
        }
    }
    uses
}

/// A cycle through `start`, if any (depth-first, deterministic order).
fn cycle_through(
    uses: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    start: &str,
) -> Option<Vec<String>> {
    let current = path.last().expect("a path").clone();
    for next in uses.get(&current).into_iter().flatten() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(start.to_owned());
            return Some(cycle);
        }
        if !path.contains(next) {
            path.push(next.clone());
            if let Some(cycle) = cycle_through(uses, path, start) {
                return Some(cycle);
            }
            path.pop();
        }
    }
    None
}

#[test]
fn the_kits_modules_use_each_other_in_one_direction_only() {
    let uses = module_uses();
    assert!(
        uses.get("graphql")
            .is_some_and(|used| used.contains("config")),
        "the scan finds uses (graphql uses config): {uses:?}"
    );
    for module in uses.keys() {
        let mut path = vec![module.clone()];
        if let Some(cycle) = cycle_through(&uses, &mut path, module) {
            panic!(
                "the kit's modules use each other around a cycle: {}",
                cycle.join(" → ")
            );
        }
    }
}
