//! The payment subgraph against a real PostgreSQL database, over real HTTP.

use serde_json::{Value, json};
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::testing::{
    LimitProbes, StaticBearerTokens, TestApp, assert_bad_http_input_rejected,
    assert_limits_enforced, count_statements, fresh_database, strict_test_config,
};
use talentgraph_kit::{Database, Role, Viewer};
use talentgraph_payment::{MIGRATOR, SUBGRAPH, demo, purchase_total_cents};

const WORLD: DemoWorld = DemoWorld::SMALL;

fn viewer(user: u64, role: Role) -> Viewer {
    Viewer::User {
        id: WORLD.user_id(user),
        roles: vec![role],
        organizations: WORLD.recruited_organization_ids(user),
    }
}

async fn seeded_payment() -> (TestApp, Database) {
    seeded_payment_with(|_| {}).await
}

/// Like [`seeded_payment`], with the configuration adjusted first.
async fn seeded_payment_with(
    adjust: impl FnOnce(&mut talentgraph_kit::SubgraphConfig),
) -> (TestApp, Database) {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh payment database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    // "recruiter" acts for every organization (as an agency's account
    // would), so batching tests can read them all; "recruiter-of-0" is the
    // world's recruiter of organization 0 only.
    let every_organization = (0..WORLD.organizations)
        .map(|organization| WORLD.organization_id(organization))
        .collect();
    let tokens = StaticBearerTokens::default()
        .with(
            "recruiter",
            Viewer::User {
                id: WORLD.user_id(0),
                roles: vec![Role::Employer],
                organizations: every_organization,
            },
        )
        .with("recruiter-of-0", viewer(0, Role::Employer))
        .with("second-recruiter-of-0", viewer(1, Role::Employer))
        .with("jobseeker", viewer(WORLD.demo_jobseeker(), Role::Jobseeker))
        .with("admin", viewer(WORLD.demo_admin(), Role::Admin));
    let app = TestApp::spawn(SUBGRAPH.app(
        database.clone(),
        &{
            let mut config = strict_test_config(&url);
            adjust(&mut config);
            config
        },
        tokens.shared(),
    ))
    .await
    .expect("the payment app starts");
    (app, database)
}

/// Invoice entity batches of 10 and 100 resolve in order with nulls, in one
/// statement, and resolve to nothing at all for anonymous callers.
#[tokio::test]
async fn invoice_entities_are_batched_and_guarded() {
    let (app, database) = seeded_payment().await;
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Invoice { id number organization { id } } } }";
    for size in [10_u64, 100] {
        let mut representations = Vec::new();
        let mut expected = Vec::new();
        for index in 0..size {
            if index % 10 == 1 {
                representations.push(
                    json!({ "__typename": "Invoice", "id": uuid::Uuid::new_v4().to_string() }),
                );
                expected.push(Value::Null);
            } else {
                let id = WORLD
                    .invoice_id(index % (WORLD.organizations * 3))
                    .to_string();
                representations.push(json!({ "__typename": "Invoice", "id": id }));
                expected.push(Value::String(id));
            }
        }
        let variables = json!({ "representations": representations });
        let (response, statements) =
            count_statements(&database, app.graphql_as("admin", query, variables.clone())).await;
        let ids: Vec<Value> = response.body["data"]["_entities"]
            .as_array()
            .expect("entities")
            .iter()
            .map(|entity| entity.get("id").cloned().unwrap_or(Value::Null))
            .collect();
        assert_eq!(ids, expected, "{:#}", response.body);
        assert_eq!(statements, 1);
        println!("payment _entities batch of {size} Invoice: {statements} SQL statement(s)");
        let (response, statements) =
            count_statements(&database, app.graphql(query, variables)).await;
        assert!(
            response.body["data"]["_entities"]
                .as_array()
                .expect("entities")
                .iter()
                .all(Value::is_null)
        );
        assert_eq!(statements, 0, "anonymous callers cause no invoice reads");
    }
}

