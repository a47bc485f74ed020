//! Waiting for the demo world's projections before anything signs in.
//!
//! Seeding writes each subgraph's own rows, but some facts reach a subgraph
//! only as events: auth learns which organizations a recruiter acts for
//! from employer's `recruiter.added` (the token's `orgs` claim), employer
//! and internship learn the organizations' cards from core's
//! `organization.changed`. A client that signs in before auth has projected
//! the memberships gets a token without them and is refused as a recruiter
//! for as long as it keeps that token, so every stack waits here first.

use std::time::{Duration, Instant};

use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Database;

/// How long a projection may take before the stack gives up: far beyond
/// the sub-second it takes on an idle machine, short enough to fail a test
/// whose events never arrive.
const PROJECTION_DEADLINE: Duration = Duration::from_secs(60);

/// Waits until auth holds every demo recruiter membership and employer and
/// internship hold every demo organization's card. `database_of` gives a
/// subgraph's database by name.
pub async fn wait_for_demo_projections(world: &DemoWorld, database_of: impl Fn(&str) -> Database) {
    let memberships = (0..world.users)
        .filter(|user| world.recruiter_organization(*user).is_some())
        .count() as i64;
    wait_for_projection(
        &database_of("auth"),
        "auth",
        "SELECT count(*) FROM account_organizations",
        memberships,
    )
    .await;
    for subgraph in ["employer", "internship"] {
        wait_for_projection(
            &database_of(subgraph),
            subgraph,
            "SELECT count(*) FROM organization_cards",
            world.organizations as i64,
        )
        .await;
    }
}

/// Polls `count_sql` until it reaches `expected`; panics (failing the test
/// or the measuring run) past [`PROJECTION_DEADLINE`].
async fn wait_for_projection(
    database: &Database,
    subgraph: &str,
    count_sql: &'static str,
    expected: i64,
) {
    let deadline = Instant::now() + PROJECTION_DEADLINE;
    loop {
        let projected: i64 = database
            .fetch_scalar(sqlx::query_scalar(count_sql))
            .await
            .unwrap_or_else(|error| panic!("{count_sql}: {}", error.detail()));
        if projected >= expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{subgraph} projected {projected} of {expected} rows ({count_sql}) within {} s",
            PROJECTION_DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
