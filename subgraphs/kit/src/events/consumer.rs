//! Consumers: each event applied once, in its own transaction.
//!
//! A durable JetStream pull consumer delivers; for each message the
//! consumer opens a transaction, records the event id in the `inbox` table
//! (the primary key makes a second delivery a no-op), runs the handler's
//! writes, commits, and only then acknowledges. A crash between commit and
//! acknowledgement means a redelivery that the inbox swallows. A handler
//! that fails rolls everything back and the message is redelivered with a
//! growing delay; after `max_deliveries` it is published to the
//! dead-letter stream with the error, and acknowledged.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use futures::StreamExt;
use futures::future::BoxFuture;

use super::broker::{
    Broker, BrokerError, DEAD_LETTER_CONSUMER_HEADER, DEAD_LETTER_ERROR_HEADER,
    DEAD_LETTER_SUBJECT_HEADER, dead_letter_subject, stream_name,
};
use super::{Envelope, Event};
use crate::database::{Database, DatabaseError, Transaction};

/// Why a handler could not apply an event. Either way the transaction is
/// rolled back; the message is retried until it goes to the dead letters.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("database: {}", .0.detail())]
    Database(DatabaseError),
    /// The event cannot be applied as it is (a payload this consumer does
    /// not understand, a reference to something that does not exist).
    #[error("{0}")]
    Rejected(String),
    /// Something the handler depends on did not answer (a payment
    /// provider); a later delivery may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<DatabaseError> for HandlerError {
    fn from(error: DatabaseError) -> Self {
        Self::Database(error)
    }
}

/// An envelope the handler cannot read is refused as it is: no retry helps.
impl From<super::EnvelopeError> for HandlerError {
    fn from(error: super::EnvelopeError) -> Self {
        Self::Rejected(error.to_string())
    }
}

/// What a consumer does with an event, inside the consumer's transaction.
pub trait EventHandler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;

    /// How long to hold off before taking the next message, when the
    /// handler knows it would fail now (its downstream's circuit breaker is
    /// open). The consumer then keeps the delivered message in progress
    /// and waits, so a downstream outage costs no deliveries: messages wait
    /// in the stream instead of racing to the dead letters.
    fn hold_off(&self) -> Option<Duration> {
        None
    }

    /// Called once, after the last failed delivery and before the message
    /// goes to the dead letters, so the handler can record the failure
    /// where its users see it. Errors are logged; the message is
    /// dead-lettered either way.
    fn on_dead_letter<'a>(
        &'a self,
        _database: &'a Database,
        _envelope: &'a Envelope,
        _error: &'a str,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async { Ok(()) })
    }
}

/// Which events a consumer takes and how patiently.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The durable consumer's name, unique per consuming subgraph and
    /// purpose (`core-profiles`); also the inbox's key and the dead-letter
    /// subject's last token.
    pub name: &'static str,
    /// The producing subgraph whose stream is read.
    pub producer: &'static str,
    /// The subjects taken, such as `talentgraph.auth.account.created.v1`;
    /// JetStream filters the rest out.
    pub subjects: Vec<String>,
    /// Deliveries before a message goes to the dead letters.
    pub max_deliveries: i64,
    /// How long JetStream waits for an acknowledgement before redelivering.
    pub ack_wait: Duration,
    /// The delay before the first redelivery after a failure; doubles with
    /// every further delivery.
    pub first_retry_delay: Duration,
}

impl ConsumerSettings {
    /// The settings of consumer `name` of event `E`, on its producer's
    /// stream; [`ConsumerSettings::and_event`] adds another event of the
    /// same producer.
    pub fn for_event<E: Event>(name: &'static str) -> Self {
        Self::new(name, E::PRODUCER, vec![E::subject()])
    }

    /// Also consumes event `E`, which must come from the same producer
    /// (one consumer reads one stream); a mismatch is a programming error
    /// found at start-up.
    pub fn and_event<E: Event>(mut self) -> Self {
        assert_eq!(
            E::PRODUCER,
            self.producer,
            "consumer {} reads the {} stream, not {}'s",
            self.name,
            self.producer,
            E::PRODUCER
        );
        self.subjects.push(E::subject());
        self
    }

