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

/// A client that sends part of its headers and then nothing is cut off
/// after the header timeout, and one that stalls its body gets an error
/// answer after the body timeout; neither holds its connection for good,
/// and the server keeps answering others meanwhile.
#[tokio::test]
async fn slow_clients_are_cut_off() {
    use talentgraph_kit::server::{ConnectionTimeouts, serve_with_timeouts};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = Router::new().route(
        "/echo",
        axum::routing::post(|body: axum::body::Bytes| async move { body.len().to_string() })
            .get(|| async { "up" }),
    );
    let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("binds");
    let address = listener.local_addr().expect("has an address");
    tokio::spawn(serve_with_timeouts(
        listener,
        app,
        std::future::pending(),
        Duration::from_secs(1),
        ConnectionTimeouts {
            header_read: Duration::from_millis(300),
            body_read: Duration::from_millis(300),
        },
    ));

    // Half a request line, then silence: the server closes the connection.
    let mut slow_headers = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    slow_headers
        .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        slow_headers.read_to_end(&mut answer),
    )
    .await
    .expect("the server closes the connection well within 10 s");
    assert!(read.is_ok());

    // Headers promising 100 bytes, 10 of them sent: the body read fails
    // and the client gets an answer (not a hung request).
    let mut slow_body = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    slow_body
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .expect("writes");
    let mut answer = vec![0_u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), slow_body.read(&mut answer))
        .await
        .expect("the server answers or closes well within 10 s")
        .expect("reads");
    let text = String::from_utf8_lossy(&answer[..read]);
    assert!(
        read == 0 || !text.starts_with("HTTP/1.1 200"),
        "a stalled body is not answered as a success: {text}"
    );

    let up = reqwest::get(format!("http://{address}/echo"))
        .await
        .expect("answers")
        .text()
        .await
        .expect("a body");
    assert_eq!(up, "up");
}
