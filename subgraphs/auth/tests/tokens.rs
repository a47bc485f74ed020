//! Issuing and verifying tokens: sign-up, sign-in, rate limits, refresh
//! rotation and reuse detection, sign-out, key rotation, the JWKS and the
//! kit's JWKS-based verifier, all against a real database over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use talentgraph_auth::settings::AuthSettings;
use talentgraph_auth::{MIGRATOR, SUBGRAPH, demo};
use talentgraph_demo_world::{DEMO_PASSWORD, DemoWorld};
use talentgraph_kit::testing::{TEST_ROUTER_SECRET, TestApp, fresh_database, strict_test_config};
use talentgraph_kit::tokens::{
    AccessTokenClaims, JwksKeySet, JwksPolicy, TokenVerifier, VerificationKeys,
};
use talentgraph_kit::{Database, Role, SubgraphConfig};

const WORLD: DemoWorld = DemoWorld::SMALL;

const SIGN_IN: &str = "mutation($input: SignInInput!) { signIn(input: $input) { accessToken refreshToken tokenType user { id } } }";
const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { accessToken refreshToken user { id } } }";
const REFRESH: &str = "mutation($token: String!) { refreshSession(refreshToken: $token) { accessToken refreshToken } }";
const SIGN_OUT: &str = "mutation($token: String!) { signOut(refreshToken: $token) }";
const ME: &str = "{ me { id email roles } }";

struct Auth {
    app: TestApp,
    database: Database,
    config: SubgraphConfig,
}

/// Auth with its settings adjusted by `adjust`.
async fn auth_with(adjust: impl FnOnce(&mut AuthSettings)) -> Auth {
    let (database, url) = fresh_database(&MIGRATOR)
        .await
        .expect("a fresh auth database");
    demo::seed(&database, &WORLD)
        .await
        .expect("seeds the small demo world");
    let mut config = strict_test_config(&url);
    let mut settings = AuthSettings::of(&config);
    adjust(&mut settings);
    config.domain.insert(settings);
    let app = TestApp::spawn(SUBGRAPH.deployed_app(database.clone(), &config))
        .await
        .expect("the auth app starts");
    Auth {
        app,
        database,
        config,
    }
}