    pub fn new(name: &'static str, producer: &'static str, subjects: Vec<String>) -> Self {
        Self {
            name,
            producer,
            subjects,
            max_deliveries: 5,
            ack_wait: Duration::from_secs(30),
            first_retry_delay: Duration::from_millis(200),
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Handled,
    /// Its event id was in the inbox: applied before.
    Duplicate,
    /// The handler failed; JetStream redelivers it later.
    Failed,
    DeadLettered,
    /// Not one of the consumer's subjects (a server that cannot filter by
    /// several subjects delivered it); acknowledged untouched.
    Ignored,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Handled => "handled",
            Self::Duplicate => "duplicate",
            Self::Failed => "failed",
            Self::DeadLettered => "dead_lettered",
            Self::Ignored => "ignored",
        }
    }
}

/// A running consumer's parts.
pub struct EventConsumer<H> {
    database: Database,
    broker: Broker,
    settings: ConsumerSettings,
    handler: H,
}

impl<H: EventHandler> EventConsumer<H> {
    /// The consumer's statements count on a counter of their own, like the
    /// relay's.
    pub fn new(
        database: &Database,
        broker: Broker,
        settings: ConsumerSettings,
        handler: H,
    ) -> Self {
        Self {
            database: database.with_separate_counter(),
            broker,
            settings,
            handler,
        }
    }

