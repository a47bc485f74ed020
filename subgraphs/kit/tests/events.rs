//! The event machinery against a real NATS JetStream server and a real
//! PostgreSQL: the outbox relay, consumers with their inbox, dead letters,
//! and the faults each hop must survive. Counts are asserted; waits poll
//! with a deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use talentgraph_kit::Database;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::broker::stream_name;
use talentgraph_kit::events::{
    Broker, ConsumerSettings, Envelope, Event, EventConsumer, EventHandler, HandlerError,
    OutboxRelay, RelaySettings, StopSignal, record_event,
};
use talentgraph_kit::testing::{NatsServer, fresh_event_database};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct NoteWritten {
    note: i64,
}

impl Event for NoteWritten {
    const PRODUCER: &'static str = "testproducer";
    const TYPE: &'static str = "note.written";
    const VERSION: u32 = 1;
}

/// Counts each note once in `effects`; refuses notes while `broken` is set.
struct CountNotes {
    broken: Arc<AtomicBool>,
}

impl EventHandler for CountNotes {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            if self.broken.load(Ordering::SeqCst) {
                return Err(HandlerError::Rejected("the handler is broken".to_owned()));
            }
            let note: NoteWritten = envelope
                .decode()
                .map_err(|error| HandlerError::Rejected(error.to_string()))?;
            transaction
                .execute(sqlx::query("INSERT INTO effects (note) VALUES ($1)").bind(note.note))
                .await?;
            Ok(())
        })
    }
}

async fn database() -> Database {
    fresh_event_database(
        "CREATE TABLE effects (id bigserial PRIMARY KEY, note bigint NOT NULL)",
        8,
    )
    .await
}

async fn write_notes(database: &Database, notes: std::ops::Range<i64>) {
    for note in notes {
        let mut transaction = database.begin().await.expect("begins");
        record_event(&mut transaction, &NoteWritten { note })
            .await
            .expect("records");
        transaction.commit().await.expect("commits");
    }
}

