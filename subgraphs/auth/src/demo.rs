//! Seeds auth's part of the demo world: one account per user, with the role
//! the world gives them and the well-known addresses of the demo accounts,
//! the organizations recruiters act for, and a password for the three demo
//! accounts (only they can sign in; hashing thousands of passwords would
//! make seeding slow for nothing).

use talentgraph_demo_world::{DEMO_PASSWORD, DemoWorld};
use talentgraph_kit::{Database, DatabaseError, Role};

use crate::error::AuthError;

/// Inserts auth's demo rows; returns how many rows were new.
#[tracing::instrument(skip_all)]
pub async fn seed(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    // Memberships (the `orgs` claim) are not seeded here: employer owns them
    // and announces each (`recruiter.added`); auth's table is the
    // projection its consumer keeps.
    let mut new_rows = seed_accounts(database, world).await?;
    for user in [
        world.demo_jobseeker(),
        world.demo_recruiter(),
        world.demo_admin(),
    ] {
        // Each account gets its own salt; an existing password is kept.
        let hash = match crate::passwords::hash_password(DEMO_PASSWORD.to_owned()).await {
            Ok(hash) => hash,
            Err(AuthError::Internal(message)) => {
                tracing::error!(%message, "cannot hash the demo password");
                continue;
            }
            Err(other) => {
                tracing::error!(?other, "cannot hash the demo password");
                continue;
            }
        };
        new_rows += database
            .execute(
                sqlx::query(
                    "UPDATE accounts SET password_hash = $2 WHERE user_id = $1 AND password_hash IS NULL",
                )
                .bind(world.user_id(user))
                .bind(hash),
            )
            .await?;
    }
    Ok(new_rows)
}

async fn seed_accounts(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut ids = Vec::new();
    let mut emails = Vec::new();
    let mut roles = Vec::new();
    let mut created = Vec::new();
    for user in 0..world.users {
        let role = if world.is_admin(user) {
            Role::Admin
        } else if world.recruiter_organization(user).is_some() {
            Role::Employer
        } else {
            Role::Jobseeker
        };
        ids.push(world.user_id(user));
        emails.push(world.email(user));
        // One role per account, kept as a one-element array literal.
        roles.push(format!("{{{}}}", role.as_str()));
        created.push(world.timestamp(60 * 24 * 30, user, world.users));
    }
    database
        .execute(
            sqlx::query(
                "INSERT INTO accounts (user_id, email, roles, created_at) \
                 SELECT i, e, r::text[], c FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS x(i, e, r, c) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(ids)
            .bind(emails)
            .bind(roles)
            .bind(created),
        )
        .await
}