    /// The durable consumer, created when missing. The streams are
    /// declared by the first session only (`streams_declared`): each
    /// declaration is two JetStream API requests, and a session that starts
    /// while the cluster elects leaders should wait on as few as it can.
    async fn durable_consumer(
        &self,
        streams_declared: &mut bool,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, BrokerError> {
        if !*streams_declared {
            self.broker
                .ensure_producer_stream(self.settings.producer)
                .await?;
            self.broker.ensure_dead_letter_stream().await?;
            *streams_declared = true;
        }
        let stream = self
            .broker
            .jetstream()
            .get_stream(stream_name(self.settings.producer))
            .await
            .map_err(BrokerError::jetstream)?;
        stream
            .get_or_create_consumer(
                self.settings.name,
                pull::Config {
                    durable_name: Some(self.settings.name.to_owned()),
                    // NATS 2.9 (Debian's) knows only the single
                    // `filter_subject` and silently ignores the list, which
                    // 2.10 added; `process` skips other subjects either way.
                    filter_subject: match self.settings.subjects.as_slice() {
                        [only] => only.clone(),
                        _ => String::new(),
                    },
                    filter_subjects: if self.settings.subjects.len() > 1 {
                        self.settings.subjects.clone()
                    } else {
                        Vec::new()
                    },
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.settings.ack_wait,
                    // Counted here, not by JetStream, so the message can be
                    // dead-lettered with its error at the last delivery.
                    max_deliver: -1,
                    ..Default::default()
                },
            )
            .await
            .map_err(BrokerError::jetstream)
    }

    /// Applies one delivered message and acknowledges it as the outcome
    /// says.
    pub async fn process(&self, message: &jetstream::Message) -> Result<Outcome, BrokerError> {
        let (delivered, pending) = message
            .info()
            .map(|info| (info.delivered, info.pending))
            .unwrap_or((1, 0));
        if !self
            .settings
            .subjects
            .iter()
            .any(|subject| subject.as_str() == message.subject.as_str())
        {
            // Another event of the producer's stream, delivered because the
            // server could not filter it out: not this consumer's.
            message.ack().await.map_err(BrokerError::jetstream)?;
            if let Some(metrics) = crate::metrics::metrics() {
                metrics.record_event_consumed(
                    self.settings.name,
                    Outcome::Ignored.label(),
                    pending,
                );
            }
            return Ok(Outcome::Ignored);
        }
        let outcome = match Envelope::from_bytes(&message.payload) {
            // Not an envelope: no retry can help.
            Err(error) => {
                self.dead_letter(message, &error.to_string()).await?;
                Outcome::DeadLettered
            }
            Ok(envelope) => match self.apply(&envelope).await {
                Ok(true) => {
                    message.ack().await.map_err(BrokerError::jetstream)?;
                    Outcome::Handled
                }
                Ok(false) => {
                    message.ack().await.map_err(BrokerError::jetstream)?;
                    Outcome::Duplicate
                }
                Err(error) if delivered >= self.settings.max_deliveries => {
                    tracing::error!(consumer = self.settings.name, event_id = %envelope.id, %error, delivered, "giving up on an event; dead-lettered");
                    let error = error.to_string();
                    if let Err(hook_error) = self
                        .handler
                        .on_dead_letter(&self.database, &envelope, &error)
                        .await
                    {
                        tracing::error!(consumer = self.settings.name, event_id = %envelope.id, error = %hook_error, "could not record a dead-lettered event's failure");
                    }
                    self.dead_letter(message, &error).await?;
                    Outcome::DeadLettered
                }
                Err(error) => {
                    let delay = retry_delay(self.settings.first_retry_delay, delivered);
                    tracing::warn!(consumer = self.settings.name, event_id = %envelope.id, %error, delivered, ?delay, "event handler failed; will retry");
                    message
                        .ack_with(AckKind::Nak(Some(delay)))
                        .await
                        .map_err(BrokerError::jetstream)?;
                    Outcome::Failed
                }
            },
        };
        if let Some(metrics) = crate::metrics::metrics() {
            metrics.record_event_consumed(self.settings.name, outcome.label(), pending);
        }
        Ok(outcome)
    }

    /// The inbox row and the handler's writes in one transaction; false
    /// when the event was applied before. This is what [`Self::process`]
    /// does before it acknowledges.
    pub async fn apply(&self, envelope: &Envelope) -> Result<bool, HandlerError> {
        let mut transaction = self.database.begin().await?;
        let first_time = transaction
            .execute(
                sqlx::query(
                    "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(self.settings.name)
                .bind(envelope.id),
            )
            .await?
            == 1;
        if !first_time {
            return Ok(false);
        }
        self.handler.handle(&mut transaction, envelope).await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        error: &str,
    ) -> Result<(), BrokerError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            DEAD_LETTER_ERROR_HEADER,
            error.replace(['\r', '\n'], " ").as_str(),
        );
        headers.insert(DEAD_LETTER_SUBJECT_HEADER, message.subject.as_str());
        headers.insert(DEAD_LETTER_CONSUMER_HEADER, self.settings.name);
        self.broker
            .jetstream()
            .publish_with_headers(
                dead_letter_subject(self.settings.name),
                headers,
                message.payload.clone(),
            )
            .await
            .map_err(BrokerError::jetstream)?
            .await
            .map_err(BrokerError::jetstream)?;
        message
            .ack_with(AckKind::Term)
            .await
            .map_err(BrokerError::jetstream)
    }

    /// Waits while the handler asks to hold off, telling JetStream the
    /// message is still in progress so it is not redelivered meanwhile.
    async fn hold_off_while_asked(&self, message: &jetstream::Message) -> Result<(), BrokerError> {
        while let Some(wait) = self.handler.hold_off() {
            message
                .ack_with(AckKind::Progress)
                .await
                .map_err(BrokerError::jetstream)?;
            tokio::time::sleep(wait.min(self.settings.ack_wait / 3)).await;
        }
        Ok(())
    }

    /// Deletes inbox rows of this consumer older than `age`; returns how
    /// many. Run with twice the stream's maximum age, an event id is
    /// forgotten only when no stream can deliver it again.
    pub async fn prune_inbox(&self, age: Duration) -> Result<u64, DatabaseError> {
        self.database
            .execute(
                sqlx::query(
                    "DELETE FROM inbox WHERE consumer = $1 \
                     AND processed_at < now() - make_interval(secs => $2)",
                )
                .bind(self.settings.name)
                .bind(age.as_secs_f64()),
            )
            .await
    }

