//! The web app (`web/`) in Debian's Chromium against the whole stack: every
//! page shows what the databases hold, each page view sends exactly one
//! GraphQL request (session operations counted apart), sessions behave as
//! the sign-in form promises, checkout charges once, and the job search
//! survives the payment subgraph going down. The scenarios themselves are
//! in `web/tests/browser.mjs`; this side starts the stack, serves the app,
//! reads the expected facts from the databases and stops payment.

use std::sync::atomic::Ordering;

use talentgraph_e2e::web::{
    BrowserScenario, browser_expectations, run_browser_scenario, serve_web_app,
};
use talentgraph_e2e::{Stack, StackOptions};

#[tokio::test]
async fn the_web_app_in_a_browser() {
    // The production profile: only trusted documents run, as for the
    // deployed app.
    let mut stack = Stack::start(StackOptions {
        router_config: "router.yaml",
        ..StackOptions::default()
    })
    .await;
    let web = serve_web_app(&stack).await;
    let expectations = browser_expectations(&stack).await;

    let pages = run_browser_scenario(
        BrowserScenario::Pages,
        &web.url(""),
        &stack.router_url,
        &expectations,
        1,
    )
    .await;
    assert!(pages.passed, "browser scenario `pages`:\n{}", pages.output);

    // The deferred part of the job detail page needs the internship
    // subgraph; slowed down, its answer arrives well after the job's.
    let internship_delay = &stack.subgraph("internship").delay_milliseconds;
    internship_delay.store(1_500, Ordering::SeqCst);
    let defer = run_browser_scenario(
        BrowserScenario::Defer,
        &web.url(""),
        &stack.router_url,
        &expectations,
        1,
    )
    .await;
    internship_delay.store(0, Ordering::SeqCst);
    assert!(defer.passed, "browser scenario `defer`:\n{}", defer.output);

    // Promotions come from payment; without it the job search must still
    // list the same jobs.
    stack.subgraph_mut("payment").stop();
    let payment_down = run_browser_scenario(
        BrowserScenario::PaymentDown,
        &web.url(""),
        &stack.router_url,
        &expectations,
        1,
    )
    .await;
    assert!(
        payment_down.passed,
        "browser scenario `payment-down`:\n{}",
        payment_down.output
    );
}