/// billing, billingVerified and invoices for every organization cost one
/// statement each, at page size 10 and 100; billing needs an employer.
#[tokio::test]
async fn organization_contributions_are_batched_and_guarded() {
    let (app, database) = seeded_payment_with(talentgraph_kit::testing::batching_limits).await;
    let representations: Vec<Value> = (0..WORLD.organizations)
        .map(|index| json!({ "__typename": "Organization", "id": WORLD.organization_id(index).to_string() }))
        .collect();
    let query = "query($representations: [_Any!]!, $first: Int) { _entities(representations: $representations) { \
        ... on Organization { billingVerified billing { plan { code } status jobCredits } invoices(first: $first) { edges { node { number } } } } } }";
    for first in [10, 100] {
        let (response, statements) = count_statements(
            &database,
            app.graphql_as(
                "recruiter",
                query,
                json!({ "representations": representations, "first": first }),
            ),
        )
        .await;
        assert!(response.body.get("errors").is_none(), "{:#}", response.body);
        assert_eq!(statements, 3, "page size {first}");
        let organizations = response.body["data"]["_entities"]
            .as_array()
            .expect("entities");
        // Demo plans cycle FREE, STARTER, GROWTH, ENTERPRISE; GROWTH and up carry the badge.
        assert_eq!(organizations[2]["billing"]["plan"]["code"], "GROWTH");
        assert_eq!(organizations[2]["billingVerified"], true);
        assert_eq!(organizations[1]["billingVerified"], false);
        // Seeded balances are (index + 5) % 20.
        assert_eq!(organizations[5]["billing"]["jobCredits"], 10);
        assert_eq!(
            organizations[0]["invoices"]["edges"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }
    let response = app
        .graphql(
            query,
            json!({ "representations": representations, "first": 1 }),
        )
        .await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
    let public = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Organization { billingVerified } } }";
    let response = app
        .graphql(public, json!({ "representations": representations }))
        .await;
    assert!(
        response.body.get("errors").is_none(),
        "the badge is public: {:#}",
        response.body
    );
}

/// Job.promotion for 100 jobs is one statement; only running promotions show.
#[tokio::test]
async fn job_promotions_are_batched() {
    let (app, database) = seeded_payment().await;
    let representations: Vec<Value> = (0..100)
        .map(|index| json!({ "__typename": "Job", "id": WORLD.job_id(index).to_string() }))
        .collect();
    let query = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Job { promotion { tier } } } }";
    let (response, statements) = count_statements(
        &database,
        app.graphql(query, json!({ "representations": representations })),
    )
    .await;
    assert_eq!(statements, 1);
    let jobs = response.body["data"]["_entities"]
        .as_array()
        .expect("entities");
    assert_eq!(jobs[0]["promotion"]["tier"], "SPOTLIGHT");
    assert_eq!(jobs[7]["promotion"]["tier"], "FEATURED");
    assert!(jobs[1]["promotion"].is_null());
}

/// A job's promotion, loaded by the entity resolver and answered in one
/// pass, equals the field-by-field answer (a directive sends a fetch the
/// generic way), in one statement; a fetch that does not ask for the
/// promotion loads nothing.
#[tokio::test]
async fn job_entities_answer_in_one_pass_as_field_by_field() {
    let (app, database) = seeded_payment().await;
    let representations: Vec<Value> = (0..40)
        .map(|index| json!({ "__typename": "Job", "id": WORLD.job_id(index).to_string() }))
        .collect();
    let mut answers = Vec::new();
    for directive in ["", "@include(if: true)"] {
        let query = format!(
            "query($representations: [_Any!]!) {{ _entities(representations: $representations) {{ \
             ... on Job {{ __typename id promotion {directive} {{ __typename tier startsAt endsAt }} }} }} }}"
        );
        let (response, statements) = count_statements(
            &database,
            app.graphql(&query, json!({ "representations": representations })),
        )
        .await;
        assert_eq!(statements, 1, "{directive}: {:#}", response.body);
        answers.push(response.body);
    }
    let [one_pass, field_by_field] = <[Value; 2]>::try_from(answers).expect("two answers");
    assert_eq!(one_pass, field_by_field);
    let jobs = one_pass["data"]["_entities"].as_array().expect("entities");
    assert_eq!(jobs.len(), 40);
    assert!(
        jobs.iter()
            .any(|job| job["promotion"]["tier"] == "FEATURED")
    );
    assert!(jobs.iter().any(|job| job["promotion"].is_null()));

    let ids_only = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Job { id } } }";
    let (response, statements) = count_statements(
        &database,
        app.graphql(ids_only, json!({ "representations": representations })),
    )
    .await;
    assert_eq!(statements, 0, "{:#}", response.body);
    assert_eq!(
        response.body["data"]["_entities"][3]["id"],
        WORLD.job_id(3).to_string()
    );
}

