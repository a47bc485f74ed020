//! Events between subgraphs: an outbox written in the business transaction,
//! a relay that publishes it to NATS JetStream, and consumers that apply
//! each event once.
//!
//! ```text
//!  producer transaction            relay task                 consumer task
//!  ─────────────────────           ──────────                 ─────────────
//!  business rows                   claim unpublished rows     pull a message
//!  + outbox row ──commit──NOTIFY──▶ (FOR UPDATE SKIP LOCKED) ─▶ transaction:
//!                                  publish, Nats-Msg-Id=id      inbox row (event id)
//!                                  mark published               + the handler's writes
//!                                                             commit, then ack
//! ```
//!
//! Every hop is at-least-once and every receiver deduplicates: JetStream
//! drops a re-publish of the same message id within its duplicate window
//! (a relay that crashed between publishing and marking), and the inbox
//! turns a redelivery (a consumer that crashed between commit and ack) into
//! a no-op. A message that keeps failing goes to the dead-letter stream
//! with its error, from where it can be replayed once fixed.
//!
//! The event types themselves (payload structs with their subject) live in
//! the `talentgraph-events` crate, shared by producers and consumers.

pub mod broker;
pub mod consumer;
pub mod outbox;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use broker::{Broker, BrokerError, DeadLetter};
/// What an [`EventHandler`] returns.
pub use futures::future::BoxFuture;

/// The `outbox` and `inbox` tables, as every producing or consuming
/// subgraph's migration creates them.
pub const EVENT_TABLES_SQL: &str = include_str!("../../sql/event_tables.sql");
pub use consumer::{ConsumerSettings, EventConsumer, EventHandler, HandlerError};
pub use outbox::{OutboxRelay, RelaySettings, record_event};

/// Tells a subgraph's event tasks to stop: they finish when the sending
/// side says so or is dropped.
#[derive(Debug, Clone)]
pub struct StopSignal(tokio::sync::watch::Receiver<bool>);

impl StopSignal {
    /// A signal and the sender that fires it (by sending or being dropped).
    pub fn new() -> (tokio::sync::watch::Sender<bool>, Self) {
        let (sender, receiver) = tokio::sync::watch::channel(false);
        (sender, Self(receiver))
    }

    /// Completes when the stop is signalled.
    pub async fn stopped(mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

/// A subgraph's event work, to be spawned beside its HTTP server.
pub type EventTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;

/// Lists a subgraph's event tasks (its relay, its consumers) on the list
/// the kit hands it (bound to the database, the broker and the stop
/// signal), given the subgraph's configuration.
pub type EventTasks =
    for<'a> fn(EventTaskList<'a>, &crate::config::SubgraphConfig) -> Vec<EventTask>;

/// The outbox relay of a producing subgraph, with the default settings, as
/// an event task.
pub fn outbox_relay_task(
    database: &crate::Database,
    broker: &Broker,
    producer: &'static str,
    stop: StopSignal,
) -> EventTask {
    Box::pin(
        OutboxRelay::new(database, broker.clone(), producer, RelaySettings::default())
            .run(stop.stopped()),
    )
}

/// A consumer as an event task.
pub fn consumer_task<H: EventHandler>(
    database: &crate::Database,
    broker: &Broker,
    settings: ConsumerSettings,
    handler: H,
    stop: StopSignal,
) -> EventTask {
    Box::pin(EventConsumer::new(database, broker.clone(), settings, handler).run(stop.stopped()))
}

/// A subgraph's event tasks, listed one by one by its [`EventTasks`]
/// function:
///
/// ```text
/// tasks
///     .outbox_relay("core")
///     .consumer(ConsumerSettings::for_event::<AccountCreated>("core-profiles"), ProfileFromAccount)
///     .into_tasks()
/// ```
pub struct EventTaskList<'a> {
    database: &'a crate::Database,
    broker: &'a Broker,
    stop: StopSignal,
    tasks: Vec<EventTask>,
}

impl<'a> EventTaskList<'a> {
    pub fn new(database: &'a crate::Database, broker: &'a Broker, stop: StopSignal) -> Self {
        Self {
            database,
            broker,
            stop,
            tasks: Vec::new(),
        }
    }

    /// The relay that publishes the outbox of `producer`.
    pub fn outbox_relay(mut self, producer: &'static str) -> Self {
        let task = outbox_relay_task(self.database, self.broker, producer, self.stop.clone());
        self.tasks.push(task);
        self
    }

    /// A consumer with `settings` whose events `handler` applies.
    pub fn consumer<H: EventHandler>(mut self, settings: ConsumerSettings, handler: H) -> Self {
        let task = consumer_task(
            self.database,
            self.broker,
            settings,
            handler,
            self.stop.clone(),
        );
        self.tasks.push(task);
        self
    }

