//! [`FlagsByKey`]: a yes/no per key in one statement.

use uuid::Uuid;

use super::BatchStatement;
use crate::batching::{BatchLoad, LoaderMap};
use crate::errors::database_failure;

/// Loads a yes/no per key: the SQL takes `$1::uuid[]` and returns the keys
/// whose answer is yes, and every other key is no.
pub struct FlagsByKey {
    statement: BatchStatement,
    /// Bound as `$2::uuid[]` when the answer depends on who asks.
    subjects: Option<Vec<Uuid>>,
}

impl FlagsByKey {
    pub fn new(statement: BatchStatement) -> Self {
        Self {
            statement,
            subjects: None,
        }
    }

    /// For an answer that depends on the viewer: the SQL also takes
    /// `$2::uuid[]`, such as the organizations the viewer recruits for.
    pub fn with_subjects(statement: BatchStatement, subjects: Vec<Uuid>) -> Self {
        Self {
            statement,
            subjects: Some(subjects),
        }
    }
}

impl BatchLoad for FlagsByKey {
    type Value = bool;
    type Key = Uuid;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.statement.request_span, skip_all, fields(entity = self.statement.entity, batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> async_graphql::Result<LoaderMap<Uuid, bool>> {
        self.statement.observe(keys.len());
        let mut flags: LoaderMap<Uuid, bool> = keys.iter().map(|key| (*key, false)).collect();
        let mut query = sqlx::query_as::<_, (Uuid,)>(self.statement.sql).bind(keys);
        if let Some(subjects) = &self.subjects {
            query = query.bind(subjects.clone());
        }
        let rows = self
            .statement
            .database
            .fetch_all(query)
            .await
            .map_err(database_failure)?;
        flags.extend(rows.into_iter().map(|(key,)| (key, true)));
        Ok(flags)
    }
}
