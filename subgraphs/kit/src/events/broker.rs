//! The connection to NATS JetStream and the streams Talentgraph declares.
//!
//! Streams are declared in code at start-up, idempotently: one per
//! producing subgraph (`TALENTGRAPH_<PRODUCER>`, subjects
//! `talentgraph.<producer>.>`), and one for dead letters. A duplicate window
//! of two minutes lets JetStream drop a message whose id it has already
//! stored, which is what makes a relay's re-publish after a crash harmless.

use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};

/// The stream that holds messages consumers gave up on.
pub const DEAD_LETTER_STREAM: &str = "TALENTGRAPH_DEAD_LETTERS";

/// How long JetStream remembers message ids to drop duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long a producer's stream keeps a message (a new consumer can start
/// this far back). Consumers' inboxes keep event ids twice as long, so no
/// message the stream can still deliver is forgotten by an inbox.
pub const STREAM_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long dead letters wait for someone to look at them.
pub const DEAD_LETTER_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Headers a dead letter carries besides the original message.
pub const DEAD_LETTER_ERROR_HEADER: &str = "Talentgraph-Error";
pub const DEAD_LETTER_SUBJECT_HEADER: &str = "Talentgraph-Original-Subject";
pub const DEAD_LETTER_CONSUMER_HEADER: &str = "Talentgraph-Consumer";

/// The stream of a producing subgraph.
pub fn stream_name(producer: &str) -> String {
    format!("TALENTGRAPH_{}", producer.to_uppercase())
}

/// Where a consumer's dead letters are published.
pub fn dead_letter_subject(consumer: &str) -> String {
    format!("talentgraph.dead_letter.{consumer}")
}

/// Anything the broker refused or could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("JetStream: {0}")]
    JetStream(String),
}

impl BrokerError {
    pub(crate) fn jetstream(error: impl std::fmt::Display) -> Self {
        Self::JetStream(error.to_string())
    }
}

/// How long a JetStream API request or a publish acknowledgement is
/// awaited. On a cluster that is electing a leader (a node just died or
/// returned) a request can go unanswered, and a consumer starting a
/// session waited it out for each of its requests. Every caller retries
/// (the relay its round, with the message id keeping a repeated publish
/// single; a consumer its session), so a shorter wait only means a sooner
/// retry.
///
/// It must be set on the client as well as on the JetStream context:
/// async-nats' context applies its own timeout to publish acknowledgements
/// only, and sends API requests (stream and consumer lookups) through the
/// client, whose default is 10 s. With only the context's set, CI's drill
/// saw events held back over 10 s after a NATS node's return, and the
/// drill's own probe of the cluster's leaders waited exactly 10 s.
pub const JETSTREAM_REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// A NATS connection with its JetStream context. Cloning shares both.
#[derive(Clone, Debug)]
pub struct Broker {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    /// Copies JetStream keeps of each stream declared here.
    stream_replicas: usize,
}

impl Broker {
    /// Connects to `url`, naming the connection after the process. The
    /// client reconnects by itself after a broker restart; operations fail
    /// while it is away, and the relay and consumers back off.
    pub async fn connect(url: &str, connection_name: &str) -> Result<Self, BrokerError> {
        let failed = |message: String| BrokerError::Connect {
            url: url.to_owned(),
            message,
        };
        // `NATS_URL` may list a cluster's members, comma-separated; the
        // client connects to one and fails over to the others.
        let servers = url
            .split(',')
            .map(str::trim)
            .filter(|server| !server.is_empty())
            .map(str::parse::<async_nats::ServerAddr>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| failed(error.to_string()))?;
        let client = async_nats::ConnectOptions::new()
            .name(connection_name)
            .request_timeout(Some(JETSTREAM_REQUEST_TIMEOUT))
            .retry_on_initial_connect()
            .connect(servers)
            .await
            .map_err(|error| failed(error.to_string()))?;
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(JETSTREAM_REQUEST_TIMEOUT);
        Ok(Self {
            client,
            jetstream,
            stream_replicas: 1,
        })
    }

