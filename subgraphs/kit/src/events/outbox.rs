//! The transactional outbox and its relay to JetStream.
//!
//! A producer calls [`record_event`] inside the transaction that changes its
//! business rows, so the event exists exactly when the change does. The
//! [`OutboxRelay`] task publishes unpublished rows in order and marks them
//! published. Every producing subgraph has the same `outbox` table (see
//! `migrations/<subgraph>/…_events.sql`).

use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::jetstream::context::Publish;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use super::broker::{Broker, BrokerError};
use super::{Envelope, Event};
use crate::database::{Database, DatabaseError, Transaction};

/// The channel producers notify on commit and the relay listens to.
pub const OUTBOX_CHANNEL: &str = "talentgraph_outbox";

/// Writes `event` to the outbox as part of `transaction`; it is published
/// after the transaction commits, and never if it rolls back. Returns the
/// event's id.
pub async fn record_event<E: Event>(
    transaction: &mut Transaction,
    event: &E,
) -> Result<Uuid, DatabaseError> {
    let envelope = Envelope::wrap(event).map_err(|error| {
        DatabaseError::from(sqlx::Error::Encode(Box::new(std::io::Error::other(
            error.to_string(),
        ))))
    })?;
    let payload = serde_json::to_value(&envelope)
        .map_err(|error| DatabaseError::from(sqlx::Error::Encode(Box::new(error))))?;
    // One statement: the row, and a notification PostgreSQL delivers when
    // (and only if) the transaction commits.
    transaction
        .execute(
            sqlx::query(
                "WITH recorded AS ( \
                     INSERT INTO outbox (event_id, subject, envelope) VALUES ($1, $2, $3) \
                     RETURNING event_id) \
                 SELECT pg_notify($4, '') FROM recorded",
            )
            .bind(envelope.id)
            .bind(E::subject())
            .bind(payload)
            .bind(OUTBOX_CHANNEL),
        )
        .await?;
    Ok(envelope.id)
}

/// How the relay paces itself.
#[derive(Debug, Clone, Copy)]
pub struct RelaySettings {
    /// Rows claimed and published per round.
    pub batch_size: i64,
    /// How long the relay waits for a notification before looking anyway
    /// (a notification can be missed while the listener reconnects).
    pub poll_interval: Duration,
    /// The first and the longest wait after a failed round.
    pub first_backoff: Duration,
    pub longest_backoff: Duration,
    /// Published rows older than this are deleted (at most once a minute),
    /// so the outbox holds what is in flight, not history.
    pub keep_published_for: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 200,
            poll_interval: Duration::from_secs(1),
            first_backoff: Duration::from_millis(100),
            // A failed round is one query and one batch of publishes, cheap
            // to repeat; a longer wait only delays events once the broker is
            // back. While a stream's leader was away the waits grew to 10 s,
            // and the drill saw events held back over 10 s after its return;
            // at 1 s, a broker whose leaders are back is tried within a
            // second (the drill's goal: events prompt within 5 s of that).
            longest_backoff: Duration::from_secs(1),
            keep_published_for: Duration::from_secs(24 * 3600),
        }
    }
}

