//! Renderings of a `check` report: for a terminal (compiler-style, with
//! the proposed schema's source lines), for a pull-request comment
//! (markdown) and for tools (JSON).

use std::fmt::Write as _;
use std::path::Path;

use crate::check::{CheckReport, CheckedChange, locate};
use crate::diff::Criticality;

/// How every `schema-check` command prints (`--format`): for a terminal,
/// for a pull-request comment, or for tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

fn label(criticality: Criticality) -> &'static str {
    match criticality {
        Criticality::Breaking => "error",
        Criticality::Dangerous => "warning",
        Criticality::Safe => "note",
    }
}

fn impact(checked: &CheckedChange) -> Vec<String> {
    if checked.affected_operations.is_empty() {
        if checked.change.criticality == Criticality::Breaking {
            return vec!["no known operation uses this".to_owned()];
        }
        return Vec::new();
    }
    let verb = match checked.change.criticality {
        Criticality::Breaking => "breaks",
        Criticality::Dangerous => "affects",
        Criticality::Safe => "used by",
    };
    checked
        .affected_operations
        .iter()
        .map(|affected| {
            format!(
                "{verb} {} at {} ({})",
                affected.operation,
                affected.field_path,
                affected.file.display()
            )
        })
        .collect()
}

/// Compiler-style diagnostics pointing into the proposed schema.
pub fn human(report: &CheckReport, proposed_sdl: &str, proposed_path: &Path) -> String {
    let mut out = String::new();
    for diagnostic in &report.composition_errors {
        let _ = writeln!(out, "{diagnostic}\n");
    }
    let lines: Vec<&str> = proposed_sdl.lines().collect();
    for checked in &report.changes {
        let change = &checked.change;
        let _ = writeln!(
            out,
            "{}[{}] {}: {}",
            label(change.criticality),
            change.kind.as_str(),
            change.criticality.as_str(),
            change.message
        );
        if let Some((line, column)) = locate(proposed_sdl, proposed_path, &change.coordinate) {
            let gutter = line.to_string().len();
            let _ = writeln!(
                out,
                "{:gutter$}--> {}:{line}:{column}",
                "",
                proposed_path.display()
            );
            let _ = writeln!(out, "{:gutter$} |", "");
            let text = lines.get(line.saturating_sub(1)).copied().unwrap_or("");
            let _ = writeln!(out, "{line} | {text}");
            let _ = writeln!(
                out,
                "{:gutter$} | {}^",
                "",
                " ".repeat(column.saturating_sub(1))
            );
        }
        for line in impact(checked) {
            let _ = writeln!(out, "  = {line}");
        }
        out.push('\n');
    }
    for invalid in &report.invalid_operations {
        let _ = writeln!(
            out,
            "error[OPERATION_INVALID]: {} no longer validates against the new API schema:\n{}\n",
            invalid.file.display(),
            invalid.message
        );
    }
    let count = |criticality| {
        report
            .changes
            .iter()
            .filter(|checked| checked.change.criticality == criticality)
            .count()
    };
    let _ = writeln!(
        out,
        "{}: {} composition error(s), {} breaking, {} dangerous, {} safe change(s), {} invalid operation(s)",
        if report.passed() { "PASS" } else { "FAIL" },
        report.composition_errors.len(),
        count(Criticality::Breaking),
        count(Criticality::Dangerous),
        count(Criticality::Safe),
        report.invalid_operations.len()
    );
    out
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A pull-request comment.
pub fn markdown(report: &CheckReport) -> String {
    let mut out = format!(
        "### Schema check for `{}`: {}\n\n",
        report.subgraph,
        if report.passed() {
            "✅ passed"
        } else {
            "❌ failed"
        }
    );
    if !report.composition_errors.is_empty() {
        out.push_str("**Composition errors**\n\n");
        for diagnostic in &report.composition_errors {
            let _ = writeln!(
                out,
                "- `{}` {}",
                diagnostic.code,
                escape_cell(&diagnostic.message)
            );
        }
        out.push('\n');
    }
    if report.changes.is_empty() {
        out.push_str("No changes to the API schema.\n\n");
    } else {
        out.push_str("| | Change | Coordinate | Operations |\n|---|---|---|---|\n");
        for checked in &report.changes {
            let icon = match checked.change.criticality {
                Criticality::Breaking => "🔴 BREAKING",
                Criticality::Dangerous => "🟠 DANGEROUS",
                Criticality::Safe => "🟢 SAFE",
            };
            let _ = writeln!(
                out,
                "| {icon} | {} | `{}` | {} |",
                escape_cell(&checked.change.message),
                checked.change.coordinate,
                escape_cell(&impact(checked).join("; "))
            );
        }
        out.push('\n');
    }
    if !report.invalid_operations.is_empty() {
        out.push_str("**Operations that no longer validate**\n\n");
        for invalid in &report.invalid_operations {
            let _ = writeln!(
                out,
                "- `{}`: {}",
                invalid.file.display(),
                escape_cell(&invalid.message)
            );
        }
    }
    out
}

/// The report as JSON.
pub fn json(report: &CheckReport) -> String {
    let value = serde_json::json!({
        "subgraph": report.subgraph,
        "passed": report.passed(),
        "compositionErrors": report.composition_errors.iter().map(|diagnostic| serde_json::json!({
            "code": diagnostic.code,
            "message": diagnostic.message,
            "subgraph": diagnostic.subgraph,
            "locations": diagnostic.locations.iter().map(|location| serde_json::json!({
                "subgraph": location.subgraph,
                "line": location.line,
                "column": location.column,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "changes": report.changes,
        "invalidOperations": report.invalid_operations,
    });
    format!("{value:#}\n")
}

/// Reads back what [`json`] wrote, as the CLI does with a report the
/// registry sent, so it can render it for a terminal or a pull request.
pub fn from_json(value: &serde_json::Value) -> Result<CheckReport, String> {
    let list = |key: &str| value[key].as_array().cloned().unwrap_or_default();
    let composition_errors = list("compositionErrors")
        .iter()
        .map(|diagnostic| crate::CompositionDiagnostic {
            code: diagnostic["code"].as_str().unwrap_or_default().to_owned(),
            message: diagnostic["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            subgraph: diagnostic["subgraph"].as_str().map(str::to_owned),
            locations: diagnostic["locations"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|location| crate::compose::DiagnosticLocation {
                    subgraph: location["subgraph"].as_str().unwrap_or_default().to_owned(),
                    line: location["line"].as_u64().unwrap_or_default() as usize,
                    column: location["column"].as_u64().unwrap_or_default() as usize,
                })
                .collect(),
        })
        .collect();
    let changes = serde_json::from_value(serde_json::Value::Array(list("changes")))
        .map_err(|error| format!("the report's changes are unreadable: {error}"))?;
    let invalid_operations =
        serde_json::from_value(serde_json::Value::Array(list("invalidOperations")))
            .map_err(|error| format!("the report's invalid operations are unreadable: {error}"))?;
    Ok(CheckReport {
        subgraph: value["subgraph"].as_str().unwrap_or_default().to_owned(),
        composition_errors,
        changes,
        invalid_operations,
    })
}