    /// Streams declared from now on keep `replicas` copies (a clustered
    /// server needs 3 to survive losing a node).
    pub fn with_stream_replicas(mut self, replicas: usize) -> Self {
        self.stream_replicas = replicas.max(1);
        self
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// Declares a producing subgraph's stream (file storage, the duplicate
    /// window); a no-op when it exists.
    pub async fn ensure_producer_stream(&self, producer: &str) -> Result<(), BrokerError> {
        self.ensure_stream(StreamConfig {
            name: stream_name(producer),
            subjects: vec![format!("talentgraph.{producer}.>")],
            duplicate_window: DUPLICATE_WINDOW,
            max_age: STREAM_MAX_AGE,
            ..Default::default()
        })
        .await
    }

    /// Declares the dead-letter stream; a no-op when it exists.
    pub async fn ensure_dead_letter_stream(&self) -> Result<(), BrokerError> {
        self.ensure_stream(StreamConfig {
            name: DEAD_LETTER_STREAM.to_owned(),
            subjects: vec!["talentgraph.dead_letter.>".to_owned()],
            max_age: DEAD_LETTER_MAX_AGE,
            ..Default::default()
        })
        .await
    }

    /// Declares a stream on file storage with this broker's replicas.
    async fn ensure_stream(&self, config: StreamConfig) -> Result<(), BrokerError> {
        self.jetstream
            .get_or_create_stream(StreamConfig {
                storage: StorageType::File,
                num_replicas: self.stream_replicas,
                ..config
            })
            .await
            .map_err(BrokerError::jetstream)?;
        Ok(())
    }
}

/// A message in the dead-letter stream.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its sequence in the dead-letter stream: what `replay` takes.
    pub sequence: u64,
    pub consumer: String,
    pub original_subject: String,
    pub error: String,
    pub payload: axum::body::Bytes,
}

impl Broker {
    /// Every dead letter, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, BrokerError> {
        self.ensure_dead_letter_stream().await?;
        let mut stream = self
            .jetstream
            .get_stream(DEAD_LETTER_STREAM)
            .await
            .map_err(BrokerError::jetstream)?;
        let state = stream
            .info()
            .await
            .map_err(BrokerError::jetstream)?
            .state
            .clone();
        let mut letters = Vec::new();
        if state.messages == 0 {
            return Ok(letters);
        }
        for sequence in state.first_sequence..=state.last_sequence {
            let Ok(message) = stream.get_raw_message(sequence).await else {
                // Deleted after a replay.
                continue;
            };
            let header = |name: &str| {
                message
                    .headers
                    .get(name)
                    .map(|value| value.as_str().to_owned())
                    .unwrap_or_default()
            };
            letters.push(DeadLetter {
                sequence,
                consumer: header(DEAD_LETTER_CONSUMER_HEADER),
                original_subject: header(DEAD_LETTER_SUBJECT_HEADER),
                error: header(DEAD_LETTER_ERROR_HEADER),
                payload: message.payload.clone(),
            });
        }
        Ok(letters)
    }

    /// Publishes a dead letter's original message again on its original
    /// subject and removes it from the dead-letter stream. The message id
    /// is new (the original id may still be inside the duplicate window);
    /// the consumer's inbox still keys on the event id, so a replay of an
    /// event that did get applied stays a no-op.
    pub async fn replay_dead_letter(&self, sequence: u64) -> Result<(), BrokerError> {
        let stream = self
            .jetstream
            .get_stream(DEAD_LETTER_STREAM)
            .await
            .map_err(BrokerError::jetstream)?;
        let message = stream
            .get_raw_message(sequence)
            .await
            .map_err(BrokerError::jetstream)?;
        let subject = message
            .headers
            .get(DEAD_LETTER_SUBJECT_HEADER)
            .map(|value| value.as_str().to_owned())
            .ok_or_else(|| {
                BrokerError::JetStream(format!("dead letter {sequence} has no original subject"))
            })?;
        self.jetstream
            .send_publish(
                subject,
                jetstream::context::Publish::build()
                    .payload(message.payload.clone())
                    .message_id(format!("replay-{}-{sequence}", uuid::Uuid::new_v4())),
            )
            .await
            .map_err(BrokerError::jetstream)?
            .await
            .map_err(BrokerError::jetstream)?;
        stream
            .delete_message(sequence)
            .await
            .map_err(BrokerError::jetstream)?;
        Ok(())
    }
}
