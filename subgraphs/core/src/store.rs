//! Every SQL statement of the core subgraph.
//!
//! Each table's column list is written once (`user_columns!`,
//! `organization_columns!`, `skill_columns!`), and every statement that
//! returns such rows is built from it at compile time.

use talentgraph_kit::database::escape_like;
use talentgraph_kit::{Database, PageArgs};

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
