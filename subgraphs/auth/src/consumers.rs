//! The events auth consumes: recruiter membership, which employer owns.
//! `account_organizations` is auth's projection of it, read when a token's
//! `orgs` claim is issued.

use talentgraph_events::{RecruiterAdded, RecruiterRemoved};
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::{
    BoxFuture, ConsumerSettings, Envelope, EventHandler, EventTask, EventTaskList, HandlerError,
};

/// `recruiter.added` / `recruiter.removed` → `account_organizations`. Both
/// come from one stream through one consumer, in order, so a removal is
/// never applied before the addition it undoes.
pub struct MembershipsFromEmployer;

impl EventHandler for MembershipsFromEmployer {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            if envelope.is::<RecruiterAdded>() {
                let added: RecruiterAdded = envelope.decode()?;
                let known: bool = transaction
                    .fetch_scalar(
                        sqlx::query_scalar(
                            "SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = $1)",
                        )
                        .bind(added.user_id),
                    )
                    .await?;
                if !known {
                    return Err(HandlerError::Rejected(format!(
                        "no account {} to make a recruiter of {}",
                        added.user_id, added.organization_id
                    )));
                }
                transaction
                    .execute(
                        sqlx::query(
                            "INSERT INTO account_organizations (user_id, organization_id) VALUES ($1, $2) \
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(added.user_id)
                        .bind(added.organization_id),
                    )
                    .await?;
            } else if envelope.is::<RecruiterRemoved>() {
                let removed: RecruiterRemoved = envelope.decode()?;
                transaction
                    .execute(
                        sqlx::query(
                            "DELETE FROM account_organizations WHERE user_id = $1 AND organization_id = $2",
                        )
                        .bind(removed.user_id)
                        .bind(removed.organization_id),
                    )
                    .await?;
            } else {
                return Err(HandlerError::Rejected(format!(
                    "auth-memberships does not read {}",
                    envelope.subject()
                )));
            }
            Ok(())
        })
    }
}

/// Auth's event work: the relay of its own outbox and the memberships
/// consumer.
pub fn event_tasks(tasks: EventTaskList<'_>, _config: &SubgraphConfig) -> Vec<EventTask> {
    tasks
        .outbox_relay("auth")
        .consumer(
            ConsumerSettings::for_event::<RecruiterAdded>("auth-memberships")
                .and_event::<RecruiterRemoved>(),
            MembershipsFromEmployer,
        )
        .into_tasks()
}
