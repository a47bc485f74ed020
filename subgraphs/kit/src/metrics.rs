//! Prometheus metrics, served at `GET /metrics` by every subgraph.
//!
//! One registry per process: deployed, a process is one subgraph; in the
//! dev stack and the tests several subgraphs share a process, and the pool
//! gauges tell them apart by database name. Every label has a bounded set
//! of values: codes come from `ErrorCode`, entity names from the code, and
//! client-chosen operation names are admitted only while fewer than
//! [`MAX_OPERATION_NAMES`] distinct ones have been seen (then `other`).

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::database::Database;

/// Distinct operation names kept as label values before `other` is used.
pub const MAX_OPERATION_NAMES: usize = 200;

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    operations: IntCounterVec,
    operation_duration: HistogramVec,
    errors: IntCounterVec,
    batch_sizes: HistogramVec,
    pool_connections: IntGaugeVec,
    events_published: IntCounterVec,
    outbox_unpublished: IntGaugeVec,
    outbox_oldest_unpublished_seconds: prometheus::GaugeVec,
    events_consumed: IntCounterVec,
    consumer_pending: IntGaugeVec,
    rate_limit_decisions: IntCounterVec,
    rate_limit_shared_window_up: prometheus::IntGauge,
    entity_cache_reads: IntCounterVec,
    known_operation_names: Mutex<HashSet<String>>,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("talentgraph".to_owned()), None)?;
    let http_requests = IntCounterVec::new(
        Opts::new(
            "http_requests_total",
            "HTTP requests to /graphql by response status.",
        ),
        &["status"],
    )?;
    let operations = IntCounterVec::new(
        Opts::new("graphql_operations_total", "GraphQL operations executed."),
        &["operation_type", "operation"],
    )?;
    let operation_duration = HistogramVec::new(
        HistogramOpts::new(
            "graphql_operation_duration_seconds",
            "Time to execute a GraphQL operation, after parsing and checks.",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]),
        &["operation_type", "operation"],
    )?;
    let errors = IntCounterVec::new(
        Opts::new(
            "graphql_errors_total",
            "Errors returned to clients, by extensions.code.",
        ),
        &["code"],
    )?;
    let batch_sizes = HistogramVec::new(
        HistogramOpts::new(
            "dataloader_batch_size",
            "Keys per DataLoader batch (one SQL statement each).",
        )
        .buckets(vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]),
        &["entity"],
    )?;
    let pool_connections = IntGaugeVec::new(
        Opts::new(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use, max), read at scrape time.",
        ),
        &["database", "state"],
    )?;
    let events_published = IntCounterVec::new(
        Opts::new(
            "events_published_total",
            "Outbox events the relay published to JetStream, by producer.",
        ),
        &["producer"],
    )?;
    let outbox_unpublished = IntGaugeVec::new(
        Opts::new(
            "outbox_unpublished",
            "Outbox rows not yet published, as of the relay's last round.",
        ),
        &["producer"],
    )?;
    let outbox_oldest_unpublished_seconds = prometheus::GaugeVec::new(
        Opts::new(
            "outbox_oldest_unpublished_seconds",
            "Age of the oldest unpublished outbox row (0 when none), as of the relay's last round.",
        ),
        &["producer"],
    )?;
    let events_consumed = IntCounterVec::new(
        Opts::new(
            "events_consumed_total",
            "Events a consumer took off JetStream, by outcome (handled, duplicate, failed, dead_lettered).",
        ),
        &["consumer", "outcome"],
    )?;
    let consumer_pending = IntGaugeVec::new(
        Opts::new(
            "event_consumer_pending",
            "Messages waiting for a consumer (its lag), as JetStream reported with the last delivery.",
        ),
        &["consumer"],
    )?;
    let rate_limit_decisions = IntCounterVec::new(
        Opts::new(
            "rate_limit_decisions_total",
            "Rate-limit decisions by operation class, outcome (admitted, refused) and window (shared: Redis; shadow: this process's own, while Redis is away).",
        ),
        &["class", "outcome", "window"],
    )?;
    let rate_limit_shared_window_up = prometheus::IntGauge::new(
        "rate_limit_shared_window_up",
        "1 while the last rate-limit decision came from the shared window in Redis, 0 while the local shadow window decides.",
    )?;
    let entity_cache_reads = IntCounterVec::new(
        Opts::new(
            "entity_cache_reads_total",
            "Entities the cached loaders asked for, by entity and outcome (hit; miss: read from PostgreSQL; shared: a miss answered by another load's statement; unavailable: Redis failed or was late, read from PostgreSQL).",
        ),
        &["entity", "outcome"],
    )?;
    registry.register(Box::new(entity_cache_reads.clone()))?;
    registry.register(Box::new(rate_limit_decisions.clone()))?;
    registry.register(Box::new(rate_limit_shared_window_up.clone()))?;
    registry.register(Box::new(events_published.clone()))?;
    registry.register(Box::new(outbox_unpublished.clone()))?;
    registry.register(Box::new(outbox_oldest_unpublished_seconds.clone()))?;
    registry.register(Box::new(events_consumed.clone()))?;
    registry.register(Box::new(consumer_pending.clone()))?;
    registry.register(Box::new(http_requests.clone()))?;
    registry.register(Box::new(operations.clone()))?;
    registry.register(Box::new(operation_duration.clone()))?;
    registry.register(Box::new(errors.clone()))?;
    registry.register(Box::new(batch_sizes.clone()))?;
    registry.register(Box::new(pool_connections.clone()))?;
    Ok(Metrics {
        registry,
        http_requests,
        operations,
        operation_duration,
        errors,
        batch_sizes,
        pool_connections,
        events_published,
        outbox_unpublished,
        outbox_oldest_unpublished_seconds,
        events_consumed,
        consumer_pending,
        rate_limit_decisions,
        rate_limit_shared_window_up,
        entity_cache_reads,
        known_operation_names: Mutex::new(HashSet::new()),
    })
}

