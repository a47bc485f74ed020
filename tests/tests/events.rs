//! The event flows through the whole stack: real subgraph processes' relays
//! and consumers, a real NATS JetStream server, the real router.

use std::time::{Duration, Instant};

use serde_json::json;
use talentgraph_e2e::{Stack, StackOptions, operation_document};

/// Signs up through the router; returns the access token.
async fn sign_up(stack: &Stack, email: &str, display_name: &str) -> String {
    let (response, _) = stack
        .request(
            None,
            &operation_document("SignUp"),
            Some("SignUp"),
            json!({ "input": {
                "email": email,
                "password": "event flow passphrase",
                "role": "JOBSEEKER",
                "displayName": display_name,
            } }),
        )
        .await;
    Stack::session_from(&response.body, "signUp")
        .unwrap_or_else(|| panic!("sign-up failed: {:#}", response.body))
        .access_token
}

/// Polls `me { displayName handle }` until core has the profile.
async fn profile_of(stack: &Stack, token: &str, within: Duration) -> Option<(String, String)> {
    let deadline = Instant::now() + within;
    loop {
        let (response, _) = stack
            .request(
                Some(token),
                "{ me { displayName handle } }",
                None,
                json!({}),
            )
            .await;
        let me = &response.body["data"]["me"];
        if let (Some(name), Some(handle)) = (me["displayName"].as_str(), me["handle"].as_str()) {
            return Some((name.to_owned(), handle.to_owned()));
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `signUp` → auth's outbox → `account.created.v1` → core's consumer: the
/// new user's profile answers `me { displayName }` through the router
/// within a second.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_gets_its_profile_in_core() {
    let stack = Stack::start(StackOptions::default()).await;
    let token = sign_up(&stack, "grace@example.com", "Grace Hopper").await;
    let started = Instant::now();
    let (name, handle) = profile_of(&stack, &token, Duration::from_secs(1))
        .await
        .expect("core has the profile within a second");
    println!(
        "profile in {:.0} ms",
        started.elapsed().as_secs_f64() * 1_000.0
    );
    assert_eq!(name, "Grace Hopper");
    assert!(handle.starts_with("grace-hopper-"), "{handle}");
}

/// The broker is down while people sign up: every sign-up succeeds, and
/// every profile appears once the broker is back.
#[tokio::test(flavor = "multi_thread")]
async fn sign_ups_during_a_broker_outage_lose_nothing() {
    let mut stack = Stack::start(StackOptions::default()).await;
    stack.nats().stop();
    let mut tokens = Vec::new();
    for index in 0..5 {
        tokens.push(
            sign_up(
                &stack,
                &format!("outage-{index}@example.com"),
                &format!("Outage {index}"),
            )
            .await,
        );
    }
    assert!(
        profile_of(&stack, &tokens[0], Duration::from_millis(300))
            .await
            .is_none(),
        "no profile while the broker is away"
    );
    stack.nats().resume();
    for (index, token) in tokens.iter().enumerate() {
        let (name, _) = profile_of(&stack, token, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("profile {index} after the broker returned"));
        assert_eq!(name, format!("Outage {index}"));
    }
}

/// `postJob` → employer's outbox → `job.posted.v1` → jobseeker records the
/// job's organization: the recruiter reads the new job's applications
/// through the router once jobseeker has it, without trusting what the
/// router's representation says.
#[tokio::test(flavor = "multi_thread")]
async fn a_posted_job_is_known_to_jobseeker() {
    use talentgraph_e2e::{DemoAccount, WORLD};
    let stack = Stack::start(StackOptions::default()).await;
    let recruiter = stack.token(DemoAccount::Recruiter);
    let organization = WORLD
        .recruiter_organization(WORLD.demo_recruiter())
        .expect("the demo recruiter recruits");
    let (response, _) = stack
        .request(
            Some(recruiter),
            "mutation($input: PostJobInput!) { postJob(input: $input) { id } }",
            None,
            json!({ "input": {
                "organizationId": WORLD.organization_id(organization).to_string(),
                "title": "Event-sourced engineer",
                "description": "Keeps projections honest.",
                "location": "Remote",
                "employmentType": "FULL_TIME",
            } }),
        )
        .await;
    let job_id = response.body["data"]["postJob"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("postJob: {:#}", response.body))
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (response, _) = stack
            .request(
                Some(recruiter),
                "query($id: ID!) { job(id: $id) { id applications(first: 5) { edges { node { id } } } } }",
                None,
                json!({ "id": job_id }),
            )
            .await;
        if response.body.get("errors").is_none() {
            assert_eq!(
                response.body["data"]["job"]["applications"]["edges"]
                    .as_array()
                    .map(Vec::len),
                Some(0)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobseeker never learnt the job: {:#}",
            response.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recorded: uuid::Uuid = stack
        .subgraph("jobseeker")
        .database
        .fetch_scalar(
            sqlx::query_scalar("SELECT organization_id FROM job_organizations WHERE job_id = $1")
                .bind(uuid::Uuid::parse_str(&job_id).expect("a uuid")),
        )
        .await
        .expect("recorded");
    assert_eq!(recorded, WORLD.organization_id(organization));
}

fn orgs_claim(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["orgs"].to_string()
}

/// Employer owns membership: an organization admin adds a new employer
/// account as recruiter (`recruiter.added.v1`), auth's projection follows,
/// and the account's next token carries the organization; removing it
/// (`recruiter.removed.v1`) takes it out again. A jobseeker cannot change
/// an organization's recruiters.
#[tokio::test(flavor = "multi_thread")]
async fn recruiter_membership_reaches_the_tokens() {
    use talentgraph_e2e::{DemoAccount, WORLD};
    let stack = Stack::start(StackOptions::default()).await;
    let organization = WORLD
        .recruiter_organization(WORLD.demo_recruiter())
        .expect("the demo recruiter recruits");
    let organization_id = WORLD.organization_id(organization).to_string();
    let (response, _) = stack
        .request(
            None,
            &operation_document("SignUp"),
            Some("SignUp"),
            json!({ "input": { "email": "lea@example.com", "password": "membership passphrase", "role": "EMPLOYER" } }),
        )
        .await;
    let token = Stack::session_from(&response.body, "signUp")
        .unwrap_or_else(|| panic!("{:#}", response.body))
        .access_token;
    let (response, _) = stack
        .request(Some(&token), "{ me { id } }", None, json!({}))
        .await;
    let user_id = response.body["data"]["me"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    assert!(!orgs_claim(&token).contains(&organization_id));

    // Employer finds the new account by its address once `account.created`
    // has reached its directory; until then the answer is NOT_FOUND.
    let add = "mutation($o: ID!, $e: String!) { addRecruiter(organizationId: $o, email: $e) }";
    let remove = "mutation($o: ID!, $u: ID!) { removeRecruiter(organizationId: $o, userId: $u) }";
    let add_variables = json!({ "o": organization_id, "e": "Lea@Example.com" });
    let variables = json!({ "o": organization_id, "u": user_id });
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Jobseeker)),
            add,
            None,
            add_variables.clone(),
        )
        .await;
    assert!(
        response.body.to_string().contains("FORBIDDEN"),
        "{:#}",
        response.body
    );
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Recruiter)),
            add,
            None,
            json!({ "o": organization_id, "e": "nobody@example.com" }),
        )
        .await;
    assert!(
        response.body.to_string().contains("NOT_FOUND"),
        "{:#}",
        response.body
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (response, _) = stack
            .request(
                Some(stack.token(DemoAccount::Recruiter)),
                add,
                None,
                add_variables.clone(),
            )
            .await;
        if response.body["data"]["addRecruiter"] == true {
            break;
        }
        assert!(
            response.body.to_string().contains("NOT_FOUND") && Instant::now() < deadline,
            "employer never learned the new account's address: {:#}",
            response.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sign_in = || async {
        stack
            .sign_in("lea@example.com", "membership passphrase")
            .await
            .expect("signs in")
            .access_token
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !orgs_claim(&sign_in().await).contains(&organization_id) {
        assert!(
            Instant::now() < deadline,
            "auth never projected the membership"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Recruiter)),
            remove,
            None,
            variables,
        )
        .await;
    assert_eq!(
        response.body["data"]["removeRecruiter"], true,
        "{:#}",
        response.body
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while orgs_claim(&sign_in().await).contains(&organization_id) {
        assert!(
            Instant::now() < deadline,
            "auth never projected the removal"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `closeJob` → `job.closed.v1` → jobseeker marks the job closed, and
/// `applyToJob` through the router is refused with JOB_CLOSED.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_job_takes_no_applications() {
    use talentgraph_e2e::{DemoAccount, WORLD};
    let stack = Stack::start(StackOptions::default()).await;
    let organization = WORLD
        .recruiter_organization(WORLD.demo_recruiter())
        .expect("the demo recruiter recruits");
    let job = (0..WORLD.jobs)
        .find(|job| WORLD.job_organization(*job) == organization && !WORLD.job_is_closed(*job))
        .expect("an open job of the organization");
    let job_id = WORLD.job_id(job);
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Recruiter)),
            "mutation($id: ID!) { closeJob(id: $id) { status } }",
            None,
            json!({ "id": job_id.to_string() }),
        )
        .await;
    assert_eq!(
        response.body["data"]["closeJob"]["status"], "CLOSED",
        "{:#}",
        response.body
    );
    let jobseeker = stack.subgraph("jobseeker").database.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let closed: bool = jobseeker
            .fetch_scalar(
                sqlx::query_scalar(
                    "SELECT closed_at IS NOT NULL FROM job_organizations WHERE job_id = $1",
                )
                .bind(job_id),
            )
            .await
            .expect("the job's record");
        if closed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobseeker never learnt the job was closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (response, _) = stack
        .request(
            Some(stack.token(DemoAccount::Jobseeker)),
            &operation_document("ApplyToJob"),
            Some("ApplyToJob"),
            json!({ "jobId": job_id.to_string() }),
        )
        .await;
    let reasons: Vec<&str> = response.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|error| error["extensions"]["reason"].as_str())
        .collect();
    assert_eq!(reasons, vec!["JOB_CLOSED"], "{:#}", response.body);
}

/// The card a job and an internship of `organization` show through the
/// router, with the fetches that took: (job's card, internship's card).
async fn cards_on_pages(
    stack: &Stack,
    organization: &str,
) -> (serde_json::Value, serde_json::Value, talentgraph_e2e::Cost) {
    let (response, cost) = stack
        .request(
            None,
            "query($organization: ID!) {
               jobs(first: 1, filter: { organizationId: $organization }) {
                 edges { node { organization { id name logoUrl } } }
               }
               internships(first: 1, filter: { organizationId: $organization }) {
                 edges { node { organization { id name logoUrl } } }
               }
             }",
            None,
            json!({ "organization": organization }),
        )
        .await;
    assert!(response.body.get("errors").is_none(), "{:#}", response.body);
    let data = &response.body["data"];
    (
        data["jobs"]["edges"][0]["node"]["organization"].clone(),
        data["internships"]["edges"][0]["node"]["organization"].clone(),
        cost,
    )
}

