//! Seeds auth's part of the demo world: one account per user, with the role
//! the world gives them and the well-known addresses of the demo accounts.

use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::{Database, DatabaseError, Role};

/// Inserts auth's demo rows; returns how many rows were new.
#[tracing::instrument(skip_all)]
pub async fn seed(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
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