const PURCHASE: &str = "mutation($input: PurchaseJobCreditsInput!, $key: String!) { \
    purchaseJobCredits(input: $input, idempotencyKey: $key) { replayed jobCredits invoice { id totalCents status } } }";

fn purchase(organization: u64, credits: i32, key: &str) -> Value {
    json!({ "input": { "organizationId": WORLD.organization_id(organization).to_string(), "credits": credits, "paymentMethod": "pm_card_visa" }, "key": key })
}

async fn count(database: &Database, table: &str) -> i64 {
    database
        .fetch_scalar(sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")))
        .await
        .expect("counts rows")
}

/// A purchase writes a PENDING invoice, its `charge.requested` event and
/// the idempotency record in one transaction, and grants nothing yet (the
/// charge worker does, once the provider confirms); a retry with the same
/// key replays the result without a second invoice or charge event; a key
/// reused for another request is a CONFLICT.
#[tokio::test]
async fn purchases_are_idempotent() {
    let (app, database) = seeded_payment().await;
    let invoices_before = count(&database, "invoices").await;
    let ledger_before = count(&database, "ledger_entries").await;
    let response = app
        .graphql_as("recruiter", PURCHASE, purchase(5, 12, "key-0000001"))
        .await;
    let payload = &response.body["data"]["purchaseJobCredits"];
    assert_eq!(payload["replayed"], false, "{:#}", response.body);
    assert_eq!(payload["invoice"]["status"], "PENDING");
    assert_eq!(
        payload["jobCredits"], 10,
        "nothing is granted before payment"
    );
    assert_eq!(payload["invoice"]["totalCents"], purchase_total_cents(12));
    assert_eq!(count(&database, "invoices").await, invoices_before + 1);
    assert_eq!(count(&database, "ledger_entries").await, ledger_before);
    let subjects: Vec<(String,)> = database
        .fetch_all(sqlx::query_as("SELECT subject FROM outbox"))
        .await
        .expect("reads the outbox");
    assert_eq!(
        subjects,
        [("talentgraph.payment.charge.requested.v1".to_owned(),)]
    );

    let replay = app
        .graphql_as("recruiter", PURCHASE, purchase(5, 12, "key-0000001"))
        .await;
    let replayed = &replay.body["data"]["purchaseJobCredits"];
    assert_eq!(replayed["replayed"], true);
    assert_eq!(replayed["invoice"]["id"], payload["invoice"]["id"]);
    assert_eq!(
        count(&database, "invoices").await,
        invoices_before + 1,
        "a replay charges nothing"
    );
    assert_eq!(count(&database, "outbox").await, 1);

    // Another card with the same key is another request.
    let mut other_card = purchase(5, 12, "key-0000001");
    other_card["input"]["paymentMethod"] = json!("pm_card_mastercard");
    let reused = app.graphql_as("recruiter", PURCHASE, other_card).await;
    assert_eq!(
        reused.body["errors"][0]["extensions"]["reason"],
        "IDEMPOTENCY_KEY_REUSED"
    );

    let reused = app
        .graphql_as("recruiter", PURCHASE, purchase(5, 3, "key-0000001"))
        .await;
    assert_eq!(
        reused.body["errors"][0]["extensions"]["reason"],
        "IDEMPOTENCY_KEY_REUSED"
    );

    for (token, variables, code) in [
        ("recruiter", purchase(5, 0, "key-0000002"), "BAD_USER_INPUT"),
        (
            "recruiter",
            purchase(5, 501, "key-0000002"),
            "BAD_USER_INPUT",
        ),
        ("recruiter", purchase(5, 1, "short"), "BAD_USER_INPUT"),
        // Seven characters but more than eight bytes: the length is counted
        // in characters, and only visible ASCII is a key.
        ("recruiter", purchase(5, 1, "ключ-ключ"), "BAD_USER_INPUT"),
        ("recruiter", purchase(5, 1, "ééééééé"), "BAD_USER_INPUT"),
        (
            "recruiter",
            purchase(5, 1, &"k".repeat(201)),
            "BAD_USER_INPUT",
        ),
        ("jobseeker", purchase(5, 1, "key-0000002"), "FORBIDDEN"),
        (
            "recruiter",
            {
                let mut card = purchase(5, 1, "key-0000002");
                card["input"]["paymentMethod"] = json!("4242 4242 4242 4242");
                card
            },
            "BAD_USER_INPUT",
        ),
    ] {
        let response = app.graphql_as(token, PURCHASE, variables).await;
        assert_eq!(
            response.first_error_code(),
            Some(code),
            "{:#}",
            response.body
        );
    }
    let response = app.graphql(PURCHASE, purchase(5, 1, "key-0000002")).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        count(&database, "invoices").await,
        invoices_before + 1,
        "refused purchases write nothing"
    );
}

