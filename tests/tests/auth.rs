//! Identity and access control through the real router (each test through
//! Apollo Router and through Hive Router): real tokens from
//! the auth subgraph, verified by every subgraph against its JWKS, and
//! every authorization rule tried both allowed and denied, through the
//! router and by calling subgraphs' `_entities` directly.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use talentgraph_demo_world::DEMO_PASSWORD;
use talentgraph_e2e::{DemoAccount, RouterKind, Session, Stack, StackOptions, WORLD};

/// Error codes in a GraphQL response body, in order.
fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["extensions"]["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the response failed with exactly one FORBIDDEN error.
fn assert_forbidden(body: &Value) {
    assert_eq!(error_codes(body), vec!["FORBIDDEN"], "{body:#}");
}

/// Calls a subgraph straight, not through the router.
async fn direct(
    stack: &Stack,
    subgraph: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    direct_with_headers(stack, subgraph, token, query, variables, &[]).await
}

/// Like [`direct`], with the router secret: what someone who learnt the
/// secret could send.
async fn direct_with_router_secret(
    stack: &Stack,
    subgraph: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let secret = [("x-talentgraph-router", talentgraph_e2e::ROUTER_SECRET)];
    direct_with_headers(stack, subgraph, token, query, variables, &secret).await
}

async fn direct_with_headers(
    stack: &Stack,
    subgraph: &str,
    token: &str,
    query: &str,
    variables: Value,
    headers: &[(&str, &str)],
) -> Value {
    let mut request = reqwest::Client::new()
        .post(stack.subgraph(subgraph).url("/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .send()
        .await
        .expect("the subgraph answers")
        .json()
        .await
        .expect("a JSON body")
}

/// `me` answers each demo account with its own id, e-mail and roles, from
/// a real token, through the router.
async fn me_works_with_a_real_token_through_the_router(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    for (account, role) in [
        (DemoAccount::Jobseeker, "JOBSEEKER"),
        (DemoAccount::Recruiter, "EMPLOYER"),
        (DemoAccount::Admin, "ADMIN"),
    ] {
        let (response, _) = stack
            .request(
                Some(stack.token(account)),
                "{ me { id email roles displayName } }",
                None,
                json!({}),
            )
            .await;
        let me = &response.body["data"]["me"];
        assert_eq!(
            me["id"],
            WORLD.user_id(account.user()).to_string(),
            "{:#}",
            response.body
        );
        assert_eq!(me["email"], account.email().as_str());
        assert_eq!(me["roles"], json!([role]));
        assert!(me["displayName"].is_string(), "core resolves the same user");
    }
    let (response, _) = stack.request(None, "{ me { id } }", None, json!({})).await;
    assert!(response.body["data"]["me"].is_null());
}

/// A jobseeker asking for another user's e-mail, applications or saved
/// jobs by id gets FORBIDDEN for each field, through the router and by
/// calling the owning subgraphs' `_entities` directly; the own data works.
async fn users_read_only_their_own_private_data(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let token = stack.token(DemoAccount::Jobseeker);
    let own = WORLD.user_id(WORLD.demo_jobseeker()).to_string();
    let other = WORLD.user_id(WORLD.demo_jobseeker() + 1).to_string();
    let query = "query($id: ID!) { user(id: $id) { id email applications(first: 5) { edges { node { id } } } savedJobs(first: 5) { edges { node { id } } } internshipApplications(first: 5) { edges { node { id } } } } }";

    let (response, _) = stack
        .request(Some(token), query, None, json!({ "id": own }))
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    assert_eq!(
        response.body["data"]["user"]["email"],
        DemoAccount::Jobseeker.email().as_str()
    );

    let (response, _) = stack
        .request(Some(token), query, None, json!({ "id": other }))
        .await;
    let codes = error_codes(&response.body);
    assert!(
        codes.len() >= 4 && codes.iter().all(|code| code == "FORBIDDEN"),
        "{:#}",
        response.body
    );
    let user = &response.body["data"]["user"];
    assert!(
        user.is_null() || user["email"].is_null(),
        "{:#}",
        response.body
    );

    for (subgraph, selection) in [
        ("auth", "email"),
        (
            "jobseeker",
            "applications(first: 5) { edges { node { id } } }",
        ),
        ("jobseeker", "savedJobs(first: 5) { edges { node { id } } }"),
        (
            "internship",
            "internshipApplications(first: 5) { edges { node { id } } }",
        ),
    ] {
        let query = format!(
            "query($representations: [_Any!]!) {{ _entities(representations: $representations) {{ ... on User {{ {selection} }} }} }}"
        );
        let body = direct(
            &stack,
            subgraph,
            token,
            &query,
            json!({ "representations": [{ "__typename": "User", "id": other }] }),
        )
        .await;
        assert_eq!(
            error_codes(&body),
            vec!["FORBIDDEN"],
            "{subgraph} {selection}: {body:#}"
        );
    }
}

/// Applications are private to the applicant: another jobseeker cannot
/// read one by id (root field or entity reference) nor withdraw it.
async fn only_the_applicant_reads_or_withdraws_an_application(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let applicant = stack.token(DemoAccount::Jobseeker);
    let application_id: uuid::Uuid = stack
        .subgraph("jobseeker")
        .database
        .fetch_scalar(
            sqlx::query_scalar("SELECT id FROM applications WHERE applicant_id = $1 AND status = 'SUBMITTED' LIMIT 1")
                .bind(WORLD.user_id(WORLD.demo_jobseeker())),
        )
        .await
        .expect("the demo jobseeker has applications");
    let other = stack.sign_up("intruder@example.com", "JOBSEEKER").await;
    let read = "query($id: ID!) { application(id: $id) { id status } }";
    let variables = json!({ "id": application_id.to_string() });
    let (response, _) = stack
        .request(Some(&other.access_token), read, None, variables.clone())
        .await;
    assert!(
        response.body["data"]["application"].is_null(),
        "{:#}",
        response.body
    );
    let body = direct(
        &stack,
        "jobseeker",
        &other.access_token,
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Application { id status } } }",
        json!({ "r": [{ "__typename": "Application", "id": application_id.to_string() }] }),
    )
    .await;
    assert!(body["data"]["_entities"][0].is_null(), "{body:#}");

    let withdraw = "mutation($id: ID!) { withdrawApplication(id: $id) { id status } }";
    let (response, _) = stack
        .request(Some(&other.access_token), withdraw, None, variables.clone())
        .await;
    assert!(
        matches!(
            error_codes(&response.body).first().map(String::as_str),
            Some("FORBIDDEN" | "NOT_FOUND")
        ),
        "{:#}",
        response.body
    );
    let (response, _) = stack
        .request(Some(applicant), read, None, variables.clone())
        .await;
    assert_eq!(
        response.body["data"]["application"]["status"], "SUBMITTED",
        "{:#}",
        response.body
    );
    let (response, _) = stack
        .request(Some(applicant), withdraw, None, variables)
        .await;
    assert_eq!(
        response.body["data"]["withdrawApplication"]["status"], "WITHDRAWN",
        "{:#}",
        response.body
    );
}

/// Recruiters see their own organization's billing, invoices and job
/// applications, and nobody else's: another organization's are FORBIDDEN
/// through the router, its invoices resolve to null by id, and a direct
/// `_entities` call that claims another organization's job for the
/// caller's organization is refused.
async fn recruiters_see_only_their_own_organization(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let recruiter = stack.token(DemoAccount::Recruiter);
    let own_organization = WORLD
        .recruiter_organization(WORLD.demo_recruiter())
        .expect("the demo recruiter recruits");
    let other_organization = (own_organization + 1) % WORLD.organizations;
    let slug = |organization: u64| {
        let database = stack.subgraph("core").database.clone();
        async move {
            database
                .fetch_scalar::<String>(
                    sqlx::query_scalar("SELECT slug FROM organizations WHERE id = $1")
                        .bind(WORLD.organization_id(organization)),
                )
                .await
                .expect("a slug")
        }
    };
    let query = "query($slug: String!) { organization(slug: $slug) { id billing { status } invoices(first: 3) { edges { node { id } } } jobs(first: 3) { edges { node { id applications(first: 3) { edges { node { id } } } } } } } }";
    let (response, _) = stack
        .request(
            Some(recruiter),
            query,
            None,
            json!({ "slug": slug(own_organization).await }),
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    assert!(response.body["data"]["organization"]["billing"]["status"].is_string());

    let (response, _) = stack
        .request(
            Some(recruiter),
            query,
            None,
            json!({ "slug": slug(other_organization).await }),
        )
        .await;
    let codes = error_codes(&response.body);
    assert!(
        !codes.is_empty() && codes.iter().all(|code| code == "FORBIDDEN"),
        "{:#}",
        response.body
    );
    let organization = &response.body["data"]["organization"];
    assert!(
        organization.is_null() || organization["billing"].is_null(),
        "{:#}",
        response.body
    );

    // A jobseeker is refused the same fields on the own organization.
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Jobseeker)),
            query,
            None,
            json!({ "slug": slug(own_organization).await }),
        )
        .await;
    assert!(
        error_codes(&response.body)
            .iter()
            .all(|code| code == "FORBIDDEN")
    );
    assert!(!error_codes(&response.body).is_empty());

    let other_invoice: uuid::Uuid = stack
        .subgraph("payment")
        .database
        .fetch_scalar(
            sqlx::query_scalar("SELECT id FROM invoices WHERE organization_id = $1 LIMIT 1")
                .bind(WORLD.organization_id(other_organization)),
        )
        .await
        .expect("an invoice");
    let (response, _) = stack
        .request(
            Some(recruiter),
            "query($id: ID!) { invoice(id: $id) { id totalCents } }",
            None,
            json!({ "id": other_invoice.to_string() }),
        )
        .await;
    assert!(
        response.body["data"]["invoice"].is_null(),
        "{:#}",
        response.body
    );
    let body = direct(
        &stack,
        "payment",
        recruiter,
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id totalCents } } }",
        json!({ "r": [{ "__typename": "Invoice", "id": other_invoice.to_string() }] }),
    )
    .await;
    assert!(body["data"]["_entities"][0].is_null(), "{body:#}");

    let other_job = (0..WORLD.jobs)
        .find(|job| WORLD.job_organization(*job) == other_organization)
        .expect("a job of the other organization");
    let forged = json!({ "r": [{
        "__typename": "Job",
        "id": WORLD.job_id(other_job).to_string(),
        "organization": { "id": WORLD.organization_id(own_organization).to_string() },
    }] });
    let applications = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Job { applications(first: 3) { edges { node { id } } } } } }";
    let body = direct(&stack, "jobseeker", recruiter, applications, forged.clone()).await;
    assert_forbidden(&body);
    // Even with the router secret, the forged organization is refused:
    // jobseeker checks the job's organization as employer announced it
    // (job.posted), not the one the representation names.
    let body =
        direct_with_router_secret(&stack, "jobseeker", recruiter, applications, forged).await;
    assert_forbidden(&body);
    assert!(
        body.to_string().contains("another organization"),
        "{body:#}"
    );
    // The honest representation of the own organization's job passes.
    let own_job = (0..WORLD.jobs)
        .find(|job| WORLD.job_organization(*job) == own_organization)
        .expect("a job of the own organization");
    let honest = json!({ "r": [{
        "__typename": "Job",
        "id": WORLD.job_id(own_job).to_string(),
        "organization": { "id": WORLD.organization_id(own_organization).to_string() },
    }] });
    let body =
        direct_with_router_secret(&stack, "jobseeker", recruiter, applications, honest).await;
    assert!(body.get("errors").is_none(), "{body:#}");
}

