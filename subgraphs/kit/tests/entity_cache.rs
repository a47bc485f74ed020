//! The entity cache against a real Redis (`redis-server` on a free port)
//! and a real PostgreSQL: reads served from the cache, every committed
//! change read fresh at once, a fill that raced a write never served,
//! random sequences of writes and reads from two "replicas" agreeing with
//! the database, one statement for a stampede, and Redis away or stuck
//! costing no request.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use sqlx::migrate::Migrator;
use talentgraph_kit::Database;
use talentgraph_kit::batching::BatchLoad;
use talentgraph_kit::entity_cache::{
    CacheTier, CachedEntity, EntityCache, EntityCacheSettings, statement_shape,
};
use talentgraph_kit::identified_row;
use talentgraph_kit::loaders::{BatchStatement, CachedRowsById};
use talentgraph_kit::local_redis::RedisServer;
use talentgraph_kit::testing::fresh_database;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
struct Item {
    id: Uuid,
    label: String,
    revision: i32,
}

identified_row!(Item, id);

const ITEM: CachedEntity = CachedEntity {
    name: "Item",
    tier: CacheTier::SlowChanging,
    remembers_absence: false,
};

const ITEMS_BY_ID: &str = "SELECT id, label, revision FROM items WHERE id = ANY($1)";

/// The same read, made slow on purpose: the stampede test needs every
/// concurrent load to miss while the first one's statement still runs.
const SLOW_ITEMS_BY_ID: &str =
    "SELECT i.id, i.label, i.revision FROM items i, pg_sleep(0.5) WHERE i.id = ANY($1)";

fn settings(redis: &RedisServer) -> EntityCacheSettings {
    EntityCacheSettings {
        enabled: true,
        redis_url: Some(redis.url()),
        // Generous for a loaded CI machine: these tests are about what is
        // served, not about the production timeout.
        redis_timeout: Duration::from_millis(250),
    }
}

/// A fresh database with `count` items, and a handle on it with a cache
/// of its own in `redis` (one per simulated replica).
async fn items_database(count: usize) -> (Database, Vec<Uuid>) {
    let (database, _) = fresh_database(&Migrator::DEFAULT)
        .await
        .expect("a fresh database");
    database
        .execute_script(
            "CREATE TABLE items (id uuid PRIMARY KEY, label text NOT NULL, revision int NOT NULL)",
        )
        .await
        .expect("the table");
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
    for id in &ids {
        database
            .execute(
                sqlx::query("INSERT INTO items (id, label, revision) VALUES ($1, 'first', 0)")
                    .bind(id),
            )
            .await
            .expect("an item");
    }
    (database, ids)
}

fn replica(database: &Database, redis: &RedisServer) -> Database {
    let cache = EntityCache::new("test", &settings(redis))
        .expect("a valid URL")
        .expect("enabled");
    database
        .with_separate_counter()
        .with_entity_cache(Arc::new(cache))
}

/// One request's batch through a fresh loader, as a request would read.
async fn load(database: &Database, sql: &'static str, ids: &[Uuid]) -> Vec<Option<Item>> {
    load_as(database, ITEM, sql, ids).await
}

async fn load_as(
    database: &Database,
    entity: CachedEntity,
    sql: &'static str,
    ids: &[Uuid],
) -> Vec<Option<Item>> {
    let loader = CachedRowsById::<Item>::new(BatchStatement::new(database, "Item", sql), entity);
    let loaded = loader.load(ids).await.expect("the batch loads");
    ids.iter()
        .map(|id| loaded.get(id).map(|item| (**item).clone()))
        .collect()
}

/// Statements `read` cost on `database`.
async fn statements<T>(database: &Database, read: impl Future<Output = T>) -> (T, u64) {
    let before = database.statements_executed();
    let value = read.await;
    (value, database.statements_executed() - before)
}

