//! Agreement with reference implementations nobody here wrote.
//!
//! Every case of `corpus/composition.cases` is composed by schema-registry
//! (apollo-federation, the router's Rust composition) and by Apollo's JS
//! `@apollo/composition`; every case of `corpus/diff.cases` is diffed by
//! schema-registry and by `@graphql-inspector/core`. Both run here, offline,
//! from `oracle/node_modules` (installed by `scripts/install-oracles.sh`,
//! which the test command runs). Outcomes must agree — composition: success
//! or failure and, on failure, at least one error code in common; diff: the
//! highest criticality and the number of breaking changes — or the case must
//! be listed in `corpus/DISAGREEMENTS.md` with the reason ours is right. A
//! listed case that has come to agree must be removed from the list.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use apollo_compiler::Schema;
use schema_registry::diff::{Criticality, diff_schemas};
use schema_registry::{RegistryError, SubgraphInput, compose_subgraphs};

const FEDERATION_LINK: &str = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.5\", import: [\"@key\", \"@shareable\", \"@external\", \"@requires\", \"@provides\", \"@override\", \"@inaccessible\", \"@interfaceObject\"])\n";

fn crate_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One case: its name and its named sections in order.
struct Case {
    name: String,
    sections: Vec<(String, String)>,
}

fn read_cases(file: &str) -> Vec<Case> {
    let text = std::fs::read_to_string(crate_directory().join("corpus").join(file))
        .unwrap_or_else(|error| panic!("cannot read corpus/{file}: {error}"));
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            cases.push(Case {
                name: name.trim().to_owned(),
                sections: Vec::new(),
            });
        } else if let Some(section) = line.strip_prefix("--- ") {
            let case = cases.last_mut().expect("a section inside a case");
            case.sections
                .push((section.trim().to_owned(), String::new()));
        } else if let Some(case) = cases.last_mut()
            && let Some((_, body)) = case.sections.last_mut()
        {
            body.push_str(line);
            body.push('\n');
        }
    }
    cases
}

fn oracle(request: &serde_json::Value) -> serde_json::Value {
    let directory = crate_directory().join("oracle");
    assert!(
        directory.join("node_modules/@apollo/composition").exists()
            && directory
                .join("node_modules/@graphql-inspector/core")
                .exists(),
        "the reference implementations are not installed; run scripts/install-oracles.sh"
    );
    let mut child = Command::new("node")
        .arg(directory.join("oracle.mjs"))
        .current_dir(&directory)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (install Node.js)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("writes the request");
    let output = child.wait_with_output().expect("the oracle finishes");
    assert!(
        output.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the oracle answers JSON")
}

/// `kind/name` → reason, from `corpus/DISAGREEMENTS.md` lines of the form
/// ``- `composition/case-name`: reason``.
fn listed_disagreements() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(crate_directory().join("corpus/DISAGREEMENTS.md"))
        .expect("corpus/DISAGREEMENTS.md");
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("- `")?;
            let (key, reason) = rest.split_once("`:")?;
            Some((key.to_owned(), reason.trim().to_owned()))
        })
        .collect()
}

fn our_composition(case: &Case) -> Result<(), BTreeSet<String>> {
    let inputs: Vec<SubgraphInput> = case
        .sections
        .iter()
        .map(|(section, sdl)| {
            let name = section
                .strip_prefix("subgraph ")
                .unwrap_or_else(|| panic!("{}: sections are `subgraph <name>`", case.name));
            SubgraphInput {
                name: name.to_owned(),
                routing_url: format!("http://{name}.example/graphql"),
                sdl: sdl.replace("FEDERATION_LINK", FEDERATION_LINK),
            }
        })
        .collect();
    match compose_subgraphs(&inputs) {
        Ok(_) => Ok(()),
        Err(RegistryError::Composition(diagnostics)) => Err(diagnostics
            .into_iter()
            .map(|diagnostic| diagnostic.code)
            .collect()),
        Err(other) => Err(BTreeSet::from([format!("{other}")])),
    }
}