    /// Runs until `shutdown` completes, reconnecting with a backoff while
    /// the broker is away.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut backoff = SESSION_FIRST_BACKOFF;
        let mut streams_declared = false;
        loop {
            let session = async {
                let consumer = self.durable_consumer(&mut streams_declared).await?;
                let mut messages = consumer
                    .stream()
                    .expires(PULL_REQUEST_EXPIRY)
                    .heartbeat(PULL_REQUEST_HEARTBEAT)
                    .messages()
                    .await
                    .map_err(BrokerError::jetstream)?;
                let mut last_prune: Option<std::time::Instant> = None;
                while let Some(message) = messages.next().await {
                    let message = message.map_err(BrokerError::jetstream)?;
                    self.hold_off_while_asked(&message).await?;
                    self.process(&message).await?;
                    backoff = SESSION_FIRST_BACKOFF;
                    if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(600)) {
                        last_prune = Some(std::time::Instant::now());
                        if let Err(error) =
                            self.prune_inbox(super::broker::STREAM_MAX_AGE * 2).await
                        {
                            tracing::warn!(error = %error.detail(), "could not prune the inbox");
                        }
                    }
                }
                Ok::<(), BrokerError>(())
            };
            tokio::select! {
                result = session => {
                    if let Err(error) = result {
                        tracing::warn!(consumer = self.settings.name, %error, ?backoff, "event consumer interrupted; resuming");
                    }
                }
                () = &mut shutdown => return,
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = &mut shutdown => return,
            }
            backoff = (backoff * 2).min(SESSION_LONGEST_BACKOFF);
        }
    }
}

/// The first and the longest wait before a consumer opens a new session
/// after one failed. A session's start is one consumer-info request, cheap
/// to repeat, while every second of waiting holds events back once the
/// cluster is whole again. With a 10 s cap, a session that failed over and
/// over while a node was away (each failed pull, consumer lookup or
/// acknowledgement doubling the wait) could sleep up to 10 s after the
/// node's return: the likeliest reason CI's drill once saw events held
/// back over 10 s after a plain node's return (a plain node can lead
/// consumers). The cap is the outbox relay's
/// (`RelaySettings::longest_backoff`): 1 s, so a cluster whose leaders are
/// back is tried within a second.
const SESSION_FIRST_BACKOFF: Duration = Duration::from_millis(100);
const SESSION_LONGEST_BACKOFF: Duration = Duration::from_secs(1);

/// How long each pull request waits on the server, and how often the
/// server must show it is alive while one waits. A pull request lives on
/// the node that leads the consumer; when that node dies the request dies
/// with it, and the client only learns so from two missed heartbeats (it
/// then pulls again, from the new leader). With async-nats' defaults
/// (30 s, heartbeat 15 s) that took up to 30 s, and the drill saw events
/// held back for over 10 s after a NATS node's return; at these values the
/// cost is one heartbeat a second per consumer.
const PULL_REQUEST_EXPIRY: Duration = Duration::from_secs(5);
const PULL_REQUEST_HEARTBEAT: Duration = Duration::from_secs(1);

/// The delay before redelivery after the `delivered`-th delivery failed:
/// doubling from `first`, with up to a quarter more or less at random so
/// the retries of many events failing together (a downstream outage) do
/// not arrive together again.
fn retry_delay(first: Duration, delivered: i64) -> Duration {
    let exponent = u32::try_from(delivered.clamp(1, 16) - 1).unwrap_or(0);
    let base = first * 2_u32.pow(exponent);
    let jitter = rand::random::<f64>().mul_add(0.5, 0.75);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The delay doubles per delivery and stays within a quarter of it.
    #[test]
    fn retry_delays_double_with_jitter() {
        let first = Duration::from_millis(200);
        for (delivered, base_ms) in [(1, 200.0), (2, 400.0), (3, 800.0), (5, 3_200.0)] {
            for _ in 0..50 {
                let delay = retry_delay(first, delivered).as_secs_f64() * 1_000.0;
                assert!(
                    (base_ms * 0.75..=base_ms * 1.25).contains(&delay),
                    "delivery {delivered}: {delay} ms"
                );
            }
        }
    }
}