/// Waits until the fills of earlier reads have landed (they run in tasks
/// of their own): until a read of `ids` costs no statement.
async fn until_cached(database: &Database, ids: &[Uuid]) {
    for _ in 0..200 {
        let (_, cost) = statements(database, load(database, ITEMS_BY_ID, ids)).await;
        if cost == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the fills never landed");
}

async fn write(database: &Database, id: Uuid, label: &str) -> i32 {
    let mut transaction = database.begin().await.expect("begin");
    let revision: i32 = transaction
        .fetch_scalar(
            sqlx::query_scalar(
                "UPDATE items SET label = $2, revision = revision + 1 WHERE id = $1 RETURNING revision",
            )
            .bind(id)
            .bind(label),
        )
        .await
        .expect("the update");
    transaction.invalidate(ITEM.tag(id));
    transaction.commit().await.expect("commit");
    revision
}

async fn truth(database: &Database, id: Uuid) -> Item {
    database
        .fetch_one(
            sqlx::query_as::<_, Item>("SELECT id, label, revision FROM items WHERE id = $1")
                .bind(id),
        )
        .await
        .expect("the item")
}

fn counts(database: &Database) -> &talentgraph_kit::entity_cache::CacheCounts {
    &database.entity_cache().expect("a cache").counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_read_costs_no_statement_and_a_committed_change_is_read_at_once() {
    let redis = RedisServer::start();
    let (database, ids) = items_database(3).await;
    let cached = replica(&database, &redis);

    let (first, cost) = statements(&cached, load(&cached, ITEMS_BY_ID, &ids)).await;
    assert_eq!(cost, 1, "a cold batch is one statement");
    assert!(
        first
            .iter()
            .all(|item| item.as_ref().is_some_and(|item| item.label == "first"))
    );
    until_cached(&cached, &ids).await;
    assert!(counts(&cached).hits.load(Ordering::Relaxed) >= 3);

    write(&cached, ids[1], "second").await;
    let (after, cost) = statements(&cached, load(&cached, ITEMS_BY_ID, &ids)).await;
    assert_eq!(cost, 1, "only the changed item is read again");
    assert_eq!(
        after[1].as_ref().map(|item| item.label.as_str()),
        Some("second")
    );
    assert_eq!(
        after[0].as_ref().map(|item| item.label.as_str()),
        Some("first")
    );

    // Absent ids are read every time, never cached as absent.
    let missing = Uuid::new_v4();
    for _ in 0..2 {
        let (answer, cost) = statements(&cached, load(&cached, ITEMS_BY_ID, &[missing])).await;
        assert_eq!((answer, cost), (vec![None], 1));
    }
}

/// An entity that remembers absence: an id with no row is read once, and
/// an insert that invalidates the id's tag is read at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remembered_absence_costs_no_statement_until_an_insert_invalidates_it() {
    const REMEMBERED: CachedEntity = CachedEntity {
        name: "RememberedItem",
        tier: CacheTier::SlowChanging,
        remembers_absence: true,
    };
    let redis = RedisServer::start();
    let (database, _) = items_database(0).await;
    let cached = replica(&database, &redis);
    let id = Uuid::new_v4();
    let (answer, cost) =
        statements(&cached, load_as(&cached, REMEMBERED, ITEMS_BY_ID, &[id])).await;
    assert_eq!((answer, cost), (vec![None], 1));
    let mut remembered = false;
    for _ in 0..200 {
        let (answer, cost) =
            statements(&cached, load_as(&cached, REMEMBERED, ITEMS_BY_ID, &[id])).await;
        assert_eq!(answer, vec![None]);
        if cost == 0 {
            remembered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(remembered, "the absence is remembered");

    let mut transaction = cached.begin().await.expect("begin");
    transaction
        .execute(
            sqlx::query("INSERT INTO items (id, label, revision) VALUES ($1, 'new', 0)").bind(id),
        )
        .await
        .expect("the insert");
    transaction.invalidate(REMEMBERED.tag(id));
    transaction.commit().await.expect("commit");
    let answer = load_as(&cached, REMEMBERED, ITEMS_BY_ID, &[id]).await;
    assert_eq!(
        answer[0].as_ref().map(|item| item.label.as_str()),
        Some("new")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fill_that_raced_a_write_is_never_served() {
    let redis = RedisServer::start();
    let (database, ids) = items_database(1).await;
    let reader = replica(&database, &redis);
    let writer = replica(&database, &redis);
    let id = ids[0];
    let cache = reader.entity_cache().expect("a cache").clone();
    let shape = statement_shape(ITEMS_BY_ID);

    // The reader looks up and reads the old row; the writer commits and
    // invalidates; only then does the reader's fill reach Redis.
    let lookup = cache
        .lookup(ITEM, shape, &[id])
        .await
        .expect("Redis answers");
    let (_, version) = lookup.missing[0].clone();
    let old = truth(&database, id).await;
    write(&writer, id, "newer").await;
    cache.fill(
        ITEM,
        shape,
        lookup.epoch.clone(),
        vec![(id, version, serde_json::to_string(&old).expect("json"))],
    );
    // Wait for the late fill to be stored before reading.
    let mut connection = redis::Client::open(redis.url())
        .expect("a client")
        .get_multiplexed_async_connection()
        .await
        .expect("connected");
    let key = format!("tg:test:e:Item:{shape:016x}:{id}");
    for _ in 0..200 {
        let exists: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .expect("EXISTS");
        if exists {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    for replica in [&reader, &writer] {
        let read = load(replica, ITEMS_BY_ID, &[id]).await;
        assert_eq!(
            read[0].as_ref().map(|item| item.label.as_str()),
            Some("newer")
        );
    }
}

/// Writes and reads in a random order through two replicas, some of them
/// concurrently; after each step every read agrees with the database.
/// `ENTITY_CACHE_SEED` replays a run; the seed is printed either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_and_database_agree_after_a_random_sequence_of_writes_and_reads() {
    let seed = std::env::var("ENTITY_CACHE_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("ENTITY_CACHE_SEED={seed}");
    let mut random = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let redis = RedisServer::start();
    let (database, ids) = items_database(8).await;
    let replicas = [replica(&database, &redis), replica(&database, &redis)];

    for step in 0..150 {
        let writes: Vec<(usize, Uuid)> = (0..random.gen_range(0..3))
            .map(|_| (random.gen_range(0..2), ids[random.gen_range(0..ids.len())]))
            .collect();
        let reads: Vec<(usize, Vec<Uuid>)> = (0..random.gen_range(1..5))
            .map(|_| {
                let count = random.gen_range(1..4);
                (
                    random.gen_range(0..2),
                    (0..count)
                        .map(|_| ids[random.gen_range(0..ids.len())])
                        .collect(),
                )
            })
            .collect();
        // Writes and reads of one step run at once: reads may see either
        // side of a concurrent write, but nothing after it may be old.
        let mut tasks = Vec::new();
        for (index, (replica, id)) in writes.into_iter().enumerate() {
            let database = replicas[replica].clone();
            tasks.push(tokio::spawn(async move {
                write(&database, id, &format!("step {step} write {index}")).await;
            }));
        }
        for (replica, batch) in reads {
            let database = replicas[replica].clone();
            tasks.push(tokio::spawn(async move {
                load(&database, ITEMS_BY_ID, &batch).await;
            }));
        }
        for task in tasks {
            task.await.expect("a step's task");
        }
        for replica in &replicas {
            let read = load(replica, ITEMS_BY_ID, &ids).await;
            for (id, item) in ids.iter().zip(read) {
                assert_eq!(
                    item.as_ref(),
                    Some(&truth(&database, *id).await),
                    "step {step}: a stale read (ENTITY_CACHE_SEED={seed})"
                );
            }
        }
    }
    let hits: u64 = replicas
        .iter()
        .map(|replica| counts(replica).hits.load(Ordering::Relaxed))
        .sum();
    assert!(hits > 0, "the sequence was served from the cache at times");
}

/// 32 requests that miss one entity at once: with the cache's flights one
/// statement reads it for all of them; without a cache each reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stampede_on_one_missing_entity_costs_one_statement() {
    let redis = RedisServer::start();
    let (database, ids) = items_database(1).await;
    let cached = replica(&database, &redis);
    let uncached = database.with_separate_counter();

    let mut costs = Vec::new();
    for database in [&cached, &uncached] {
        let before = database.statements_executed();
        let barrier = Arc::new(tokio::sync::Barrier::new(32));
        let loads: Vec<_> = (0..32)
            .map(|_| {
                let database = database.clone();
                let barrier = barrier.clone();
                let id = ids[0];
                tokio::spawn(async move {
                    barrier.wait().await;
                    load(&database, SLOW_ITEMS_BY_ID, &[id]).await
                })
            })
            .collect();
        for read in loads {
            let read = read.await.expect("a load");
            assert_eq!(
                read[0].as_ref().map(|item| item.label.as_str()),
                Some("first")
            );
        }
        costs.push(database.statements_executed() - before);
    }
    println!(
        "32 concurrent cold reads of one entity: {} statement(s) with the cache, {} without",
        costs[0], costs[1]
    );
    assert_eq!(costs, vec![1, 32]);
    assert_eq!(counts(&cached).shared.load(Ordering::Relaxed), 31);
    assert_eq!(cached.entity_cache().expect("a cache").flights_open(), 0);
}

/// Redis killed, then stuck (SIGSTOP): every read is answered from
/// PostgreSQL, fresh, with no error; when Redis is back the cache serves
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_away_or_stuck_costs_no_request_and_serves_no_stale_value() {
    let mut redis = RedisServer::start();
    let (database, ids) = items_database(2).await;
    let cached = replica(&database, &redis);
    load(&cached, ITEMS_BY_ID, &ids).await;
    until_cached(&cached, &ids).await;

    redis.pause();
    write(&cached, ids[0], "while stuck").await;
    let read = load(&cached, ITEMS_BY_ID, &ids).await;
    assert_eq!(
        read[0].as_ref().map(|item| item.label.as_str()),
        Some("while stuck")
    );
    assert!(counts(&cached).unavailable.load(Ordering::Relaxed) >= 2);
    redis.unpause();
    let read = load(&cached, ITEMS_BY_ID, &ids).await;
    assert_eq!(
        read[0].as_ref().map(|item| item.label.as_str()),
        Some("while stuck")
    );

    redis.stop();
    write(&cached, ids[1], "while away").await;
    let read = load(&cached, ITEMS_BY_ID, &ids).await;
    assert_eq!(
        read[1].as_ref().map(|item| item.label.as_str()),
        Some("while away")
    );
    redis.resume();
    // The connection comes back by itself; the cache then fills and
    // serves again.
    let mut served = false;
    for _ in 0..300 {
        let (read, cost) = statements(&cached, load(&cached, ITEMS_BY_ID, &ids)).await;
        assert_eq!(
            read[1].as_ref().map(|item| item.label.as_str()),
            Some("while away")
        );
        if cost == 0 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "the cache serves again once Redis is back");
}