/// Only recruiters of an organization post, update and close its jobs and
/// buy its credits; jobseekers may not post; the same calls for the own
/// organization succeed.
async fn only_recruiters_act_for_an_organization(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let recruiter = stack.token(DemoAccount::Recruiter);
    let own = WORLD
        .recruiter_organization(WORLD.demo_recruiter())
        .expect("a recruiter");
    let other = (own + 1) % WORLD.organizations;
    let post = "mutation($input: PostJobInput!) { postJob(input: $input) { id title } }";
    let input = |organization: u64| {
        json!({ "input": {
            "organizationId": WORLD.organization_id(organization).to_string(),
            "title": "Platform Engineer",
            "description": "Runs the platform.",
            "location": "Berlin",
            "remote": true,
            "employmentType": "FULL_TIME",
        } })
    };
    let (response, _) = stack.request(Some(recruiter), post, None, input(own)).await;
    let job_id = response.body["data"]["postJob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{:#}", response.body))
        .to_owned();
    let (response, _) = stack
        .request(Some(recruiter), post, None, input(other))
        .await;
    assert_forbidden(&response.body);
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Jobseeker)),
            post,
            None,
            input(own),
        )
        .await;
    assert_forbidden(&response.body);

    let other_job = (0..WORLD.jobs)
        .find(|job| WORLD.job_organization(*job) == other)
        .expect("a job");
    let update =
        "mutation($id: ID!) { updateJob(id: $id, input: { title: \"Renamed\" }) { id title } }";
    let (response, _) = stack
        .request(
            Some(recruiter),
            update,
            None,
            json!({ "id": WORLD.job_id(other_job).to_string() }),
        )
        .await;
    assert_forbidden(&response.body);
    let (response, _) = stack
        .request(Some(recruiter), update, None, json!({ "id": job_id }))
        .await;
    assert_eq!(
        response.body["data"]["updateJob"]["title"], "Renamed",
        "{:#}",
        response.body
    );
    let close = "mutation($id: ID!) { closeJob(id: $id) { id status } }";
    let (response, _) = stack
        .request(
            Some(recruiter),
            close,
            None,
            json!({ "id": WORLD.job_id(other_job).to_string() }),
        )
        .await;
    assert_forbidden(&response.body);
    let (response, _) = stack
        .request(Some(recruiter), close, None, json!({ "id": job_id }))
        .await;
    assert_eq!(
        response.body["data"]["closeJob"]["status"], "CLOSED",
        "{:#}",
        response.body
    );

    let purchase = "mutation($input: PurchaseJobCreditsInput!, $key: String!) { purchaseJobCredits(input: $input, idempotencyKey: $key) { jobCredits } }";
    let (response, _) = stack
        .request(
            Some(recruiter),
            purchase,
            None,
            json!({ "input": { "organizationId": WORLD.organization_id(other).to_string(), "credits": 1, "paymentMethod": "pm_card_visa" }, "key": "e2e-bola-purchase" }),
        )
        .await;
    assert_forbidden(&response.body);
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Bad tokens sent through the router are refused with UNAUTHENTICATED
/// and no data, whichever subgraph the operation reaches: `alg: none`, a
/// tampered payload, an expired-looking forged token, a token for another
/// key id, and garbage. Refusal happens before any domain SQL; an unknown
/// key id costs auth one reload of its key ring (at most one per second).
async fn bad_tokens_are_refused_through_the_router(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let good = stack.token(DemoAccount::Jobseeker).to_owned();
    let parts: Vec<&str> = good.split('.').collect();
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"))
            .expect("JSON");
    let mut escalated = claims.clone();
    escalated["roles"] = json!(["ADMIN"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(escalated.to_string()),
        parts[2]
    );
    let foreign_key = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD
            .encode(json!({ "alg": "EdDSA", "typ": "JWT", "kid": "foreign" }).to_string()),
        parts[1],
        parts[2]
    );
    let cases = [
        ("alg none", unsigned(&json!({ "alg": "none" }), &escalated)),
        ("tampered", tampered),
        ("unknown key", foreign_key),
        ("garbage", "garbage".to_owned()),
    ];
    for (label, token) in cases {
        for query in [
            "{ me { id email } }",
            "{ jobs(first: 2) { edges { node { id } } } }",
        ] {
            let (response, cost) = stack.request(Some(&token), query, None, json!({})).await;
            assert!(
                error_codes(&response.body).contains(&"UNAUTHENTICATED".to_owned()),
                "{label} {query}: {:#}",
                response.body
            );
            let data = &response.body["data"];
            assert!(
                data.is_null()
                    || data
                        .as_object()
                        .is_some_and(|fields| fields.values().all(Value::is_null)),
                "{label}: no data leaks: {:#}",
                response.body
            );
            let allowed = if label == "unknown key" { 1 } else { 0 };
            assert!(
                cost.total_statements() <= allowed,
                "{label} {query}: refused before SQL, cost {cost:?}"
            );
        }
    }
}

