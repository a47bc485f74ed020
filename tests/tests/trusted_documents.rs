//! The router's Rhai scripts through the real Apollo Router: production runs
//! only trusted documents (sent in full or by id), registering a document
//! with the schema registry trusts it without a restart, and an operation
//! that plans more subgraph fetches than the bound is refused before any
//! subgraph is called.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use talentgraph_e2e::{DemoAccount, PAGES, Stack, StackOptions, page_document, page_request};

fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The SHA-256 the router's script computes and APQ clients send.
fn digest(document: &str) -> String {
    schema_registry::trusted_documents::document_sha256(document)
}

fn persisted_query_extension(document: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": digest(document) } })
}

/// A document that alternates between subgraphs: organizations (core) ->
/// jobs (employer, with the organization's name, which employer provides)
/// -> internships (internship, again with the name) -> jobs ... Each cycle
/// plans two fetches after the first: six cycles make 13.
fn alternating_document(cycles: usize) -> String {
    let mut inner = String::from("name");
    for _ in 0..cycles {
        inner = format!(
            "name jobs(first: 2) {{ edges {{ node {{ title organization {{ name internships(first: 2) {{ edges {{ node {{ title organization {{ {inner} }} }} }} }} }} }} }} }}"
        );
    }
    format!("query Amplify {{ organizations(first: 2) {{ edges {{ node {{ {inner} }} }} }} }}")
}

/// Production: every page runs by its full text and by id (Apollo's APQ
/// protocol: an unknown id is answered PERSISTED_QUERY_NOT_FOUND, the client
/// sends the document once with its id, then the id alone works); a
/// document nobody registered is refused with OPERATION_NOT_TRUSTED before
/// any subgraph is called, whether sent in full, registered with APQ by the
/// attacker, or a trusted document with one byte changed.
#[tokio::test(flavor = "multi_thread")]
async fn production_runs_only_trusted_documents() {
    let stack = Stack::start(StackOptions {
        router_config: "router.yaml",
        ..StackOptions::default()
    })
    .await;
    for page in PAGES {
        let document = page_document(page);
        let (token, variables) = page_request(&stack, page, 10).await;
        let (response, _) = stack.page(page, token, variables.clone()).await;
        assert!(
            response.body.get("errors").is_none() && response.body["data"].is_object(),
            "{page} in full: {:#}",
            response.body
        );

        let by_id = json!({
            "operationName": page,
            "variables": variables,
            "extensions": persisted_query_extension(&document),
        });
        let (first, cost) = stack.send_body(token, &by_id, &[]).await;
        assert_eq!(
            error_code(&first.body),
            Some("PERSISTED_QUERY_NOT_FOUND"),
            "{page}: {:#}",
            first.body
        );
        assert_eq!(cost.total_fetches(), 0);
        let mut with_text = by_id.clone();
        with_text["query"] = Value::String(document.clone());
        let (registered, _) = stack.send_body(token, &with_text, &[]).await;
        assert!(
            registered.body.get("errors").is_none(),
            "{page}: {:#}",
            registered.body
        );
        let (again, _) = stack.send_body(token, &by_id, &[]).await;
        // CheckoutPage's purchase is charged by payment's worker after the
        // request: between the two sends the invoice may turn from PENDING
        // to PAID and the credits grow. Its replay by id must answer the
        // same invoice; every other page the same data.
        let same_answer = if page == "CheckoutPage" {
            let invoice =
                |body: &Value| body["data"]["purchaseJobCredits"]["invoice"]["id"].clone();
            invoice(&again.body) == invoice(&registered.body) && !invoice(&again.body).is_null()
        } else {
            again.body["data"] == registered.body["data"]
        };
        assert!(
            again.body.get("errors").is_none() && same_answer,
            "{page} by id: {:#}\nwith its text: {:#}",
            again.body,
            registered.body
        );
    }

    let token = stack.token(DemoAccount::Jobseeker);
    let untrusted = "query Peek { jobs(first: 1) { edges { node { id title } } } }";
    let (response, cost) = stack.request(Some(token), untrusted, None, json!({})).await;
    assert_eq!(response.status, 403, "{:#}", response.body);
    assert_eq!(error_code(&response.body), Some("OPERATION_NOT_TRUSTED"));
    assert_eq!(
        response.body["errors"][0]["extensions"]["documentSha256"],
        digest(untrusted)
    );
    assert_eq!(cost.total_fetches(), 0, "refused before any subgraph");

    // The attacker registers the document in the router's APQ cache (the
    // hash matches the text); the script still checks the text.
    let apq_registration =
        json!({ "query": untrusted, "extensions": persisted_query_extension(untrusted) });
    let (response, cost) = stack.send_body(Some(token), &apq_registration, &[]).await;
    assert_eq!(error_code(&response.body), Some("OPERATION_NOT_TRUSTED"));
    assert_eq!(cost.total_fetches(), 0);
    let apq_use = json!({ "extensions": persisted_query_extension(untrusted) });
    let (response, cost) = stack.send_body(Some(token), &apq_use, &[]).await;
    assert!(
        matches!(
            error_code(&response.body),
            Some("OPERATION_NOT_TRUSTED" | "PERSISTED_QUERY_NOT_FOUND")
        ),
        "{:#}",
        response.body
    );
    assert_eq!(cost.total_fetches(), 0);

    // One byte more than a trusted document is another document.
    let changed = format!("{} ", page_document("JobSearchPage"));
    let (response, cost) = stack
        .request(
            Some(token),
            &changed,
            Some("JobSearchPage"),
            json!({ "first": 1 }),
        )
        .await;
    assert_eq!(error_code(&response.body), Some("OPERATION_NOT_TRUSTED"));
    assert_eq!(cost.total_fetches(), 0);

    // Introspection is not a trusted document either.
    let (response, _) = stack
        .request(None, "{ __schema { queryType { name } } }", None, json!({}))
        .await;
    assert_eq!(error_code(&response.body), Some("OPERATION_NOT_TRUSTED"));
}