/// Signs in from `client_address` as the router sends it (with the router
/// secret when `via_router`); returns the first error code, `None` on
/// success.
async fn sign_in_from(
    app: &TestApp,
    client_address: &str,
    email: &str,
    password: &str,
    via_router: bool,
) -> Option<String> {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header(
            talentgraph_kit::request::CLIENT_ADDRESS_HEADER,
            client_address,
        )
        .body(json!({ "query": SIGN_IN, "variables": credentials(email, password) }).to_string());
    if via_router {
        request = request.header("x-talentgraph-router", TEST_ROUTER_SECRET);
    }
    let body: Value = request
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

/// Applies an employer membership event through auth's consumer handler,
/// in a transaction, as the consumer would after its inbox check.
async fn apply_membership_event<E: talentgraph_kit::events::Event>(database: &Database, event: &E) {
    use talentgraph_kit::events::EventHandler;
    let envelope = talentgraph_kit::events::Envelope::wrap(event).expect("wraps");
    let mut transaction = database.begin().await.expect("begins");
    talentgraph_auth::consumers::MembershipsFromEmployer
        .handle(&mut transaction, &envelope)
        .await
        .expect("applies");
    transaction.commit().await.expect("commits");
}

/// Memberships follow employer's events in order: added, then removed; a
/// member of an unknown account is refused (it goes to the dead letters).
#[tokio::test]
async fn memberships_follow_employers_events() {
    let Auth { app, database, .. } = auth().await;
    let recruiter = WORLD.user_id(WORLD.demo_recruiter());
    let organization = WORLD.organization_id(3);
    apply_membership_event(
        &database,
        &talentgraph_events::RecruiterAdded {
            organization_id: organization,
            user_id: recruiter,
            added_by: None,
            membership_version: None,
        },
    )
    .await;
    let (token, _) = sign_in(&app, WORLD.demo_recruiter()).await;
    assert!(
        claims_of(&token)["orgs"]
            .to_string()
            .contains(&organization.to_string())
    );
    apply_membership_event(
        &database,
        &talentgraph_events::RecruiterRemoved {
            organization_id: organization,
            user_id: recruiter,
            removed_by: WORLD.user_id(WORLD.demo_admin()),
            membership_version: None,
        },
    )
    .await;
    let (token, _) = sign_in(&app, WORLD.demo_recruiter()).await;
    assert!(
        !claims_of(&token)["orgs"]
            .to_string()
            .contains(&organization.to_string())
    );

    use talentgraph_kit::events::EventHandler;
    let stranger = talentgraph_kit::events::Envelope::wrap(&talentgraph_events::RecruiterAdded {
        organization_id: organization,
        user_id: uuid::Uuid::new_v4(),
        added_by: None,
        membership_version: None,
    })
    .expect("wraps");
    let mut transaction = database.begin().await.expect("begins");
    assert!(
        talentgraph_auth::consumers::MembershipsFromEmployer
            .handle(&mut transaction, &stranger)
            .await
            .is_err(),
        "an unknown account is refused"
    );
}

async fn auth() -> Auth {
    auth_with(|_| {}).await
}

fn credentials(email: &str, password: &str) -> Value {
    json!({ "input": { "email": email, "password": password } })
}

/// Signs a demo account in; returns (access token, refresh token).
async fn sign_in(app: &TestApp, user: u64) -> (String, String) {
    let response = app
        .graphql(SIGN_IN, credentials(&WORLD.email(user), DEMO_PASSWORD))
        .await;
    let payload = &response.body["data"]["signIn"];
    assert_eq!(payload["tokenType"], "Bearer", "{:#}", response.body);
    (
        payload["accessToken"].as_str().expect("a token").to_owned(),
        payload["refreshToken"]
            .as_str()
            .expect("a token")
            .to_owned(),
    )
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWS has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("a JWS has a header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON")
}

async fn jwks(app: &TestApp) -> Value {
    reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .expect("the JWKS answers")
        .json()
        .await
        .expect("the JWKS is JSON")
}

/// Sign-up creates an account with an argon2id hash and returns working
/// tokens; duplicate addresses, short passwords and malformed addresses
/// are refused with codes that name the field, and ADMIN is not offered.
#[tokio::test]
async fn sign_up_creates_an_account_that_can_use_its_token() {
    let Auth { app, database, .. } = auth().await;
    let input = json!({ "input": { "email": "New.Person@Example.com", "password": "a long passphrase", "role": "JOBSEEKER" } });
    let response = app.graphql(SIGN_UP, input.clone()).await;
    let token = response.body["data"]["signUp"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{:#}", response.body))
        .to_owned();
    let hash: String = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT password_hash FROM accounts WHERE email = 'new.person@example.com'",
        ))
        .await
        .expect("the account exists with a normalised address");
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let me = app.graphql_as(&token, ME, json!({})).await;
    assert_eq!(
        me.body["data"]["me"]["email"], "new.person@example.com",
        "{:#}",
        me.body
    );
    assert_eq!(me.body["data"]["me"]["roles"], json!(["JOBSEEKER"]));

    let again = app.graphql(SIGN_UP, input).await;
    assert_eq!(again.first_error_code(), Some("CONFLICT"));
    assert_eq!(
        again.body["errors"][0]["extensions"]["reason"],
        "EMAIL_TAKEN"
    );

    for (email, password, field) in [
        ("someone@example.com", "short", "password"),
        ("not-an-address", "a long passphrase", "email"),
    ] {
        let response = app
            .graphql(
                SIGN_UP,
                json!({ "input": { "email": email, "password": password, "role": "EMPLOYER" } }),
            )
            .await;
        assert_eq!(response.first_error_code(), Some("BAD_USER_INPUT"));
        assert_eq!(response.body["errors"][0]["extensions"]["field"], field);
    }
    let admin = app
        .graphql(
            SIGN_UP,
            json!({ "input": { "email": "root@example.com", "password": "a long passphrase", "role": "ADMIN" } }),
        )
        .await;
    assert!(
        admin.body["errors"].is_array(),
        "ADMIN must not be accepted"
    );
}

/// An access token is an EdDSA JWS whose key id is in the JWKS, carrying
/// subject, roles, organizations, issuer, audience and a short expiry.
#[tokio::test]
async fn access_tokens_carry_the_documented_claims() {
    let Auth {
        app,
        config,
        database,
    } = auth().await;
    // Memberships come from employer's events; apply the demo recruiter's
    // as auth's consumer does, through its handler.
    let organization = WORLD.organization_id(
        WORLD
            .recruiter_organization(WORLD.demo_recruiter())
            .expect("a recruiter"),
    );
    apply_membership_event(
        &database,
        &talentgraph_events::RecruiterAdded {
            organization_id: organization,
            user_id: WORLD.user_id(WORLD.demo_recruiter()),
            added_by: None,
            membership_version: None,
        },
    )
    .await;
    let (token, _) = sign_in(&app, WORLD.demo_recruiter()).await;
    let header = header_of(&token);
    assert_eq!(header["alg"], "EdDSA");
    let claims = claims_of(&token);
    assert_eq!(
        claims["sub"],
        WORLD.user_id(WORLD.demo_recruiter()).to_string()
    );
    assert_eq!(claims["roles"], json!(["EMPLOYER"]));
    assert_eq!(
        claims["orgs"],
        json!([WORLD
            .organization_id(
                WORLD
                    .recruiter_organization(WORLD.demo_recruiter())
                    .expect("a recruiter")
            )
            .to_string()])
    );
    assert_eq!(claims["iss"], config.tokens.issuer.as_str());
    assert_eq!(claims["aud"], config.tokens.audience.as_str());
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(
        lifetime,
        AuthSettings::of(&config).access_token_lifetime.as_secs() as i64
    );

    let set = jwks(&app).await;
    let keys = set["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], header["kid"]);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(
        keys[0].get("d").is_none(),
        "the private half must never be published"
    );
}

/// Wrong passwords and unknown addresses get the same answer.
#[tokio::test]
async fn wrong_credentials_do_not_reveal_which_part_was_wrong() {
    let Auth { app, .. } = auth().await;
    let wrong_password = app
        .graphql(
            SIGN_IN,
            credentials(&WORLD.email(WORLD.demo_jobseeker()), "not the password"),
        )
        .await;
    let unknown = app
        .graphql(
            SIGN_IN,
            credentials("nobody@example.com", "not the password"),
        )
        .await;
    assert_eq!(wrong_password.first_error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(
        wrong_password.body["errors"][0]["message"],
        unknown.body["errors"][0]["message"]
    );
    assert!(
        wrong_password.body["data"].is_null() || wrong_password.body["data"]["signIn"].is_null()
    );
}

/// After the allowed failures an account is locked for the window, even
/// with the right password, and the lock survives a restart because it is
/// kept in the database. A successful sign-in before the limit resets it.
#[tokio::test]
async fn sign_in_failures_are_limited_per_account_across_restarts() {
    let Auth {
        app,
        database,
        config,
    } = auth_with(|settings| settings.sign_in_failures_per_account = 3).await;
    let email = WORLD.email(WORLD.demo_jobseeker());
    for _ in 0..3 {
        let response = app
            .graphql(SIGN_IN, credentials(&email, "wrong password"))
            .await;
        assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
    }
    let locked = app
        .graphql(SIGN_IN, credentials(&email, DEMO_PASSWORD))
        .await;
    assert_eq!(
        locked.first_error_code(),
        Some("RATE_LIMITED"),
        "{:#}",
        locked.body
    );
    let retry_after = locked.body["errors"][0]["extensions"]["retryAfterSeconds"]
        .as_i64()
        .expect("retryAfterSeconds");
    assert!(retry_after > 0 && retry_after <= 900, "{retry_after}");

    drop(app);
    let restarted = TestApp::spawn(SUBGRAPH.deployed_app(database.clone(), &config))
        .await
        .expect("the auth app restarts");
    let still_locked = restarted
        .graphql(SIGN_IN, credentials(&email, DEMO_PASSWORD))
        .await;
    assert_eq!(still_locked.first_error_code(), Some("RATE_LIMITED"));

    // Another account is not affected.
    sign_in(&restarted, WORLD.demo_recruiter()).await;
}

/// Failures are also limited per client address (as the router passes it
/// on): guessing across many accounts from one address is stopped, while
/// another address is not affected. Addresses sent without the router's
/// secret are ignored.
#[tokio::test]
async fn sign_in_failures_are_limited_per_client_address() {
    let Auth { app, .. } = auth_with(|settings| {
        settings.sign_in_failures_per_address = 4;
        settings.sign_in_failures_per_account = 100;
    })
    .await;
    let attempt =
        |address: &'static str, email: String, password: &'static str, via_router: bool| {
            let app = &app;
            async move { sign_in_from(app, address, &email, password, via_router).await }
        };
    for user in 0..4 {
        let code = attempt("203.0.113.9", WORLD.email(user), "wrong password", true).await;
        assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"));
    }
    let code = attempt("203.0.113.9", WORLD.email(9), "wrong password", true).await;
    assert_eq!(code.as_deref(), Some("RATE_LIMITED"));
    let code = attempt(
        "203.0.113.9",
        WORLD.email(WORLD.demo_jobseeker()),
        DEMO_PASSWORD,
        true,
    )
    .await;
    assert_eq!(
        code.as_deref(),
        Some("RATE_LIMITED"),
        "the address is locked"
    );
    let code = attempt(
        "198.51.100.4",
        WORLD.email(WORLD.demo_jobseeker()),
        DEMO_PASSWORD,
        true,
    )
    .await;
    assert_eq!(code, None, "another address signs in");
    // Without the router secret the forwarded address is not believed, so
    // it cannot be used to dodge (or to frame) an address.
    let code = attempt(
        "203.0.113.9",
        WORLD.email(WORLD.demo_recruiter()),
        DEMO_PASSWORD,
        false,
    )
    .await;
    assert_eq!(code, None);
}

/// Someone guessing an account's password from one address exhausts the
/// limit for that address only: the owner, from another address, still
/// signs in; and attempts refused by the limit do not count as failures.
#[tokio::test]
async fn guessing_from_one_address_does_not_lock_the_owner_out() {
    let Auth { app, database, .. } = auth_with(|settings| {
        settings.sign_in_failures_per_account = 3;
        settings.sign_in_failures_per_address = 100;
    })
    .await;
    let email = WORLD.email(WORLD.demo_jobseeker());
    let attempt = |address: &'static str, password: &'static str| {
        sign_in_from(&app, address, &email, password, true)
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("203.0.113.9", "wrong password").await.as_deref(),
            Some("UNAUTHENTICATED")
        );
    }
    for _ in 0..5 {
        assert_eq!(
            attempt("203.0.113.9", DEMO_PASSWORD).await.as_deref(),
            Some("RATE_LIMITED")
        );
    }
    let recorded: i64 = database
        .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM sign_in_failures"))
        .await
        .expect("counts");
    assert_eq!(recorded, 3, "refused attempts are not recorded as failures");
    assert_eq!(
        attempt("198.51.100.4", DEMO_PASSWORD).await,
        None,
        "the owner signs in"
    );
}

/// A burst of sign-ups and sign-ins cannot take auth down: hashing is
/// bounded, so attempts beyond what the CPUs hash within the wait are
/// answered SERVICE_UNAVAILABLE (503 with `Retry-After`: the server is
/// busy, not the client at fault), while
/// `me` and the key set (which need a pooled connection but no hash) keep
/// answering throughout. Counts, not times, are asserted; the probes'
/// latency is printed for docs/attacks.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_password_work_leaves_other_requests_answered() {
    let Auth { app, .. } = auth().await;
    let (access, _) = sign_in(&app, WORLD.demo_jobseeker()).await;
    let app = Arc::new(app);
    let mut burst = Vec::new();
    for index in 0..50 {
        let app = app.clone();
        burst.push(tokio::spawn(async move {
            let email = format!("burst-{index}@example.com");
            let variables = json!({ "input": { "email": email, "password": "burst passphrase", "role": "JOBSEEKER" } });
            app.graphql(SIGN_UP, variables).await
        }));
    }
    for _ in 0..20 {
        let app = app.clone();
        burst.push(tokio::spawn(async move {
            app.graphql(
                SIGN_IN,
                credentials(&WORLD.email(WORLD.demo_recruiter()), "wrong password"),
            )
            .await
        }));
    }
    let mut probe_latencies = Vec::new();
    let mut probe_failures = Vec::new();
    while !burst.iter().all(tokio::task::JoinHandle::is_finished) {
        let started = std::time::Instant::now();
        let me = app.graphql_as(&access, ME, json!({})).await;
        let keys = app
            .client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("the key set answers");
        probe_latencies.push(started.elapsed());
        if me.body["data"]["me"]["id"].is_null() || !keys.status().is_success() {
            probe_failures.push(me.body.to_string());
        }
    }
    let mut codes = std::collections::BTreeMap::new();
    for (index, task) in burst.into_iter().enumerate() {
        let response = task.await.expect("the request task");
        let code = response.first_error_code().unwrap_or("OK").to_owned();
        if index < 50 {
            // A sign-up is never blamed on the client: it only hashes.
            assert!(
                ["OK", "SERVICE_UNAVAILABLE"].contains(&code.as_str()),
                "a sign-up answered {code}: {:#}",
                response.body
            );
        }
        if response.status.is_server_error() {
            assert_eq!(response.status, 503, "{:#}", response.body);
            assert_eq!(code, "SERVICE_UNAVAILABLE", "{:#}", response.body);
            assert_eq!(
                response.body["errors"][0]["extensions"]["retryAfterSeconds"], 1,
                "{:#}",
                response.body
            );
        }
        *codes.entry(code).or_insert(0) += 1;
    }
    assert!(probe_failures.is_empty(), "{probe_failures:?}");
    assert!(!probe_latencies.is_empty());
    for code in codes.keys() {
        assert!(
            [
                "OK",
                "SERVICE_UNAVAILABLE",
                "RATE_LIMITED",
                "UNAUTHENTICATED"
            ]
            .contains(&code.as_str()),
            "unexpected outcome {code}: {codes:?}"
        );
    }
    probe_latencies.sort();
    let p99 = probe_latencies[(probe_latencies.len() * 99 / 100).min(probe_latencies.len() - 1)];
    println!(
        "burst outcomes {codes:?}; {} probe rounds (me + JWKS), p99 {:.1} ms",
        probe_latencies.len(),
        p99.as_secs_f64() * 1_000.0
    );
}

