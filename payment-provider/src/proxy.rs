//! The proxy in front of localstripe: Stripe's idempotency-key semantics,
//! which localstripe lacks, and faults injected on demand.
//!
//! Idempotency, as Stripe documents it: a `POST` with an `Idempotency-Key`
//! header is executed once per (API key, idempotency key); a repeat with the
//! same method, path and body gets the stored status and body back (with
//! `Idempotent-Replayed: true`), a repeat with other parameters is refused
//! with 400 `idempotency_error`, and a repeat while the first is still
//! running gets 409 `idempotency_key_in_use`. Whatever the upstream
//! answered is stored, errors included; a request refused by an injected
//! failure never reached the API and stores nothing. Keys live as long as
//! the proxy (Stripe keeps them at least 24 hours).
//!
//! Faults (`POST /_proxy/faults`, JSON [`Faults`]) apply to the next
//! requests: `fail_next` answers 503 without forwarding, `drop_next`
//! forwards, stores the answer and then breaks the connection before the
//! body arrives (the charge happened, the caller does not know),
//! `delay_next` holds requests for `delay_ms` first, and `hold_next`
//! forwards and then holds the answer for `hold_ms`. `GET /_proxy/stats`
//! counts what passed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Faults for the next requests; each counter is used up one request at a
/// time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    pub fail_next: u32,
    pub drop_next: u32,
    pub delay_next: u32,
    pub delay_ms: u64,
    /// Forward, then hold the answer for `hold_ms`: the charge has happened
    /// and the caller is still waiting (a window to kill it in).
    pub hold_next: u32,
    pub hold_ms: u64,
}

/// What passed through the proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyStats {
    /// Requests sent on to localstripe.
    pub forwarded: u64,
    /// Of those, PaymentIntent creations: charges the provider executed.
    pub payment_intents_created: u64,
    /// Answered from the idempotency store without forwarding.
    pub replayed: u64,
    /// Refused: same key, other parameters, or still in flight.
    pub idempotency_conflicts: u64,
    pub injected_failures: u64,
    pub dropped_responses: u64,
}

#[derive(Debug, Clone)]
struct StoredResponse {
    status: u16,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

#[derive(Debug, Clone)]
enum KeyState {
    /// The first request is still running; any repeat waits its turn.
    InFlight,
    Done {
        fingerprint: [u8; 32],
        response: StoredResponse,
    },
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    keys: Mutex<HashMap<(String, String), KeyState>>,
    faults: Mutex<Faults>,
    stats: Mutex<ProxyStats>,
}

/// The proxy's routes, forwarding to `upstream` (localstripe's base URL).
pub fn router(upstream: String) -> Router {
    let state = Arc::new(ProxyState {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
        keys: Mutex::new(HashMap::new()),
        faults: Mutex::new(Faults::default()),
        stats: Mutex::new(ProxyStats::default()),
    });
    Router::new()
        .route("/_proxy/faults", post(set_faults))
        .route("/_proxy/stats", get(stats))
        .fallback(forward)
        .with_state(state)
}

/// Serves the proxy on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, upstream: String) -> std::io::Result<()> {
    axum::serve(listener, router(upstream)).await
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update under these locks is a single assignment or insert, so
    // a poisoned lock still holds consistent data.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn set_faults(
    State(state): State<Arc<ProxyState>>,
    Json(faults): Json<Faults>,
) -> Json<Faults> {
    *lock(&state.faults) = faults;
    Json(faults)
}

async fn stats(State(state): State<Arc<ProxyState>>) -> Json<ProxyStats> {
    Json(*lock(&state.stats))
}

fn stripe_error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({
            "error": { "type": kind, "code": code, "message": message }
        })),
    )
        .into_response()
}

/// Which fault, if any, the next request meets. Taken under one lock so
/// concurrent requests use each counted fault once.
#[derive(Debug, Clone, Copy, Default)]
struct FaultsForRequest {
    fail: bool,
    drop: bool,
    delay: Option<Duration>,
    hold: Option<Duration>,
}