/// A client registers a new operation with the schema registry, which
/// rewrites the router's trusted-documents module; the hot-reloading router
/// admits the operation without a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_registered_operation_is_trusted_without_a_restart() {
    let stack = Stack::start(StackOptions {
        router_config: "router.yaml",
        hot_reload: true,
        private_rhai_scripts: true,
        ..StackOptions::default()
    })
    .await;
    let trusted_documents_path = stack
        .rhai_scripts_directory()
        .join("trusted_documents.rhai");
    let (registry, token) = stack
        .start_registry(schema_registry::server::RouterFiles {
            supergraph: None,
            trusted_documents: Some(trusted_documents_path.clone()),
        })
        .await;
    let http = reqwest::Client::new();

    let new_operation = "query NewestJobs { jobs(first: 3) { edges { node { id title } } } }";
    let jobseeker = stack.token(DemoAccount::Jobseeker);
    let (response, _) = stack
        .request(Some(jobseeker), new_operation, None, json!({}))
        .await;
    assert_eq!(error_code(&response.body), Some("OPERATION_NOT_TRUSTED"));

    let response = http
        .post(registry.url("/api/operations"))
        .bearer_auth(&token)
        .json(&json!({ "client": "web", "client_version": "1.1.0", "documents": [new_operation] }))
        .send()
        .await
        .expect("the registry answers");
    assert_eq!(response.status().as_u16(), 201);
    let module = std::fs::read_to_string(&trusted_documents_path).expect("the module");
    assert!(module.contains(&digest(new_operation)), "{module}");

    // The router polls its script directory every few seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The reload replaces the router's HTTP server; a request at that
        // moment may find its connection closed, and is simply sent again.
        let body = json!({ "query": new_operation, "variables": {} });
        let Ok((response, _)) = stack.try_send_body(Some(jobseeker), &body, &[]).await else {
            assert!(
                Instant::now() < deadline,
                "the router stopped answering:\n{}",
                stack.router_log()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        };
        if response.body.get("errors").is_none() {
            assert_eq!(
                response.body["data"]["jobs"]["edges"]
                    .as_array()
                    .map(Vec::len),
                Some(3)
            );
            break;
        }
        assert_eq!(error_code(&response.body), Some("OPERATION_NOT_TRUSTED"));
        assert!(
            Instant::now() < deadline,
            "the router did not reload the trusted documents:\n{}",
            stack.router_log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The pages, which this registry never heard of, are now refused: the
    // module lists exactly what the registry holds.
    let (response, _) = stack
        .page("JobSearchPage", Some(jobseeker), json!({ "first": 1 }))
        .await;
    assert_eq!(error_code(&response.body), Some("OPERATION_NOT_TRUSTED"));
}

/// An operation whose plan needs more subgraph fetches than the bound is
/// refused with QUERY_PLAN_TOO_LARGE before any subgraph is called; one
/// under the bound runs. Both profiles run the bound.
#[tokio::test(flavor = "multi_thread")]
async fn operations_over_the_fetch_bound_are_refused_before_any_fetch() {
    let stack = Stack::start(StackOptions::default()).await;
    let token = stack.token(DemoAccount::Jobseeker);
    let (response, cost) = stack
        .request(Some(token), &alternating_document(2), None, json!({}))
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    assert!(cost.total_fetches() <= 12, "{cost:?}");

    let (response, cost) = stack
        .request(Some(token), &alternating_document(6), None, json!({}))
        .await;
    assert_eq!(response.status, 400, "{:#}", response.body);
    assert_eq!(
        error_code(&response.body),
        Some("QUERY_PLAN_TOO_LARGE"),
        "{:#}",
        response.body
    );
    assert!(
        response.body["errors"][0]["extensions"]["fetches"]
            .as_i64()
            .unwrap_or(0)
            > 12
    );
    assert_eq!(cost.total_fetches(), 0, "refused before any subgraph");
}
