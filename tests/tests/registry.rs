//! The schema registry in front of the real router: a publication the
//! registry accepts reaches a router started with `--hot-reload`, with no
//! restart, through the supergraph file the registry writes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use talentgraph_e2e::{Stack, StackOptions};

const JOB_FIELDS: &str = "{ __type(name: \"Job\") { fields { name } } }";

async fn job_fields(stack: &Stack) -> Vec<String> {
    let (response, _) = stack.request(None, JOB_FIELDS, None, json!({})).await;
    response.body["data"]["__type"]["fields"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|field| field["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_publication_reaches_the_hot_reloading_router() {
    let stack = Stack::start(StackOptions {
        hot_reload: true,
        ..StackOptions::default()
    })
    .await;
    // The registry learns the running subgraphs at this stack's addresses;
    // the supergraph it writes is the one the router already serves.
    let original = std::fs::read_to_string(stack.supergraph_path()).expect("the supergraph");
    let (registry, token) = stack
        .start_registry(schema_registry::server::RouterFiles {
            supergraph: Some(stack.supergraph_path().to_path_buf()),
            trusted_documents: None,
        })
        .await;
    let http = reqwest::Client::new();
    let publish = |name: String, body: Value| {
        let request = http
            .post(registry.url(&format!("/api/subgraphs/{name}/versions")))
            .bearer_auth(&token)
            .json(&body);
        async move {
            let response = request.send().await.expect("the registry answers");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    assert_eq!(
        std::fs::read_to_string(stack.supergraph_path()).expect("the supergraph"),
        original
    );
    assert!(job_fields(&stack).await.contains(&"title".to_owned()));

    // Hiding Job.description breaks no page of ours but is a removal, so it
    // needs an approval; once approved, the router drops the field.
    let employer = stack
        .subgraph_inputs()
        .iter()
        .find(|input| input.name == "employer")
        .expect("employer");
    let hidden = employer.sdl.replacen(
        "\tdescription: String!",
        "\tdescription: String! @inaccessible",
        1,
    );
    assert_ne!(
        hidden, employer.sdl,
        "the employer schema has Job.description"
    );
    assert!(
        hidden.contains("\"@inaccessible\""),
        "employer imports @inaccessible"
    );
    let (status, body) = publish("employer".to_owned(), json!({ "sdl": hidden })).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "APPROVAL_REQUIRED");
    let (status, body) = publish(
        "employer".to_owned(),
        json!({ "sdl": hidden, "approval": { "reason": "descriptions move to a CMS" } }),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // The router polls the file every few seconds and swaps schemas without
    // dropping requests.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fields = job_fields(&stack).await;
        if !fields.contains(&"description".to_owned()) {
            assert!(fields.contains(&"title".to_owned()), "{fields:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the router did not reload the published supergraph:\n{}",
            stack.router_log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (response, _) = stack
        .request(
            None,
            "{ jobs(first: 1) { edges { node { description } } } }",
            None,
            json!({}),
        )
        .await;
    assert_eq!(
        response.body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{:#}",
        response.body
    );
}
