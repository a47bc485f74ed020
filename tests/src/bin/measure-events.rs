//! Measures the event bus on this machine and rewrites the table in
//! `docs/events.md`: how fast the outbox relay drains a backlog to NATS
//! JetStream, and the lag from a producer's commit to the consumer's commit
//! while events are written live. Reported, never asserted.
//!
//!   cargo run --release -p talentgraph-e2e --bin measure-events -- [N ...]
//!
//! Default N: 10,000 and 100,000. Each N runs on a fresh database and a
//! fresh broker (a throwaway `nats-server -js`).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use talentgraph_kit::Database;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::{
    BoxFuture, Broker, ConsumerSettings, Envelope, Event, EventHandler, HandlerError, OutboxRelay,
    RelaySettings, StopSignal, consumer_task, outbox_relay_task, record_event,
};
use talentgraph_kit::testing::{NatsServer, fresh_event_database};

const TABLE_START: &str = "<!-- measured-events:start -->";
const TABLE_END: &str = "<!-- measured-events:end -->";
const WRITERS: usize = 8;
/// The steady-rate run: this many events at this rate per second.
const PACED_EVENTS: u64 = 2_000;
const PACED_RATE: u64 = 200;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct Measured {
    sequence: u64,
}

impl Event for Measured {
    const PRODUCER: &'static str = "benchmark";
    const TYPE: &'static str = "measured";
    const VERSION: u32 = 1;
}

/// Records when each event was applied, next to when it occurred.
struct RecordLag;

impl EventHandler for RecordLag {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            transaction
                .execute(
                    sqlx::query("INSERT INTO applied (event_id, occurred_at) VALUES ($1, $2)")
                        .bind(envelope.id)
                        .bind(envelope.occurred_at),
                )
                .await?;
            Ok(())
        })
    }
}

async fn fresh_database() -> Database {
    fresh_event_database(
        "CREATE TABLE applied (event_id uuid PRIMARY KEY, occurred_at timestamptz NOT NULL, \
         applied_at timestamptz NOT NULL DEFAULT clock_timestamp())",
        16,
    )
    .await
}

/// The relay and the lag-recording consumer, running until the returned
/// sender is dropped or fired.
fn start_pipeline(database: &Database, broker: &Broker) -> tokio::sync::watch::Sender<bool> {
    let (stop, signal) = StopSignal::new();
    tokio::spawn(outbox_relay_task(
        database,
        broker,
        "benchmark",
        signal.clone(),
    ));
    tokio::spawn(consumer_task(
        database,
        broker,
        ConsumerSettings::new("benchmark-lag", "benchmark", vec![Measured::subject()]),
        RecordLag,
        signal,
    ));
    stop
}

/// Commits `count` events, one per transaction, from `WRITERS` writers.
async fn write_events(database: &Database, count: u64) -> Duration {
    let started = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..WRITERS as u64 {
        let database = database.clone();
        writers.push(tokio::spawn(async move {
            let mut sequence = writer;
            while sequence < count {
                let mut transaction = database.begin().await.expect("begins");
                record_event(&mut transaction, &Measured { sequence })
                    .await
                    .expect("records");
                transaction.commit().await.expect("commits");
                sequence += WRITERS as u64;
            }
        }));
    }
    for writer in writers {
        writer.await.expect("a writer");
    }
    started.elapsed()
}

async fn scalar(database: &Database, sql: &'static str) -> i64 {
    database
        .fetch_scalar(sqlx::query_scalar(sql))
        .await
        .expect("a count")
}

struct Row {
    events: u64,
    write_rate: f64,
    drain_rate: f64,
    lag: [f64; 3],
    live_write_rate: f64,
    consume_rate: f64,
}

const LAG_PERCENTILES: &str = "SELECT \
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), \
       percentile_cont(0.95) WITHIN GROUP (ORDER BY lag), \
       percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) \
     FROM (SELECT EXTRACT(EPOCH FROM applied_at - occurred_at) * 1000 AS lag FROM applied) AS lags";