/// Refresh through the router rotates the refresh token; reusing the old
/// one revokes the session.
async fn refresh_rotation_and_reuse_detection_through_the_router(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let session = stack
        .sign_in(&DemoAccount::Jobseeker.email(), DEMO_PASSWORD)
        .await
        .expect("signs in");
    let refresh = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
    let (response, _) = stack
        .request(
            None,
            refresh,
            None,
            json!({ "token": session.refresh_token }),
        )
        .await;
    let rotated = Stack::session_from(&response.body, "refreshSession")
        .unwrap_or_else(|| panic!("{:#}", response.body));
    let (me, _) = stack
        .request(
            Some(&rotated.access_token),
            "{ me { id } }",
            None,
            json!({}),
        )
        .await;
    assert_eq!(
        me.body["data"]["me"]["id"],
        WORLD.user_id(WORLD.demo_jobseeker()).to_string()
    );
    let (reused, _) = stack
        .request(
            None,
            refresh,
            None,
            json!({ "token": session.refresh_token }),
        )
        .await;
    assert_eq!(
        error_codes(&reused.body),
        vec!["UNAUTHENTICATED"],
        "{:#}",
        reused.body
    );
    let (revoked, _) = stack
        .request(
            None,
            refresh,
            None,
            json!({ "token": rotated.refresh_token }),
        )
        .await;
    assert_eq!(
        error_codes(&revoked.body),
        vec!["UNAUTHENTICATED"],
        "{:#}",
        revoked.body
    );
}

