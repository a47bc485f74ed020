//! Query plans for client operations, and budgets on them.
//!
//! A page's cost at the router is its query plan: how many subgraph
//! fetches it makes, which subgraphs it touches and how many fetches must
//! wait for one another (the longest chain, which bounds its latency). The
//! plans come from `apollo-federation`'s query planner — the one the
//! pinned router runs — so what is measured here is what production does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apollo_compiler::{ExecutableDocument, Name};
use apollo_federation::Supergraph;
use apollo_federation::query_plan::query_planner::{
    QueryPlanOptions, QueryPlanner, QueryPlannerConfig,
};
use apollo_federation::query_plan::{PlanNode, QueryPlan, TopLevelPlanNode};

use crate::RegistryError;
use crate::operations::OperationDocument;

/// What one operation costs at the router.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlanSummary {
    pub operation: String,
    pub path: PathBuf,
    /// Subgraphs fetched from, sorted.
    pub subgraphs: Vec<String>,
    pub fetches: usize,
    /// The most fetches that run one after another.
    pub longest_chain: usize,
    /// The plan in the router's own notation.
    pub plan: String,
}

/// A page's committed budget. Other fields in the file (such as the
/// end-to-end tests' SQL budget) are ignored here.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PlanBudget {
    /// Subgraph fetches the plan may make.
    pub fetches: usize,
    /// Dependent fetches in a row the plan may need; unchecked when absent.
    #[serde(default)]
    pub max_fetch_chain: Option<usize>,
}

/// A plan over its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetViolation {
    pub operation: String,
    pub message: String,
}

#[derive(Default)]
struct Tally {
    fetches: usize,
    subgraphs: Vec<String>,
    /// For each fetch with an id (the ones a deferred block can wait for),
    /// how many fetches in a row have completed when it completes.
    depth_of_fetch: std::collections::HashMap<u64, usize>,
}

/// Counts the fetches below `node`, which starts after `start` dependent
/// fetches, and returns how many dependent fetches in a row have completed
/// when it completes.
fn walk(node: &PlanNode, start: usize, tally: &mut Tally) -> usize {
    match node {
        PlanNode::Fetch(fetch) => {
            tally.fetches += 1;
            tally.subgraphs.push(fetch.subgraph_name.to_string());
            if let Some(id) = fetch.id {
                tally.depth_of_fetch.insert(id, start + 1);
            }
            start + 1
        }
        PlanNode::Sequence(sequence) => sequence
            .nodes
            .iter()
            .fold(start, |reached, node| walk(node, reached, tally)),
        PlanNode::Parallel(parallel) => parallel
            .nodes
            .iter()
            .map(|node| walk(node, start, tally))
            .max()
            .unwrap_or(start),
        PlanNode::Flatten(flatten) => walk(&flatten.node, start, tally),
        PlanNode::Condition(condition) => {
            let if_branch = condition
                .if_clause
                .as_ref()
                .map_or(start, |node| walk(node, start, tally));
            let else_branch = condition
                .else_clause
                .as_ref()
                .map_or(start, |node| walk(node, start, tally));
            if_branch.max(else_branch)
        }
        // A deferred block starts when the primary fetches it depends on
        // have returned, not after the whole primary part: the router runs
        // it alongside the rest of the primary.
        PlanNode::Defer(defer) => {
            let primary = defer
                .primary
                .node
                .as_ref()
                .map_or(start, |node| walk(node, start, tally));
            let deferred = defer
                .deferred
                .iter()
                .filter_map(|block| {
                    let node = block.node.as_ref()?;
                    let ready = block
                        .depends
                        .iter()
                        .filter_map(|dependency| dependency.id.parse::<u64>().ok())
                        .filter_map(|id| tally.depth_of_fetch.get(&id).copied())
                        .max()
                        .unwrap_or(start);
                    Some(walk(node, ready, tally))
                })
                .max()
                .unwrap_or(start);
            primary.max(deferred)
        }
    }
}

fn summarize(plan: &QueryPlan) -> (Tally, usize) {
    let mut tally = Tally::default();
    let chain = match &plan.node {
        None => 0,
        Some(TopLevelPlanNode::Fetch(fetch)) => {
            walk(&PlanNode::Fetch(fetch.clone()), 0, &mut tally)
        }
        Some(TopLevelPlanNode::Sequence(node)) => {
            walk(&PlanNode::Sequence(node.clone()), 0, &mut tally)
        }
        Some(TopLevelPlanNode::Parallel(node)) => {
            walk(&PlanNode::Parallel(node.clone()), 0, &mut tally)
        }
        Some(TopLevelPlanNode::Flatten(node)) => {
            walk(&PlanNode::Flatten(node.clone()), 0, &mut tally)
        }
        Some(TopLevelPlanNode::Defer(node)) => walk(&PlanNode::Defer(node.clone()), 0, &mut tally),
        Some(TopLevelPlanNode::Condition(node)) => {
            walk(&PlanNode::Condition(node.clone()), 0, &mut tally)
        }
        Some(TopLevelPlanNode::Subscription(subscription)) => {
            let primary = walk(
                &PlanNode::Fetch(subscription.primary.clone()),
                0,
                &mut tally,
            );
            subscription
                .rest
                .as_ref()
                .map_or(primary, |rest| walk(rest, primary, &mut tally))
        }
    };
    tally.subgraphs.sort();
    tally.subgraphs.dedup();
    (tally, chain)
}

