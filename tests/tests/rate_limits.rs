//! Rate limits through the real router, with the subgraphs' windows in a
//! real Redis: a page costs one read however many subgraphs the router
//! asks for its entities; a class over its limit answers `RATE_LIMITED`
//! with `retryAfterSeconds`; with Redis stopped every request is still
//! answered and the limits still hold.

use serde_json::json;
use talentgraph_e2e::{DemoAccount, Stack, StackOptions, WORLD};

/// The entries in every window of `class` in the stack's Redis.
async fn window_entries(stack: &mut Stack, class: &str) -> u64 {
    let client = redis::Client::open(stack.redis().url()).expect("a Redis client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects to the stack's Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("tg:rl:{class}:*"))
        .query_async(&mut connection)
        .await
        .expect("lists keys");
    let mut entries = 0;
    for key in keys {
        let count: u64 = redis::cmd("ZCARD")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .expect("counts a window");
        entries += count;
    }
    entries
}

fn limited_stack() -> StackOptions {
    StackOptions {
        rate_limit_multiplier: 1,
        ..StackOptions::default()
    }
}

/// JobSearchPage makes three subgraph fetches (employer's root fetch, then
/// jobseeker's and payment's `_entities`); the page costs one read.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_costs_one_read_however_many_entity_fetches() {
    let mut stack = Stack::start(limited_stack()).await;
    let before = window_entries(&mut stack, "page_reads").await;
    let token = stack.token(DemoAccount::Jobseeker).to_owned();
    let (response, cost) = stack
        .page("JobSearchPage", Some(&token), json!({ "first": 10 }))
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    assert_eq!(cost.fetches.iter().map(|(_, count)| count).sum::<u64>(), 3);
    assert_eq!(window_entries(&mut stack, "page_reads").await, before + 1);
}

/// The 31st application within a minute is refused through the router:
/// `RATE_LIMITED` with `retryAfterSeconds`, nothing written; another user
/// is not affected.
#[tokio::test(flavor = "multi_thread")]
async fn an_operation_over_its_limit_is_refused_with_when_to_retry() {
    let stack = Stack::start(limited_stack()).await;
    let applicant = stack.sign_up("limited@example.com", "JOBSEEKER").await;
    let apply = "mutation($jobId: ID!) { applyToJob(jobId: $jobId) { id } }";
    let limit = talentgraph_kit::rate_limits::table::APPLICATIONS.limit as u64;
    for job in 0..limit {
        let (response, _) = stack
            .request(
                Some(&applicant.access_token),
                apply,
                None,
                json!({ "jobId": WORLD.job_id(job).to_string() }),
            )
            .await;
        let code = response.body["errors"][0]["extensions"]["code"].as_str();
        assert_ne!(
            code,
            Some("RATE_LIMITED"),
            "application {job}: {:#}",
            response.body
        );
    }
    let (refused, cost) = stack
        .request(
            Some(&applicant.access_token),
            apply,
            None,
            json!({ "jobId": WORLD.job_id(limit).to_string() }),
        )
        .await;
    let errors = refused.body["errors"].as_array().expect("errors");
    let limited = errors
        .iter()
        .find(|error| error["extensions"]["code"] == "RATE_LIMITED")
        .unwrap_or_else(|| panic!("RATE_LIMITED through the router: {:#}", refused.body));
    let retry_after = limited["extensions"]["retryAfterSeconds"]
        .as_u64()
        .expect("retryAfterSeconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(refused.body["data"].is_null() || refused.body["data"]["applyToJob"].is_null());
    assert_eq!(
        cost.statements.iter().map(|(_, count)| count).sum::<u64>(),
        0,
        "a refused operation runs no SQL"
    );
    println!(
        "refused through the router: HTTP {} {:#}",
        refused.status, refused.body
    );

    let other = stack.sign_up("unlimited@example.com", "JOBSEEKER").await;
    let (response, _) = stack
        .request(
            Some(&other.access_token),
            apply,
            None,
            json!({ "jobId": WORLD.job_id(0).to_string() }),
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
}

/// Redis stopped: every page is answered (no 5xx, no error), and the
/// subgraphs' own windows still count; when Redis returns, the shared
/// windows count again.
#[tokio::test(flavor = "multi_thread")]
async fn without_redis_every_request_is_answered_and_still_counted() {
    let mut stack = Stack::start(limited_stack()).await;
    let token = stack.token(DemoAccount::Jobseeker).to_owned();
    stack.redis().stop();
    for _ in 0..20 {
        let (response, _) = stack
            .page("JobSearchPage", Some(&token), json!({ "first": 5 }))
            .await;
        assert_eq!(response.status, 200, "{:#}", response.body);
        assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    }
    stack.redis().resume();
    let mut counted = 0;
    for _ in 0..50 {
        let (response, _) = stack
            .page("JobSearchPage", Some(&token), json!({ "first": 5 }))
            .await;
        assert!(response.body.get("errors").is_none(), "{:#}", response.body);
        counted = window_entries(&mut stack, "page_reads").await;
        if counted > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        counted > 0,
        "the shared window counts again after Redis returns"
    );
}
