//! Cache-aside for entities read by id, in the Redis every replica shares,
//! invalidated by tag when a transaction that changes an entity commits.
//!
//! A cached loader (`loaders::CachedRowsById`) asks Redis for
//! its whole batch in one `MGET` before its one SQL statement, reads only
//! the misses from PostgreSQL and fills them afterwards in a task of their
//! own (the answer does not wait for the fill). Every write that changes a
//! cached entity names its tag in its transaction
//! ([`crate::database::Transaction::invalidate`]), whether a mutation or an
//! event consumer applying another subgraph's event (an organization's
//! card after core's `organization.changed`); the tags are invalidated
//! right after the commit.
//!
//! **No stale read after an invalidation.** A tag is a Redis key holding a
//! random *version*; invalidating a tag gives it a new version. The
//! `MGET` reads each entity's value together with its tag's version, and a
//! value only counts when it was filled under the version read beside it.
//! A fill carries the version read *before* its SQL statement: when a
//! writer commits and invalidates between that read and the fill, the fill
//! carries the old version and is never served; when the writer's
//! invalidation comes after the fill, the version read beside the value no
//! longer matches. So no ordering of a read, a fill and a write serves a
//! value older than the last invalidated write, with no lock and no script.
//!
//! **Stampedes.** Loads of one missing entity in one process share one
//! flight ([`single_flight`]): the first statement reads it, the others
//! wait for its row. Flights are keyed by the tag version their load saw,
//! so a load that starts after an invalidation never joins a flight that
//! began before it.
//!
//! **Fail-soft.** Every Redis call is bounded by a timeout of a few
//! milliseconds; a lookup that fails or is late reads PostgreSQL as if the
//! cache were not there. An invalidation that fails cannot be retried
//! blindly (Redis may come back with the old value), so the process stops
//! reading the cache until it has replaced the subgraph's cache *epoch*,
//! which every value also carries: replacing it retires every value filled
//! before. Values and tags expire (the [`CacheTier`]s), which bounds what a
//! Redis that was partitioned from a writer but not from its readers could
//! serve.

pub mod single_flight;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use uuid::Uuid;

use single_flight::Flights;

/// How long a cached value lives, by how its data changes. Every
/// invalidation is exact, so a tier bounds only what a failed invalidation
/// could leave behind, and how much memory idle entries hold.
///
/// There is no tier for volatile data (counts, a viewer's flags): those
/// change with every application and are read per viewer, so any TTL would
/// serve a stale count, and their statements are grouped reads that a
/// per-entity cache would not shorten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheTier {
    /// Organizations, their cards, jobs and internships: edited now and
    /// then, read on every page that shows them.
    SlowChanging,
    /// What one person edits about themselves (a profile): read by the
    /// pages of the few people around them.
    UserSpecific,
}

impl CacheTier {
    pub const fn time_to_live(self) -> Duration {
        match self {
            Self::SlowChanging => Duration::from_secs(60 * 60),
            Self::UserSpecific => Duration::from_secs(5 * 60),
        }
    }

    /// The longest tier: a tag's version must outlive every value filled
    /// under the one before it (see [`EntityCache::invalidate`]).
    const LONGEST: Duration = Self::SlowChanging.time_to_live();
}

/// An entity a loader caches: its name (the loader's statement name), its
/// tier, and whether an id with no row is remembered as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedEntity {
    pub name: &'static str,
    pub tier: CacheTier,
    /// Remember that an id has no row (an empty value), so asking again
    /// costs no statement. Only for entities whose every *insert* also
    /// invalidates the id's tag: most are created with a new id nobody has
    /// asked for, and those do not remember absence.
    pub remembers_absence: bool,
}

/// What a write invalidates: one entity by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheTag {
    pub entity: &'static str,
    pub id: Uuid,
}

impl CachedEntity {
    pub const fn tag(self, id: Uuid) -> CacheTag {
        CacheTag {
            entity: self.name,
            id,
        }
    }
}

/// How the cache is set up (`ENTITY_CACHE_ENABLED`, `REDIS_URL`,
/// `ENTITY_CACHE_REDIS_TIMEOUT_MS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityCacheSettings {
    pub enabled: bool,
    pub redis_url: Option<String>,
    /// How long a lookup, a fill or an invalidation waits for Redis.
    pub redis_timeout: Duration,
}

/// What became of the entities a cached loader asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    /// Read from PostgreSQL by this load.
    Miss,
    /// A miss answered by another load's statement (a shared flight).
    Shared,
    /// Read from PostgreSQL because Redis failed or was late.
    Unavailable,
}

impl CacheOutcome {
    pub const fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Shared => "shared",
            Self::Unavailable => "unavailable",
        }
    }
}

/// How often each kind of read happened in this process, for tests and
/// the bench (the `entity_cache_reads_total` metric, which the loader
/// records beside, counts the same by entity).
#[derive(Debug, Default)]
pub struct CacheCounts {
    /// Round trips to Redis for lookups (one `MGET` per batch).
    pub lookups: AtomicU64,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    /// Misses answered by another load's statement (a shared flight).
    pub shared: AtomicU64,
    /// Entities read from PostgreSQL because Redis failed or was late.
    pub unavailable: AtomicU64,
}

