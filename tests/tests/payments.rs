//! Payments through the whole stack: the real router, payment's charge
//! worker and relay, a real NATS server, and localstripe behind the
//! idempotency and fault proxy. Charges are counted at localstripe.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use talentgraph_e2e::{DemoAccount, Stack, StackOptions, WORLD, operation_document};
use talentgraph_payment_provider::proxy::Faults;
use uuid::Uuid;

/// The demo recruiter's organization: five seeded credits.
fn recruiter_organization() -> Uuid {
    WORLD.organization_id(
        WORLD
            .recruiter_organization(WORLD.demo_recruiter())
            .expect("the demo recruiter recruits"),
    )
}

async fn purchase(
    stack: &Stack,
    token: &str,
    organization: Uuid,
    credits: i32,
    payment_method: &str,
    key: &str,
) -> Value {
    let (response, _) = stack
        .request(
            Some(token),
            &operation_document("PurchaseJobCredits"),
            Some("PurchaseJobCredits"),
            json!({
                "input": { "organizationId": organization.to_string(), "credits": credits, "paymentMethod": payment_method },
                "idempotencyKey": key,
            }),
        )
        .await;
    response.body
}

/// A purchase that must be accepted; its invoice's id.
async fn purchased_invoice(
    stack: &Stack,
    token: &str,
    organization: Uuid,
    credits: i32,
    payment_method: &str,
    key: &str,
) -> String {
    let body = purchase(stack, token, organization, credits, payment_method, key).await;
    body["data"]["purchaseJobCredits"]["invoice"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the purchase is accepted: {body:#}"))
        .to_owned()
}

/// Makes the provider fail every call (503 before the API) until cleared.
async fn fail_every_provider_call(stack: &Stack) {
    stack
        .provider()
        .inject(Faults {
            fail_next: 1_000,
            ..Faults::default()
        })
        .await
        .expect("injects the fault");
}

/// Polls `invoice(id)` through the router until it leaves `PENDING`.
async fn settled_invoice(stack: &Stack, token: &str, invoice_id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (response, _) = stack
            .request(
                Some(token),
                &operation_document("InvoiceStatus"),
                Some("InvoiceStatus"),
                json!({ "id": invoice_id }),
            )
            .await;
        let invoice = response.body["data"]["invoice"].clone();
        if invoice["status"] != "PENDING" && !invoice.is_null() {
            return invoice;
        }
        assert!(
            Instant::now() < deadline,
            "invoice {invoice_id} still pending: {:#}",
            response.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

async fn scalar_i64(stack: &Stack, sql: &str, id: Uuid) -> i64 {
    stack
        .subgraph("payment")
        .database
        .fetch_scalar(sqlx::query_scalar(sql).bind(id))
        .await
        .unwrap_or_else(|error| panic!("{sql}: {}", error.detail()))
}

async fn balance(stack: &Stack, organization: Uuid) -> i64 {
    scalar_i64(
        stack,
        "SELECT job_credits::bigint FROM credit_balances WHERE organization_id = $1",
        organization,
    )
    .await
}

/// What `payment-reconcile` reports for the stack: the ledger's
/// invariants and the differences with the provider.
async fn reconcile(stack: &Stack) -> Vec<String> {
    let client = talentgraph_payment_provider::ProviderClient::new(
        talentgraph_payment_provider::ProviderSettings {
            base_url: stack.provider().url(),
            secret_key: talentgraph_payment_provider::local::LOCAL_SECRET_KEY.to_owned(),
            request_timeout: Duration::from_secs(10),
        },
    )
    .expect("a provider client");
    talentgraph_payment::reconcile::reconcile(&stack.subgraph("payment").database, &client)
        .await
        .expect("reconciles")
}

/// How many charges localstripe holds (counted at the provider, not the
/// proxy).
async fn charges_at_provider(stack: &Stack) -> usize {
    stack
        .provider()
        .payment_intents()
        .await
        .expect("lists the provider's charges")
        .len()
}

async fn assert_ledger_invariants(stack: &Stack) {
    let differences = reconcile(stack).await;
    assert!(differences.is_empty(), "{differences:#?}");
}

async fn post_job(stack: &Stack, token: &str, organization: Uuid, title: &str) -> String {
    let (response, _) = stack
        .request(
            Some(token),
            "mutation($input: PostJobInput!) { postJob(input: $input) { id } }",
            None,
            json!({ "input": {
                "organizationId": organization.to_string(),
                "title": title,
                "description": "Paid for with a job credit.",
                "location": "Remote",
                "employmentType": "FULL_TIME",
            } }),
        )
        .await;
    response.body["data"]["postJob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("postJob: {:#}", response.body))
        .to_owned()
}

/// The checkout flow by hand, as a test: buy credits (the invoice is
/// `PENDING`, then `PAID` with the credits granted and one provider
/// charge), post a job (one credit consumed, once), and post as an
/// organization without credits (the posting is `REJECTED` and leaves
/// search). The ledger's invariants hold at the end.
#[tokio::test(flavor = "multi_thread")]
async fn checkout_pays_and_postings_consume_credits() {
    let stack = Stack::start(StackOptions::default()).await;
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();
    let organization = recruiter_organization();
    assert_eq!(balance(&stack, organization).await, 5);

    let body = purchase(
        &stack,
        &recruiter,
        organization,
        10,
        "pm_card_visa",
        "checkout-0001",
    )
    .await;
    let payload = &body["data"]["purchaseJobCredits"];
    assert_eq!(payload["invoice"]["status"], "PENDING", "{body:#}");
    let invoice_id = payload["invoice"]["id"]
        .as_str()
        .expect("an invoice id")
        .to_owned();
    let invoice = settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(15)).await;
    assert_eq!(invoice["status"], "PAID", "{invoice:#}");
    assert!(invoice["paidAt"].is_string());
    assert_eq!(invoice["organization"]["billing"]["jobCredits"], 15);
    let intents = stack
        .provider()
        .payment_intents()
        .await
        .expect("lists charges");
    assert_eq!(intents.len(), 1, "one provider charge");
    assert_eq!(
        intents[0].amount,
        i64::from(talentgraph_payment::purchase_total_cents(10))
    );
    assert_eq!(intents[0].invoice_id(), Some(invoice_id.as_str()));

    let job_id: Uuid = post_job(&stack, &recruiter, organization, "Credit-funded engineer")
        .await
        .parse()
        .expect("a job id");
    let deadline = Instant::now() + Duration::from_secs(10);
    while balance(&stack, organization).await != 14 {
        assert!(
            Instant::now() < deadline,
            "no credit was consumed for the job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        scalar_i64(
            &stack,
            "SELECT count(*) FROM ledger_entries WHERE job_id = $1 AND kind = 'CONSUME'",
            job_id
        )
        .await,
        2,
        "one consumption: the organization's entry and the platform's"
    );

    // Organization 15 has no credits ((15 + 5) % 20): a posting for it (by
    // the platform admin, who may post for any organization) is rejected
    // and leaves search.
    let poor_organization = WORLD.organization_id(15);
    assert_eq!(balance(&stack, poor_organization).await, 0);
    let admin = stack.token(DemoAccount::Admin).to_owned();
    let rejected = post_job(&stack, &admin, poor_organization, "Unfunded engineer").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (response, _) = stack
            .request(
                Some(&admin),
                "query($id: ID!) { job(id: $id) { status } }",
                None,
                json!({ "id": rejected }),
            )
            .await;
        if response.body["data"]["job"]["status"] == "REJECTED" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the posting was never rejected: {:#}",
            response.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (response, _) = stack
        .request(
            None,
            "query($o: ID!) { jobs(first: 100, filter: { organizationId: $o }) { edges { node { id } } } }",
            None,
            json!({ "o": poor_organization.to_string() }),
        )
        .await;
    assert!(
        !response.body.to_string().contains(&rejected),
        "a rejected job is not in search: {:#}",
        response.body
    );
    assert_eq!(balance(&stack, poor_organization).await, 0);
    // The rejected posting was never published: a stranger gets no job by
    // its id and may not search the organization's rejected postings; the
    // platform admin still sees it.
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Jobseeker)),
            "query($id: ID!) { job(id: $id) { status } }",
            None,
            json!({ "id": rejected }),
        )
        .await;
    assert!(
        response.body["data"]["job"].is_null(),
        "{:#}",
        response.body
    );
    let rejected_search = "query($o: ID!) { jobs(first: 100, filter: { organizationId: $o, status: REJECTED }) { edges { node { id } } } }";
    let (response, _) = stack
        .request(
            None,
            rejected_search,
            None,
            json!({ "o": poor_organization.to_string() }),
        )
        .await;
    assert_eq!(
        response.body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{:#}",
        response.body
    );
    let (response, _) = stack
        .request(
            Some(&admin),
            rejected_search,
            None,
            json!({ "o": poor_organization.to_string() }),
        )
        .await;
    assert!(
        response.body.to_string().contains(&rejected),
        "the admin finds the rejected posting: {:#}",
        response.body
    );
    let organization_jobs =
        "query($o: ID!) { organization(id: $o) { jobs(first: 100) { edges { node { id } } } } }";
    let (response, _) = stack
        .request(
            None,
            organization_jobs,
            None,
            json!({ "o": poor_organization.to_string() }),
        )
        .await;
    assert!(
        response.body["errors"].is_null() && !response.body.to_string().contains(&rejected),
        "the organization's public job list leaves the rejected posting out: {:#}",
        response.body
    );
    let (response, _) = stack
        .request(
            Some(&admin),
            organization_jobs,
            None,
            json!({ "o": poor_organization.to_string() }),
        )
        .await;
    assert!(
        response.body.to_string().contains(&rejected),
        "{:#}",
        response.body
    );
    // Jobseeker hears of the rejection too: the job takes no applications.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (response, _) = stack
            .request(
                Some(stack.token(DemoAccount::Jobseeker)),
                &operation_document("ApplyToJob"),
                Some("ApplyToJob"),
                json!({ "jobId": rejected }),
            )
            .await;
        if response.body["errors"][0]["extensions"]["reason"] == "JOB_CLOSED" {
            break;
        }
        assert!(
            Instant::now() < deadline && response.body["data"].is_null(),
            "an application to a rejected posting: {:#}",
            response.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_ledger_invariants(&stack).await;
}

/// A declined card: the invoice is `FAILED` with the provider's reason, no
/// credits are granted, and the failure is announced.
#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_fails_the_invoice_with_its_reason() {
    let stack = Stack::start(StackOptions::default()).await;
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();
    let organization = recruiter_organization();
    let invoice_id = purchased_invoice(
        &stack,
        &recruiter,
        organization,
        3,
        "pm_card_chargeCustomerFail",
        "declined-0001",
    )
    .await;
    let invoice = settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(15)).await;
    assert_eq!(invoice["status"], "FAILED");
    assert_eq!(invoice["failureReason"], "Your card was declined.");
    assert_eq!(invoice["organization"]["billing"]["jobCredits"], 5);
    let failures = scalar_i64(
        &stack,
        "SELECT count(*) FROM outbox WHERE subject = 'talentgraph.payment.invoice.payment_failed.v1' \
         AND envelope->'data'->>'invoiceId' = $1::text",
        invoice_id.parse().expect("a uuid"),
    )
    .await;
    assert_eq!(failures, 1);
    assert_ledger_invariants(&stack).await;
}

/// 1,000 concurrent retries of one purchase with one key through the
/// router: one invoice, one provider charge, one ledger pair, and every
/// answer names the same invoice.
#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_concurrent_retries_charge_once() {
    // A thousand requests at once queue for payment's ten connections on a
    // two-core debug build: the router and the pool must wait for the last
    // of them (with production's five-second acquire timeout the tail of
    // the burst is refused instead).
    let stack = Stack::start(StackOptions {
        subgraph_timeout: "120s",
        database_acquire_timeout: Duration::from_secs(120),
        client_timeout: Duration::from_secs(180),
        ..StackOptions::default()
    })
    .await;
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();
    let organization = recruiter_organization();
    let invoices_before = scalar_i64(
        &stack,
        "SELECT count(*) FROM invoices WHERE organization_id = $1",
        organization,
    )
    .await;
    let attempts = (0..1_000).map(|_| {
        purchase(
            &stack,
            &recruiter,
            organization,
            4,
            "pm_card_visa",
            "retried-checkout-1",
        )
    });
    let started = Instant::now();
    let answers = futures::future::join_all(attempts).await;
    let elapsed = started.elapsed();
    let identities: HashSet<String> = answers
        .iter()
        .map(|body| {
            let invoice = &body["data"]["purchaseJobCredits"]["invoice"];
            assert!(
                invoice["id"].is_string(),
                "every retry is answered: {body:#}"
            );
            format!("{}", invoice["id"])
        })
        .collect();
    assert_eq!(identities.len(), 1, "one invoice for 1,000 attempts");
    let replayed = answers
        .iter()
        .filter(|body| body["data"]["purchaseJobCredits"]["replayed"] == true)
        .count();
    assert_eq!(replayed, 999);
    let invoice_id = identities
        .into_iter()
        .next()
        .expect("one")
        .trim_matches('"')
        .to_owned();
    let invoice = settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(15)).await;
    assert_eq!(invoice["status"], "PAID");
    assert_eq!(
        scalar_i64(
            &stack,
            "SELECT count(*) FROM invoices WHERE organization_id = $1",
            organization
        )
        .await,
        invoices_before + 1
    );
    assert_eq!(
        scalar_i64(
            &stack,
            "SELECT count(*) FROM ledger_entries WHERE invoice_id = $1",
            invoice_id.parse().expect("a uuid")
        )
        .await,
        2,
        "one ledger pair"
    );
    assert_eq!(charges_at_provider(&stack).await, 1);
    assert_eq!(balance(&stack, organization).await, 5 + 4);
    println!(
        "1,000 concurrent retries: 1 invoice, 1 provider charge, 1 ledger pair, {replayed} replayed answers ({elapsed:?} for all answers)"
    );
}

/// The provider charges but its answer is lost: the worker's retry with the
/// same key learns the outcome from the proxy's idempotency store. One
/// charge, the invoice paid once.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_provider_answer_is_recovered_by_the_key() {
    let stack = Stack::start(StackOptions::default()).await;
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();
    let organization = recruiter_organization();
    stack
        .provider()
        .inject(Faults {
            drop_next: 1,
            ..Faults::default()
        })
        .await
        .expect("injects the fault");
    let invoice_id = purchased_invoice(
        &stack,
        &recruiter,
        organization,
        2,
        "pm_card_visa",
        "dropped-0001",
    )
    .await;
    let invoice = settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(15)).await;
    assert_eq!(invoice["status"], "PAID");
    let stats = stack.provider().stats().await.expect("proxy stats");
    assert_eq!(stats.dropped_responses, 1);
    assert!(stats.replayed >= 1, "{stats:?}");
    assert_eq!(charges_at_provider(&stack).await, 1);
    assert_eq!(balance(&stack, organization).await, 5 + 2);
    assert_ledger_invariants(&stack).await;
    println!("lost answer: {stats:?}");
}