/// A refresh token works once: it returns a new pair, and presenting the
/// used one again revokes the session, so the newer token stops working
/// too.
#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_session() {
    let Auth { app, database, .. } = auth().await;
    let (_, first) = sign_in(&app, WORLD.demo_jobseeker()).await;
    let response = app.graphql(REFRESH, json!({ "token": first })).await;
    let second = response.body["data"]["refreshSession"]["refreshToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{:#}", response.body))
        .to_owned();
    let access = response.body["data"]["refreshSession"]["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned();
    assert_ne!(first, second);
    let me = app.graphql_as(&access, ME, json!({})).await;
    assert_eq!(
        me.body["data"]["me"]["id"],
        WORLD.user_id(WORLD.demo_jobseeker()).to_string()
    );

    let reused = app.graphql(REFRESH, json!({ "token": first })).await;
    assert_eq!(reused.first_error_code(), Some("UNAUTHENTICATED"));
    let after = app.graphql(REFRESH, json!({ "token": second })).await;
    assert_eq!(
        after.first_error_code(),
        Some("UNAUTHENTICATED"),
        "{:#}",
        after.body
    );
    let reason: String = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT revoked_reason FROM sessions WHERE revoked_at IS NOT NULL",
        ))
        .await
        .expect("one revoked session");
    assert_eq!(reason, "REFRESH_TOKEN_REUSED");
    let stored: i64 = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM refresh_tokens WHERE length(token_hash) = 32",
        ))
        .await
        .expect("counts");
    assert_eq!(stored, 2, "only hashes are stored");

    let garbage = app
        .graphql(REFRESH, json!({ "token": "not-a-token" }))
        .await;
    assert_eq!(garbage.first_error_code(), Some("UNAUTHENTICATED"));
}