/// `updateOrganization` in core → core's outbox → `organization.changed.v1`
/// → employer's and internship's card consumers: jobs and internships show
/// the new name and logo through the router, and the router never asks core
/// for them (employer and internship provide the card).
#[tokio::test(flavor = "multi_thread")]
async fn an_organizations_new_card_reaches_jobs_and_internships() {
    use talentgraph_e2e::{DemoAccount, WORLD};
    let stack = Stack::start(StackOptions::default()).await;
    let organization = WORLD
        .recruiter_organization(WORLD.demo_recruiter())
        .expect("the demo recruiter recruits");
    let organization_id = WORLD.organization_id(organization).to_string();
    let update = |account: DemoAccount, variables: serde_json::Value| {
        let stack = &stack;
        async move {
            let (response, _) = stack
                .request(
                    Some(stack.token(account)),
                    "mutation($id: ID!, $input: UpdateOrganizationInput!) {
                       updateOrganization(id: $id, input: $input) { id name logoUrl }
                     }",
                    None,
                    variables,
                )
                .await;
            response.body
        }
    };
    let renamed = json!({ "id": organization_id, "input": {
        "name": "Renamed Rustaceans",
        "logoUrl": "https://logos.example/renamed.png",
    } });

    let (before_job, before_internship, cost) = cards_on_pages(&stack, &organization_id).await;
    assert_ne!(before_job["name"], "Renamed Rustaceans");
    assert_eq!(
        before_job, before_internship,
        "both copies hold core's card"
    );
    assert_eq!(
        cost.subgraphs_touched(),
        ["employer", "internship"],
        "the cards are provided, so core is not asked: {:?}",
        cost.fetches
    );

    // Only the organization's recruiters (and admins) may change it, and
    // only to valid values.
    let refused = update(DemoAccount::Jobseeker, renamed.clone()).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused:#}"
    );
    let invalid = update(
        DemoAccount::Recruiter,
        json!({ "id": organization_id, "input": { "logoUrl": "http://not-https.example/x.png" } }),
    )
    .await;
    assert_eq!(
        invalid["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{invalid:#}"
    );
    let accepted = update(DemoAccount::Recruiter, renamed).await;
    assert_eq!(
        accepted["data"]["updateOrganization"]["name"], "Renamed Rustaceans",
        "{accepted:#}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (job, internship, _) = cards_on_pages(&stack, &organization_id).await;
        let renamed_everywhere = [&job, &internship].iter().all(|card| {
            card["name"] == "Renamed Rustaceans"
                && card["logoUrl"] == "https://logos.example/renamed.png"
        });
        if renamed_everywhere {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new card never reached the pages: job {job}, internship {internship}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let revision: i64 = stack
        .subgraph("employer")
        .database
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT revision FROM organization_cards WHERE organization_id = $1",
            )
            .bind(WORLD.organization_id(organization)),
        )
        .await
        .expect("employer keeps the card");
    assert_eq!(revision, 2, "the demo card was revision 1");
}