/// While pages are requested continuously with an old token, an admin
/// rotates the signing key; every request succeeds, and tokens signed by
/// the new key are accepted by every subgraph (each learns the key from the
/// JWKS on first sight of its id).
async fn signing_key_rotation_keeps_requests_succeeding(router: RouterKind) {
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let old_token = stack.token(DemoAccount::Jobseeker).to_owned();
    let page = "query { me { id displayName applications(first: 2) { edges { node { id job { title organization { name } } } } } } jobs(first: 3) { edges { node { id applicationCount viewerHasApplied promotion { tier } } } } }";
    let keep_requesting = async {
        let mut answered = 0;
        for _ in 0..30 {
            let (response, _) = stack.request(Some(&old_token), page, None, json!({})).await;
            assert!(response.body.get("errors").is_none(), "{:#}", response.body);
            answered += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        answered
    };
    let rotate = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (response, _) = stack
            .request(
                Some(stack.token(DemoAccount::Admin)),
                "mutation { rotateSigningKey { keyId } }",
                None,
                json!({}),
            )
            .await;
        response.body["data"]["rotateSigningKey"]["keyId"]
            .as_str()
            .unwrap_or_else(|| panic!("{:#}", response.body))
            .to_owned()
    };
    let (answered, new_key) = tokio::join!(keep_requesting, rotate);
    assert_eq!(answered, 30);

    let session: Session = stack
        .sign_in(&DemoAccount::Jobseeker.email(), DEMO_PASSWORD)
        .await
        .expect("signs in");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(session.access_token.split('.').next().expect("a header"))
            .expect("base64url"),
    )
    .expect("JSON");
    assert_eq!(header["kid"], new_key.as_str());
    let (response, _) = stack
        .request(Some(&session.access_token), page, None, json!({}))
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    let (response, _) = stack.request(Some(&old_token), page, None, json!({})).await;
    assert!(
        response.body.get("errors").is_none(),
        "old tokens live on: {:#}",
        response.body
    );
}

