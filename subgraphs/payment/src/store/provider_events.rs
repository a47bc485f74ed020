//! The provider events the webhook received, recorded once each.

use talentgraph_kit::DatabaseError;
use talentgraph_kit::database::Transaction;

/// Records a provider webhook event; false when it was applied before.
pub async fn record_provider_event(
    transaction: &mut Transaction,
    event_id: &str,
    event_type: &str,
) -> Result<bool, DatabaseError> {
    Ok(transaction
        .execute(
            sqlx::query(
                "INSERT INTO provider_events (id, event_type) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(event_id)
            .bind(event_type),
        )
        .await?
        == 1)
}
