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

    /// Seconds from `since` (a node's kill) until every stream and every
    /// durable consumer of the cluster has a leader again, as the cluster
    /// itself reports it; `None` when that takes over 45. Each is a
    /// raft group of its own, and NATS 2.9 lets a group's followers wait
    /// 4–9 s (fixed in the server: `minElectionTimeout`,
    /// `maxElectionTimeout`) without their leader before one of them
    /// stands for election; a split vote costs another round. Until then
    /// no client can publish to a leaderless stream or pull from a
    /// leaderless consumer, so the drill times our clients' recovery from
    /// this moment, not from the node's return.
    ///
    /// Each change in what is still missing a leader is printed with its
    /// time, and the answer names the last group that was.
    pub async fn seconds_until_every_group_has_a_leader(
        &self,
        since: Instant,
    ) -> Option<(f64, Option<String>)> {
        // A leaderless group leaves a request unanswered: ask again soon.
        // JetStream's API requests go through the client, so the client's
        // request timeout is the one that counts.
        let servers: Vec<async_nats::ServerAddr> = self
            .nats
            .url()
            .split(',')
            .map(|server| server.parse().expect("a NATS address"))
            .collect();
        let client = async_nats::ConnectOptions::new()
            .name("drill-leaders")
            .request_timeout(Some(Duration::from_millis(500)))
            .connect(servers)
            .await
            .expect("connects to NATS");
        let jetstream = async_nats::jetstream::new(client);
        let mut last_missing: Option<String> = None;
        while since.elapsed() < Duration::from_secs(45) {
            match every_group_has_a_leader(&jetstream).await {
                Ok(()) => return Some((since.elapsed().as_secs_f64(), last_missing)),
                Err(missing) => {
                    if last_missing.as_ref() != Some(&missing) {
                        eprintln!(
                            "drill: {:.1} s after the kill: {missing}",
                            since.elapsed().as_secs_f64()
                        );
                        last_missing = Some(missing);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
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

    /// Once the NATS cluster has its leaders again: seconds until a new
    /// sign-up's `account.created` is applied by core within one second
    /// again, the relay's and the consumers' lag back to normal; `None`
    /// when that takes over ten.
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

/// Whether the cluster names a leader for each stream and each of its
/// consumers; `Err` names the first that has none or did not answer (the
/// metadata group, which lists them, can be leaderless too).
async fn every_group_has_a_leader(
    jetstream: &async_nats::jetstream::Context,
) -> Result<(), String> {
    use futures::TryStreamExt;
    let led = |cluster: Option<&async_nats::jetstream::stream::ClusterInfo>| {
        cluster.is_some_and(|cluster| cluster.leader.is_some())
    };
    let streams = jetstream
        .stream_names()
        .try_collect::<Vec<String>>()
        .await
        .map_err(|error| format!("the stream list: {error}"))?;
    for name in streams {
        let stream = jetstream
            .get_stream(&name)
            .await
            .map_err(|error| format!("stream {name}: {error}"))?;
        if !led(stream.cached_info().cluster.as_ref()) {
            return Err(format!("stream {name}: no leader"));
        }
        let consumers = stream
            .consumer_names()
            .try_collect::<Vec<String>>()
            .await
            .map_err(|error| format!("stream {name}'s consumer list: {error}"))?;
        for consumer in consumers {
            match stream.consumer_info(&consumer).await {
                Ok(info) if led(info.cluster.as_ref()) => {}
                Ok(_) => return Err(format!("consumer {name}/{consumer}: no leader")),
                Err(error) => return Err(format!("consumer {name}/{consumer}: {error}")),
            }
        }
    }
    Ok(())
}
