//! `devstack up` run again on the same data directory must come up exactly
//! like the first time. What broke before was the registry's start-up: the
//! first run's `devstack` token stayed in the registry's database and the
//! second run's attempt to create one under the same name was refused, so
//! the stack came up without a registry.
//!
//! The whole `up` binds the fixed ports of the port table, so a test
//! cannot run it beside whatever else uses those ports; this test runs the
//! registry preparation `up` runs, twice, against one throwaway database.

use schema_registry::server::Scope;
use schema_registry::server::tokens::caller_for_token;
use talentgraph_kit::testing::fresh_database;

#[tokio::test]
async fn a_second_run_prepares_the_registry_like_the_first() {
    let (database, _url) = fresh_database(&schema_registry::server::MIGRATOR)
        .await
        .expect("a fresh registry database");

    let first_token = devstack::prepare_registry_database(&database)
        .await
        .expect("the first run prepares the registry");
    let second_token = devstack::prepare_registry_database(&database)
        .await
        .expect("a second run on the same database prepares the registry too");

    assert_ne!(first_token, second_token, "each run issues its own token");
    let stale = caller_for_token(&database, &first_token)
        .await
        .expect("the token lookup runs");
    assert!(
        stale.is_none(),
        "the token an earlier run printed must stop working"
    );
    let caller = caller_for_token(&database, &second_token)
        .await
        .expect("the token lookup runs")
        .expect("this run's token is accepted");
    assert_eq!(caller.token_name, devstack::DEVSTACK_TOKEN_NAME);
    assert!(caller.allows(Scope::Write), "the dev stack publishes");
}