impl CacheCounts {
    pub fn add(&self, outcome: CacheOutcome, amount: usize) {
        let counter = match outcome {
            CacheOutcome::Hit => &self.hits,
            CacheOutcome::Miss => &self.misses,
            CacheOutcome::Shared => &self.shared,
            CacheOutcome::Unavailable => &self.unavailable,
        };
        counter.fetch_add(amount as u64, Ordering::Relaxed);
    }
}

/// What a lookup found for a batch of ids.
pub struct Lookup {
    /// The cached text of each id served from the cache, with its tag's
    /// version (for a read of the database when the text does not parse).
    pub found: Vec<(Uuid, Version, String)>,
    /// The ids to read from PostgreSQL, each with the version of its tag
    /// read beside it (the fill carries it).
    pub missing: Vec<(Uuid, Version)>,
    pub epoch: Version,
}

/// A tag's or the epoch's version as Redis holds it; `None` while the key
/// is absent (never invalidated, or expired).
pub type Version = Option<String>;

/// The cache of one subgraph process.
pub struct EntityCache {
    connection: ConnectionManager,
    /// Keys start with it: `tg:<subgraph>:`.
    prefix: String,
    timeout: Duration,
    /// Set when an invalidation failed: the cache is not read until the
    /// epoch has been replaced.
    epoch_stale: AtomicBool,
    pub counts: CacheCounts,
    pub(crate) flights: Flights,
    /// Fills sent to Redis and not yet answered.
    fills_in_flight: std::sync::Arc<AtomicU64>,
}

impl std::fmt::Debug for EntityCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EntityCache")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("epoch_stale", &self.epoch_stale)
            .finish_non_exhaustive()
    }
}

impl EntityCache {
    /// The cache of `subgraph`, when the settings enable one and name a
    /// Redis; fails only on a URL the client cannot parse. Connects lazily
    /// and reconnects by itself.
    pub fn new(subgraph: &str, settings: &EntityCacheSettings) -> Result<Option<Self>, String> {
        let Some(url) = settings.redis_url.as_deref().filter(|_| settings.enabled) else {
            return Ok(None);
        };
        let connection = crate::redis_connection::lazy_connection(url)?;
        Ok(Some(Self {
            connection,
            prefix: format!("tg:{subgraph}:"),
            timeout: settings.redis_timeout,
            epoch_stale: AtomicBool::new(false),
            counts: CacheCounts::default(),
            flights: Flights::default(),
            fills_in_flight: std::sync::Arc::default(),
        }))
    }

    /// Fills not yet answered by Redis (a test that empties Redis waits
    /// for none, so no fill lands after it).
    pub fn fills_in_flight(&self) -> u64 {
        self.fills_in_flight.load(Ordering::Acquire)
    }

    /// How many flights are open now (tests: none once loads are done).
    pub fn flights_open(&self) -> usize {
        self.flights.open_count()
    }

    fn epoch_key(&self) -> String {
        format!("{}epoch", self.prefix)
    }

    /// The key of an entity's value. `shape` names the statement that read
    /// it (a hash of its SQL), so a deploy that reads other columns never
    /// parses values an older version filled.
    fn value_key(&self, entity: &str, shape: u64, id: Uuid) -> String {
        format!("{}e:{entity}:{shape:016x}:{id}", self.prefix)
    }

    fn tag_key(&self, tag: CacheTag) -> String {
        format!("{}t:{}:{}", self.prefix, tag.entity, tag.id)
    }