/// Lag at a steady rate the pipeline keeps up with: `count` events, one
/// every `1/rate` seconds, from one writer.
async fn paced_lag(count: u64, rate: u64) -> [f64; 3] {
    let nats = NatsServer::start();
    let broker = Broker::connect(&nats.url(), "measure-events")
        .await
        .expect("connects");
    let database = fresh_database().await;
    let stop = start_pipeline(&database, &broker);
    // Let the consumer attach before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    for sequence in 0..count {
        ticker.tick().await;
        let mut transaction = database.begin().await.expect("begins");
        record_event(&mut transaction, &Measured { sequence })
            .await
            .expect("records");
        transaction.commit().await.expect("commits");
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while scalar(&database, "SELECT count(*) FROM applied").await < count as i64 {
        assert!(Instant::now() < deadline, "the consumer did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lags: (f64, f64, f64) = database
        .fetch_one(sqlx::query_as(LAG_PERCENTILES))
        .await
        .expect("percentiles");
    let _ = stop.send(true);
    drop(nats);
    [lags.0, lags.1, lags.2]
}

async fn measure(count: u64) -> Row {
    // Backlog: the relay starts after every event is committed.
    let nats = NatsServer::start();
    let broker = Broker::connect(&nats.url(), "measure-events")
        .await
        .expect("connects");
    let database = fresh_database().await;
    let write_time = write_events(&database, count).await;
    let relay = OutboxRelay::new(
        &database,
        broker.clone(),
        "benchmark",
        RelaySettings::default(),
    );
    broker
        .ensure_producer_stream("benchmark")
        .await
        .expect("the stream");
    let started = Instant::now();
    loop {
        if relay.publish_pending().await.expect("a round") == 0 {
            break;
        }
    }
    let drain_time = started.elapsed();
    drop(nats);

    // Live: relay and consumer run while the writers commit.
    let nats = NatsServer::start();
    let broker = Broker::connect(&nats.url(), "measure-events")
        .await
        .expect("connects");
    let database = fresh_database().await;
    let stop = start_pipeline(&database, &broker);
    let live_write_time = write_events(&database, count).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while scalar(&database, "SELECT count(*) FROM applied").await < count as i64 {
        assert!(Instant::now() < deadline, "the consumer did not catch up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lags: (f64, f64, f64) = database
        .fetch_one(sqlx::query_as(LAG_PERCENTILES))
        .await
        .expect("percentiles");
    let consuming_seconds: f64 = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT EXTRACT(EPOCH FROM max(applied_at) - min(applied_at))::float8 FROM applied",
        ))
        .await
        .expect("the consuming time");
    let _ = stop.send(true);
    Row {
        events: count,
        write_rate: count as f64 / write_time.as_secs_f64(),
        drain_rate: count as f64 / drain_time.as_secs_f64(),
        lag: [lags.0, lags.1, lags.2],
        live_write_rate: count as f64 / live_write_time.as_secs_f64(),
        consume_rate: count as f64 / consuming_seconds.max(0.001),
    }
}

#[allow(clippy::print_stdout)]
#[tokio::main]
async fn main() {
    let counts: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|argument| argument.parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![10_000, 100_000]
    } else {
        counts
    };
    let mut lines = Vec::new();
    for count in counts {
        let row = measure(count).await;
        let line = format!(
            "| {} | {:.0}/s | {:.0}/s | {:.0}/s | {:.0}/s | {:.0} ms | {:.0} ms | {:.0} ms |",
            row.events,
            row.write_rate,
            row.drain_rate,
            row.live_write_rate,
            row.consume_rate,
            row.lag[0],
            row.lag[1],
            row.lag[2]
        );
        println!("{line}");
        lines.push(line);
    }
    let paced = paced_lag(PACED_EVENTS, PACED_RATE).await;
    println!("paced: {paced:?}");
    let table = format!(
        "{TABLE_START}\n| events | commits (backlog phase) | relay drain | commits (live phase) | consumer (live phase) | lag p50 | lag p95 | lag p99 |\n|---|---|---|---|---|---|---|---|\n{}\n\n\
         At a steady {PACED_RATE} events/s ({PACED_EVENTS} events, one writer) the lag is p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms.\n\n\
         Measured with `cargo run --release -p talentgraph-e2e --bin measure-events` ({} logical CPUs, {WRITERS} writers committing one event per \
         transaction, default relay settings: batches of 200). Relay drain: publishing a committed backlog to JetStream and marking it. \
         Lag: from the event's creation just before its producer's commit to the consumer's insert inside its own transaction; in the table while the writers run flat out (so it grows with the backlog the one consumer works through), below at a rate it keeps up with.\n{TABLE_END}",
        lines.join("\n"),
        paced[0],
        paced[1],
        paced[2],
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1),
    );
    talentgraph_e2e::write_docs_section(
        "docs/events.md",
        TABLE_START,
        TABLE_END,
        &table,
        "## Measured events\n\n",
    );
}