fn take_faults(state: &ProxyState) -> FaultsForRequest {
    let mut faults = lock(&state.faults);
    let mut taken = FaultsForRequest::default();
    if faults.delay_next > 0 {
        faults.delay_next -= 1;
        taken.delay = Some(Duration::from_millis(faults.delay_ms));
    }
    if faults.hold_next > 0 {
        faults.hold_next -= 1;
        taken.hold = Some(Duration::from_millis(faults.hold_ms));
    }
    if faults.fail_next > 0 {
        faults.fail_next -= 1;
        taken.fail = true;
    } else if faults.drop_next > 0 {
        faults.drop_next -= 1;
        taken.drop = true;
    }
    taken
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return stripe_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            "Request bodies are limited to 1 MiB.",
        );
    };
    let faults = take_faults(&state);
    if let Some(delay) = faults.delay {
        tokio::time::sleep(delay).await;
    }
    if faults.fail {
        lock(&state.stats).injected_failures += 1;
        return stripe_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "injected_fault",
            "The proxy was asked to fail this request.",
        );
    }
    let authorization = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let idempotency_key = (parts.method == http::Method::POST)
        .then(|| parts.headers.get("idempotency-key"))
        .flatten()
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|value| value.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());

    let Some(key) = idempotency_key else {
        let response = match send_upstream(&state, &parts, &path_and_query, body).await {
            Ok(response) => response,
            Err(response) => return response,
        };
        return respond(&state, response, faults.drop, false);
    };

    // Keys are scoped to the API key, as Stripe scopes them to the account.
    let scope = (hex::encode(Sha256::digest(authorization.as_bytes())), key);
    let fingerprint: [u8; 32] = {
        let mut hasher = Sha256::new();
        hasher.update(parts.method.as_str().as_bytes());
        hasher.update(b" ");
        hasher.update(path_and_query.as_bytes());
        hasher.update(b"\n");
        hasher.update(&body);
        hasher.finalize().into()
    };
    {
        let mut keys = lock(&state.keys);
        match keys.get(&scope) {
            Some(KeyState::Done {
                fingerprint: stored,
                response,
            }) if *stored == fingerprint => {
                let response = response.clone();
                drop(keys);
                lock(&state.stats).replayed += 1;
                return respond(&state, response, faults.drop, true);
            }
            Some(KeyState::Done { .. }) => {
                drop(keys);
                lock(&state.stats).idempotency_conflicts += 1;
                return stripe_error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    "idempotency_key_reused",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
            }
            Some(KeyState::InFlight) => {
                drop(keys);
                lock(&state.stats).idempotency_conflicts += 1;
                return stripe_error(
                    StatusCode::CONFLICT,
                    "idempotency_error",
                    "idempotency_key_in_use",
                    "There is currently another in-progress request using this idempotency key.",
                );
            }
            None => {
                keys.insert(scope.clone(), KeyState::InFlight);
            }
        }
    }
    // Executed and stored in a task of its own: a request whose caller
    // disconnects (or is killed) still completes and stores its answer, as
    // at Stripe, instead of leaving its key in flight forever.
    let execution = {
        let state = state.clone();
        tokio::spawn(async move {
            let result = send_upstream(&state, &parts, &path_and_query, body).await;
            if let Some(hold) = faults.hold {
                tokio::time::sleep(hold).await;
            }
            match &result {
                Ok(response) => {
                    lock(&state.keys).insert(
                        scope,
                        KeyState::Done {
                            fingerprint,
                            response: response.clone(),
                        },
                    );
                }
                // The upstream never answered: nothing executed, nothing
                // stored.
                Err(_) => {
                    lock(&state.keys).remove(&scope);
                }
            }
            result
        })
    };
    match execution.await {
        Ok(Ok(response)) => respond(&state, response, faults.drop, false),
        Ok(Err(response)) => response,
        Err(_) => stripe_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "proxy_failure",
            "The proxy failed while forwarding.",
        ),
    }
}

async fn send_upstream(
    state: &ProxyState,
    parts: &http::request::Parts,
    path_and_query: &str,
    body: Bytes,
) -> Result<StoredResponse, Response> {
    let mut upstream = state
        .http
        .request(
            parts.method.clone(),
            format!("{}{path_and_query}", state.upstream),
        )
        .body(body);
    for name in [http::header::AUTHORIZATION, http::header::CONTENT_TYPE] {
        if let Some(value) = parts.headers.get(&name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, "localstripe unreachable");
            return Err(stripe_error(
                StatusCode::BAD_GATEWAY,
                "api_error",
                "upstream_unreachable",
                "The local provider is not answering.",
            ));
        }
    };
    let status = answer.status().as_u16();
    let content_type = answer.headers().get(http::header::CONTENT_TYPE).cloned();
    let body = answer.bytes().await.unwrap_or_default();
    {
        let mut stats = lock(&state.stats);
        stats.forwarded += 1;
        if parts.method == http::Method::POST
            && path_and_query.starts_with("/v1/payment_intents")
            && !path_and_query["/v1/payment_intents".len()..].starts_with('/')
        {
            stats.payment_intents_created += 1;
        }
    }
    Ok(StoredResponse {
        status,
        content_type,
        body,
    })
}

fn respond(
    state: &ProxyState,
    response: StoredResponse,
    drop_it: bool,
    replayed: bool,
) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = if drop_it {
        lock(&state.stats).dropped_responses += 1;
        // Headers go out, then the body fails: the connection breaks and the
        // caller never learns what happened.
        Body::from_stream(futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("response dropped by the proxy"))
        }))
    } else {
        Body::from(response.body)
    };
    let mut reply = Response::new(body);
    *reply.status_mut() = status;
    if let Some(content_type) = response.content_type {
        reply
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type);
    }
    if replayed {
        reply
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    reply
}