    /// Looks a batch up in one round trip: the epoch, each value and each
    /// tag's version. `None` when Redis failed or was late, or the cache
    /// waits for a new epoch: the caller reads PostgreSQL alone.
    pub async fn lookup(&self, entity: CachedEntity, shape: u64, ids: &[Uuid]) -> Option<Lookup> {
        if self.epoch_stale.load(Ordering::Acquire) && !self.replace_epoch().await {
            return None;
        }
        self.counts.lookups.fetch_add(1, Ordering::Relaxed);
        let mut keys = Vec::with_capacity(1 + 2 * ids.len());
        keys.push(self.epoch_key());
        keys.extend(ids.iter().map(|id| self.value_key(entity.name, shape, *id)));
        keys.extend(ids.iter().map(|id| self.tag_key(entity.tag(*id))));
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("MGET");
        command.arg(&keys);
        let answer = tokio::time::timeout(
            self.timeout,
            command.query_async::<Vec<Option<String>>>(&mut connection),
        )
        .await;
        let mut values = match answer {
            Ok(Ok(values)) if values.len() == keys.len() => values,
            Ok(Ok(_)) => {
                tracing::warn!("entity cache: MGET answered a different number of values");
                return None;
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "entity cache: lookup failed; reading the database");
                return None;
            }
            Err(_elapsed) => {
                tracing::debug!("entity cache: lookup late; reading the database");
                return None;
            }
        };
        let versions = values.split_off(1 + ids.len());
        let epoch = values.remove(0);
        let mut lookup = Lookup {
            found: Vec::new(),
            missing: Vec::new(),
            epoch,
        };
        for ((id, value), version) in ids.iter().zip(values).zip(versions) {
            match value.and_then(|text| current_payload(&text, &lookup.epoch, &version)) {
                Some(payload) => lookup.found.push((*id, version, payload)),
                None => lookup.missing.push((*id, version)),
            }
        }
        Some(lookup)
    }

    /// Keeps freshly read entities, each under the epoch and tag version
    /// its lookup saw before the statement read it. Runs in a task of its
    /// own; a failure only means the next read misses again.
    pub fn fill(
        self: &std::sync::Arc<Self>,
        entity: CachedEntity,
        shape: u64,
        epoch: Version,
        entries: Vec<(Uuid, Version, String)>,
    ) {
        if entries.is_empty() {
            return;
        }
        let cache = std::sync::Arc::clone(self);
        self.fills_in_flight.fetch_add(1, Ordering::AcqRel);
        tokio::spawn(async move {
            let time_to_live = entity.tier.time_to_live().as_secs();
            let mut pipeline = redis::pipe();
            for (id, version, payload) in &entries {
                let value = stored_value(&epoch, version, payload);
                pipeline
                    .cmd("SET")
                    .arg(cache.value_key(entity.name, shape, *id))
                    .arg(value)
                    .arg("EX")
                    .arg(time_to_live)
                    .ignore();
            }
            if !cache.write(&pipeline).await {
                tracing::debug!(entity = entity.name, "entity cache: fill failed");
            }
            cache.fills_in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Gives each tag a new version, after the transaction that changed
    /// them committed. A tag's version lives twice the longest tier, so a
    /// value filled under an older version has always expired before the
    /// tag could expire and be read as absent again.
    ///
    /// When Redis fails, the values may still be there when it answers
    /// again: the process then reads no cached value until it has replaced
    /// the epoch, which retires them all.
    pub async fn invalidate(&self, tags: &[CacheTag]) {
        if tags.is_empty() {
            return;
        }
        let time_to_live = (CacheTier::LONGEST * 2).as_secs();
        let mut pipeline = redis::pipe();
        for tag in tags {
            pipeline
                .cmd("SET")
                .arg(self.tag_key(*tag))
                .arg(new_version())
                .arg("EX")
                .arg(time_to_live)
                .ignore();
        }
        if !self.write(&pipeline).await {
            if !self.epoch_stale.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    tags = tags.len(),
                    "entity cache: an invalidation failed; the cache is not read until its epoch is replaced"
                );
            }
            self.replace_epoch().await;
        }
    }

    /// Replaces the epoch, retiring every value; true when Redis took it.
    async fn replace_epoch(&self) -> bool {
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("SET")
            .arg(self.epoch_key())
            .arg(new_version())
            .ignore();
        if self.write(&pipeline).await {
            if self.epoch_stale.swap(false, Ordering::AcqRel) {
                tracing::warn!("entity cache: epoch replaced; reading the cache again");
            }
            true
        } else {
            false
        }
    }

    /// Sends writes (fills, invalidations, the epoch) and says whether Redis
    /// took them all. Writes wait longer than lookups: a lookup that gives
    /// up only reads PostgreSQL, a write that gives up costs a miss or an
    /// epoch.
    async fn write(&self, pipeline: &redis::Pipeline) -> bool {
        let mut connection = self.connection.clone();
        let answer = tokio::time::timeout(
            self.timeout * 4,
            pipeline.query_async::<()>(&mut connection),
        )
        .await;
        matches!(answer, Ok(Ok(())))
    }
}

/// 128 random bits: a new version no earlier one can equal.
fn new_version() -> String {
    format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// A value as stored: the epoch and tag version it was filled under, then
/// the entity's JSON (empty: the id has no row). Versions are hex (or empty for an absent key), so
/// the first two `|` end them.
fn stored_value(epoch: &Version, version: &Version, payload: &str) -> String {
    format!(
        "{}|{}|{payload}",
        epoch.as_deref().unwrap_or(""),
        version.as_deref().unwrap_or("")
    )
}

/// The JSON of a stored value when it was filled under `epoch` and
/// `version`; `None` when either has changed since (or the text is not a
/// stored value).
fn current_payload(stored: &str, epoch: &Version, version: &Version) -> Option<String> {
    let mut parts = stored.splitn(3, '|');
    let stored_epoch = parts.next()?;
    let stored_version = parts.next()?;
    let payload = parts.next()?;
    (stored_epoch == epoch.as_deref().unwrap_or("")
        && stored_version == version.as_deref().unwrap_or(""))
    .then(|| payload.to_owned())
}

/// A stable 64-bit FNV-1a hash of a statement's text: the shape part of
/// its values' keys.
pub const fn statement_shape(sql: &str) -> u64 {
    let bytes = sql.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut index = 0;
    while index < bytes.len() {
        hash ^= bytes[index] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        index += 1;
    }
    hash
}