/// Ten concurrent retries of one purchase charge exactly once.
#[tokio::test]
async fn concurrent_retries_charge_once() {
    let (app, database) = seeded_payment().await;
    let invoices_before = count(&database, "invoices").await;
    let attempts =
        (0..10).map(|_| app.graphql_as("recruiter", PURCHASE, purchase(7, 4, "concurrent-key-1")));
    let responses = futures::future::join_all(attempts).await;
    let invoice_ids: std::collections::HashSet<String> = responses
        .iter()
        .map(|response| {
            response.body["data"]["purchaseJobCredits"]["invoice"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("every attempt succeeds: {:#}", response.body))
                .to_owned()
        })
        .collect();
    assert_eq!(invoice_ids.len(), 1);
    assert_eq!(count(&database, "invoices").await, invoices_before + 1);
    assert_eq!(
        count(&database, "outbox").await,
        1,
        "one charge requested for ten attempts"
    );
}

/// Two recruiters of one organization retrying one checkout with its key
/// get one purchase: keys belong to the organization.
#[tokio::test]
async fn recruiters_of_one_organization_share_keys() {
    let (app, database) = seeded_payment().await;
    let first = app
        .graphql_as(
            "recruiter-of-0",
            PURCHASE,
            purchase(0, 2, "shared-checkout-key"),
        )
        .await;
    let second = app
        .graphql_as(
            "second-recruiter-of-0",
            PURCHASE,
            purchase(0, 2, "shared-checkout-key"),
        )
        .await;
    assert_eq!(
        first.body["data"]["purchaseJobCredits"]["invoice"]["id"],
        second.body["data"]["purchaseJobCredits"]["invoice"]["id"],
        "{:#} {:#}",
        first.body,
        second.body
    );
    assert_eq!(second.body["data"]["purchaseJobCredits"]["replayed"], true);
    assert_eq!(count(&database, "outbox").await, 1);
}

/// The demo data's balances are explained by ledger transactions that sum
/// to zero.
#[tokio::test]
async fn demo_ledger_satisfies_the_invariants() {
    let (_app, database) = seeded_payment().await;
    let violations = talentgraph_payment::store::ledger_violations(&database)
        .await
        .expect("checks the ledger");
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(count(&database, "ledger_entries").await > 0);
}

const CHANGE_PLAN: &str = "mutation($id: ID!, $plan: PlanCode!, $pm: String, $key: String) { \
    changePlan(organizationId: $id, plan: $plan, paymentMethod: $pm, idempotencyKey: $key) { \
      billing { plan { code } status } invoice { status totalCents } replayed } }";

async fn subjects(database: &Database) -> Vec<String> {
    let rows: Vec<(String,)> = database
        .fetch_all(sqlx::query_as(
            "SELECT subject FROM outbox ORDER BY sequence",
        ))
        .await
        .expect("reads the outbox");
    rows.into_iter().map(|(subject,)| subject).collect()
}

