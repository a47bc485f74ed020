//! What the drill measures and checks on its stack: how soon it serves
//! again after a fault, which NATS node leads a stream, the books against
//! the provider, and the drill's migration.

use std::time::{Duration, Instant};

use talentgraph_launch::workspace_root;

use super::{DrillStack, EXPAND_MIGRATION_SUBGRAPH};

impl DrillStack {
    /// Runs `payment-reconcile` (the build the replicas run) as an operator
    /// would, with payment's configuration: `Ok` with its report when the
    /// books agree with the provider, `Err` with it otherwise.
    pub fn reconcile_payments(&self) -> Result<String, String> {
        let binary = workspace_root()
            .join("target")
            .join(&self.profile)
            .join("payment-reconcile");
        let output = std::process::Command::new(&binary)
            .env_clear()
            .envs(self.subgraph_environment["payment"].iter().cloned())
            .output()
            .map_err(|error| format!("{}: {error}", binary.display()))?;
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .trim()
        .to_owned();
        if output.status.success() {
            Ok(report)
        } else {
            Err(format!("{} ({})", report, output.status))
        }
    }

    /// Whether employer's database has the drill migration's column.
    pub async fn expand_migration_applied(&self) -> bool {
        let database = talentgraph_kit::Database::connect(
            &self.database_urls[EXPAND_MIGRATION_SUBGRAPH],
            1,
            Duration::from_secs(10),
        )
        .await
        .expect("connects to employer's database");
        let columns: i64 = database
            .fetch_scalar(sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.columns \
                 WHERE table_name = 'jobs' AND column_name = 'featured_until'",
            ))
            .await
            .unwrap_or(0);
        database.close().await;
        columns == 1
    }

    /// Which NATS member leads the stream of `producer`'s events.
    pub async fn stream_leader(&self, producer: &str) -> usize {
        let broker = talentgraph_kit::events::Broker::connect(&self.nats.url(), "drill")
            .await
            .expect("connects to NATS");
        let mut stream = broker
            .jetstream()
            .get_stream(talentgraph_kit::events::broker::stream_name(producer))
            .await
            .expect("the stream exists");
        let info = stream.info().await.expect("the stream's info");
        let leader = info
            .cluster
            .as_ref()
            .and_then(|cluster| cluster.leader.clone())
            .expect("a clustered stream has a leader");
        self.nats
            .members()
            .iter()
            .position(|member| member.name() == leader)
            .unwrap_or_else(|| panic!("the leader {leader} is one of the drill's members"))
    }

    /// A registered page that reads the databases and needs no sign-in
    /// (InternshipBrowsePage), to see whether the stack serves.
    pub(super) fn probe_page(&self) -> serde_json::Value {
        serde_json::json!({
            "query": crate::pages::page_document("InternshipBrowsePage"),
            "operationName": "InternshipBrowsePage",
            "variables": { "first": 10, "filter": { "organizationId": self.world.organization_id(0).to_string() } },
        })
    }

    /// After PostgreSQL's return: seconds until a page that reads the
    /// databases (InternshipBrowsePage, signed out) is answered without
    /// errors through the router; `None` when that takes over ten.
    pub async fn seconds_until_a_page_succeeds(&self) -> Option<f64> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let body = self.probe_page();
        while started.elapsed() < Duration::from_secs(10) {
            let answer = client.post(&self.router_url).json(&body).send().await;
            if let Ok(response) = answer
                && response.status().is_success()
                && let Ok(answer) = response.json::<serde_json::Value>().await
                && answer.get("errors").is_none()
                && answer.get("data").is_some_and(|data| !data.is_null())
            {
                return Some(started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// After a NATS node's return: seconds until a new sign-up's
    /// `account.created` is applied by core within one second again, the
    /// consumers' lag back to normal; `None` when that takes over ten.
    pub async fn seconds_until_events_are_prompt(&self) -> Option<f64> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let core = talentgraph_kit::Database::connect(
            &self.database_urls["core"],
            1,
            Duration::from_secs(10),
        )
        .await
        .expect("connects to core's database");
        let auth = talentgraph_kit::Database::connect(
            &self.database_urls["auth"],
            1,
            Duration::from_secs(10),
        )
        .await
        .expect("connects to auth's database");
        while started.elapsed() < Duration::from_secs(10) {
            let email = format!(
                "lag-{}@drill.talentgraph.dev",
                uuid::Uuid::new_v4().simple()
            );
            let body = serde_json::json!({
                "query": crate::pages::operation_document("SignUp"),
                "operationName": "SignUp",
                "variables": { "input": { "email": email, "password": "drill passphrase 1", "role": "JOBSEEKER" } },
            });
            let signed_up = client.post(&self.router_url).json(&body).send().await;
            if !signed_up.is_ok_and(|response| response.status().is_success()) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            let committed = Instant::now();
            let user: Option<(uuid::Uuid,)> = auth
                .fetch_optional(
                    sqlx::query_as("SELECT user_id FROM accounts WHERE email = $1").bind(&email),
                )
                .await
                .unwrap_or(None);
            let Some((user,)) = user else { continue };
            while committed.elapsed() < Duration::from_secs(1) {
                let profiles: i64 = core
                    .fetch_scalar(
                        sqlx::query_scalar("SELECT count(*) FROM users WHERE id = $1").bind(user),
                    )
                    .await
                    .unwrap_or(0);
                if profiles == 1 {
                    return Some(started.elapsed().as_secs_f64());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        None
    }
}
