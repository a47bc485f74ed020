//! Every SQL statement of the core subgraph.
//!
//! Each table's column list is written once (`user_columns!`,
//! `organization_columns!`, `skill_columns!`), and every statement that
//! returns such rows is built from it at compile time.

use talentgraph_events::OrganizationChanged;
use talentgraph_kit::database::escape_like;
use talentgraph_kit::entity_cache::{CacheTier, CachedEntity};
use talentgraph_kit::{Database, PageArgs};
use uuid::Uuid;

use crate::error::CoreError;
use crate::model::Organization;

/// The `users` columns a [`crate::model::User`] is read from.
macro_rules! user_columns {
    () => {
        "id, handle, display_name, headline, location, avatar_url, created_at"
    };
}

/// The `organizations` columns an [`Organization`] is read from.
macro_rules! organization_columns {
    () => {
        "id, name, slug, about, industry, size, website, logo_url, verified, created_at"
    };
}

/// The `skills` columns a [`crate::model::Skill`] is read from.
macro_rules! skill_columns {
    () => {
        "id, name, slug"
    };
}

pub const USERS_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ANY($1)");

pub const ORGANIZATIONS_BY_ID: &str = concat!(
    "SELECT ",
    organization_columns!(),
    " FROM organizations WHERE id = ANY($1)"
);

/// Organizations by id are read through the entity cache;
/// [`update_organization`] invalidates the one it changes.
pub const CACHED_ORGANIZATION: CachedEntity = CachedEntity {
    name: "Organization",
    tier: CacheTier::SlowChanging,
    remembers_absence: false,
};

/// Users by id are read through the entity cache. Profiles are written
/// once, when an account is created (`insert_profile_for_account` inserts
/// and never overwrites); a statement that changes a user must invalidate
/// `CACHED_USER.tag(id)` in its transaction.
pub const CACHED_USER: CachedEntity = CachedEntity {
    name: "User",
    tier: CacheTier::UserSpecific,
    remembers_absence: false,
};

pub const SKILLS_BY_ID: &str = concat!(
    "SELECT ",
    skill_columns!(),
    " FROM skills WHERE id = ANY($1)"
);

/// At most 50 skills per user, most relevant (lowest position) first.
pub const SKILLS_BY_USER: &str = "SELECT user_id, id, name, slug FROM ( \
       SELECT us.user_id, s.id, s.name, s.slug, us.position, \
              row_number() OVER (PARTITION BY us.user_id ORDER BY us.position) AS rank \
       FROM user_skills us JOIN skills s ON s.id = us.skill_id \
       WHERE us.user_id = ANY($1)) ranked \
     WHERE rank <= 50 ORDER BY user_id, position";

/// The organization with `slug`, if any.
pub async fn organization_by_slug(
    database: &Database,
    slug: String,
) -> Result<Option<Organization>, CoreError> {
    let query = sqlx::query_as::<_, Organization>(concat!(
        "SELECT ",
        organization_columns!(),
        " FROM organizations WHERE slug = $1"
    ))
    .bind(slug);
    Ok(database.fetch_optional(query).await?)
}

/// What the organization directory narrows by; `None` leaves a condition
/// out.
pub struct OrganizationSearch {
    pub industry: Option<String>,
    pub verified: Option<bool>,
    /// Matched case-insensitively anywhere in the name, as plain text.
    pub name_contains: Option<String>,
}

/// One page of the organization directory, newest first.
pub async fn search_organizations(
    database: &Database,
    search: OrganizationSearch,
    page: &PageArgs,
) -> Result<Vec<Organization>, CoreError> {
    let (cursor_at, cursor_id) = page.sql_bounds();
    let query = sqlx::query_as::<_, Organization>(concat!(
        "SELECT ",
        organization_columns!(),
        " FROM organizations \
         WHERE ($1::text IS NULL OR industry = $1) \
           AND ($2::boolean IS NULL OR verified = $2) \
           AND ($3::text IS NULL OR name ILIKE '%' || $3 || '%') \
           AND (created_at, id) < ($4, $5) \
         ORDER BY created_at DESC, id DESC LIMIT $6"
    ))
    .bind(search.industry)
    .bind(search.verified)
    .bind(search.name_contains.map(|text| escape_like(&text)))
    .bind(cursor_at)
    .bind(cursor_id)
    .bind(page.fetch_limit());
    Ok(database.fetch_all(query).await?)
}

/// The changes `updateOrganization` makes; `None` leaves a column as it is.
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub about: Option<String>,
    pub website: Option<String>,
    pub logo_url: Option<String>,
}

/// An organization with its revision, as an update returns it.
#[derive(sqlx::FromRow)]
struct RevisedOrganization {
    #[sqlx(flatten)]
    organization: Organization,
    revision: i64,
}