/// The billing rules of `changePlan`: a dearer plan is an invoice for the
/// difference and does not take effect before it is paid; a cheaper one
/// takes effect at once; a past-due subscription is not made active by
/// moving to the free plan; the badge needs a paid invoice.
#[tokio::test]
async fn plan_changes_follow_the_billing_rules() {
    let (app, database) = seeded_payment().await;
    let plan_of = |organization: u64, plan: &str, payment: bool| {
        let mut variables =
            json!({ "id": WORLD.organization_id(organization).to_string(), "plan": plan });
        if payment {
            variables["pm"] = json!("pm_card_visa");
            variables["key"] = json!(format!("plan-{organization}-{plan}"));
        }
        variables
    };
    // Organization 0 is on FREE (plans cycle FREE, STARTER, GROWTH,
    // ENTERPRISE). An upgrade without a way to pay is refused.
    let response = app
        .graphql_as("recruiter", CHANGE_PLAN, plan_of(0, "ENTERPRISE", false))
        .await;
    assert_eq!(response.first_error_code(), Some("BAD_USER_INPUT"));
    let response = app
        .graphql_as("recruiter", CHANGE_PLAN, plan_of(0, "ENTERPRISE", true))
        .await;
    let payload = &response.body["data"]["changePlan"];
    assert_eq!(
        payload["billing"]["plan"]["code"], "FREE",
        "{:#}",
        response.body
    );
    assert_eq!(payload["invoice"]["status"], "PENDING");
    assert_eq!(payload["invoice"]["totalCents"], 99_900);
    assert_eq!(
        subjects(&database).await,
        ["talentgraph.payment.charge.requested.v1"]
    );

    // Organization 3 is on ENTERPRISE: a downgrade takes effect at once.
    let response = app
        .graphql_as("recruiter", CHANGE_PLAN, plan_of(3, "STARTER", false))
        .await;
    let payload = &response.body["data"]["changePlan"];
    assert_eq!(
        payload["billing"]["plan"]["code"], "STARTER",
        "{:#}",
        response.body
    );
    assert!(payload["invoice"].is_null());
    assert_eq!(subjects(&database).await.len(), 2);

    // A past-due subscription: not to FREE, only by paying.
    database
        .execute(
            sqlx::query("UPDATE subscriptions SET status = 'PAST_DUE' WHERE organization_id = $1")
                .bind(WORLD.organization_id(1)),
        )
        .await
        .expect("makes a subscription past due");
    let response = app
        .graphql_as("recruiter", CHANGE_PLAN, plan_of(1, "FREE", false))
        .await;
    assert_eq!(
        response.body["errors"][0]["extensions"]["reason"], "PLAN_CHANGE_NOT_ALLOWED",
        "{:#}",
        response.body
    );
    let response = app
        .graphql_as("recruiter", CHANGE_PLAN, plan_of(1, "STARTER", true))
        .await;
    let payload = &response.body["data"]["changePlan"];
    assert_eq!(
        payload["billing"]["status"], "PAST_DUE",
        "{:#}",
        response.body
    );
    assert_eq!(payload["invoice"]["totalCents"], 9_900, "a full month");

    // Organization 2 is on GROWTH with the badge; without a paid invoice
    // it has none.
    let badge = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { billingVerified } } }";
    let representation = json!({ "r": [{ "__typename": "Organization", "id": WORLD.organization_id(2).to_string() }] });
    let response = app.graphql(badge, representation.clone()).await;
    assert_eq!(
        response.body["data"]["_entities"][0]["billingVerified"],
        true
    );
    database
        .execute(
            sqlx::query("UPDATE invoices SET status = 'VOID' WHERE organization_id = $1")
                .bind(WORLD.organization_id(2)),
        )
        .await
        .expect("voids the invoices");
    let response = app.graphql(badge, representation).await;
    assert_eq!(
        response.body["data"]["_entities"][0]["billingVerified"],
        false
    );

    let response = app.graphql("{ plans { code } }", json!({})).await;
    assert_eq!(
        response.body["data"]["plans"].as_array().map(Vec::len),
        Some(4)
    );
}