    pub fn into_tasks(self) -> Vec<EventTask> {
        self.tasks
    }
}

/// For subgraphs that neither produce nor consume events.
pub fn no_event_tasks(
    tasks: EventTaskList<'_>,
    _: &crate::config::SubgraphConfig,
) -> Vec<EventTask> {
    tasks.into_tasks()
}

/// What every event is wrapped in on the wire and in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Unique per event: the JetStream message id and the inbox key.
    pub id: Uuid,
    /// The event's name, such as `account.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload's version; an incompatible change is a new version.
    pub version: u32,
    pub occurred_at: DateTime<Utc>,
    /// The subgraph that produced it.
    pub producer: String,
    pub data: serde_json::Value,
}

/// An event payload. Its constants name where it is published.
pub trait Event: Serialize + DeserializeOwned + schemars::JsonSchema + Send + Sync {
    /// The producing subgraph; its stream is `TALENTGRAPH_<PRODUCER>`.
    const PRODUCER: &'static str;
    /// The event's name, such as `account.created`.
    const TYPE: &'static str;
    const VERSION: u32;

    /// `talentgraph.<producer>.<type>.v<version>`.
    fn subject() -> String {
        subject_of(Self::PRODUCER, Self::TYPE, Self::VERSION)
    }
}

/// The subject an event is published on.
pub fn subject_of(producer: &str, event_type: &str, version: u32) -> String {
    format!("talentgraph.{producer}.{event_type}.v{version}")
}

/// Why an envelope could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the payload does not serialise: {0}")]
    Serialise(serde_json::Error),
    #[error("the message is not an event envelope: {0}")]
    NotAnEnvelope(serde_json::Error),
    #[error("expected {expected}, got {actual}")]
    WrongType { expected: String, actual: String },
    #[error("the {event_type} payload does not match its version {version}: {error}")]
    BadPayload {
        event_type: String,
        version: u32,
        error: serde_json::Error,
    },
}

impl Envelope {
    /// Wraps a payload with a fresh id and the current time.
    pub fn wrap<E: Event>(event: &E) -> Result<Self, EnvelopeError> {
        Ok(Self {
            id: Uuid::new_v4(),
            event_type: E::TYPE.to_owned(),
            version: E::VERSION,
            occurred_at: Utc::now(),
            producer: E::PRODUCER.to_owned(),
            data: serde_json::to_value(event).map_err(EnvelopeError::Serialise)?,
        })
    }

    /// Parses a message body.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(EnvelopeError::NotAnEnvelope)
    }

    pub fn subject(&self) -> String {
        subject_of(&self.producer, &self.event_type, self.version)
    }

    /// Whether this envelope carries an `E`.
    pub fn is<E: Event>(&self) -> bool {
        self.producer == E::PRODUCER && self.event_type == E::TYPE && self.version == E::VERSION
    }

    /// The payload as an `E`; refuses an envelope of another type or
    /// version rather than guessing.
    pub fn decode<E: Event>(&self) -> Result<E, EnvelopeError> {
        if !self.is::<E>() {
            return Err(EnvelopeError::WrongType {
                expected: E::subject(),
                actual: self.subject(),
            });
        }
        serde_json::from_value(self.data.clone()).map_err(|error| EnvelopeError::BadPayload {
            event_type: self.event_type.clone(),
            version: self.version,
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
    struct Pinged {
        count: u32,
    }

    impl Event for Pinged {
        const PRODUCER: &'static str = "core";
        const TYPE: &'static str = "pinged";
        const VERSION: u32 = 1;
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
    struct PingedTwice {
        count: u32,
        by: String,
    }

    impl Event for PingedTwice {
        const PRODUCER: &'static str = "core";
        const TYPE: &'static str = "pinged";
        const VERSION: u32 = 2;
    }

    /// An envelope round-trips through JSON with the wire names, and only
    /// decodes as the type and version it carries.
    #[test]
    fn envelopes_carry_their_type_and_version() {
        let envelope = Envelope::wrap(&Pinged { count: 3 }).expect("wraps");
        assert_eq!(envelope.subject(), "talentgraph.core.pinged.v1");
        let bytes = serde_json::to_vec(&envelope).expect("serialises");
        let text = String::from_utf8(bytes.clone()).expect("UTF-8");
        assert!(text.contains("\"type\":\"pinged\""), "{text}");
        let parsed = Envelope::from_bytes(&bytes).expect("parses");
        assert_eq!(
            parsed.decode::<Pinged>().expect("decodes"),
            Pinged { count: 3 }
        );
        assert!(matches!(
            parsed.decode::<PingedTwice>(),
            Err(EnvelopeError::WrongType { .. })
        ));
        assert!(Envelope::from_bytes(b"not json").is_err());
    }
}