/// Signing out ends the session: its refresh token stops working.
#[tokio::test]
async fn sign_out_revokes_the_session() {
    let Auth { app, .. } = auth().await;
    let (_, refresh) = sign_in(&app, WORLD.demo_jobseeker()).await;
    let response = app.graphql(SIGN_OUT, json!({ "token": refresh })).await;
    assert_eq!(response.body["data"]["signOut"], true);
    let response = app.graphql(REFRESH, json!({ "token": refresh })).await;
    assert_eq!(response.first_error_code(), Some("UNAUTHENTICATED"));
    let response = app.graphql(SIGN_OUT, json!({ "token": refresh })).await;
    assert_eq!(response.body["data"]["signOut"], false);
}

/// Rotating the signing key publishes the new key next to the old one:
/// tokens signed before keep working, new tokens use the new key, and only
/// admins may rotate.
#[tokio::test]
async fn signing_keys_rotate_without_breaking_issued_tokens() {
    let Auth { app, .. } = auth().await;
    let (admin, _) = sign_in(&app, WORLD.demo_admin()).await;
    let (before, _) = sign_in(&app, WORLD.demo_jobseeker()).await;
    let rotate = "mutation { rotateSigningKey { keyId activatesAt } }";
    let refused = app.graphql_as(&before, rotate, json!({})).await;
    assert_eq!(refused.first_error_code(), Some("FORBIDDEN"));
    let rotated = app.graphql_as(&admin, rotate, json!({})).await;
    let new_key = rotated.body["data"]["rotateSigningKey"]["keyId"]
        .as_str()
        .unwrap_or_else(|| panic!("{:#}", rotated.body))
        .to_owned();
    assert_ne!(header_of(&before)["kid"], new_key.as_str());

    let (after, _) = sign_in(&app, WORLD.demo_jobseeker()).await;
    assert_eq!(header_of(&after)["kid"], new_key.as_str());
    for token in [&before, &after] {
        let me = app.graphql_as(token, ME, json!({})).await;
        assert!(me.body["data"]["me"]["id"].is_string(), "{:#}", me.body);
    }
    let set = jwks(&app).await;
    assert_eq!(set["keys"].as_array().map(Vec::len), Some(2));
}