/// The `invoice` root field serves employers and admins; jobseekers are
/// FORBIDDEN and anonymous callers UNAUTHENTICATED.
#[tokio::test]
async fn invoice_root_field_is_guarded() {
    let (app, database) = seeded_payment().await;
    let query = "query($id: ID!) { invoice(id: $id) { number totalCents organization { id } } }";
    let variables = json!({ "id": WORLD.invoice_id(4).to_string() });
    let number: String = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
                .bind(WORLD.invoice_id(4)),
        )
        .await
        .expect("reads the invoice");
    let response = app.graphql_as("admin", query, variables.clone()).await;
    assert_eq!(response.body["data"]["invoice"]["number"], number.as_str());
    assert_eq!(
        response.body["data"]["invoice"]["organization"]["id"],
        WORLD.organization_id(1).to_string()
    );
    let response = app.graphql_as("jobseeker", query, variables.clone()).await;
    assert_eq!(response.first_error_code(), Some("FORBIDDEN"));
    let response = app.graphql(query, variables).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
}

/// A recruiter sees and pays for only their own organizations: another
/// organization's billing and invoices are FORBIDDEN, its invoices resolve
/// to null by id and through `_entities`, and purchases or plan changes for
/// it are FORBIDDEN and write nothing.
#[tokio::test]
async fn recruiters_reach_only_their_own_organizations_billing() {
    let (app, database) = seeded_payment().await;
    let own = WORLD.organization_id(0).to_string();
    let other = WORLD.organization_id(1).to_string();
    let billing = "query($representations: [_Any!]!) { _entities(representations: $representations) { \
        ... on Organization { billing { status } invoices(first: 5) { edges { node { number } } } } } }";
    let response = app
        .graphql_as(
            "recruiter-of-0",
            billing,
            json!({ "representations": [{ "__typename": "Organization", "id": own }] }),
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    let response = app
        .graphql_as(
            "recruiter-of-0",
            billing,
            json!({ "representations": [{ "__typename": "Organization", "id": other }] }),
        )
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("FORBIDDEN"),
        "{:#}",
        response.body
    );

    // Invoice 4 belongs to organization 1.
    let invoice = json!({ "id": WORLD.invoice_id(4).to_string() });
    let response = app
        .graphql_as(
            "recruiter-of-0",
            "query($id: ID!) { invoice(id: $id) { number } }",
            invoice.clone(),
        )
        .await;
    assert!(
        response.body["data"]["invoice"].is_null(),
        "{:#}",
        response.body
    );
    let entities = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Invoice { number } } }";
    let response = app
        .graphql_as(
            "recruiter-of-0",
            entities,
            json!({ "representations": [{ "__typename": "Invoice", "id": WORLD.invoice_id(4).to_string() }] }),
        )
        .await;
    assert!(
        response.body["data"]["_entities"][0].is_null(),
        "{:#}",
        response.body
    );

    let invoices_before = count(&database, "invoices").await;
    let response = app
        .graphql_as("recruiter-of-0", PURCHASE, purchase(1, 2, "bola-key-0001"))
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("FORBIDDEN"),
        "{:#}",
        response.body
    );
    let response = app
        .graphql_as(
            "recruiter-of-0",
            "mutation($id: ID!) { changePlan(organizationId: $id, plan: GROWTH) { billing { status } } }",
            json!({ "id": other }),
        )
        .await;
    assert_eq!(
        response.first_error_code(),
        Some("FORBIDDEN"),
        "{:#}",
        response.body
    );
    assert_eq!(count(&database, "invoices").await, invoices_before);
}

/// Each operation limit is enforced with its code before any SQL runs.
#[tokio::test]
async fn operation_limits_reject_before_touching_the_database() {
    let (app, database) = seeded_payment().await;
    assert_limits_enforced(
        &app,
        &database,
        &LimitProbes {
            too_complex: "{ _entities(representations: []) { ... on Organization { invoices(first: 100) { edges { cursor node { id number status currency totalCents description issuedAt } } } } } }",
            page_too_large: "{ _entities(representations: []) { ... on Organization { invoices(first: 101) { edges { cursor } } } } }",
        },
    )
    .await;
}

/// Malformed HTTP requests get clear 4xx answers, never a 500.
#[tokio::test]
async fn bad_http_input_is_rejected_cleanly() {
    let (app, _database) = seeded_payment().await;
    assert_bad_http_input_rejected(
        &app,
        "query InvoiceById($id: ID!) { invoice(id: $id) { number } }",
        Some("mutation { changePlan(organizationId: \"x\", plan: FREE) { billing { status } } }"),
    )
    .await;
}

