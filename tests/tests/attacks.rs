//! The attack suite: hostile requests against the real stack, through the
//! router and straight at a subgraph. Each case asserts how it is refused
//! (status and code), that no SQL ran for it, and that nothing else
//! suffered: the router's health check answers and a page still works
//! afterwards, and no answer is a 5xx.
//!
//! The limits themselves have unit tests next to them (the kit's
//! `graphql/limits.rs`, the router scripts' `tests/trusted_documents.rs`);
//! this suite proves they hold end to end, in the order an attacker meets
//! them.

use serde_json::{Value, json};
use talentgraph_e2e::{DemoAccount, Stack, StackOptions};

/// How one hostile request must be answered.
struct Expected {
    /// Acceptable HTTP statuses.
    statuses: &'static [u16],
    /// The acceptable error codes (any one of them); empty when the answer
    /// is the router's own and carries none.
    codes: &'static [&'static str],
}

fn first_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Every error code in an answer. Through the router a subgraph's refusal
/// comes after the router's own `SUBREQUEST_HTTP_ERROR` for the 400.
fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|error| error["extensions"]["code"].as_str())
        .collect()
}

/// Sends a raw request to `url` and returns (status, body as JSON or text).
async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    content_type: Option<&str>,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = client.request(method, url).header(
        "accept",
        "application/graphql-response+json, application/json",
    );
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = match request.send().await {
        Ok(response) => response,
        // A server that refuses an oversized body answers 413 at once and
        // closes the connection; a client still writing the body then sees
        // the connection close instead of the answer. Reported as status 0,
        // which only the oversized cases accept.
        Err(error) if error.is_request() => {
            return (0, Value::String(format!("closed while sending: {error}")));
        }
        Err(error) => panic!("an answer, not a dropped connection: {error}"),
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Asserts the stack is unharmed: the router is healthy and a page runs.
async fn assert_unharmed(stack: &Stack, case: &str) {
    let health = reqwest::get(&stack.health_url)
        .await
        .unwrap_or_else(|error| panic!("after {case}: the health check does not answer: {error}"));
    assert!(health.status().is_success(), "after {case}: unhealthy");
    let (response, _) = stack
        .page(
            "JobSearchPage",
            Some(stack.token(DemoAccount::Jobseeker)),
            json!({ "first": 3 }),
        )
        .await;
    assert!(
        response.body.get("errors").is_none(),
        "after {case}: a page fails: {:#}",
        response.body
    );
}

/// jobs → organization → jobs → … , `cycles` times: four levels a cycle.
fn nested(cycles: usize) -> String {
    let mut document = String::from("id");
    for _ in 0..cycles {
        document =
            format!("organization {{ jobs(first: 1) {{ edges {{ node {{ {document} }} }} }} }}");
    }
    format!("{{ jobs(first: 1) {{ edges {{ node {{ {document} }} }} }} }}")
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_requests_are_refused_and_harm_nothing() {
    let stack = Stack::start(StackOptions::default()).await;
    let client = reqwest::Client::new();
    let router = stack.router_url.clone();
    let core = stack.subgraph("core").url("/graphql");
    let employer = stack.subgraph("employer").url("/graphql");
    let graphql_body = |query: &str| json!({ "query": query }).to_string();
    let json_type = Some("application/json");
    let huge_string = "x".repeat(2 * 1024 * 1024);
    let representations: Vec<Value> = (0..3_000)
        .map(|index| json!({ "__typename": "Organization", "id": format!("{index}") }))
        .collect();

    let aliases = (0..60)
        .map(|index| format!("a{index}: jobs(first: 1) {{ edges {{ cursor }} }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let duplicated = format!(
        "{{ jobs(first: 1) {{ edges {{ node {{ {} }} }} }} }}",
        vec!["title"; 3_000].join(" ")
    );
    let directives = format!(
        "{{ jobs(first: 1) {{ edges {{ cursor {} }} }} }}",
        vec!["@include(if: true)"; 50].join(" ")
    );
    type Case = (
        &'static str,
        reqwest::Method,
        String,
        Option<&'static str>,
        Option<String>,
        Vec<(&'static str, &'static str)>,
        Expected,
    );
    let cases: Vec<Case> = vec![
        (
            "alias overload (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(graphql_body(&format!("{{ {aliases} }}"))),
            vec![],
            Expected { statuses: &[200, 400], codes: &["ALIAS_LIMIT_EXCEEDED"] },
        ),
        (
            "alias overload (subgraph)",
            reqwest::Method::POST,
            employer.clone(),
            json_type,
            Some(graphql_body(&format!("{{ {aliases} }}"))),
            vec![],
            Expected { statuses: &[400], codes: &["ALIAS_LIMIT_EXCEEDED"] },
        ),
        (
            "field duplication (subgraph)",
            reqwest::Method::POST,
            employer.clone(),
            json_type,
            Some(graphql_body(&duplicated)),
            vec![],
            Expected { statuses: &[400], codes: &["SELECTION_LIMIT_EXCEEDED"] },
        ),
        (
            "directive overload (subgraph)",
            reqwest::Method::POST,
            employer.clone(),
            json_type,
            Some(graphql_body(&directives)),
            vec![],
            Expected { statuses: &[400], codes: &["DIRECTIVE_LIMIT_EXCEEDED"] },
        ),
        (
            "circular fragments (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(graphql_body(
                "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            )),
            vec![],
            Expected { statuses: &[400], codes: &["GRAPHQL_VALIDATION_FAILED"] },
        ),
        (
            "circular fragments (subgraph)",
            reqwest::Method::POST,
            core.clone(),
            json_type,
            Some(graphql_body(
                "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            )),
            vec![],
            // The kit's walk, which runs before validation, stops the cycle.
            Expected { statuses: &[400], codes: &["RECURSION_LIMIT_EXCEEDED", "GRAPHQL_VALIDATION_FAILED"] },
        ),
        (
            "fragment bomb (subgraph)",
            reqwest::Method::POST,
            core.clone(),
            json_type,
            Some(graphql_body(&talentgraph_kit::testing::fragment_fan_out(7, 40))),
            vec![],
            Expected { statuses: &[400], codes: &["SELECTION_LIMIT_EXCEEDED"] },
        ),
        (
            "batched operations in one POST (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string()),
            vec![],
            Expected { statuses: &[400], codes: &[] },
        ),
        (
            "batched operations in one POST (subgraph)",
            reqwest::Method::POST,
            core.clone(),
            json_type,
            Some(json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string()),
            vec![],
            Expected { statuses: &[400], codes: &["BAD_REQUEST"] },
        ),
        (
            "GET mutation without a preflight header (router, CSRF)",
            reqwest::Method::GET,
            format!("{router}?query=mutation%7BsignOut(refreshToken%3A%22x%22)%7D"),
            None,
            None,
            vec![],
            Expected { statuses: &[400], codes: &["CSRF_ERROR"] },
        ),
        (
            "GET mutation (router, with a preflight header)",
            reqwest::Method::GET,
            format!("{router}?query=mutation%7BsignOut(refreshToken%3A%22x%22)%7D"),
            None,
            None,
            vec![("apollo-require-preflight", "true")],
            Expected { statuses: &[405], codes: &[] },
        ),
        (
            "GET mutation (subgraph)",
            reqwest::Method::GET,
            format!("{}?query=mutation%7BsignOut(refreshToken%3A%22x%22)%7D", stack.subgraph("auth").url("/graphql")),
            None,
            None,
            vec![],
            Expected { statuses: &[405], codes: &["METHOD_NOT_ALLOWED"] },
        ),
        (
            "huge variables (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(json!({ "query": "query($s: String) { __typename }", "variables": { "s": huge_string } }).to_string()),
            vec![],
            Expected { statuses: &[413], codes: &[] },
        ),
        (
            "huge variables (subgraph)",
            reqwest::Method::POST,
            core.clone(),
            json_type,
            Some(json!({ "query": "query($s: String) { __typename }", "variables": { "s": huge_string } }).to_string()),
            vec![],
            Expected { statuses: &[413], codes: &["PAYLOAD_TOO_LARGE"] },
        ),
        (
            "deep nesting past the router's parser (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(graphql_body(&format!("{}{}", "{ a ".repeat(600), "}".repeat(600)))),
            vec![],
            Expected { statuses: &[400], codes: &[] },
        ),
        (
            "deep nesting past the subgraph's depth (subgraph)",
            reqwest::Method::POST,
            employer.clone(),
            json_type,
            Some(graphql_body(&nested(3))),
            vec![],
            Expected { statuses: &[400], codes: &["DEPTH_LIMIT_EXCEEDED", "RECURSION_LIMIT_EXCEEDED"] },
        ),
        (
            "unknown content type (router)",
            reqwest::Method::POST,
            router.clone(),
            Some("text/plain"),
            Some(graphql_body("{ __typename }")),
            vec![],
            Expected { statuses: &[400], codes: &["CSRF_ERROR"] },
        ),
        (
            "unknown content type (subgraph)",
            reqwest::Method::POST,
            core.clone(),
            Some("application/x-www-form-urlencoded"),
            Some("query=%7B__typename%7D".to_owned()),
            vec![],
            Expected { statuses: &[415], codes: &["UNSUPPORTED_MEDIA_TYPE"] },
        ),
        (
            "malformed JSON (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some("{\"query\": ".to_owned()),
            vec![],
            Expected { statuses: &[400], codes: &[] },
        ),
        (
            "page size over the limit (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(graphql_body("{ jobs(first: 101) { edges { cursor } } }")),
            vec![],
            Expected { statuses: &[200, 400], codes: &["PAGE_SIZE_EXCEEDED"] },
        ),
        (
            "3,000 representations (subgraph)",
            reqwest::Method::POST,
            employer.clone(),
            json_type,
            Some(json!({
                "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { jobs(first: 100) { edges { node { id } } } } } }",
                "variables": { "r": representations },
            }).to_string()),
            vec![("x-talentgraph-router", talentgraph_e2e::ROUTER_SECRET)],
            Expected { statuses: &[400], codes: &["REPRESENTATION_LIMIT_EXCEEDED"] },
        ),
        (
            "NUL in a variable (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(json!({
                "query": "query($f: JobFilter) { jobs(first: 1, filter: $f) { edges { cursor } } }",
                "variables": { "f": { "search": "a\u{0}b" } },
            }).to_string()),
            vec![],
            Expected { statuses: &[200, 400], codes: &["BAD_USER_INPUT"] },
        ),
        (
            "rejected postings searched by a stranger (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(graphql_body("{ jobs(first: 5, filter: { status: REJECTED }) { edges { node { id } } } }")),
            vec![],
            Expected { statuses: &[200], codes: &["FORBIDDEN"] },
        ),
        (
            "a forged token (router)",
            reqwest::Method::POST,
            router.clone(),
            json_type,
            Some(graphql_body("{ me { id } }")),
            vec![("authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.")],
            Expected { statuses: &[200, 401], codes: &["UNAUTHENTICATED"] },
        ),
    ];

    let mut summary = Vec::new();
    for (case, method, url, content_type, body, headers, expected) in cases {
        let before = stack.total_statements();
        let (status, answer) = send(&client, method, &url, content_type, body, &headers).await;
        let statements = stack.total_statements() - before;
        if status == 0 && expected.statuses.contains(&413) {
            // Refused while the body was still being sent; see `send`.
            summary.push(format!("| {case} | closed early | - |"));
            assert_eq!(statements, 0, "{case}");
            assert_unharmed(&stack, case).await;
            continue;
        }
        assert!(
            expected.statuses.contains(&status),
            "{case}: status {status}, expected one of {:?}: {answer:#}",
            expected.statuses
        );
        if !expected.codes.is_empty() {
            assert!(
                codes(&answer)
                    .iter()
                    .any(|code| expected.codes.contains(code)),
                "{case}: expected one of {:?}: {answer:#}",
                expected.codes
            );
        }
        assert_eq!(
            statements, 0,
            "{case}: refused, yet {statements} SQL statement(s) ran"
        );
        summary.push(format!(
            "| {case} | {status} | {} |",
            codes(&answer).join(", ")
        ));
        assert_unharmed(&stack, case).await;
    }
    println!("{}", summary.join("\n"));
}

/// Production: introspection and any unregistered document are refused by
/// the router before a subgraph is called.
#[tokio::test(flavor = "multi_thread")]
async fn production_refuses_introspection_and_unregistered_documents() {
    let stack = Stack::start(StackOptions {
        router_config: "router.yaml",
        ..StackOptions::default()
    })
    .await;
    for document in [
        "{ __schema { types { name } } }",
        "{ __type(name: \"Job\") { fields { name } } }",
        "{ jobs(first: 100) { edges { node { id title description } } } }",
    ] {
        let (response, cost) = stack.request(None, document, None, json!({})).await;
        assert_eq!(response.status, 403, "{document}: {:#}", response.body);
        assert_eq!(first_code(&response.body), Some("OPERATION_NOT_TRUSTED"));
        assert_eq!(cost.total_fetches(), 0);
    }
}

/// What a candidate shares with employers stays with them: a stranger (even
/// a recruiter) asking for a candidate's profile gets the profile without
/// the résumé (`FORBIDDEN` on `resumeUrl`), the recruiters of an
/// organization the candidate applied to get it, and the candidate always
/// does. Through the real router, as a client would ask.
#[tokio::test(flavor = "multi_thread")]
async fn a_resume_reaches_only_the_employers_a_candidate_applied_to() {
    let stack = Stack::start(StackOptions::default()).await;
    let candidate = stack
        .sign_up("resume.owner@e2e.talentgraph.dev", "JOBSEEKER")
        .await;
    let resume = "https://cv.example/resume-owner.pdf";
    let (response, _) = stack
        .request(
            Some(&candidate.access_token),
            "mutation($r: String) { updateJobseekerProfile(input: { resumeUrl: $r, openToWork: true }) { resumeUrl } }",
            None,
            json!({ "r": resume }),
        )
        .await;
    assert_eq!(
        response.body["data"]["updateJobseekerProfile"]["resumeUrl"], resume,
        "{:#}",
        response.body
    );
    let (response, _) = stack
        .request(
            Some(&candidate.access_token),
            "{ me { id } }",
            None,
            json!({}),
        )
        .await;
    let candidate_id = response.body["data"]["me"]["id"]
        .as_str()
        .expect("the candidate's id")
        .to_owned();
    let profile = "query($u: ID!) { user(id: $u) { jobseekerProfile { openToWork resumeUrl } } }";
    let ask = |token: Option<String>| {
        let stack = &stack;
        let candidate_id = candidate_id.clone();
        async move {
            let (response, _) = stack
                .request(
                    token.as_deref(),
                    profile,
                    None,
                    json!({ "u": candidate_id }),
                )
                .await;
            response.body
        }
    };
    let recruiter = stack.token(DemoAccount::Recruiter).to_owned();

    let stranger = ask(Some(stack.token(DemoAccount::Jobseeker).to_owned())).await;
    assert_eq!(
        stranger["data"]["user"]["jobseekerProfile"]["openToWork"], true,
        "{stranger:#}"
    );
    assert!(stranger["data"]["user"]["jobseekerProfile"]["resumeUrl"].is_null());
    assert_eq!(first_code(&stranger), Some("FORBIDDEN"), "{stranger:#}");
    let before = ask(Some(recruiter.clone())).await;
    assert_eq!(first_code(&before), Some("FORBIDDEN"), "{before:#}");
    assert!(!before.to_string().contains(resume), "{before:#}");
    let anonymous = ask(None).await;
    assert!(!anonymous.to_string().contains(resume), "{anonymous:#}");

    // The candidate applies to one of the recruiter's organization's jobs.
    let (response, _) = stack
        .request(
            Some(&recruiter),
            "{ me { recruiterAt(first: 1) { edges { node { jobs(first: 1, status: OPEN) { edges { node { id } } } } } } } }",
            None,
            json!({}),
        )
        .await;
    let job =
        response.body["data"]["me"]["recruiterAt"]["edges"][0]["node"]["jobs"]["edges"][0]["node"]
            ["id"]
            .as_str()
            .unwrap_or_else(|| {
                panic!(
                    "the recruiter's organization has an open job: {:#}",
                    response.body
                )
            })
            .to_owned();
    let (response, _) = stack
        .request(
            Some(&candidate.access_token),
            "mutation($j: ID!) { applyToJob(jobId: $j) { id } }",
            None,
            json!({ "j": job }),
        )
        .await;
    assert!(response.body["errors"].is_null(), "{:#}", response.body);

    let after = ask(Some(recruiter)).await;
    assert_eq!(
        after["data"]["user"]["jobseekerProfile"]["resumeUrl"], resume,
        "{after:#}"
    );
    let own = ask(Some(candidate.access_token.clone())).await;
    assert_eq!(
        own["data"]["user"]["jobseekerProfile"]["resumeUrl"], resume,
        "{own:#}"
    );
    let stranger = ask(Some(stack.token(DemoAccount::Jobseeker).to_owned())).await;
    assert_eq!(first_code(&stranger), Some("FORBIDDEN"), "{stranger:#}");
}