/// The newest signing key's id and private half.
async fn newest_key(database: &Database) -> (String, Vec<u8>) {
    let key_id: String = database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT key_id FROM signing_keys ORDER BY activates_at DESC LIMIT 1",
        ))
        .await
        .expect("a signing key");
    let private_key: Vec<u8> = database
        .fetch_scalar(
            sqlx::query_scalar("SELECT private_key FROM signing_keys WHERE key_id = $1")
                .bind(&key_id),
        )
        .await
        .expect("its private key");
    (key_id, private_key)
}

/// Signs `claims` with the auth database's current private key: a
/// correctly signed token with whatever claims a test needs.
async fn mint(database: &Database, claims: &Value) -> String {
    let (key_id, private_key) = newest_key(database).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key_id);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&private_key)).expect("signs")
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Every class of bad token is refused with UNAUTHENTICATED and a 401, by
/// auth itself and by the kit's JWKS verifier that the other subgraphs run:
/// `alg: none`, HS256 keyed with the public key, wrong issuer, wrong
/// audience, expired, tampered payload, unknown key id, garbage.
#[tokio::test]
async fn bad_tokens_are_refused_by_every_verifier() {
    let Auth {
        app,
        database,
        config,
    } = auth().await;
    let (good, _) = sign_in(&app, WORLD.demo_jobseeker()).await;
    let claims = claims_of(&good);
    let header = header_of(&good);
    let now = chrono::Utc::now().timestamp();
    let with = |field: &str, value: Value| {
        let mut changed = claims.clone();
        changed[field] = value;
        changed
    };
    let set = jwks(&app).await;
    let public_key = URL_SAFE_NO_PAD
        .decode(set["keys"][0]["x"].as_str().expect("x"))
        .expect("base64url");
    let hs256 = jsonwebtoken::encode(
        &Header {
            kid: header["kid"].as_str().map(str::to_owned),
            ..Header::new(Algorithm::HS256)
        },
        &claims,
        &EncodingKey::from_secret(&public_key),
    )
    .expect("signs");
    let mut tampered_parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    tampered_parts[1] = URL_SAFE_NO_PAD.encode(with("roles", json!(["ADMIN"])).to_string());
    let cases = vec![
        (
            "alg none",
            unsigned(&json!({ "alg": "none", "typ": "JWT" }), &claims),
        ),
        ("HS256 with the public key", hs256),
        (
            "wrong issuer",
            mint(&database, &with("iss", json!("https://evil.example"))).await,
        ),
        (
            "wrong audience",
            mint(&database, &with("aud", json!("another-app"))).await,
        ),
        (
            "expired",
            mint(&database, &with("exp", json!(now - 3_600))).await,
        ),
        ("tampered payload", tampered_parts.join(".")),
        ("unknown key id", {
            let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
            parts[0] = URL_SAFE_NO_PAD
                .encode(json!({ "alg": "EdDSA", "typ": "JWT", "kid": "no-such-key" }).to_string());
            parts.join(".")
        }),
        ("garbage", "not.a.token".to_owned()),
    ];
    // As deployed, the verifier remembers the tokens it verified: a bad
    // token must be refused even after the good one it was made from was
    // remembered.
    let jwks_verifier = TokenVerifier::new(
        Arc::new(JwksKeySet::new(
            app.url("/.well-known/jwks.json"),
            JwksPolicy::default(),
        )),
        &config.tokens.issuer,
        &config.tokens.audience,
    )
    .with_verified_token_cache(16);
    for _ in 0..2 {
        assert!(
            jwks_verifier.verify(&good).await.is_ok(),
            "the good token verifies"
        );
    }
    assert_eq!(jwks_verifier.remembered_verifications(), 1);
    for (label, token) in cases {
        let response = app.graphql_as(&token, ME, json!({})).await;
        assert_eq!(
            response.status.as_u16(),
            401,
            "{label}: {:#}",
            response.body
        );
        assert_eq!(
            response.first_error_code(),
            Some("UNAUTHENTICATED"),
            "{label}"
        );
        assert!(
            jwks_verifier.verify(&token).await.is_err(),
            "{label} must not verify against the JWKS"
        );
    }
}

