//! Subgraphs that answer from memory: the stand-in the bench puts behind a
//! second router to measure the router's own ceiling on this machine.
//!
//! The server sits in front of the real subgraphs, one path per subgraph
//! (`/<name>/graphql`). The first time it sees a request it forwards it to
//! the real subgraph and keeps the answer; every later request with the
//! same subgraph, `authorization` header and body is answered from memory
//! without touching the subgraph or PostgreSQL. The bench sends every
//! request of the measured load once before the load starts (the recording
//! pass), so the measured load is answered from memory alone, and
//! `GET /statistics` says how many requests missed the recording, which the
//! bench prints beside the figure.
//!
//! The key is the request body byte for byte: the router serializes the
//! same subgraph request the same way every time (the entity
//! representations in the order the earlier fetch returned them), which the
//! miss count checks rather than assumes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The headers forwarded to the real subgraph on a miss: the subgraphs
/// need the caller's token and the router's proof that the request came
/// through it.
const FORWARDED_HEADERS: [&str; 3] = ["authorization", "x-talentgraph-router", "content-type"];

/// What identifies one recorded answer.
#[derive(PartialEq, Eq, Hash)]
struct RecordingKey {
    subgraph: String,
    authorization: Option<Bytes>,
    body: Bytes,
}

/// Counts served since the server started.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq, Clone, Copy)]
pub struct RecordingStatistics {
    /// Requests answered from memory.
    pub answered_from_memory: u64,
    /// Requests forwarded to the real subgraph because nothing was recorded
    /// for them.
    pub forwarded: u64,
    /// Distinct answers held.
    pub recorded: u64,
}

struct RecordedSubgraphs {
    /// Subgraph name to the real subgraph's GraphQL URL.
    upstreams: HashMap<String, String>,
    answers: RwLock<HashMap<RecordingKey, Bytes>>,
    client: reqwest::Client,
    answered_from_memory: AtomicU64,
    forwarded: AtomicU64,
}

/// Serves the recorded subgraphs on `listener` until the process ends.
/// `upstreams` maps each subgraph's name to its real GraphQL URL.
pub async fn serve_recorded_subgraphs(
    listener: tokio::net::TcpListener,
    upstreams: HashMap<String, String>,
) -> std::io::Result<()> {
    let state = Arc::new(RecordedSubgraphs {
        upstreams,
        answers: RwLock::new(HashMap::new()),
        client: reqwest::Client::new(),
        answered_from_memory: AtomicU64::new(0),
        forwarded: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/{subgraph}/graphql", post(answer))
        .route("/statistics", get(statistics))
        .with_state(state);
    axum::serve(listener, app).await
}

async fn statistics(
    State(state): State<Arc<RecordedSubgraphs>>,
) -> axum::Json<RecordingStatistics> {
    let recorded = state
        .answers
        .read()
        .map_or(0, |answers| answers.len() as u64);
    axum::Json(RecordingStatistics {
        answered_from_memory: state.answered_from_memory.load(Ordering::Relaxed),
        forwarded: state.forwarded.load(Ordering::Relaxed),
        recorded,
    })
}

fn json_answer(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn answer(
    State(state): State<Arc<RecordedSubgraphs>>,
    Path(subgraph): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = RecordingKey {
        subgraph,
        authorization: headers
            .get(header::AUTHORIZATION)
            .map(|value| Bytes::copy_from_slice(value.as_bytes())),
        body,
    };
    let recorded = state
        .answers
        .read()
        .ok()
        .and_then(|answers| answers.get(&key).cloned());
    if let Some(recorded) = recorded {
        state.answered_from_memory.fetch_add(1, Ordering::Relaxed);
        return json_answer(recorded);
    }
    state.forwarded.fetch_add(1, Ordering::Relaxed);
    let Some(upstream) = state.upstreams.get(&key.subgraph) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no subgraph named {}", key.subgraph),
        )
            .into_response();
    };
    let mut request = state.client.post(upstream).body(key.body.clone());
    for name in FORWARDED_HEADERS {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    let outcome = match request.send().await {
        Ok(response) if response.status().is_success() => response.bytes().await,
        Ok(response) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("{upstream} answered {}", response.status()),
            )
                .into_response();
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(answer) => {
            if let Ok(mut answers) = state.answers.write() {
                answers.insert(key, answer.clone());
            }
            json_answer(answer)
        }
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("{upstream} did not answer: {error}"),
        )
            .into_response(),
    }
}

/// Reads the statistics of a recorded-subgraphs server at `address`.
pub async fn recording_statistics(
    client: &reqwest::Client,
    address: SocketAddr,
) -> Result<RecordingStatistics, reqwest::Error> {
    client
        .get(format!("http://{address}/statistics"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}