/// The provider is down: the charge is retried, the circuit breaker opens
/// and holds it, and after the last attempt the invoice is
/// `PAYMENT_ERROR` and the event a dead letter. Once the provider is back,
/// replaying the dead letter pays the invoice, once.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_provider_dead_letters_and_a_replay_pays() {
    let stack = Stack::start(StackOptions::default()).await;
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();
    let organization = recruiter_organization();
    fail_every_provider_call(&stack).await;
    let invoice_id = purchased_invoice(
        &stack,
        &recruiter,
        organization,
        1,
        "pm_card_visa",
        "outage-0001",
    )
    .await;
    let invoice = settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(30)).await;
    assert_eq!(invoice["status"], "PAYMENT_ERROR", "{invoice:#}");
    let attempts = stack
        .provider()
        .stats()
        .await
        .expect("stats")
        .injected_failures;
    assert_eq!(
        attempts,
        StackOptions::default().charge_retries.max_attempts as u64,
        "one provider call per delivery; none while the breaker held the charge"
    );
    assert_eq!(charges_at_provider(&stack).await, 0);

    let broker = talentgraph_kit::events::Broker::connect(&stack.nats_url(), "payments-test")
        .await
        .expect("connects");
    // The invoice is marked just before the message is dead-lettered.
    let deadline = Instant::now() + Duration::from_secs(10);
    let letter = loop {
        let letters = broker.dead_letters().await.expect("lists dead letters");
        if let Some(letter) = letters
            .into_iter()
            .find(|letter| letter.consumer == "payment-charges")
        {
            break letter;
        }
        assert!(
            Instant::now() < deadline,
            "the charge never became a dead letter"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(letter.error.contains("unavailable"), "{}", letter.error);

    stack
        .provider()
        .inject(Faults::default())
        .await
        .expect("clears the faults");
    broker
        .replay_dead_letter(letter.sequence)
        .await
        .expect("replays");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let invoice =
            settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(1)).await;
        if invoice["status"] == "PAID" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replay never paid: {invoice:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(charges_at_provider(&stack).await, 1);
    assert_eq!(balance(&stack, organization).await, 5 + 1);
    assert_ledger_invariants(&stack).await;
}

/// A PaymentIntent made at localstripe itself, past the proxy and the
/// charge worker: a charge the worker never learned of. Its id.
async fn payment_made_at_the_provider(
    stack: &Stack,
    invoice_id: &str,
    amount_cents: i64,
    currency: &str,
) -> String {
    let amount = amount_cents.to_string();
    let intent: Value = reqwest::Client::new()
        .post(format!(
            "{}/v1/payment_intents",
            stack.provider().localstripe_url()
        ))
        .basic_auth(
            talentgraph_payment_provider::local::LOCAL_SECRET_KEY,
            Some(""),
        )
        .form(&[
            ("amount", amount.as_str()),
            ("currency", currency),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
            ("metadata[invoice_id]", invoice_id),
        ])
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("a PaymentIntent");
    assert_eq!(intent["status"], "succeeded", "{intent:#}");
    intent["id"].as_str().expect("an id").to_owned()
}

/// Delivers a `payment_intent.succeeded` for `payment_id` naming
/// `invoice_id`, signed with `secret`; the answer's status.
async fn deliver_succeeded(
    stack: &Stack,
    secret: &str,
    event_id: &str,
    payment_id: &str,
    invoice_id: &str,
) -> u16 {
    let event = json!({
        "id": event_id,
        "type": "payment_intent.succeeded",
        "data": { "object": { "id": payment_id, "status": "succeeded", "metadata": { "invoice_id": invoice_id } } },
    })
    .to_string();
    reqwest::Client::new()
        .post(stack.subgraph("payment").url("/webhooks/provider"))
        .header(
            "stripe-signature",
            talentgraph_payment_provider::webhook::sign(secret, event.as_bytes(), unix_now()),
        )
        .body(event)
        .send()
        .await
        .expect("answers")
        .status()
        .as_u16()
}

/// The webhook settles only what the provider confirms. The worker gave
/// up on an invoice (the provider was down; `PAYMENT_ERROR`); then a
/// forged signature is refused, and signed events that name a payment the
/// provider does not have, or a real payment of another amount, settle
/// nothing. A real payment of the invoice's amount, made past the worker
/// (as when the worker died after the charge), pays it, once, however
/// often the event comes.
#[tokio::test(flavor = "multi_thread")]
async fn a_signed_webhook_settles_only_a_payment_the_provider_confirms() {
    let stack = Stack::start(StackOptions::default()).await;
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();
    let organization = recruiter_organization();
    fail_every_provider_call(&stack).await;
    let invoice_id = purchased_invoice(
        &stack,
        &recruiter,
        organization,
        2,
        "pm_card_visa",
        "webhook-0001",
    )
    .await;
    let invoice = settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(30)).await;
    assert_eq!(invoice["status"], "PAYMENT_ERROR", "{invoice:#}");
    stack
        .provider()
        .inject(Faults::default())
        .await
        .expect("clears the faults");
    let invoice_uuid = Uuid::parse_str(&invoice_id).expect("a uuid");
    let total = scalar_i64(
        &stack,
        "SELECT total_cents::bigint FROM invoices WHERE id = $1",
        invoice_uuid,
    )
    .await;
    let status = || async {
        stack
            .subgraph("payment")
            .database
            .fetch_scalar::<String>(
                sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1").bind(invoice_uuid),
            )
            .await
            .expect("reads the invoice")
    };
    let secret = talentgraph_e2e::PROVIDER_WEBHOOK_SECRET;

    assert_eq!(
        deliver_succeeded(
            &stack,
            "whsec_wrong",
            "evt_forged_1",
            "pi_forged",
            &invoice_id
        )
        .await,
        400
    );
    assert_eq!(
        deliver_succeeded(
            &stack,
            secret,
            "evt_unknown_1",
            "pi_never_made",
            &invoice_id
        )
        .await,
        200,
        "nothing to retry"
    );
    assert_eq!(
        status().await,
        "PAYMENT_ERROR",
        "a payment the provider never made"
    );
    let half = payment_made_at_the_provider(&stack, &invoice_id, total / 2, "eur").await;
    assert_eq!(
        deliver_succeeded(&stack, secret, "evt_half_1", &half, &invoice_id).await,
        200
    );
    assert_eq!(
        status().await,
        "PAYMENT_ERROR",
        "a payment of another amount"
    );
    let other_currency = payment_made_at_the_provider(&stack, &invoice_id, total, "usd").await;
    assert_eq!(
        deliver_succeeded(&stack, secret, "evt_usd_1", &other_currency, &invoice_id).await,
        200
    );
    assert_eq!(
        status().await,
        "PAYMENT_ERROR",
        "a payment in another currency"
    );

    let paid = payment_made_at_the_provider(&stack, &invoice_id, total, "eur").await;
    for _ in 0..2 {
        assert_eq!(
            deliver_succeeded(&stack, secret, "evt_paid_1", &paid, &invoice_id).await,
            200
        );
    }
    assert_eq!(status().await, "PAID");
    let settled_by: String = stack
        .subgraph("payment")
        .database
        .fetch_scalar(
            sqlx::query_scalar("SELECT provider_payment_id FROM invoices WHERE id = $1")
                .bind(invoice_uuid),
        )
        .await
        .expect("reads the invoice");
    assert_eq!(settled_by, paid, "settled by the payment of its amount");
    assert_eq!(
        balance(&stack, organization).await,
        5 + 2,
        "credits granted once"
    );
}