/// The kit's key-set cache: a token signed by a key it has seen keeps
/// verifying while auth is unreachable; a key it has never seen cannot be
/// verified then; and a key added later is learnt by refetching on the
/// unknown key id.
#[tokio::test]
async fn jwks_cache_survives_auth_outages_and_learns_new_keys() {
    let Auth {
        app,
        database,
        config,
    } = auth().await;
    let (admin, _) = sign_in(&app, WORLD.demo_admin()).await;
    let keys = Arc::new(JwksKeySet::new(
        app.url("/.well-known/jwks.json"),
        JwksPolicy {
            refresh_after: Duration::from_millis(1),
            minimum_interval: Duration::from_millis(10),
            fetch_timeout: Duration::from_secs(2),
            longest_backoff: Duration::from_secs(1),
        },
    ));
    let verifier = TokenVerifier::new(keys.clone(), &config.tokens.issuer, &config.tokens.audience);
    let claims: AccessTokenClaims = verifier.verify(&admin).await.expect("verifies");
    assert_eq!(claims.roles, vec![Role::Admin]);

    // A second key, learnt on first sight of its id.
    let rotated = app
        .graphql_as(&admin, "mutation { rotateSigningKey { keyId } }", json!({}))
        .await;
    assert!(rotated.body.get("errors").is_none(), "{:#}", rotated.body);
    let (fresh, _) = sign_in(&app, WORLD.demo_jobseeker()).await;
    verifier
        .verify(&fresh)
        .await
        .expect("the new key is fetched");

    // Auth goes away: known keys still verify (the cache is stale, the
    // refetch fails, the cached key is used).
    drop(app);
    tokio::time::sleep(Duration::from_millis(20)).await;
    verifier
        .verify(&admin)
        .await
        .expect("a cached key verifies while auth is down");
    assert!(
        keys.key("never-published").await.is_err(),
        "an unknown key cannot be had while auth is down"
    );
    drop(database);
}

