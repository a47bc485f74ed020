//! [`CachedRowsById`]: [`RowsById`](super::RowsById) with the entity
//! cache (`crate::entity_cache`) in front of its statement.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::FromRow;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{BatchStatement, IdentifiedRow, RowsById};
use crate::batching::{BatchLoad, LoaderMap};
use crate::entity_cache::single_flight::{Claim, FlightRow, follow};
use crate::entity_cache::{CacheOutcome, CachedEntity, EntityCache, statement_shape};

/// Loads rows by id (`$1::uuid[]`), as `RowsById` does, but asks the
/// entity cache first when the database has one: a batch costs one `MGET`
/// and, for its misses only, one statement. Without a cache it is
/// `RowsById`. Rows travel through Redis as JSON.
pub struct CachedRowsById<Row> {
    /// The statement, read as `RowsById` reads it.
    uncached: RowsById<Row>,
    entity: CachedEntity,
    /// The statement's shape, part of every key (see `EntityCache`).
    shape: u64,
}

impl<Row> CachedRowsById<Row> {
    pub fn new(statement: BatchStatement, entity: CachedEntity) -> Self {
        Self {
            shape: statement_shape(statement.sql),
            uncached: RowsById::new(statement),
            entity,
        }
    }
}

impl<Row> CachedRowsById<Row>
where
    Row: IdentifiedRow + for<'r> FromRow<'r, PgRow> + Send + Sync + Unpin + 'static,
{
    /// Counts `amount` entities of the batch under `outcome`, in the
    /// cache's counts and in `entity_cache_reads_total`.
    fn record(&self, cache: &EntityCache, outcome: CacheOutcome, amount: usize) {
        if amount == 0 {
            return;
        }
        cache.counts.add(outcome, amount);
        if let Some(metrics) = crate::metrics::metrics() {
            metrics.record_cache_reads(self.entity.name, outcome.label(), amount as u64);
        }
    }

    async fn read(&self, ids: &[Uuid]) -> async_graphql::Result<LoaderMap<Uuid, Arc<Row>>> {
        self.uncached.load(ids).await
    }
}

impl<Row> BatchLoad for CachedRowsById<Row>
where
    Row: IdentifiedRow
        + for<'r> FromRow<'r, PgRow>
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + Unpin
        + 'static,
{
    type Value = Arc<Row>;
    type Key = Uuid;

    #[tracing::instrument(name = "dataloader.cached_batch", parent = &self.uncached.statement.request_span, skip_all, fields(entity = self.uncached.statement.entity, batch_size = keys.len(), cache.hits))]
    async fn load(&self, keys: &[Uuid]) -> async_graphql::Result<LoaderMap<Uuid, Arc<Row>>> {
        let Some(cache) = self.uncached.statement.database.entity_cache().cloned() else {
            return self.read(keys).await;
        };
        let Some(lookup) = cache.lookup(self.entity, self.shape, keys).await else {
            self.record(&cache, CacheOutcome::Unavailable, keys.len());
            return self.read(keys).await;
        };
        let mut loaded = LoaderMap::default();
        let mut known_absent = 0;
        let mut missing = lookup.missing;
        for (id, version, payload) in lookup.found {
            if payload.is_empty() {
                // Remembered as absent (`CachedEntity::remembers_absence`).
                known_absent += 1;
                continue;
            }
            match serde_json::from_str::<Row>(&payload) {
                Ok(row) => {
                    loaded.insert(id, Arc::new(row));
                }
                Err(error) => {
                    tracing::debug!(%error, entity = self.entity.name, "entity cache: a value does not parse; reading the database");
                    missing.push((id, version));
                }
            }
        }
        tracing::Span::current().record("cache.hits", loaded.len());
        self.record(&cache, CacheOutcome::Hit, loaded.len() + known_absent);
        self.record(&cache, CacheOutcome::Miss, missing.len());
        if missing.is_empty() {
            return Ok(loaded);
        }

        let mut leads = Vec::new();
        let mut followers = Vec::new();
        for (id, version) in missing {
            match cache
                .flights
                .claim(self.entity.name, self.shape, id, version.clone())
            {
                Claim::Lead(lead) => leads.push((lead, version)),
                Claim::Follow(follower) => followers.push((id, follower)),
            }
        }
        // A lead lands its rows as soon as they are read, inside its own
        // future: two loads that each lead what the other follows would
        // otherwise wait for each other until the follow timeout.
        let lead_ids: Vec<Uuid> = leads.iter().map(|(lead, _)| lead.id()).collect();
        let read_leads = async {
            if leads.is_empty() {
                return Ok(LoaderMap::default());
            }
            let read = self.read(&lead_ids).await?;
            let mut fills = Vec::with_capacity(read.len());
            for (lead, version) in leads {
                let row = read.get(&lead.id()).cloned();
                match &row {
                    Some(row) => match serde_json::to_string(&**row) {
                        Ok(payload) => fills.push((lead.id(), version, payload)),
                        Err(error) => {
                            tracing::warn!(%error, entity = self.entity.name, "entity cache: a row does not serialize")
                        }
                    },
                    None if self.entity.remembers_absence => {
                        fills.push((lead.id(), version, String::new()));
                    }
                    None => {}
                }
                lead.land(row.map(|row| row as FlightRow));
            }
            cache.fill(self.entity, self.shape, lookup.epoch.clone(), fills);
            Ok::<_, async_graphql::Error>(read)
        };
        let follow_all = futures::future::join_all(
            followers
                .into_iter()
                .map(|(id, follower)| async move { (id, follow(follower).await) }),
        );
        let (read, followed) = tokio::join!(read_leads, follow_all);
        loaded.extend(read?);

        let mut unanswered = Vec::new();
        let mut shared = 0;
        for (id, answer) in followed {
            match answer {
                Some(Some(row)) => match row.downcast::<Row>() {
                    Ok(row) => {
                        shared += 1;
                        loaded.insert(id, row);
                    }
                    Err(_) => unanswered.push(id),
                },
                Some(None) => shared += 1,
                None => unanswered.push(id),
            }
        }
        self.record(&cache, CacheOutcome::Shared, shared);
        if !unanswered.is_empty() {
            loaded.extend(self.read(&unanswered).await?);
        }
        Ok(loaded)
    }
}