fn planning_error(path: &Path, message: impl std::fmt::Display) -> RegistryError {
    RegistryError::Plan {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Plans every named operation of every document against `supergraph_sdl`.
pub fn plan_operations(
    supergraph_sdl: &str,
    operations: &[OperationDocument],
) -> Result<Vec<PlanSummary>, RegistryError> {
    let supergraph_path = Path::new("supergraph.graphql");
    let supergraph = Supergraph::new_with_router_specs(supergraph_sdl)
        .map_err(|error| planning_error(supergraph_path, error))?;
    // Planned as the router plans: `@defer` splits a plan into a primary
    // part and deferred parts (the router's defer support is on by default).
    let mut config = QueryPlannerConfig::default();
    config.incremental_delivery.enable_defer = true;
    let planner = QueryPlanner::new(&supergraph, config)
        .map_err(|error| planning_error(supergraph_path, error))?;
    let api_schema = planner.api_schema().schema();
    let mut summaries = Vec::new();
    for document in operations {
        let parsed =
            ExecutableDocument::parse_and_validate(api_schema, &document.source, &document.path)
                .map_err(|errors| planning_error(&document.path, errors))?;
        let names: Vec<Name> = parsed.operations.named.keys().cloned().collect();
        if names.is_empty() {
            return Err(planning_error(
                &document.path,
                "every operation must be named, so its budget can refer to it",
            ));
        }
        for name in names {
            let plan = planner
                .build_query_plan(&parsed, Some(name.clone()), QueryPlanOptions::default())
                .map_err(|error| planning_error(&document.path, error))?;
            let (tally, longest_chain) = summarize(&plan);
            summaries.push(PlanSummary {
                operation: name.to_string(),
                path: document.path.clone(),
                subgraphs: tally.subgraphs,
                fetches: tally.fetches,
                longest_chain,
                plan: plan.to_string(),
            });
        }
    }
    Ok(summaries)
}

/// Reads a budget file: a JSON object from operation name to budget.
pub fn load_budgets(path: &Path) -> Result<BTreeMap<String, PlanBudget>, RegistryError> {
    let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|error| RegistryError::Config {
        path: path.to_path_buf(),
        message: error.to_string(),
    })
}

/// The plans over budget, and operations the budget file does not cover.
pub fn check_budgets(
    summaries: &[PlanSummary],
    budgets: &BTreeMap<String, PlanBudget>,
) -> Vec<BudgetViolation> {
    let mut violations = Vec::new();
    for summary in summaries {
        let Some(budget) = budgets.get(&summary.operation) else {
            violations.push(BudgetViolation {
                operation: summary.operation.clone(),
                message: "has no budget; add it to the budget file".to_owned(),
            });
            continue;
        };
        if summary.fetches > budget.fetches {
            violations.push(BudgetViolation {
                operation: summary.operation.clone(),
                message: format!(
                    "makes {} subgraph fetches; its budget is {}",
                    summary.fetches, budget.fetches
                ),
            });
        }
        if let Some(chain) = budget.max_fetch_chain
            && summary.longest_chain > chain
        {
            violations.push(BudgetViolation {
                operation: summary.operation.clone(),
                message: format!(
                    "needs {} dependent fetches in a row; its budget is {chain}",
                    summary.longest_chain
                ),
            });
        }
    }
    violations
}

/// Two texts in columns of `width` characters, for comparing plans.
pub fn side_by_side(
    left_title: &str,
    left: &str,
    right_title: &str,
    right: &str,
    width: usize,
) -> String {
    let clip = |line: &str| -> String {
        let mut clipped: String = line.chars().take(width).collect();
        if line.chars().count() > width {
            clipped.pop();
            clipped.push('…');
        }
        clipped
    };
    let left_lines: Vec<&str> = left.lines().collect();
    let right_lines: Vec<&str> = right.lines().collect();
    let rows = left_lines.len().max(right_lines.len());
    let mut out = format!(
        "{:<width$} │ {}\n{}─┼─{}\n",
        clip(left_title),
        clip(right_title),
        "─".repeat(width),
        "─".repeat(width)
    );
    for row in 0..rows {
        let left_line = clip(left_lines.get(row).copied().unwrap_or(""));
        let right_line = clip(right_lines.get(row).copied().unwrap_or(""));
        let marker = if left_lines.get(row) == right_lines.get(row) {
            '│'
        } else {
            '≠'
        };
        out.push_str(&format!("{left_line:<width$} {marker} {right_line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_marks_differing_rows() {
        let text = side_by_side("old", "a\nb", "new", "a\nc\nd", 5);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[2], "a     │ a");
        assert_eq!(rows[3], "b     ≠ c");
        assert_eq!(rows[4], "      ≠ d");
    }

    #[test]
    fn budgets_flag_more_fetches_longer_chains_and_missing_entries() {
        let summary = PlanSummary {
            operation: "Page".to_owned(),
            path: PathBuf::from("Page.graphql"),
            subgraphs: vec!["a".to_owned()],
            fetches: 3,
            longest_chain: 2,
            plan: String::new(),
        };
        let mut budgets = BTreeMap::new();
        budgets.insert(
            "Page".to_owned(),
            PlanBudget {
                fetches: 3,
                max_fetch_chain: Some(2),
            },
        );
        assert!(check_budgets(std::slice::from_ref(&summary), &budgets).is_empty());
        budgets.insert(
            "Page".to_owned(),
            PlanBudget {
                fetches: 2,
                max_fetch_chain: Some(1),
            },
        );
        assert_eq!(
            check_budgets(std::slice::from_ref(&summary), &budgets).len(),
            2
        );
        assert_eq!(check_budgets(&[summary], &BTreeMap::new()).len(), 1);
    }
}
