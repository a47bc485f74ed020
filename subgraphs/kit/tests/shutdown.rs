//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use talentgraph_kit::server::{bind, serve};

/// A request that is being served when shutdown begins still gets its full
/// answer; afterwards the server stops accepting connections.
#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(600)).await;
            "finished"
        }),
    );
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("binds");
    let address = listener.local_addr().expect("has an address");
    let (begin_shutdown, shutdown_requested) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        app,
        async move {
            let _ = shutdown_requested.await;
        },
        Duration::from_secs(10),
    ));

    let client = reqwest::Client::new();
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .get(format!("http://{address}/slow"))
                .send()
                .await?
                .text()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    begin_shutdown
        .send(())
        .expect("the server is listening for shutdown");

    let body = in_flight
        .await
        .expect("the request task completes")
        .expect("the in-flight request succeeds");
    assert_eq!(body, "finished");
    server
        .await
        .expect("the server task completes")
        .expect("the server stops cleanly");
    assert!(
        client
            .get(format!("http://{address}/slow"))
            .send()
            .await
            .is_err(),
        "a stopped server accepts no new requests"
    );
}
