//! What `devstack up` prints once everything runs.

use talentgraph_demo_world::DemoWorld;
use talentgraph_launch::RouterKind;

use crate::up::{REGISTRY_LISTEN, ROUTER_HEALTH_LISTEN, ROUTER_LISTEN, SubgraphTask, WEB_LISTEN};

#[allow(clippy::print_stdout)]
pub fn print_summary(
    tasks: &[SubgraphTask],
    world: &DemoWorld,
    router: Option<RouterKind>,
    web_app_running: bool,
    registry_token: Option<&str>,
) {
    println!();
    println!("Talentgraph dev stack is up. Press Ctrl-C to stop everything it started.");
    println!();
    if web_app_running {
        println!("  web app    http://{WEB_LISTEN}/   (sign in with a demo account below)");
        println!("  GraphiQL   http://{WEB_LISTEN}/graphiql/   (development only)");
    }
    match router {
        Some(RouterKind::Apollo) => println!(
            "  router     http://{ROUTER_LISTEN}/   (health: http://{ROUTER_HEALTH_LISTEN}/health)"
        ),
        Some(RouterKind::Hive) => println!(
            "  router     http://{ROUTER_LISTEN}/   (Hive Router; health: http://{ROUTER_LISTEN}/health)"
        ),
        None => {}
    }
    if let Some(token) = registry_token {
        println!(
            "  registry   http://{REGISTRY_LISTEN}/api   (the router reloads what it publishes)"
        );
        println!("             export SCHEMA_REGISTRY_TOKEN={token}");
    }
    for (name, address, task) in tasks {
        let state = if task.is_finished() {
            "FAILED (see the log above)"
        } else {
            "ready"
        };
        println!("  {name:<10} http://{address}/graphql   ({state})");
    }
    println!();
    println!(
        "Demo data: {} users, {} organizations, {} jobs, {} applications, {} internships, {} invoices.",
        world.users,
        world.organizations,
        world.jobs,
        world.applications,
        world.internships,
        world.organizations * 3
    );
    println!(
        "Demo accounts (password for all three: {}):",
        talentgraph_demo_world::DEMO_PASSWORD
    );
    for (label, user) in [
        ("jobseeker", world.demo_jobseeker()),
        ("recruiter", world.demo_recruiter()),
        ("admin", world.demo_admin()),
    ] {
        println!(
            "  {label:<10} {:<34} user id {}",
            world.email(user),
            world.user_id(user)
        );
    }
    println!();
    println!("Sign in (prints an access token):");
    println!("  curl -s http://{ROUTER_LISTEN}/ -H 'content-type: application/json' \\");
    println!(
        "    -d '{{\"query\":\"mutation {{ signIn(input: {{email: \\\"{}\\\", password: \\\"{}\\\"}}) {{ accessToken }} }}\"}}'",
        world.email(world.demo_jobseeker()),
        talentgraph_demo_world::DEMO_PASSWORD
    );
    println!(
        "Then send it as 'Authorization: Bearer <accessToken>'; README.md runs a page with it."
    );
}