/// While auth hangs (accepts the connection, never answers), requests whose
/// tokens name a cached key are verified from the cache without waiting:
/// the stale cache is refreshed by one background fetch, not by each
/// request. Counts are asserted (every token verifies, at most one fetch
/// in flight); the latency is printed for docs/attacks.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_auth_never_delays_requests_with_known_keys() {
    let Auth { app, config, .. } = auth().await;
    let (token, _) = sign_in(&app, WORLD.demo_jobseeker()).await;
    let published: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("the key set")
        .json()
        .await
        .expect("JSON");
    // A key set server that answers until told to hang.
    let hanging = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let hanging = hanging.clone();
        axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let hanging = hanging.clone();
                let published = published.clone();
                async move {
                    if hanging.load(std::sync::atomic::Ordering::SeqCst) {
                        std::future::pending::<()>().await;
                    }
                    axum::Json(published)
                }
            }),
        )
    };
    let server = TestApp::spawn(server).await.expect("the key set server");
    let keys = Arc::new(JwksKeySet::new(
        server.url("/jwks.json"),
        JwksPolicy {
            refresh_after: Duration::from_millis(1),
            minimum_interval: Duration::from_millis(10),
            fetch_timeout: Duration::from_secs(30),
            longest_backoff: Duration::from_secs(1),
        },
    ));
    let verifier = Arc::new(TokenVerifier::new(
        keys.clone(),
        &config.tokens.issuer,
        &config.tokens.audience,
    ));
    verifier
        .verify(&token)
        .await
        .expect("verifies with auth up");
    assert_eq!(keys.fetches_started(), 1);

    hanging.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let verifier = verifier.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let verified = verifier.verify(&token).await.is_ok();
            (verified, started.elapsed())
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        let (verified, elapsed) = task.await.expect("the task");
        assert!(verified, "a known key verifies while auth hangs");
        latencies.push(elapsed);
    }
    assert_eq!(
        keys.fetches_started(),
        2,
        "one background refresh, however many requests found the cache stale"
    );
    latencies.sort();
    println!(
        "50 verifications while auth hangs: p99 {:.2} ms",
        latencies[latencies.len() * 99 / 100].as_secs_f64() * 1_000.0
    );
}

/// A key source a test can empty and refill, standing for a key set that
/// drops a key and later serves it again (as a fresh object, the way a
/// refetched key set does).
struct SwitchableKeys {
    published: jsonwebtoken::jwk::JwkSet,
    served: std::sync::Mutex<std::collections::HashMap<String, Arc<jsonwebtoken::DecodingKey>>>,
}

impl SwitchableKeys {
    fn new(published: &Value) -> Self {
        let keys = Self {
            published: serde_json::from_value(published.clone()).expect("a JWK set"),
            served: std::sync::Mutex::default(),
        };
        keys.serve_again();
        keys
    }

    fn drop_every_key(&self) {
        self.served.lock().expect("the keys").clear();
    }

    fn serve_again(&self) {
        *self.served.lock().expect("the keys") = self
            .published
            .keys
            .iter()
            .filter_map(talentgraph_kit::tokens::decoding_key)
            .map(|(key_id, key)| (key_id, Arc::new(key)))
            .collect();
    }
}

impl VerificationKeys for SwitchableKeys {
    fn key<'a>(
        &'a self,
        key_id: &'a str,
    ) -> futures::future::BoxFuture<
        'a,
        Result<Option<Arc<jsonwebtoken::DecodingKey>>, talentgraph_kit::tokens::KeysUnavailable>,
    > {
        let key = self.served.lock().expect("the keys").get(key_id).cloned();
        Box::pin(async move { Ok(key) })
    }
}

/// A verifier that remembers tokens skips the signature check for a token
/// it verified before, yet refuses a remembered token exactly when the
/// full check would: once it has expired, and while the key set no longer
/// holds the key that verified it. A key served again as a new object is
/// checked in full once before tokens are remembered against it.
#[tokio::test]
async fn remembered_tokens_are_refused_once_expired_or_their_key_is_gone() {
    let Auth {
        app,
        database,
        config,
    } = auth().await;
    let (good, _) = sign_in(&app, WORLD.demo_jobseeker()).await;
    let keys = Arc::new(SwitchableKeys::new(&jwks(&app).await));
    let verifier = TokenVerifier::new(keys.clone(), &config.tokens.issuer, &config.tokens.audience)
        .with_verified_token_cache(16);
    for _ in 0..5 {
        verifier
            .verify(&good)
            .await
            .expect("the good token verifies");
    }
    assert_eq!(
        verifier.remembered_verifications(),
        4,
        "one full check, then four answers from memory"
    );

    // The full check allows 30 s of clock skew past `exp`: this token is
    // valid for about one more second.
    let mut claims = claims_of(&good);
    claims["exp"] = json!(chrono::Utc::now().timestamp() - 29);
    let expiring = mint(&database, &claims).await;
    verifier
        .verify(&expiring)
        .await
        .expect("valid within the leeway");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let refused = verifier
        .verify(&expiring)
        .await
        .expect_err("expired since it was remembered");
    assert_eq!(refused.message, "The access token has expired.");

    keys.drop_every_key();
    let refused = verifier
        .verify(&good)
        .await
        .expect_err("its key left the key set");
    assert_eq!(
        refused.message,
        "The access token's signing key is unknown."
    );
    assert_eq!(verifier.remembered_verifications(), 4);

    keys.serve_again();
    verifier
        .verify(&good)
        .await
        .expect("verifies in full again");
    assert_eq!(verifier.remembered_verifications(), 4);
    verifier.verify(&good).await.expect("and from memory after");
    assert_eq!(verifier.remembered_verifications(), 5);

    let unremembering = TokenVerifier::new(keys, &config.tokens.issuer, &config.tokens.audience)
        .with_verified_token_cache(0);
    for _ in 0..3 {
        unremembering.verify(&good).await.expect("verifies");
    }
    assert_eq!(unremembering.remembered_verifications(), 0);
}