/// Signs in through the router with `X-Forwarded-For: forwarded_for`;
/// returns the first error code, `None` on success.
async fn sign_in_forwarded(
    stack: &Stack,
    forwarded_for: &str,
    email: &str,
    password: &str,
) -> Option<String> {
    let (response, _) = stack
        .request_with_headers(
            None,
            "mutation($input: SignInInput!) { signIn(input: $input) { accessToken } }",
            None,
            json!({ "input": { "email": email, "password": password } }),
            &[("x-forwarded-for", forwarded_for)],
        )
        .await;
    response.body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// The client address the limits key on is the one the edge vouches for,
/// never the client's own `X-Forwarded-For`. With no trusted proxy the
/// router sends none, so a guesser who sends a new `X-Forwarded-For` with
/// each guess still meets the account's limit; behind one trusted proxy
/// (this test plays it, appending the "real" address), the entries the
/// client wrote before it change nothing, while another real address has
/// its own budget; guesses spread over many real addresses meet the
/// account's cap over all addresses, which the owner's known address does
/// not. Through the real router, each kind.
async fn spoofed_forwarded_addresses_change_nothing(router: RouterKind) {
    // No proxy in front.
    let stack = Stack::start(StackOptions {
        router,
        ..StackOptions::default()
    })
    .await;
    let email = "spoof.target@e2e.talentgraph.dev";
    stack.sign_up(email, "JOBSEEKER").await;
    for guess in 0..5 {
        let spoofed = format!("198.51.100.{guess}");
        assert_eq!(
            sign_in_forwarded(&stack, &spoofed, email, "wrong password")
                .await
                .as_deref(),
            Some("UNAUTHENTICATED"),
            "guess {guess}"
        );
    }
    assert_eq!(
        sign_in_forwarded(&stack, "198.51.100.99", email, "wrong password")
            .await
            .as_deref(),
        Some("RATE_LIMITED"),
        "a new spoofed address does not buy new guesses"
    );
    drop(stack);

    // One trusted proxy in front.
    let stack = Stack::start(StackOptions {
        router,
        trusted_proxy_hops: 1,
        ..StackOptions::default()
    })
    .await;
    stack.sign_up(email, "JOBSEEKER").await;
    let home = "192.0.2.10";
    assert_eq!(
        sign_in_forwarded(&stack, home, email, "e2e test passphrase").await,
        None,
        "the owner signs in from home"
    );
    for guess in 0..5 {
        let forwarded = format!("198.51.100.{guess}, 203.0.113.9");
        assert_eq!(
            sign_in_forwarded(&stack, &forwarded, email, "wrong password")
                .await
                .as_deref(),
            Some("UNAUTHENTICATED"),
            "guess {guess}"
        );
    }
    assert_eq!(
        sign_in_forwarded(&stack, "10.1.1.1, 203.0.113.9", email, "wrong password")
            .await
            .as_deref(),
        Some("RATE_LIMITED"),
        "the client's own entries do not move it to another address"
    );
    // Fifteen more real addresses: the account's cap over all addresses
    // (20 failures) is reached, each address far below its own limit.
    for guess in 0..15 {
        let forwarded = format!("203.0.113.{}", 100 + guess);
        assert_eq!(
            sign_in_forwarded(&stack, &forwarded, email, "wrong password")
                .await
                .as_deref(),
            Some("UNAUTHENTICATED"),
            "spread guess {guess}"
        );
    }
    assert_eq!(
        sign_in_forwarded(&stack, "203.0.113.200", email, "wrong password")
            .await
            .as_deref(),
        Some("RATE_LIMITED"),
        "the account's cap over all addresses"
    );
    assert_eq!(
        sign_in_forwarded(&stack, home, email, "e2e test passphrase").await,
        None,
        "the owner, from home, is not locked out"
    );
}

// Each test above runs through both routers: Apollo Router, the default,
// and Hive Router, the supported alternative (`devstack up --router hive`).
talentgraph_e2e::test_through_both_routers!(
    me_works_with_a_real_token_through_the_router,
    users_read_only_their_own_private_data,
    only_the_applicant_reads_or_withdraws_an_application,
    recruiters_see_only_their_own_organization,
    only_recruiters_act_for_an_organization,
    bad_tokens_are_refused_through_the_router,
    refresh_rotation_and_reuse_detection_through_the_router,
    signing_key_rotation_keeps_requests_succeeding,
    spoofed_forwarded_addresses_change_nothing,
);
