//! The payment process killed between the provider's charge and its own
//! commit: the real `talentgraph-payment` binary, a real NATS server and
//! localstripe behind the proxy. The proxy holds the provider's answer, the
//! test kills the process (SIGKILL) while it waits, and a restarted process
//! completes the purchase: the redelivered charge event is the same charge
//! at the provider (its idempotency key is the invoice id), so the invoice
//! is paid once and the credits granted once.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;
use talentgraph_kit::testing::{NatsServer, fresh_database};
use talentgraph_payment::store::{self, CreditPurchase};
use talentgraph_payment::{MIGRATOR, demo};
use talentgraph_payment_provider::local::{LOCAL_SECRET_KEY, LocalProvider};
use talentgraph_payment_provider::proxy::Faults;

const WORLD: DemoWorld = DemoWorld::SMALL;

/// The payment process, killed (SIGKILL, as a crash ends it) and reaped by
/// its own pid when the test kills it or ends, also by a failed assertion.
struct Payment(Child);

impl Payment {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Payment {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh payment database with the small demo world, a NATS server and
/// the local provider: what each test here starts from.
async fn seeded_world() -> (Database, String, NatsServer, LocalProvider) {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh payment database");
    demo::seed(&database, &WORLD).await.expect("seeds");
    let nats = NatsServer::start();
    let provider = LocalProvider::start().await.expect("localstripe starts");
    (database, url, nats, provider)
}

fn start_payment(database_url: &str, nats: &NatsServer, provider: &LocalProvider) -> Payment {
    let port = talentgraph_kit::testing::unused_loopback_port();
    let child = Command::new(env!("CARGO_BIN_EXE_talentgraph-payment"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("NATS_URL", nats.url())
        .env("PAYMENT_PROVIDER_URL", provider.url())
        .env("PAYMENT_PROVIDER_SECRET_KEY", LOCAL_SECRET_KEY)
        // Short, so the killed process's unacknowledged delivery comes
        // back within seconds (the acknowledgement wait is three times it).
        .env("PAYMENT_PROVIDER_TIMEOUT_SECONDS", "2")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts the payment binary");
    Payment(child)
}

/// A purchase whose charge has reached the provider while its answer is
/// still held by the proxy for `hold_ms`: the moment between the provider's
/// charge and payment's commit. Returns the running payment process and
/// the invoice.
async fn purchase_caught_mid_charge(
    database: &Database,
    url: &str,
    nats: &NatsServer,
    provider: &LocalProvider,
    hold_ms: u64,
    credits: i32,
) -> (Payment, uuid::Uuid) {
    provider
        .inject(Faults {
            hold_next: 1,
            hold_ms,
            ..Faults::default()
        })
        .await
        .expect("injects the fault");
    let payment = start_payment(url, nats, provider);
    let invoice_id = store::purchase_job_credits(
        database,
        CreditPurchase {
            organization_id: WORLD.organization_id(0),
            credits,
            idempotency_key: &format!("mid-charge-{credits}-{hold_ms}"),
            payment_method: "pm_card_visa",
        },
    )
    .await
    .unwrap_or_else(|_| panic!("the purchase is accepted"))
    .invoice
    .id;
    let deadline = Instant::now() + Duration::from_secs(30);
    while provider
        .stats()
        .await
        .expect("stats")
        .payment_intents_created
        == 0
    {
        assert!(Instant::now() < deadline, "the worker never charged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (payment, invoice_id)
}

/// One charge at the provider, one ledger pair, the credits granted once.
async fn assert_paid_once(
    database: &Database,
    provider: &LocalProvider,
    invoice_id: uuid::Uuid,
    credits: i32,
) {
    let intents = provider.payment_intents().await.expect("lists charges");
    assert_eq!(intents.len(), 1, "one charge at the provider");
    let ledger_rows: i64 = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT count(*) FROM ledger_entries WHERE invoice_id = $1")
                .bind(invoice_id),
        )
        .await
        .expect("counts ledger rows");
    assert_eq!(ledger_rows, 2, "one ledger pair");
    let balance: i32 = database
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT job_credits FROM credit_balances WHERE organization_id = $1",
            )
            .bind(WORLD.organization_id(0)),
        )
        .await
        .expect("reads the balance");
    assert_eq!(balance, 5 + credits, "credits granted once");
    assert!(
        store::ledger_violations(database)
            .await
            .expect("checks")
            .is_empty()
    );
}

async fn invoice_status(database: &Database, invoice_id: uuid::Uuid) -> String {
    database
        .fetch_scalar(
            sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1").bind(invoice_id),
        )
        .await
        .expect("reads the invoice")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_process_killed_after_the_charge_is_completed_after_restart() {
    let (database, url, nats, provider) = seeded_world().await;
    // The answer is held for four seconds: longer than the kill takes and
    // shorter than the redelivery.
    let (mut payment, invoice_id) =
        purchase_caught_mid_charge(&database, &url, &nats, &provider, 4_000, 7).await;
    // Charged at the provider, not yet committed here: kill it now.
    payment.kill();
    assert_eq!(invoice_status(&database, invoice_id).await, "PENDING");

    let mut payment = start_payment(&url, &nats, &provider);
    let deadline = Instant::now() + Duration::from_secs(90);
    while invoice_status(&database, invoice_id).await != "PAID" {
        assert!(
            Instant::now() < deadline,
            "the restarted process never completed the purchase"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    payment.kill();
    assert_paid_once(&database, &provider, invoice_id, 7).await;
    let stats = provider.stats().await.expect("stats");
    println!("killed after the charge, completed after restart: {stats:?}");
}

/// PostgreSQL restarted while the worker waits for the provider's answer:
/// the worker's transaction dies with the server, its settlement fails, and
/// the retry after the restart learns the charge from the provider by its
/// key. Nothing committed is lost, nothing is charged twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_restart_mid_charge_loses_nothing() {
    use talentgraph_kit::local_postgres::PersistentCluster;
    let directory = tempfile::tempdir().expect("a temporary directory");
    let port = talentgraph_kit::testing::unused_loopback_port();
    let cluster = PersistentCluster::ensure_running(directory.path(), port)
        .expect("a PostgreSQL cluster of this test's own");
    let admin = Database::connect(&cluster.url_for("postgres"), 1, Duration::from_secs(10))
        .await
        .expect("connects to the cluster");
    admin
        .execute(sqlx::query("CREATE DATABASE tg_payment_restart"))
        .await
        .expect("creates the database");
    admin.close().await;
    let url = cluster.url_for("tg_payment_restart");
    let database = Database::connect(&url, 4, Duration::from_secs(30))
        .await
        .expect("connects");
    database.run_migrations(&MIGRATOR).await.expect("migrates");
    demo::seed(&database, &WORLD).await.expect("seeds");

    let nats = NatsServer::start();
    let provider = LocalProvider::start().await.expect("localstripe starts");
    let (mut payment, invoice_id) =
        purchase_caught_mid_charge(&database, &url, &nats, &provider, 3_000, 3).await;
    // The worker holds the invoice's lock and waits for the answer: restart
    // the server under it.
    cluster.stop().expect("stops PostgreSQL");
    let restarted =
        PersistentCluster::ensure_running(directory.path(), port).expect("starts PostgreSQL again");

    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let status: Result<String, _> = database
            .fetch_scalar(
                sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1").bind(invoice_id),
            )
            .await;
        if status.is_ok_and(|status| status == "PAID") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the purchase was not completed after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    payment.kill();
    assert_paid_once(&database, &provider, invoice_id, 3).await;
    println!(
        "PostgreSQL restarted mid-charge: {:?}",
        provider.stats().await.expect("stats")
    );
    database.close().await;
    restarted.stop().expect("stops PostgreSQL");
}

/// The charge worker charges what the invoice row says, not what the event
/// says: a `charge.requested` whose amount was changed on its way (here in
/// the outbox, before the relay publishes it) still charges the invoice's
/// total, so whoever can put an envelope on the bus cannot choose an
/// amount.
#[tokio::test(flavor = "multi_thread")]
async fn the_charge_is_the_invoices_total_whatever_the_event_says() {
    let (database, url, nats, provider) = seeded_world().await;
    let invoice = store::purchase_job_credits(
        &database,
        CreditPurchase {
            organization_id: WORLD.organization_id(0),
            credits: 3,
            idempotency_key: "forged-amount",
            payment_method: "pm_card_visa",
        },
    )
    .await
    .unwrap_or_else(|_| panic!("the purchase is accepted"))
    .invoice;
    // No payment process runs yet: the event waits in the outbox.
    let changed = database
        .execute(sqlx::query(
            "UPDATE outbox SET envelope = jsonb_set(envelope, '{data,amountCents}', '1') \
             WHERE published_at IS NULL AND envelope->>'type' = 'charge.requested'",
        ))
        .await
        .expect("changes the event");
    assert_eq!(changed, 1);

    let mut payment = start_payment(&url, &nats, &provider);
    let deadline = Instant::now() + Duration::from_secs(60);
    while invoice_status(&database, invoice.id).await != "PAID" {
        assert!(Instant::now() < deadline, "the invoice was never paid");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    payment.kill();
    let intents = provider.payment_intents().await.expect("lists charges");
    assert_eq!(intents.len(), 1, "one charge at the provider");
    assert_eq!(intents[0].amount, i64::from(invoice.total_cents));
    assert_eq!(
        intents[0].currency.to_uppercase(),
        invoice.currency.to_uppercase()
    );
}