/// Why a relay round failed; the rows stay unpublished for the next one.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {}", .0.detail())]
    Database(DatabaseError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

impl From<DatabaseError> for RelayError {
    fn from(error: DatabaseError) -> Self {
        Self::Database(error)
    }
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    sequence: i64,
    event_id: Uuid,
    subject: String,
    envelope: serde_json::Value,
}

/// Publishes a subgraph's outbox to JetStream.
#[derive(Clone, Debug)]
pub struct OutboxRelay {
    database: Database,
    broker: Broker,
    producer: &'static str,
    settings: RelaySettings,
}

impl OutboxRelay {
    /// The relay works on its own statement counter, so its rounds do not
    /// count against the requests that tests and metrics measure.
    pub fn new(
        database: &Database,
        broker: Broker,
        producer: &'static str,
        settings: RelaySettings,
    ) -> Self {
        Self {
            database: database.with_separate_counter(),
            broker,
            producer,
            settings,
        }
    }

    /// One round: claims up to a batch of unpublished rows in order (rows
    /// another replica holds are skipped, never published twice at once),
    /// publishes them with the event id as `Nats-Msg-Id`, waits for
    /// JetStream to store each, and marks them published. Returns how many
    /// it published; on any failure nothing is marked, and the next round
    /// publishes the same rows again, which JetStream drops as duplicates
    /// if they did arrive.
    pub async fn publish_pending(&self) -> Result<usize, RelayError> {
        let mut transaction = self.database.begin().await?;
        let rows: Vec<PendingRow> = transaction
            .fetch_all(
                sqlx::query_as(
                    "SELECT sequence, event_id, subject, envelope FROM outbox \
                     WHERE published_at IS NULL ORDER BY sequence LIMIT $1 \
                     FOR UPDATE SKIP LOCKED",
                )
                .bind(self.settings.batch_size),
            )
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Send them all, then wait for every acknowledgement: one round trip
        // for the batch instead of one per event, in order on one connection.
        let mut acknowledgements = Vec::with_capacity(rows.len());
        for row in &rows {
            let payload = serde_json::to_vec(&row.envelope)
                .map_err(|error| BrokerError::JetStream(error.to_string()))?;
            let acknowledgement = self
                .broker
                .jetstream()
                .send_publish(
                    row.subject.clone(),
                    Publish::build()
                        .payload(payload.into())
                        .message_id(row.event_id.to_string()),
                )
                .await
                .map_err(BrokerError::jetstream)?;
            acknowledgements.push(acknowledgement);
        }
        for acknowledgement in acknowledgements {
            acknowledgement.await.map_err(BrokerError::jetstream)?;
        }
        let sequences: Vec<i64> = rows.iter().map(|row| row.sequence).collect();
        transaction
            .execute(
                sqlx::query("UPDATE outbox SET published_at = now() WHERE sequence = ANY($1)")
                    .bind(&sequences),
            )
            .await?;
        transaction.commit().await?;
        if let Some(metrics) = crate::metrics::metrics() {
            metrics.record_events_published(self.producer, rows.len() as u64);
        }
        Ok(rows.len())
    }

    /// Deletes rows published longer ago than `age`; returns how many.
    pub async fn prune_published(&self, age: Duration) -> Result<u64, DatabaseError> {
        self.database
            .execute(
                sqlx::query(
                    "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
                )
                .bind(age.as_secs_f64()),
            )
            .await
    }

    /// What is waiting: unpublished rows and the age of the oldest, for
    /// the metrics endpoint and tests.
    pub async fn backlog(&self) -> Result<(i64, Option<f64>), DatabaseError> {
        self.database
            .fetch_one(sqlx::query_as(
                "SELECT count(*), EXTRACT(EPOCH FROM now() - min(created_at))::float8 \
                 FROM outbox WHERE published_at IS NULL",
            ))
            .await
    }

    /// Runs until `shutdown` completes: declares the stream, then publishes
    /// whenever a producer commits (LISTEN/NOTIFY) and at least every poll
    /// interval, backing off while the broker or the database is down.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut backoff = self.settings.first_backoff;
        let mut listener: Option<PgListener> = None;
        let mut stream_declared = false;
        let mut last_prune: Option<Instant> = None;
        loop {
            if last_prune.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                last_prune = Some(Instant::now());
                if let Err(error) = self.prune_published(self.settings.keep_published_for).await {
                    tracing::warn!(error = %error.detail(), "could not prune the outbox");
                }
            }
            let round_started = Instant::now();
            let round = async {
                if !stream_declared {
                    self.broker.ensure_producer_stream(self.producer).await?;
                    stream_declared = true;
                }
                let mut published = 0;
                loop {
                    let count = self.publish_pending().await?;
                    published += count;
                    if count < self.settings.batch_size as usize {
                        return Ok::<usize, RelayError>(published);
                    }
                }
            };
            let wait = match round.await {
                Ok(published) => {
                    if let (Some(metrics), Ok((unpublished, oldest))) =
                        (crate::metrics::metrics(), self.backlog().await)
                    {
                        metrics.record_outbox_backlog(
                            self.producer,
                            unpublished,
                            oldest.unwrap_or(0.0),
                        );
                    }
                    if published > 0 {
                        tracing::debug!(
                            producer = self.producer,
                            published,
                            elapsed_ms = round_started.elapsed().as_millis() as u64,
                            "relayed outbox events"
                        );
                    }
                    backoff = self.settings.first_backoff;
                    None
                }
                Err(error) => {
                    tracing::warn!(producer = self.producer, %error, ?backoff, "outbox relay round failed; retrying");
                    let wait = backoff;
                    backoff = (backoff * 2).min(self.settings.longest_backoff);
                    Some(wait)
                }
            };
            if let Some(wait) = wait {
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = &mut shutdown => return,
                }
            }
            if listener.is_none() {
                // Its connection is its own, outside the serving pool: the
                // listener keeps it for as long as the relay runs.
                let own_connection = self.database.dedicated_single_connection();
                listener = match PgListener::connect_with(&own_connection).await {
                    Ok(mut connected) => match connected.listen(OUTBOX_CHANNEL).await {
                        Ok(()) => Some(connected),
                        Err(error) => {
                            tracing::warn!(%error, "cannot LISTEN for outbox notifications; polling");
                            None
                        }
                    },
                    Err(error) => {
                        tracing::warn!(%error, "cannot LISTEN for outbox notifications; polling");
                        None
                    }
                };
            }
            let notified = async {
                match listener.as_mut() {
                    Some(connected) => {
                        if connected.recv().await.is_err() {
                            // Reconnect on the next round.
                            return false;
                        }
                        true
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                healthy = notified => {
                    if !healthy {
                        listener = None;
                    }
                }
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                () = &mut shutdown => return,
            }
        }
    }
}
