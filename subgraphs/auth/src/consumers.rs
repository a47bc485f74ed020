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
/// come from one stream through one consumer, in order, and each carries
/// its membership's version, so a change delivered again after a newer one
/// changes nothing ([`is_newer_change`]).
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
                if !is_newer_change(
                    transaction,
                    added.user_id,
                    added.organization_id,
                    added.membership_version,
                )
                .await?
                {
                    return Ok(());
                }
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
                if !is_newer_change(
                    transaction,
                    removed.user_id,
                    removed.organization_id,
                    removed.membership_version,
                )
                .await?
                {
                    return Ok(());
                }
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

/// Whether a membership change of `version` is newer than the last one
/// applied to (user, organization), recording it when it is. The stream
/// keeps employer's order, but a change whose handling failed is delivered
/// again later, possibly after the change that followed it: an addition
/// redelivered after its removal must not re-grant the organization. An
/// unversioned change (recorded before versions, or the demo data's)
/// applies only where no versioned one has.
async fn is_newer_change(
    transaction: &mut Transaction,
    user_id: uuid::Uuid,
    organization_id: uuid::Uuid,
    version: Option<i64>,
) -> Result<bool, HandlerError> {
    let newer = match version {
        Some(version) => transaction
            .fetch_optional(
                sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO account_organization_versions (user_id, organization_id, version) \
                     VALUES ($1, $2, $3) ON CONFLICT (user_id, organization_id) \
                     DO UPDATE SET version = EXCLUDED.version \
                     WHERE account_organization_versions.version < EXCLUDED.version \
                     RETURNING version",
                )
                .bind(user_id)
                .bind(organization_id)
                .bind(version),
            )
            .await?
            .is_some(),
        None => {
            !transaction
                .fetch_scalar::<bool>(
                    sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM account_organization_versions \
                         WHERE user_id = $1 AND organization_id = $2)",
                    )
                    .bind(user_id)
                    .bind(organization_id),
                )
                .await?
        }
    };
    if !newer {
        tracing::info!(%user_id, %organization_id, ?version, "skipped a membership change older than the one applied");
    }
    Ok(newer)
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