/// Guesses spread over many addresses meet the account's cap over all
/// addresses, whatever each address's own limit; the owner, from an
/// address they signed in from before, still signs in; a new address (even
/// with the right password) waits for the window.
#[tokio::test]
async fn guessing_from_many_addresses_meets_the_account_cap_but_not_the_owner() {
    let Auth { app, .. } = auth_with(|settings| {
        settings.sign_in_failures_per_account = 3;
        settings.sign_in_failures_per_account_all_addresses = 6;
        settings.sign_in_failures_per_address = 100;
    })
    .await;
    let email = WORLD.email(WORLD.demo_jobseeker());
    let owner_address = "198.51.100.4";
    assert_eq!(
        sign_in_from(&app, owner_address, &email, DEMO_PASSWORD, true).await,
        None,
        "the owner signs in from home once"
    );
    // Six guesses, each from an address of its own: no address reaches its
    // own limit, the account reaches its cap.
    for guess in 0..6 {
        let address = format!("203.0.113.{guess}");
        assert_eq!(
            sign_in_from(&app, &address, &email, "wrong password", true)
                .await
                .as_deref(),
            Some("UNAUTHENTICATED"),
            "guess {guess}"
        );
    }
    for guess in 6..9 {
        let address = format!("203.0.113.{guess}");
        assert_eq!(
            sign_in_from(&app, &address, &email, "wrong password", true)
                .await
                .as_deref(),
            Some("RATE_LIMITED"),
            "guess {guess} from a new address"
        );
    }
    assert_eq!(
        sign_in_from(&app, "192.0.2.77", &email, DEMO_PASSWORD, true)
            .await
            .as_deref(),
        Some("RATE_LIMITED"),
        "a new address waits even with the password"
    );
    assert_eq!(
        sign_in_from(&app, owner_address, &email, DEMO_PASSWORD, true).await,
        None,
        "the owner, from the address they used before, is not locked out"
    );
    // Another account is not affected.
    assert_eq!(
        sign_in_from(
            &app,
            "203.0.113.50",
            &WORLD.email(WORLD.demo_recruiter()),
            DEMO_PASSWORD,
            true
        )
        .await,
        None
    );
}

/// A membership change delivered again after the change that followed it
/// (its first handling failed and the stream redelivered it) is older and
/// changes nothing: a removal is not undone by its addition arriving late.
#[tokio::test]
async fn a_late_membership_change_does_not_undo_a_newer_one() {
    let Auth { app, database, .. } = auth().await;
    let recruiter = WORLD.user_id(WORLD.demo_recruiter());
    let organization = WORLD.organization_id(7);
    let added = talentgraph_events::RecruiterAdded {
        organization_id: organization,
        user_id: recruiter,
        added_by: None,
        membership_version: Some(1),
    };
    let removed = talentgraph_events::RecruiterRemoved {
        organization_id: organization,
        user_id: recruiter,
        removed_by: WORLD.user_id(WORLD.demo_admin()),
        membership_version: Some(2),
    };
    let member = |token: &str| {
        claims_of(token)["orgs"]
            .to_string()
            .contains(&organization.to_string())
    };
    apply_membership_event(&database, &added).await;
    apply_membership_event(&database, &removed).await;
    apply_membership_event(&database, &added).await;
    let (token, _) = sign_in(&app, WORLD.demo_recruiter()).await;
    assert!(!member(&token), "the late addition did not re-grant");
    // An unversioned change (from before versions) cannot either.
    apply_membership_event(
        &database,
        &talentgraph_events::RecruiterAdded {
            membership_version: None,
            ..added.clone()
        },
    )
    .await;
    let (token, _) = sign_in(&app, WORLD.demo_recruiter()).await;
    assert!(!member(&token));
    // The next change, version 3, applies.
    apply_membership_event(
        &database,
        &talentgraph_events::RecruiterAdded {
            membership_version: Some(3),
            ..added
        },
    )
    .await;
    let (token, _) = sign_in(&app, WORLD.demo_recruiter()).await;
    assert!(member(&token), "a newer addition applies");
}
