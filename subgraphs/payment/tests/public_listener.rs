//! The provider's webhook on a listener of its own (`PUBLIC_LISTEN_ADDR`):
//! the real `talentgraph-payment` binary, asked over HTTP on both of its
//! listeners. The public one serves the webhook and nothing else, so a
//! network rule can open it to the provider; the GraphQL one, which only
//! the router may reach, no longer serves the webhook.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use talentgraph_kit::testing::{fresh_database, unused_loopback_port};
use talentgraph_payment::MIGRATOR;

/// The payment process, killed when the test ends, also by a panic.
struct Payment(Child);

impl Drop for Payment {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn status(client: &reqwest::Client, method: reqwest::Method, url: &str) -> u16 {
    client
        .request(method, url)
        .header("content-type", "application/json")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .map(|response| response.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webhook_is_served_on_the_public_listener_only() {
    let (_database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh payment database");
    let graphql_port = unused_loopback_port();
    let public_port = unused_loopback_port();
    let _payment = Payment(
        Command::new(env!("CARGO_BIN_EXE_talentgraph-payment"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{graphql_port}"))
            .env("PUBLIC_LISTEN_ADDR", format!("127.0.0.1:{public_port}"))
            .env(
                "PAYMENT_WEBHOOK_SECRET",
                "public-listener-test-signing-secret",
            )
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starts the payment binary"),
    );
    let client = reqwest::Client::new();
    let graphql = format!("http://127.0.0.1:{graphql_port}");
    let public = format!("http://127.0.0.1:{public_port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while status(&client, reqwest::Method::GET, &format!("{graphql}/ready")).await != 200 {
        assert!(Instant::now() < deadline, "payment never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The webhook answers on the public listener: an unsigned event is
    // refused by the webhook itself (400), not by the routing (404).
    let webhook = talentgraph_payment::webhook::PATH;
    assert_eq!(
        status(
            &client,
            reqwest::Method::POST,
            &format!("{public}{webhook}")
        )
        .await,
        400
    );
    // Nothing else is there: not GraphQL, not health, not metrics.
    for path in ["/graphql", "/health", "/ready", "/metrics"] {
        assert_eq!(
            status(&client, reqwest::Method::POST, &format!("{public}{path}")).await,
            404,
            "POST {path} on the public listener"
        );
        assert_eq!(
            status(&client, reqwest::Method::GET, &format!("{public}{path}")).await,
            404,
            "GET {path} on the public listener"
        );
    }
    // The router's listener serves GraphQL and no longer the webhook.
    assert_eq!(
        status(
            &client,
            reqwest::Method::POST,
            &format!("{graphql}{webhook}")
        )
        .await,
        404
    );
    assert_eq!(
        status(
            &client,
            reqwest::Method::POST,
            &format!("{graphql}/graphql")
        )
        .await,
        200
    );
}

/// A malformed `PUBLIC_LISTEN_ADDR` stops the process at start-up with the
/// variable named (exit code 2), before it connects anywhere.
#[tokio::test]
async fn a_malformed_public_listener_address_is_refused_at_start_up() {
    let output = Command::new(env!("CARGO_BIN_EXE_talentgraph-payment"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("PUBLIC_LISTEN_ADDR", "not an address")
        .output()
        .expect("runs the payment binary");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PUBLIC_LISTEN_ADDR"));
}