fn their_composition(case: &Case) -> Result<(), BTreeSet<String>> {
    let subgraphs: Vec<serde_json::Value> = case
        .sections
        .iter()
        .map(|(section, sdl)| {
            let name = section.trim_start_matches("subgraph ");
            serde_json::json!({
                "name": name,
                "url": format!("http://{name}.example/graphql"),
                "sdl": sdl.replace("FEDERATION_LINK", FEDERATION_LINK),
            })
        })
        .collect();
    let answer = oracle(&serde_json::json!({ "kind": "compose", "subgraphs": subgraphs }));
    if answer["ok"] == true {
        Ok(())
    } else {
        Err(answer["codes"]
            .as_array()
            .map(|codes| {
                codes
                    .iter()
                    .filter_map(|code| code.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The outcome compared for a diff: highest criticality, breaking count.
fn summary(criticalities: &[Criticality]) -> (Option<Criticality>, usize) {
    (
        criticalities.iter().min().copied(),
        criticalities
            .iter()
            .filter(|criticality| **criticality == Criticality::Breaking)
            .count(),
    )
}

fn section<'a>(case: &'a Case, name: &str) -> &'a str {
    case.sections
        .iter()
        .find(|(section, _)| section == name)
        .map(|(_, body)| body.as_str())
        .unwrap_or_else(|| panic!("{}: no `{name}` section", case.name))
}

fn parse(case: &Case, sdl: &str) -> Schema {
    Schema::parse_and_validate(sdl, Path::new(&case.name))
        .unwrap_or_else(|errors| panic!("{}: {errors}", case.name))
        .into_inner()
}

#[test]
fn we_agree_with_apollo_composition_and_graphql_inspector() {
    let listed = listed_disagreements();
    let mut disagreements: BTreeMap<String, String> = BTreeMap::new();
    let composition = read_cases("composition.cases");
    let diffs = read_cases("diff.cases");
    assert!(composition.len() >= 25, "at least 25 composition cases");
    assert!(diffs.len() >= 50, "at least 50 diff cases");
    let (mut valid, mut invalid) = (0, 0);
    for case in &composition {
        let ours = our_composition(case);
        let theirs = their_composition(case);
        match &theirs {
            Ok(()) => valid += 1,
            Err(_) => invalid += 1,
        }
        let agree = match (&ours, &theirs) {
            (Ok(()), Ok(())) => true,
            (Err(our_codes), Err(their_codes)) => !our_codes.is_disjoint(their_codes),
            _ => false,
        };
        if !agree {
            disagreements.insert(
                format!("composition/{}", case.name),
                format!("ours {ours:?}, @apollo/composition {theirs:?}"),
            );
        }
    }
    for case in &diffs {
        let ours: Vec<Criticality> = diff_schemas(
            &parse(case, section(case, "old")),
            &parse(case, section(case, "new")),
        )
        .into_iter()
        .map(|change| change.criticality)
        .collect();
        let answer = oracle(&serde_json::json!({
            "kind": "diff",
            "old": section(case, "old"),
            "new": section(case, "new"),
        }));
        let theirs: Vec<Criticality> = answer["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|change| match change["criticality"].as_str() {
                Some("BREAKING") => Criticality::Breaking,
                Some("DANGEROUS") => Criticality::Dangerous,
                _ => Criticality::Safe,
            })
            .collect();
        if summary(&ours) != summary(&theirs) {
            disagreements.insert(
                format!("diff/{}", case.name),
                format!(
                    "ours {:?}, graphql-inspector {:?} ({})",
                    summary(&ours),
                    summary(&theirs),
                    answer["changes"]
                ),
            );
        }
    }
    let total = composition.len() + diffs.len();
    println!(
        "agreement: {} of {} composition cases ({valid} valid, {invalid} invalid per @apollo/composition), {} of {} diff cases; {} listed disagreement(s)",
        composition.len()
            - disagreements
                .keys()
                .filter(|key| key.starts_with("composition/"))
                .count(),
        composition.len(),
        diffs.len()
            - disagreements
                .keys()
                .filter(|key| key.starts_with("diff/"))
                .count(),
        diffs.len(),
        listed.len()
    );
    let unlisted: Vec<String> = disagreements
        .iter()
        .filter(|(key, _)| !listed.contains_key(*key))
        .map(|(key, detail)| format!("{key}: {detail}"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "{} of {total} cases disagree and are not explained in corpus/DISAGREEMENTS.md:\n{}",
        unlisted.len(),
        unlisted.join("\n")
    );
    let stale: Vec<&String> = listed
        .keys()
        .filter(|key| !disagreements.contains_key(*key))
        .collect();
    assert!(
        stale.is_empty(),
        "these cases agree now; remove them from corpus/DISAGREEMENTS.md: {stale:?}"
    );
}