/// Changes an organization and announces its new card
/// (`organization.changed`) in the same transaction, so the copies in
/// employer and internship follow. `None` when there is no such
/// organization.
pub async fn update_organization(
    database: &Database,
    id: Uuid,
    changes: OrganizationChanges,
) -> Result<Option<Organization>, CoreError> {
    let mut transaction = database.begin().await?;
    let updated = transaction
        .fetch_optional(
            sqlx::query_as::<_, RevisedOrganization>(concat!(
                "UPDATE organizations SET name = COALESCE($2, name), about = COALESCE($3, about), \
                     website = COALESCE($4, website), logo_url = COALESCE($5, logo_url), \
                     revision = revision + 1 \
                 WHERE id = $1 RETURNING ",
                organization_columns!(),
                ", revision"
            ))
            .bind(id)
            .bind(changes.name)
            .bind(changes.about)
            .bind(changes.website)
            .bind(changes.logo_url),
        )
        .await?;
    let Some(RevisedOrganization {
        organization,
        revision,
    }) = updated
    else {
        return Ok(None);
    };
    talentgraph_kit::events::record_event(
        &mut transaction,
        &organization_changed(&organization, revision),
    )
    .await?;
    transaction.invalidate(CACHED_ORGANIZATION.tag(id));
    transaction.commit().await?;
    Ok(Some(organization))
}

/// The card event of `organization` at `revision`.
pub fn organization_changed(organization: &Organization, revision: i64) -> OrganizationChanged {
    OrganizationChanged {
        organization_id: organization.id,
        name: organization.name.clone(),
        slug: organization.slug.clone(),
        logo_url: organization.logo_url.clone(),
        verified: organization.verified,
        revision,
    }
}

/// A handle for a new profile: the display name folded to `[a-z0-9-]`,
/// then the user id's first hex digits, so two people of one name get two
/// handles and the handle never changes once the event is replayed. It
/// matches `users_handle_format`.
pub fn handle_for(display_name: &str, user_id: uuid::Uuid, id_digits: usize) -> String {
    let digits: String = user_id
        .simple()
        .to_string()
        .chars()
        .take(id_digits.clamp(1, 32))
        .collect();
    // The format allows 39 characters: the slug gets what the digits and
    // their hyphen leave.
    let room = 39 - 1 - digits.len();
    let mut slug = String::new();
    for character in display_name.to_lowercase().chars() {
        if slug.len() >= room {
            break;
        }
        if character.is_ascii_alphanumeric() {
            slug.push(character);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "m" } else { slug };
    format!("{slug}-{digits}")
}

/// Creates the profile of a newly signed-up account, in the consumer's
/// transaction. A profile that exists already (a replayed event, a demo
/// account) is left as it is. Returns whether a row was inserted.
pub async fn insert_profile_for_account(
    transaction: &mut talentgraph_kit::database::Transaction,
    user_id: uuid::Uuid,
    display_name: &str,
) -> Result<bool, talentgraph_kit::DatabaseError> {
    // Eight hex digits make a clash of two people of one name unlikely; the
    // full id makes it impossible.
    for id_digits in [8, 32] {
        let inserted = transaction
            .execute(
                sqlx::query(
                    "INSERT INTO users (id, handle, display_name) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(user_id)
                .bind(handle_for(display_name, user_id, id_digits))
                .bind(display_name),
            )
            .await?;
        if inserted == 1 {
            return Ok(true);
        }
        let exists: bool = transaction
            .fetch_scalar(
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
                    .bind(user_id),
            )
            .await?;
        if exists {
            return Ok(false);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::handle_for;

    /// Handles fit the table's format whatever the display name.
    #[test]
    fn handles_fit_the_format() {
        let id = uuid::Uuid::new_v4();
        for name in [
            "Ada Lovelace",
            "  ",
            "漢字",
            "A--b__c",
            &"x".repeat(200),
            "Zoë O'Brien-Smith",
        ] {
            for digits in [8, 32] {
                let handle = handle_for(name, id, digits);
                assert!(handle.len() >= 2, "{handle}");
                let mut characters = handle.chars();
                let first = characters.next().expect("not empty");
                assert!(
                    first.is_ascii_lowercase() || first.is_ascii_digit(),
                    "{handle}"
                );
                assert!(
                    handle
                        .chars()
                        .all(|character| character.is_ascii_lowercase()
                            || character.is_ascii_digit()
                            || character == '-'),
                    "{handle}"
                );
                assert!(
                    handle.len() <= 39,
                    "{handle} fits `^[a-z0-9][a-z0-9-]{{1,38}}$`"
                );
            }
        }
        assert!(handle_for("Ada Lovelace", id, 8).starts_with("ada-lovelace-"));
    }
}
