//! The entity cache through the real router, with the stack's own Redis:
//! entities read by id are served from the cache on the next page, a
//! writer's change is read back at once, and a change another subgraph
//! learns by event is read fresh the moment its consumer has applied it
//! (no waiting for a TTL, no retry).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use talentgraph_e2e::{DemoAccount, Stack, StackOptions, WORLD};

const CARDS_BY_ID: &str = "query($job: ID!, $internship: ID!, $organization: ID!) {
  job(id: $job) { title status organization { name logoUrl } }
  internship(id: $internship) { title organization { name logoUrl } }
  organization(id: $organization) { name about }
}";

/// The page above, as the router answers it.
async fn read(stack: &Stack, variables: &serde_json::Value) -> serde_json::Value {
    let (response, _) = stack
        .request(None, CARDS_BY_ID, None, variables.clone())
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    response.body["data"].clone()
}

fn hits(stack: &Stack, subgraph: &str) -> u64 {
    stack
        .subgraph(subgraph)
        .database
        .entity_cache()
        .expect("the stack runs the entity cache")
        .counts
        .hits
        .load(Ordering::Relaxed)
}

async fn mutate(stack: &Stack, document: &str, variables: serde_json::Value) -> serde_json::Value {
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Recruiter)),
            document,
            None,
            variables,
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    response.body["data"].clone()
}

/// Waits until `subgraph`'s consumer has applied revision 2 of the card:
/// read from its database, not through the cache.
async fn until_card_applied(stack: &Stack, subgraph: &str, organization: uuid::Uuid) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let revision: i64 = stack
            .subgraph(subgraph)
            .database
            .fetch_scalar(
                sqlx::query_scalar(
                    "SELECT revision FROM organization_cards WHERE organization_id = $1",
                )
                .bind(organization),
            )
            .await
            .expect("the card");
        if revision >= 2 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{subgraph} never applied the event"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_and_events_are_read_fresh_through_the_cache() {
    let stack = Stack::start(StackOptions::default()).await;
    let organization = WORLD
        .recruiter_organization(WORLD.demo_recruiter())
        .expect("the demo recruiter recruits");
    let organization_id = WORLD.organization_id(organization);
    // An open job and an internship of the recruiter's organization.
    let job = (0..WORLD.jobs)
        .find(|job| WORLD.job_organization(*job) == organization && !WORLD.job_is_closed(*job))
        .expect("an open job of the organization");
    let internship = (0..WORLD.internships)
        .find(|internship| WORLD.internship_organization(*internship) == organization)
        .expect("an internship of the organization");
    let variables = json!({
        "job": WORLD.job_id(job).to_string(),
        "internship": WORLD.internship_id(internship).to_string(),
        "organization": organization_id.to_string(),
    });

    // The first page fills the cache; a later one is served from it.
    let first = read(&stack, &variables).await;
    let hits_before: u64 = ["core", "employer", "internship"]
        .iter()
        .map(|subgraph| hits(&stack, subgraph))
        .sum();
    let mut served_from_cache = false;
    for _ in 0..100 {
        assert_eq!(read(&stack, &variables).await, first);
        let hits_now: u64 = ["core", "employer", "internship"]
            .iter()
            .map(|subgraph| hits(&stack, subgraph))
            .sum();
        if hits_now >= hits_before + 4 {
            served_from_cache = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        served_from_cache,
        "the job, the internship, the organization and the card come from the cache"
    );

    // The writer's own change is read back at once.
    mutate(
        &stack,
        "mutation($id: ID!) { updateJob(id: $id, input: { title: \"Cached, then renamed\" }) { id } }",
        json!({ "id": WORLD.job_id(job).to_string() }),
    )
    .await;
    assert_eq!(
        read(&stack, &variables).await["job"]["title"],
        "Cached, then renamed"
    );
    mutate(
        &stack,
        "mutation($id: ID!) { closeJob(id: $id) { id } }",
        json!({ "id": WORLD.job_id(job).to_string() }),
    )
    .await;
    assert_eq!(read(&stack, &variables).await["job"]["status"], "CLOSED");

    // Core's change: core reads it back at once; employer and internship
    // read it the moment their consumers have applied the event.
    mutate(
        &stack,
        "mutation($id: ID!) { updateOrganization(id: $id, input: { name: \"Fresh Name\", logoUrl: \"https://logos.example/fresh.png\" }) { id } }",
        json!({ "id": organization_id.to_string() }),
    )
    .await;
    assert_eq!(
        read(&stack, &variables).await["organization"]["name"],
        "Fresh Name"
    );
    until_card_applied(&stack, "employer", organization_id).await;
    until_card_applied(&stack, "internship", organization_id).await;
    let after = read(&stack, &variables).await;
    for card in [
        &after["job"]["organization"],
        &after["internship"]["organization"],
    ] {
        assert_eq!(card["name"], "Fresh Name", "{after:#}");
        assert_eq!(
            card["logoUrl"], "https://logos.example/fresh.png",
            "{after:#}"
        );
    }
}