static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match build() {
    Ok(metrics) => Some(metrics),
    Err(error) => {
        tracing::error!(%error, "metrics are unavailable");
        None
    }
});

/// The process's metrics, unless they could not be set up (logged once).
pub fn metrics() -> Option<&'static Metrics> {
    METRICS.as_ref()
}

fn is_label_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

impl Metrics {
    /// The label for a client-chosen operation name.
    fn operation_label(&self, name: &str) -> String {
        if name.is_empty() {
            return "anonymous".to_owned();
        }
        if !is_label_safe(name) {
            return "other".to_owned();
        }
        let Ok(mut known) = self.known_operation_names.lock() else {
            return "other".to_owned();
        };
        if known.contains(name) || known.len() < MAX_OPERATION_NAMES {
            known.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    pub fn record_http_request(&self, status: u16) {
        self.http_requests
            .with_label_values(&[status.to_string().as_str()])
            .inc();
    }

    pub fn record_operation(&self, operation_type: &str, operation_name: &str, duration: Duration) {
        let operation = self.operation_label(operation_name);
        self.operations
            .with_label_values(&[operation_type, operation.as_str()])
            .inc();
        self.operation_duration
            .with_label_values(&[operation_type, operation.as_str()])
            .observe(duration.as_secs_f64());
    }

    pub fn record_error(&self, code: &str) {
        self.errors.with_label_values(&[code]).inc();
    }

    pub fn record_batch(&self, entity: &str, size: usize) {
        self.batch_sizes
            .with_label_values(&[entity])
            .observe(size as f64);
    }

    pub fn record_events_published(&self, producer: &str, count: u64) {
        self.events_published
            .with_label_values(&[producer])
            .inc_by(count);
    }

    pub fn record_outbox_backlog(&self, producer: &str, unpublished: i64, oldest_seconds: f64) {
        self.outbox_unpublished
            .with_label_values(&[producer])
            .set(unpublished);
        self.outbox_oldest_unpublished_seconds
            .with_label_values(&[producer])
            .set(oldest_seconds);
    }

    pub fn record_event_consumed(&self, consumer: &str, outcome: &str, pending: u64) {
        self.events_consumed
            .with_label_values(&[consumer, outcome])
            .inc();
        self.consumer_pending
            .with_label_values(&[consumer])
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    pub fn record_rate_limit_decision(&self, class: &str, admitted: bool, shared: bool) {
        let outcome = if admitted { "admitted" } else { "refused" };
        let window = if shared { "shared" } else { "shadow" };
        self.rate_limit_decisions
            .with_label_values(&[class, outcome, window])
            .inc();
        self.rate_limit_shared_window_up.set(i64::from(shared));
    }

    pub fn record_cache_reads(&self, entity: &str, outcome: &str, amount: u64) {
        self.entity_cache_reads
            .with_label_values(&[entity, outcome])
            .inc_by(amount);
    }

    /// The text exposition, with the pool gauges of `database` refreshed.
    pub fn render(&self, database: &Database) -> String {
        let pool = database.pool_status();
        for (state, value) in [
            ("idle", pool.idle),
            ("in_use", pool.size.saturating_sub(pool.idle)),
            ("max", pool.max),
        ] {
            self.pool_connections
                .with_label_values(&[pool.database.as_str(), state])
                .set(i64::from(value));
        }
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Records a DataLoader batch, when metrics are available.
pub fn observe_batch(entity: &str, size: usize) {
    if let Some(metrics) = metrics() {
        metrics.record_batch(entity, size);
    }
}

/// Records an error code sent to a client, when metrics are available.
pub fn observe_error(code: &str) {
    if let Some(metrics) = metrics() {
        metrics.record_error(code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client-chosen operation names cannot blow up label cardinality.
    #[test]
    fn operation_names_are_bounded() {
        let metrics = build().expect("metrics build");
        assert_eq!(metrics.operation_label(""), "anonymous");
        assert_eq!(metrics.operation_label("Drop Table"), "other");
        assert_eq!(metrics.operation_label("JobSearchPage"), "JobSearchPage");
        for index in 0..MAX_OPERATION_NAMES {
            metrics.operation_label(&format!("Name{index}"));
        }
        assert_eq!(metrics.operation_label("OneTooMany"), "other");
        assert_eq!(metrics.operation_label("JobSearchPage"), "JobSearchPage");
    }
}
