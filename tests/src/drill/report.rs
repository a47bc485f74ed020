//! What each operation did to the load: requests and failures by kind in
//! the windows before, during and after it, the error window, and the
//! latency percentiles; rendered as the drill's markdown table.

use std::collections::BTreeMap;
use std::time::Duration;

use super::load::{Attempt, Outcome};

/// One operation's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OperationReport {
    pub operation: String,
    /// How long the operation itself took.
    pub seconds: f64,
    pub requests_before: usize,
    pub requests_during: usize,
    pub requests_after: usize,
    /// Failed attempts in the operation's window (during and after).
    pub failures: usize,
    /// Requests whose connection closed before any answer and which the
    /// client sent again (queries as the web client does, writes with
    /// their idempotency), in the same window.
    pub retried_by_the_client: usize,
    /// Failed attempts by kind: `transport: …`, `HTTP 503`, a code.
    pub failures_by_kind: BTreeMap<String, usize>,
    /// From the first failure to the last, in seconds; zero without any.
    pub error_window_seconds: f64,
    pub p50_before_ms: f64,
    pub p99_before_ms: f64,
    pub p50_during_ms: f64,
    pub p99_during_ms: f64,
    pub p50_after_ms: f64,
    pub p99_after_ms: f64,
    /// Whether it met its criterion.
    pub passed: bool,
    /// The criterion, in words.
    pub criterion: String,
}

/// The attempts that ended in `[from, to)`: an attempt belongs to the
/// window in which its answer came, so a request sent just before an
/// operation and failed by it counts for that operation.
fn within(attempts: &[Attempt], from: Duration, to: Duration) -> Vec<&Attempt> {
    attempts
        .iter()
        .filter(|attempt| {
            let ended = attempt.at + attempt.latency;
            ended >= from && ended < to
        })
        .collect()
}

fn percentile(attempts: &[&Attempt], fraction: f64) -> f64 {
    let mut latencies: Vec<Duration> = attempts.iter().map(|attempt| attempt.latency).collect();
    if latencies.is_empty() {
        return 0.0;
    }
    latencies.sort_unstable();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((latencies.len() as f64 * fraction).ceil() as usize).clamp(1, latencies.len()) - 1;
    latencies[index].as_secs_f64() * 1000.0
}

fn failure_kind(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Ok => None,
        Outcome::Transport(kind) => Some(format!("transport ({kind})")),
        Outcome::Status(status) => Some(format!("HTTP {status}")),
        Outcome::Code(code) => Some(code.clone()),
        Outcome::RetriedByTheClient(_) => None,
    }
}

/// The windows around an operation that ran from `start` to `end`: the
/// same length before as `window`, the operation itself, and `window`
/// after it.
pub struct Windows {
    pub before: (Duration, Duration),
    pub during: (Duration, Duration),
    pub after: (Duration, Duration),
}

/// Figures for one operation.
pub fn report(
    operation: &str,
    attempts: &[Attempt],
    windows: &Windows,
    allowed: impl Fn(&str) -> bool,
    criterion: &str,
) -> OperationReport {
    let before = within(attempts, windows.before.0, windows.before.1);
    let during = within(attempts, windows.during.0, windows.during.1);
    let after = within(attempts, windows.after.0, windows.after.1);
    let mut failures_by_kind = BTreeMap::new();
    let mut failure_times = Vec::new();
    let mut failures_not_allowed = 0;
    for attempt in during.iter().chain(after.iter()) {
        if let Some(kind) = failure_kind(&attempt.outcome) {
            if !allowed(&kind) {
                failures_not_allowed += 1;
            }
            *failures_by_kind.entry(kind).or_insert(0) += 1;
            failure_times.push(attempt.at);
        }
    }
    let retried_by_the_client = during
        .iter()
        .chain(after.iter())
        .filter(|attempt| matches!(attempt.outcome, Outcome::RetriedByTheClient(_)))
        .count();
    let error_window_seconds = match (failure_times.iter().min(), failure_times.iter().max()) {
        (Some(first), Some(last)) => (*last - *first).as_secs_f64(),
        _ => 0.0,
    };
    OperationReport {
        operation: operation.to_owned(),
        seconds: (windows.during.1 - windows.during.0).as_secs_f64(),
        requests_before: before.len(),
        requests_during: during.len(),
        requests_after: after.len(),
        failures: failure_times.len(),
        retried_by_the_client,
        failures_by_kind,
        error_window_seconds,
        p50_before_ms: percentile(&before, 0.5),
        p99_before_ms: percentile(&before, 0.99),
        p50_during_ms: percentile(&during, 0.5),
        p99_during_ms: percentile(&during, 0.99),
        p50_after_ms: percentile(&after, 0.5),
        p99_after_ms: percentile(&after, 0.99),
        passed: failures_not_allowed == 0,
        criterion: criterion.to_owned(),
    }
}

/// The drill's table.
pub fn markdown(
    reports: &[OperationReport],
    checks: &[(String, bool)],
    measurements: &[(String, bool)],
) -> String {
    let mut table = String::from(
        "| operation | took s | requests before / during / after | failures | by kind | requests sent again after a closed connection | error window s | p50 ms before / during / after | p99 ms before / during / after | criterion | passed |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for report in reports {
        let kinds = if report.failures_by_kind.is_empty() {
            "—".to_owned()
        } else {
            report
                .failures_by_kind
                .iter()
                .map(|(kind, count)| format!("{kind} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        table.push_str(&format!(
            "| {} | {:.1} | {} / {} / {} | {} | {} | {} | {:.2} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} | {} | {} |\n",
            report.operation,
            report.seconds,
            report.requests_before,
            report.requests_during,
            report.requests_after,
            report.failures,
            kinds,
            report.retried_by_the_client,
            report.error_window_seconds,
            report.p50_before_ms,
            report.p50_during_ms,
            report.p50_after_ms,
            report.p99_before_ms,
            report.p99_during_ms,
            report.p99_after_ms,
            report.criterion,
            if report.passed { "yes" } else { "**no**" },
        ));
    }
    table.push_str("\n| data check | passed |\n|---|---|\n");
    for (check, passed) in checks {
        table.push_str(&format!(
            "| {check} | {} |\n",
            if *passed { "yes" } else { "**no**" }
        ));
    }
    if !measurements.is_empty() {
        table.push_str("\n| recovery | within the goal |\n|---|---|\n");
        for (measurement, within) in measurements {
            table.push_str(&format!(
                "| {measurement} | {} |\n",
                if *within { "yes" } else { "**no**" }
            ));
        }
    }
    table
}