async fn count(database: &Database, sql: &'static str) -> i64 {
    database
        .fetch_scalar(sqlx::query_scalar(sql))
        .await
        .expect("counts")
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fast_relay() -> RelaySettings {
    RelaySettings {
        poll_interval: Duration::from_millis(200),
        first_backoff: Duration::from_millis(50),
        longest_backoff: Duration::from_millis(500),
        ..RelaySettings::default()
    }
}

fn consumer_settings() -> ConsumerSettings {
    ConsumerSettings {
        max_deliveries: 3,
        ack_wait: Duration::from_secs(2),
        first_retry_delay: Duration::from_millis(50),
        ..ConsumerSettings::new("test-notes", "testproducer", vec![NoteWritten::subject()])
    }
}

/// Runs the test producer's relay until `stop` fires or its sender drops.
fn spawn_relay(database: &Database, broker: &Broker, stop: &StopSignal) {
    tokio::spawn(
        OutboxRelay::new(database, broker.clone(), "testproducer", fast_relay())
            .run(stop.clone().stopped()),
    );
}

/// Runs the note-counting consumer until `stop` fires or its sender drops.
fn spawn_counting_consumer(
    database: &Database,
    broker: &Broker,
    broken: Arc<AtomicBool>,
    stop: &StopSignal,
) {
    tokio::spawn(
        EventConsumer::new(
            database,
            broker.clone(),
            consumer_settings(),
            CountNotes { broken },
        )
        .run(stop.clone().stopped()),
    );
}

async fn stream_messages(broker: &Broker) -> u64 {
    let mut stream = broker
        .jetstream()
        .get_stream(stream_name("testproducer"))
        .await
        .expect("the stream");
    stream.info().await.expect("stream info").state.messages
}

/// Events recorded in committed transactions are published and applied
/// exactly once; one rolled back is never published.
#[tokio::test(flavor = "multi_thread")]
async fn committed_events_are_applied_once_and_rolled_back_ones_never() {
    let nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    let (stop, signal) = StopSignal::new();
    spawn_relay(&database, &broker, &signal);
    spawn_counting_consumer(
        &database,
        &broker,
        Arc::new(AtomicBool::new(false)),
        &signal,
    );

    write_notes(&database, 0..50).await;
    let mut transaction = database.begin().await.expect("begins");
    record_event(&mut transaction, &NoteWritten { note: 999 })
        .await
        .expect("records");
    drop(transaction);

    wait_until("50 effects", async || {
        count(&database, "SELECT count(*) FROM effects").await == 50
    })
    .await;
    assert_eq!(
        count(&database, "SELECT count(DISTINCT note) FROM effects").await,
        50
    );
    assert_eq!(
        count(&database, "SELECT count(*) FROM effects WHERE note = 999").await,
        0
    );
    assert_eq!(
        count(
            &database,
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(stream_messages(&broker).await, 50);
    let _ = stop.send(true);
}

/// The relay's `LISTEN` holds its connection for as long as the relay runs.
/// It has one of its own: taken from the serving pool, it left a pool of
/// one with none, so every statement, the relay's own reads of the outbox
/// included, waited out the acquire timeout and failed.
#[tokio::test(flavor = "multi_thread")]
async fn the_relays_listener_leaves_the_serving_pool_whole() {
    let nats = NatsServer::start();
    let database = fresh_event_database(
        "CREATE TABLE effects (id bigserial PRIMARY KEY, note bigint NOT NULL)",
        1,
    )
    .await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    let (stop, signal) = StopSignal::new();
    spawn_relay(&database, &broker, &signal);
    wait_until("the relay listens for outbox notifications", async || {
        count(
            &database,
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await
            == 1
    })
    .await;
    // Each note is a transaction of its own on the pool's one connection,
    // and the relay reads and marks them through that connection too.
    for note in 0..10 {
        write_notes(&database, note..note + 1).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait_until("10 events on the stream", async || {
        stream_messages(&broker).await == 10
    })
    .await;
    assert_eq!(
        count(
            &database,
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        .await,
        0
    );
    let _ = stop.send(true);
}

/// The broker is stopped while events are recorded: every producing
/// transaction still commits, nothing is lost, and the relay catches up
/// when the broker is back.
#[tokio::test(flavor = "multi_thread")]
async fn a_broker_outage_loses_nothing() {
    let mut nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    broker
        .ensure_producer_stream("testproducer")
        .await
        .expect("the stream");
    let (_stop, signal) = StopSignal::new();
    spawn_relay(&database, &broker, &signal);
    write_notes(&database, 0..10).await;
    wait_until("the first 10 published", async || {
        stream_messages(&broker).await == 10
    })
    .await;

    nats.stop();
    write_notes(&database, 10..40).await;
    assert_eq!(
        count(&database, "SELECT count(*) FROM outbox").await,
        40,
        "every transaction committed"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        count(
            &database,
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        .await
            > 0
    );

    nats.resume();
    wait_until("the relay caught up", async || {
        count(
            &database,
            "SELECT count(*) FROM outbox WHERE published_at IS NULL",
        )
        .await
            == 0
    })
    .await;
    assert_eq!(stream_messages(&broker).await, 40, "each event stored once");
}

/// Two relays on one database publish every event exactly once: rows one
/// holds are skipped by the other.
#[tokio::test(flavor = "multi_thread")]
async fn two_relays_publish_each_event_once() {
    let nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    broker
        .ensure_producer_stream("testproducer")
        .await
        .expect("the stream");
    write_notes(&database, 0..300).await;
    let settings = RelaySettings {
        batch_size: 7,
        ..fast_relay()
    };
    let first = OutboxRelay::new(&database, broker.clone(), "testproducer", settings);
    let second = OutboxRelay::new(&database, broker.clone(), "testproducer", settings);
    let drain = |relay: OutboxRelay| async move {
        let mut published = 0;
        loop {
            let count = relay.publish_pending().await.expect("a round");
            if count == 0 {
                return published;
            }
            published += count;
        }
    };
    let (by_first, by_second) = tokio::join!(drain(first), drain(second));
    assert_eq!(by_first + by_second, 300, "{by_first} + {by_second}");
    assert!(by_first > 0 && by_second > 0, "both relays took part");
    assert_eq!(stream_messages(&broker).await, 300);
}

/// The same event published twice is applied once: JetStream drops a
/// re-publish with the same message id, and when a copy does get through
/// (another id), the consumer's inbox skips it.
#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_event_has_one_effect() {
    let nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    broker
        .ensure_producer_stream("testproducer")
        .await
        .expect("the stream");
    write_notes(&database, 0..1).await;
    let relay = OutboxRelay::new(&database, broker.clone(), "testproducer", fast_relay());
    assert_eq!(relay.publish_pending().await.expect("publishes"), 1);
    // A relay that crashed after publishing, before marking: the row is
    // unpublished again and goes out again with the same id.
    database
        .execute(sqlx::query("UPDATE outbox SET published_at = NULL"))
        .await
        .expect("resets");
    assert_eq!(relay.publish_pending().await.expect("publishes again"), 1);
    assert_eq!(
        stream_messages(&broker).await,
        1,
        "JetStream dropped the duplicate"
    );
    // A copy with another message id reaches the stream; the inbox stops it.
    let envelope: serde_json::Value = database
        .fetch_scalar(sqlx::query_scalar("SELECT envelope FROM outbox"))
        .await
        .expect("the envelope");
    broker
        .jetstream()
        .send_publish(
            NoteWritten::subject(),
            async_nats::jetstream::context::Publish::build()
                .payload(serde_json::to_vec(&envelope).expect("JSON").into())
                .message_id("another-id"),
        )
        .await
        .expect("publishes")
        .await
        .expect("stored");
    assert_eq!(stream_messages(&broker).await, 2);
    let (_stop, signal) = StopSignal::new();
    spawn_counting_consumer(
        &database,
        &broker,
        Arc::new(AtomicBool::new(false)),
        &signal,
    );
    wait_until("both copies delivered", async || {
        count(&database, "SELECT count(*) FROM inbox").await == 1
            && count(&database, "SELECT count(*) FROM effects").await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(&database, "SELECT count(*) FROM effects").await, 1);
}

/// A consumer that committed but died before acknowledging: the message
/// is redelivered after the acknowledgement deadline and the inbox makes
/// the redelivery a no-op.
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_commit_and_ack_has_one_effect() {
    use futures::StreamExt;
    let nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    broker
        .ensure_producer_stream("testproducer")
        .await
        .expect("the stream");
    write_notes(&database, 0..1).await;
    OutboxRelay::new(&database, broker.clone(), "testproducer", fast_relay())
        .publish_pending()
        .await
        .expect("publishes");
    let settings = ConsumerSettings {
        ack_wait: Duration::from_secs(1),
        ..consumer_settings()
    };
    let consumer = EventConsumer::new(
        &database,
        broker.clone(),
        settings.clone(),
        CountNotes {
            broken: Arc::new(AtomicBool::new(false)),
        },
    );
    // Take the message with the durable consumer, apply it, and "crash":
    // no acknowledgement.
    let stream = broker
        .jetstream()
        .get_stream(stream_name("testproducer"))
        .await
        .expect("the stream");
    let durable = stream
        .get_or_create_consumer(
            settings.name,
            async_nats::jetstream::consumer::pull::Config {
                durable_name: Some(settings.name.to_owned()),
                filter_subjects: settings.subjects.clone(),
                ack_wait: settings.ack_wait,
                ..Default::default()
            },
        )
        .await
        .expect("the durable consumer");
    let mut messages = durable.messages().await.expect("messages");
    let message = messages
        .next()
        .await
        .expect("a message")
        .expect("delivered");
    let envelope = Envelope::from_bytes(&message.payload).expect("an envelope");
    assert!(
        consumer.apply(&envelope).await.expect("applies"),
        "first time"
    );
    drop(messages);
    assert_eq!(count(&database, "SELECT count(*) FROM effects").await, 1);

    let (_stop, signal) = StopSignal::new();
    tokio::spawn(consumer.run(signal.stopped()));
    // The redelivery comes after ack_wait, is recognised by the inbox and
    // acknowledged: nothing is left pending for the durable consumer.
    let mut durable = durable;
    wait_until("the redelivery acknowledged", async || {
        let info = durable.info().await.expect("consumer info");
        info.num_ack_pending == 0 && info.num_pending == 0 && info.ack_floor.stream_sequence >= 1
    })
    .await;
    assert_eq!(
        count(&database, "SELECT count(*) FROM effects").await,
        1,
        "one effect"
    );
    assert_eq!(count(&database, "SELECT count(*) FROM inbox").await, 1);
}

/// A message that keeps failing goes to the dead letters after the
/// configured deliveries, with its error; after the fix, a replay applies
/// it once.
#[tokio::test(flavor = "multi_thread")]
async fn a_poison_message_is_dead_lettered_and_replayed_after_the_fix() {
    let nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    let broken = Arc::new(AtomicBool::new(true));
    let (_stop, signal) = StopSignal::new();
    spawn_relay(&database, &broker, &signal);
    spawn_counting_consumer(&database, &broker, broken.clone(), &signal);
    write_notes(&database, 7..8).await;
    wait_until("one dead letter", async || {
        broker
            .dead_letters()
            .await
            .map(|letters| letters.len())
            .unwrap_or(0)
            == 1
    })
    .await;
    let letters = broker.dead_letters().await.expect("the dead letters");
    assert_eq!(letters[0].consumer, "test-notes");
    assert_eq!(letters[0].original_subject, NoteWritten::subject());
    assert!(
        letters[0].error.contains("the handler is broken"),
        "{}",
        letters[0].error
    );
    assert_eq!(count(&database, "SELECT count(*) FROM effects").await, 0);

    broken.store(false, Ordering::SeqCst);
    broker
        .replay_dead_letter(letters[0].sequence)
        .await
        .expect("replays");
    wait_until("the replayed event applied", async || {
        count(&database, "SELECT count(*) FROM effects").await == 1
    })
    .await;
    assert!(
        broker
            .dead_letters()
            .await
            .expect("the dead letters")
            .is_empty()
    );
}

/// Published outbox rows and old inbox rows are pruned; unpublished rows
/// and recent inbox rows stay.
#[tokio::test(flavor = "multi_thread")]
async fn old_outbox_and_inbox_rows_are_pruned() {
    let nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "events-test")
        .await
        .expect("connects");
    broker
        .ensure_producer_stream("testproducer")
        .await
        .expect("the stream");
    write_notes(&database, 0..3).await;
    let relay = OutboxRelay::new(&database, broker.clone(), "testproducer", fast_relay());
    assert_eq!(relay.publish_pending().await.expect("publishes"), 3);
    write_notes(&database, 3..4).await;
    database
        .execute(sqlx::query("UPDATE outbox SET published_at = now() - interval '2 days' WHERE published_at IS NOT NULL"))
        .await
        .expect("ages the published rows");
    assert_eq!(
        relay
            .prune_published(Duration::from_secs(24 * 3600))
            .await
            .expect("prunes"),
        3
    );
    assert_eq!(
        count(&database, "SELECT count(*) FROM outbox").await,
        1,
        "the unpublished row stays"
    );

    let consumer = EventConsumer::new(
        &database,
        broker.clone(),
        consumer_settings(),
        CountNotes {
            broken: Arc::new(AtomicBool::new(false)),
        },
    );
    database
        .execute(sqlx::query(
            "INSERT INTO inbox (consumer, event_id, processed_at) VALUES \
             ('test-notes', gen_random_uuid(), now() - interval '30 days'), \
             ('test-notes', gen_random_uuid(), now()), \
             ('another-consumer', gen_random_uuid(), now() - interval '30 days')",
        ))
        .await
        .expect("inbox rows");
    assert_eq!(
        consumer
            .prune_inbox(Duration::from_secs(14 * 24 * 3600))
            .await
            .expect("prunes"),
        1
    );
    assert_eq!(
        count(&database, "SELECT count(*) FROM inbox").await,
        2,
        "recent and other consumers' rows stay"
    );
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct NoteErased {
    note: i64,
}

impl Event for NoteErased {
    const PRODUCER: &'static str = "testproducer";
    const TYPE: &'static str = "note.erased";
    const VERSION: u32 = 1;
}

/// A consumer sees only its subjects, even from a server that cannot
/// filter a stream by several subjects (NATS 2.9 ignores the list): the
/// producer's other events are acknowledged untouched, never handled and
/// never dead-lettered.
#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_takes_only_its_subjects() {
    let nats = NatsServer::start();
    let database = database().await;
    let broker = Broker::connect(&nats.url(), "test")
        .await
        .expect("connects");
    let (_stop_sender, stop) = StopSignal::new();
    spawn_relay(&database, &broker, &stop);
    for note in 0..5 {
        let mut transaction = database.begin().await.expect("begins");
        record_event(&mut transaction, &NoteWritten { note })
            .await
            .expect("records");
        record_event(&mut transaction, &NoteErased { note })
            .await
            .expect("records");
        transaction.commit().await.expect("commits");
    }
    // Two consumers: one subject (filtered by the server) and two subjects
    // of which only one is a note (filtered here when the server cannot).
    spawn_counting_consumer(&database, &broker, Arc::new(AtomicBool::new(false)), &stop);
    tokio::spawn(
        EventConsumer::new(
            &database,
            broker.clone(),
            ConsumerSettings {
                max_deliveries: 3,
                first_retry_delay: Duration::from_millis(50),
                ..ConsumerSettings::new(
                    "test-notes-and-other",
                    "testproducer",
                    vec![
                        NoteWritten::subject(),
                        "talentgraph.testproducer.other.v1".to_owned(),
                    ],
                )
            },
            CountNotes {
                broken: Arc::new(AtomicBool::new(false)),
            },
        )
        .run(stop.clone().stopped()),
    );
    wait_until("both consumers applied the five notes", async || {
        count(&database, "SELECT count(*) FROM effects").await == 10
    })
    .await;
    // Long enough for a wrongly delivered erasure to fail its three
    // deliveries (50, 100 ms) and be dead-lettered.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(count(&database, "SELECT count(*) FROM effects").await, 10);
    assert_eq!(
        broker.dead_letters().await.expect("dead letters").len(),
        0,
        "no other event reached a handler"
    );
}
