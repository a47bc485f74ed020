//! The ledger's invariants under a random mix of what happens to money:
//! purchases, their retries, the provider's answers (paid, declined, lost
//! and retried, delivered twice by worker and webhook), dead-lettered
//! charges and postings (some of them redelivered). After every step,
//! every ledger transaction sums to zero, every balance equals its
//! organization's entries, no balance is negative, and each invoice is paid
//! at most once.
//!
//! The steps come from a seeded generator: a failure prints the seed and
//! the step, and `LEDGER_SEED=<seed>` replays it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;
use talentgraph_kit::testing::fresh_database;
use talentgraph_payment::store::{self, CreditPurchase};
use talentgraph_payment::{MIGRATOR, demo};
use uuid::Uuid;

const WORLD: DemoWorld = DemoWorld::SMALL;
const STEPS: usize = 300;

async fn check_invariants(database: &Database, seed: u64, step: usize, action: &str) {
    let violations = store::ledger_violations(database)
        .await
        .expect("checks the ledger");
    assert!(
        violations.is_empty(),
        "seed {seed}, step {step} ({action}): {violations:#?}"
    );
    let negative: i64 = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM credit_balances WHERE job_credits < 0",
        ))
        .await
        .expect("counts negative balances");
    assert_eq!(negative, 0, "seed {seed}, step {step} ({action})");
    let paid_twice: i64 = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT invoice_id FROM ledger_entries \
             WHERE invoice_id IS NOT NULL AND account = 'organization' \
             GROUP BY invoice_id HAVING count(*) > 1) twice",
        ))
        .await
        .expect("counts invoices paid twice");
    assert_eq!(paid_twice, 0, "seed {seed}, step {step} ({action})");
}

/// Settles an invoice the way the worker or the webhook does: under its
/// row lock, only while it waits for its charge.
async fn settle(database: &Database, invoice_id: Uuid, paid: bool) -> bool {
    let mut transaction = database.begin().await.expect("a transaction");
    let state = store::lock_invoice_for_charge(&mut transaction, invoice_id)
        .await
        .expect("locks the invoice")
        .expect("the invoice exists");
    let changed = if store::awaits_charge(&state.status) {
        if paid {
            store::settle_invoice_paid(&mut transaction, invoice_id, &format!("pi_{invoice_id}"))
                .await
                .expect("settles paid")
        } else {
            store::settle_invoice_failed(&mut transaction, invoice_id, "Your card was declined.")
                .await
                .expect("settles failed")
        }
    } else {
        false
    };
    transaction.commit().await.expect("commits");
    changed
}

#[tokio::test]
async fn random_money_movements_keep_the_ledger_balanced() {
    let seed: u64 = std::env::var("LEDGER_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(rand::random);
    println!("LEDGER_SEED={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (database, _url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh payment database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    check_invariants(&database, seed, 0, "demo data").await;

    let mut invoices: Vec<Uuid> = Vec::new();
    let mut keys: Vec<(u64, i32, String)> = Vec::new();
    let mut jobs: Vec<(Uuid, Uuid)> = Vec::new();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for step in 1..=STEPS {
        let organization = rng.gen_range(0..4_u64);
        let action = match rng.gen_range(0..100) {
            0..=24 => {
                let credits = rng.gen_range(1..=20);
                let key = format!("ledger-key-{step:06}");
                let payload = store::purchase_job_credits(
                    &database,
                    CreditPurchase {
                        organization_id: WORLD.organization_id(organization),
                        credits,
                        idempotency_key: &key,
                        payment_method: "pm_card_visa",
                    },
                )
                .await
                .unwrap_or_else(|_| panic!("seed {seed}, step {step}: a purchase"));
                invoices.push(payload.invoice.id);
                keys.push((organization, credits, key));
                "purchase"
            }
            25..=34 if !keys.is_empty() => {
                // A client retry: the same invoice, nothing new.
                let (organization, credits, key) = keys[rng.gen_range(0..keys.len())].clone();
                let payload = store::purchase_job_credits(
                    &database,
                    CreditPurchase {
                        organization_id: WORLD.organization_id(organization),
                        credits,
                        idempotency_key: &key,
                        payment_method: "pm_card_visa",
                    },
                )
                .await
                .unwrap_or_else(|_| panic!("seed {seed}, step {step}: a retry"));
                assert!(payload.replayed, "seed {seed}, step {step}");
                "retried purchase"
            }
            35..=59 if !invoices.is_empty() => {
                // The provider paid: the worker and maybe the webhook too.
                let invoice = invoices[rng.gen_range(0..invoices.len())];
                settle(&database, invoice, true).await;
                if rng.gen_bool(0.3) {
                    assert!(
                        !settle(&database, invoice, true).await,
                        "seed {seed}, step {step}: paid twice"
                    );
                }
                "paid"
            }
            60..=69 if !invoices.is_empty() => {
                let invoice = invoices[rng.gen_range(0..invoices.len())];
                settle(&database, invoice, false).await;
                "declined"
            }
            70..=74 if !invoices.is_empty() => {
                // The last attempt failed: PAYMENT_ERROR, replayable later.
                let invoice = invoices[rng.gen_range(0..invoices.len())];
                store::mark_payment_error(&database, invoice)
                    .await
                    .expect("marks the payment error");
                "dead-lettered"
            }
            _ => {
                // A posting, or a posting's event delivered again.
                let (job, posting_organization) = if !jobs.is_empty() && rng.gen_bool(0.2) {
                    jobs[rng.gen_range(0..jobs.len())]
                } else {
                    let job = (Uuid::new_v4(), WORLD.organization_id(organization));
                    jobs.push(job);
                    job
                };
                let mut transaction = database.begin().await.expect("a transaction");
                store::consume_credit_for_job(&mut transaction, posting_organization, job)
                    .await
                    .expect("charges the posting");
                transaction.commit().await.expect("commits");
                "posting"
            }
        };
        *counts.entry(action).or_default() += 1;
        check_invariants(&database, seed, step, action).await;
    }
    println!("{STEPS} steps: {counts:?}");
    assert!(counts.get("posting").copied().unwrap_or_default() > 10);
    assert!(counts.get("paid").copied().unwrap_or_default() > 10);
}
