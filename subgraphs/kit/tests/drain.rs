//! A subgraph that is told to stop drains first: `/ready` answers 503 at
//! once, requests are still served (each answer closing its connection),
//! and only after the drain period does the listener close, with the
//! requests in flight finished. This is what lets a load balancer take a
//! replica out of rotation before it stops accepting (a rolling deploy
//! without failed requests).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use talentgraph_kit::server::{Draining, drain_then_stop, serve, with_drain};

/// A fresh connection for every request, so each answer's `Connection`
/// header and the listener's state are seen as a new client sees them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

#[tokio::test]
async fn a_draining_server_leaves_readiness_then_rotation_then_finishes_in_flight() {
    let app = Router::new()
        .route("/ready", get(|| async { "ready" }))
        .route("/work", get(|| async { "done" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                "slow done"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let address = listener.local_addr().expect("an address");
    let (stop, stop_requested) = tokio::sync::oneshot::channel::<()>();
    let draining = Draining::default();
    let drain_period = Duration::from_millis(800);
    let server = tokio::spawn(serve(
        listener,
        with_drain(app, draining.clone()),
        drain_then_stop(
            async {
                let _ = stop_requested.await;
            },
            draining,
            drain_period,
        ),
        Duration::from_secs(5),
    ));
    let client = client();
    let url = |path: &str| format!("http://{address}{path}");

    // Serving: ready, and connections are kept alive.
    let ready = client.get(url("/ready")).send().await.expect("answers");
    assert_eq!(ready.status().as_u16(), 200);
    assert!(ready.headers().get("connection").is_none());

    // A request in flight when the drain starts.
    let slow = tokio::spawn({
        let client = client.clone();
        let url = url("/slow");
        async move { client.get(url).send().await?.text().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("the server waits for the signal");
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Draining: out of readiness, still serving, closing each connection.
    let ready = client.get(url("/ready")).send().await.expect("answers");
    assert_eq!(ready.status().as_u16(), 503);
    let work = client.get(url("/work")).send().await.expect("still served");
    assert_eq!(work.status().as_u16(), 200);
    assert_eq!(
        work.headers()
            .get("connection")
            .and_then(|value| value.to_str().ok()),
        Some("close")
    );
    assert_eq!(work.text().await.expect("a body"), "done");

    // After the drain the listener is closed, and the request that was in
    // flight all along still got its answer.
    tokio::time::sleep(drain_period + Duration::from_millis(300)).await;
    assert!(
        client.get(url("/work")).send().await.is_err(),
        "a new connection after the drain is refused"
    );
    assert_eq!(
        slow.await
            .expect("the request task")
            .expect("the in-flight request is answered"),
        "slow done"
    );
    server
        .await
        .expect("the server task")
        .expect("the server stops cleanly");
}
