//! The rate limiter against a real Redis (`redis-server` on a free port,
//! never the machine's own): two replicas share one window; Redis killed
//! or stopped mid-burst leaves the shadow windows limiting, and no
//! decision fails; when Redis returns, the shared window decides again.

use std::sync::Arc;
use std::time::Duration;

use talentgraph_kit::Viewer;
use talentgraph_kit::local_redis::RedisServer;
use talentgraph_kit::rate_limits::table::{self, APPLICATIONS};
use talentgraph_kit::rate_limits::{Admission, Charge, RateLimitSettings, RateLimiter};
use uuid::Uuid;

fn settings(redis: &RedisServer) -> RateLimitSettings {
    RateLimitSettings {
        enabled: true,
        redis_url: Some(redis.url()),
        // Generous for a loaded CI machine: these tests are about sharing
        // and falling back, not about the production timeout.
        redis_timeout: Duration::from_millis(250),
        multiplier: 1,
    }
}

fn jobseeker() -> Viewer {
    Viewer::User {
        id: Uuid::new_v4(),
        roles: vec![talentgraph_kit::Role::Jobseeker],
        organizations: Vec::new(),
    }
}

fn application() -> Vec<Charge> {
    vec![Charge {
        class: APPLICATIONS,
        organization: None,
    }]
}

/// Sends `count` decisions at once, alternating between the replicas;
/// returns how many were admitted.
async fn burst(replicas: &[Arc<RateLimiter>], viewer: &Viewer, count: usize) -> usize {
    let mut decisions = Vec::new();
    for index in 0..count {
        let limiter = replicas[index % replicas.len()].clone();
        let viewer = viewer.clone();
        decisions.push(tokio::spawn(async move {
            limiter.admit(&application(), &viewer, None).await
        }));
    }
    let mut admitted = 0;
    for decision in decisions {
        if decision.await.expect("a decision") == Admission::Admitted {
            admitted += 1;
        }
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_admit_exactly_the_limit_between_them() {
    let redis = RedisServer::start();
    let replicas = [
        Arc::new(RateLimiter::new(settings(&redis)).expect("replica 1")),
        Arc::new(RateLimiter::new(settings(&redis)).expect("replica 2")),
    ];
    let viewer = jobseeker();
    let limit = APPLICATIONS.limit as usize;
    assert_eq!(burst(&replicas, &viewer, limit * 3).await, limit);
    match replicas[0].admit(&application(), &viewer, None).await {
        Admission::Refused {
            class,
            retry_after_seconds,
        } => {
            assert_eq!(class, "applications");
            assert!((1..=60).contains(&retry_after_seconds));
        }
        Admission::Admitted => panic!("the shared window is full"),
    }
    assert_eq!(
        burst(&replicas, &jobseeker(), limit).await,
        limit,
        "another user has a window of their own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_burst_leaves_each_replica_limiting_then_shared_again() {
    let mut redis = RedisServer::start();
    let replica = Arc::new(RateLimiter::new(settings(&redis)).expect("replica 1"));
    let viewer = jobseeker();
    let limit = APPLICATIONS.limit as usize;
    assert_eq!(burst(std::slice::from_ref(&replica), &viewer, 10).await, 10);
    redis.stop();
    // The shadow window counted the ten the shared one admitted, so the
    // replica admits only the rest of the limit, and every decision is
    // answered (none fails for Redis).
    assert_eq!(
        burst(std::slice::from_ref(&replica), &viewer, limit * 2).await,
        limit - 10
    );

    redis.resume();
    // Redis keeps no data across its restart: its window starts empty, and
    // two replicas share it again, admitting the limit between them.
    let other_replica = Arc::new(RateLimiter::new(settings(&redis)).expect("replica 2"));
    let mut admitted = 0;
    for _ in 0..50 {
        // The connection manager reconnects on use; the first decisions
        // after the return may still find it reconnecting.
        admitted = burst(&[replica.clone(), other_replica.clone()], &jobseeker(), 2).await;
        if admitted == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(admitted, 2, "decisions resume after Redis returns");
    let viewer = jobseeker();
    assert_eq!(
        burst(&[replica, other_replica], &viewer, limit * 3).await,
        limit,
        "the shared window decides again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_costs_the_timeout_not_the_request() {
    let redis = RedisServer::start();
    let replica = Arc::new(RateLimiter::new(settings(&redis)).expect("replica"));
    let viewer = jobseeker();
    assert_eq!(burst(std::slice::from_ref(&replica), &viewer, 5).await, 5);
    redis.pause();
    // Every decision is answered by the shadow window once the timeout
    // passes; the test's own bound only keeps a hang from running forever.
    let answered = tokio::time::timeout(
        Duration::from_secs(30),
        burst(
            std::slice::from_ref(&replica),
            &viewer,
            APPLICATIONS.limit as usize,
        ),
    )
    .await;
    redis.unpause();
    assert_eq!(
        answered.expect("decisions answered while Redis was stopped"),
        APPLICATIONS.limit as usize - 5
    );
}

#[tokio::test]
async fn keys_hold_no_client_bytes() {
    // A client address that is not an IP address, and an organization the
    // caller does not recruit for, cannot reach a key: both fall back to
    // bounded, known parts. Checked through the keys Redis ends up with.
    let redis = RedisServer::start();
    let replica = RateLimiter::new(settings(&redis)).expect("replica");
    let odd_address = format!("{}\r\nFLUSHALL\r\n", "x".repeat(10_000));
    let charge = [Charge {
        class: table::JOB_POSTINGS,
        organization: Some(Uuid::new_v4()),
    }];
    assert_eq!(
        replica
            .admit(&charge, &Viewer::Anonymous, Some(&odd_address))
            .await,
        Admission::Admitted
    );
    let client = redis::Client::open(redis.url()).expect("a client");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .expect("lists keys");
    assert_eq!(keys, ["tg:rl:job_postings:addr:unknown"]);
}
