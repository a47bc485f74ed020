//! Recruiters: who may act for an organization, memberships and the
//! account directory `addRecruiter` resolves addresses in.

use talentgraph_kit::database::Transaction;
use talentgraph_kit::{Database, DatabaseError};
use uuid::Uuid;

use super::Actor;
use crate::error::EmployerError;

/// Lets platform admins and the organization's admins through.
async fn require_organization_admin(
    transaction: &mut Transaction,
    actor: Actor,
    organization_id: Uuid,
) -> Result<(), EmployerError> {
    if actor.is_admin {
        return Ok(());
    }
    let is_admin: Option<bool> = transaction
        .fetch_scalar(
            sqlx::query_scalar(
                "SELECT bool_or(is_admin) FROM recruiters WHERE organization_id = $1 AND user_id = $2",
            )
            .bind(organization_id)
            .bind(actor.user_id),
        )
        .await?;
    if is_admin == Some(true) {
        Ok(())
    } else {
        Err(EmployerError::NotOrganizationAdmin)
    }
}

/// Makes the account with `email` a recruiter of the organization, with
/// the event auth projects into the `orgs` claim, in one transaction. False
/// when they already were (nothing recorded).
///
/// The address is looked up only after the admin check, so the directory
/// answers organization admins and nobody else.
pub async fn add_recruiter(
    database: &Database,
    actor: Actor,
    organization_id: Uuid,
    email: &str,
) -> Result<bool, EmployerError> {
    let mut transaction = database.begin().await?;
    require_organization_admin(&mut transaction, actor, organization_id).await?;
    let account: Option<(Uuid,)> = transaction
        .fetch_optional(
            sqlx::query_as("SELECT user_id FROM account_directory WHERE email = $1").bind(email),
        )
        .await?;
    let Some((user_id,)) = account else {
        return Err(EmployerError::AccountNotFound);
    };
    let inserted = transaction
        .execute(
            sqlx::query(
                "INSERT INTO recruiters (organization_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(organization_id)
            .bind(user_id),
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    commit_membership_change(transaction, organization_id, user_id, |version| {
        talentgraph_events::RecruiterAdded {
            organization_id,
            user_id,
            added_by: Some(actor.user_id),
            membership_version: Some(version),
        }
    })
    .await
}

/// Ends `user_id`'s membership, with its event. False when they were not a
/// recruiter. The organization's last admin cannot be removed, or nobody
/// but platform admins could change its recruiters again.
pub async fn remove_recruiter(
    database: &Database,
    actor: Actor,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<bool, EmployerError> {
    let mut transaction = database.begin().await?;
    require_organization_admin(&mut transaction, actor, organization_id).await?;
    // Locks the organization's recruiters so two removals cannot both see
    // another admin left.
    let admins: Vec<(Uuid,)> = transaction
        .fetch_all(
            sqlx::query_as(
                "SELECT user_id FROM recruiters WHERE organization_id = $1 AND is_admin FOR UPDATE",
            )
            .bind(organization_id),
        )
        .await?;
    if admins.len() == 1 && admins[0].0 == user_id {
        return Err(EmployerError::Common(
            talentgraph_kit::CommonError::invalid_input(
                "userId",
                "This is the organization's last admin; make someone else admin first.",
            ),
        ));
    }
    let removed = transaction
        .execute(
            sqlx::query("DELETE FROM recruiters WHERE organization_id = $1 AND user_id = $2")
                .bind(organization_id)
                .bind(user_id),
        )
        .await?;
    if removed == 0 {
        return Ok(false);
    }
    commit_membership_change(transaction, organization_id, user_id, |version| {
        talentgraph_events::RecruiterRemoved {
            organization_id,
            user_id,
            removed_by: actor.user_id,
            membership_version: Some(version),
        }
    })
    .await
}

/// Records a membership change's event with the membership's next version
/// and commits: true, the membership changed.
async fn commit_membership_change<E: talentgraph_kit::events::Event>(
    mut transaction: Transaction,
    organization_id: Uuid,
    user_id: Uuid,
    event: impl FnOnce(i64) -> E,
) -> Result<bool, EmployerError> {
    let version = next_membership_version(&mut transaction, organization_id, user_id).await?;
    talentgraph_kit::events::record_event(&mut transaction, &event(version)).await?;
    transaction.commit().await?;
    Ok(true)
}

/// The membership's next version, counted in the transaction that changes
/// it: the upsert locks the pair's version row until that transaction
/// ends, so two changes of one membership get consecutive versions in
/// commit order, which the events carry to their consumers.
async fn next_membership_version(
    transaction: &mut Transaction,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<i64, DatabaseError> {
    transaction
        .fetch_scalar(
            sqlx::query_scalar(
                "INSERT INTO recruiter_membership_versions (organization_id, user_id, version) \
                 VALUES ($1, $2, 1) ON CONFLICT (organization_id, user_id) \
                 DO UPDATE SET version = recruiter_membership_versions.version + 1 \
                 RETURNING version",
            )
            .bind(organization_id)
            .bind(user_id),
        )
        .await
}

/// Ensures `actor` recruits for `organization_id` (admins may act for any
/// organization), inside the caller's transaction.
pub(super) async fn require_recruiter(
    transaction: &mut Transaction,
    actor: Actor,
    organization_id: Uuid,
) -> Result<(), EmployerError> {
    if actor.is_admin {
        return Ok(());
    }
    let membership: Option<(Uuid,)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT user_id FROM recruiters WHERE organization_id = $1 AND user_id = $2",
            )
            .bind(organization_id)
            .bind(actor.user_id),
        )
        .await?;
    match membership {
        Some(_) => Ok(()),
        None => Err(EmployerError::NotRecruiter),
    }
}

/// Records an account's address in the directory `addRecruiter` reads
/// (from `account.created`). A second event for the same account or
/// address changes nothing: the first one wins, as addresses never change.
pub async fn record_account_address(
    transaction: &mut Transaction,
    user_id: Uuid,
    email: &str,
) -> Result<(), DatabaseError> {
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO account_directory (user_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(email),
        )
        .await?;
    Ok(())
}