/// A plan upgrade is an invoice for the difference: the plan stays until
/// the charge is paid, then the organization is on the new plan, active,
/// with the badge it carries.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_upgrade_takes_effect_when_paid() {
    let stack = Stack::start(StackOptions::default()).await;
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();
    let organization = recruiter_organization();
    let (response, _) = stack
        .request(
            Some(&recruiter),
            "mutation($id: ID!) { changePlan(organizationId: $id, plan: GROWTH, paymentMethod: \"pm_card_visa\", idempotencyKey: \"upgrade-0001\") { \
               billing { plan { code } } invoice { id status totalCents } } }",
            None,
            json!({ "id": organization.to_string() }),
        )
        .await;
    let payload = &response.body["data"]["changePlan"];
    assert_eq!(
        payload["billing"]["plan"]["code"], "FREE",
        "{:#}",
        response.body
    );
    assert_eq!(payload["invoice"]["totalCents"], 29_900);
    let invoice_id = payload["invoice"]["id"]
        .as_str()
        .expect("an invoice")
        .to_owned();
    let invoice = settled_invoice(&stack, &recruiter, &invoice_id, Duration::from_secs(15)).await;
    assert_eq!(invoice["status"], "PAID");
    let (response, _) = stack
        .request(
            Some(&recruiter),
            "query($id: ID!) { organization(id: $id) { billingVerified billing { plan { code } status } } }",
            None,
            json!({ "id": organization.to_string() }),
        )
        .await;
    let billing = &response.body["data"]["organization"];
    assert_eq!(
        billing["billing"]["plan"]["code"], "GROWTH",
        "{:#}",
        response.body
    );
    assert_eq!(billing["billing"]["status"], "ACTIVE");
    assert_eq!(billing["billingVerified"], true);
    assert_ledger_invariants(&stack).await;
}