/// The first outbox's unpublished rows survive the move to the kit's event
/// tables: each becomes an envelope on its catalogue subject, in order, and
/// decodes as the catalogue's payload.
#[tokio::test]
async fn the_old_outbox_is_carried_over_as_events() {
    let url = talentgraph_kit::testing::PostgresServer::shared()
        .expect("PostgreSQL")
        .create_database("tg_payment_carry")
        .await
        .expect("a database");
    let database = Database::connect(&url, 2, std::time::Duration::from_secs(10))
        .await
        .expect("connects");
    let before_events = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            MIGRATOR
                .iter()
                .filter(|migration| migration.version < 20261126000001)
                .cloned()
                .collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    database
        .run_migrations(&before_events)
        .await
        .expect("the first migrations");
    let organization = uuid::Uuid::new_v4();
    database
        .execute(
            sqlx::query(
                "INSERT INTO outbox (topic, payload) VALUES \
                 ('payment.job_credits_purchased', $1), ('payment.plan_changed', $2)",
            )
            .bind(json!({ "organizationId": organization, "invoiceId": uuid::Uuid::new_v4(), "credits": 3, "totalCents": 4500, "currency": "EUR" }))
            .bind(json!({ "organizationId": organization, "plan": "GROWTH" })),
        )
        .await
        .expect("old rows");
    database.run_migrations(&MIGRATOR).await.expect("the rest");
    let rows: Vec<(String, Value)> = database
        .fetch_all(sqlx::query_as(
            "SELECT subject, envelope FROM outbox WHERE published_at IS NULL ORDER BY sequence",
        ))
        .await
        .expect("the carried rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "talentgraph.payment.job_credits.purchased.v1");
    assert_eq!(rows[1].0, "talentgraph.payment.plan.changed.v1");
    let purchased: talentgraph_kit::events::Envelope =
        serde_json::from_value(rows[0].1.clone()).expect("an envelope");
    let purchase: talentgraph_events::JobCreditsPurchased =
        purchased.decode().expect("the catalogue's payload");
    assert_eq!(purchase.credits, 3);
    let changed: talentgraph_kit::events::Envelope =
        serde_json::from_value(rows[1].1.clone()).expect("an envelope");
    let plan: talentgraph_events::PlanChanged = changed.decode().expect("the catalogue's payload");
    assert_eq!(plan.plan, "GROWTH");
}

/// A posting consumes one credit once, however often its event arrives,
/// and is rejected with an event when no credit is left.
#[tokio::test]
async fn postings_consume_one_credit_each() {
    let (_app, database) = seeded_payment().await;
    let organization = WORLD.organization_id(0);
    let job = uuid::Uuid::new_v4();
    for _ in 0..2 {
        let mut transaction = database.begin().await.expect("a transaction");
        talentgraph_payment::store::consume_credit_for_job(&mut transaction, organization, job)
            .await
            .unwrap_or_else(|error| panic!("{}", error.detail()));
        transaction.commit().await.expect("commits");
    }
    let balance: i32 = database
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT job_credits FROM credit_balances WHERE organization_id = $1",
            )
            .bind(organization),
        )
        .await
        .expect("reads the balance");
    assert_eq!(balance, 4, "five seeded credits, one consumed once");
    let poor = WORLD.organization_id(15);
    let mut transaction = database.begin().await.expect("a transaction");
    let outcome = talentgraph_payment::store::consume_credit_for_job(&mut transaction, poor, job)
        .await
        .expect("decides");
    transaction.commit().await.expect("commits");
    assert_eq!(
        outcome,
        talentgraph_payment::store::PostingCharge::AlreadyConsumed
    );
    let mut transaction = database.begin().await.expect("a transaction");
    let outcome = talentgraph_payment::store::consume_credit_for_job(
        &mut transaction,
        poor,
        uuid::Uuid::new_v4(),
    )
    .await
    .expect("decides");
    transaction.commit().await.expect("commits");
    assert_eq!(outcome, talentgraph_payment::store::PostingCharge::Rejected);
    assert!(
        talentgraph_payment::store::ledger_violations(&database)
            .await
            .expect("checks")
            .is_empty()
    );
}
