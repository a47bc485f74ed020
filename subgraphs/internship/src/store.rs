//! Every SQL statement of the internship subgraph.
//!
//! Each table's column list is written once (`internship_columns!`,
//! `application_columns!`), and every statement that returns such rows is
//! built from it at compile time.

use chrono::{NaiveDate, Utc};
use sqlx::{Postgres, QueryBuilder};
use talentgraph_kit::database::push_equals_if_given;
use talentgraph_kit::entity_cache::{CacheTier, CachedEntity};
use talentgraph_kit::{Database, PageArgs, child_page_sql};
use talentgraph_organization_cards::{CardsInSearch, WithCard};
use uuid::Uuid;

use crate::error::InternshipError;
use crate::model::{Internship, InternshipApplication, InternshipKind};

/// The `internships` columns an [`Internship`] is read from.
macro_rules! internship_columns {
    () => {
        "id, organization_id, mentor_id, title, description, kind, stipend_amount, \
         stipend_currency, stipend_period, duration_weeks, starts_on, application_deadline, location, remote, created_at"
    };
}

/// The `internship_applications` columns an [`InternshipApplication`] is
/// read from.
macro_rules! application_columns {
    () => {
        "id, internship_id, applicant_id, status, motivation, applied_at"
    };
}

pub const INTERNSHIPS_BY_ID: &str = concat!(
    "SELECT ",
    internship_columns!(),
    " FROM internships WHERE id = ANY($1)"
);

/// Internships by id are read through the entity cache. No statement of
/// this subgraph changes an internship after it is created; one that does
/// must invalidate `CACHED_INTERNSHIP.tag(id)` in its transaction.
pub const CACHED_INTERNSHIP: CachedEntity = CachedEntity {
    name: "Internship",
    tier: CacheTier::SlowChanging,
    remembers_absence: false,
};

pub const INTERNSHIP_PAGES_BY_ORGANIZATION: &str = child_page_sql!(
    select: internship_columns!(),
    from: "internships",
    parent: "organization_id",
    filter: "($5::text IS NULL OR kind = $5)",
    order: ("created_at", "id"),
);

/// At most 20 skills per internship, in their listed order: like
/// `User.skills` in core, a nested list without pagination needs a bound of
/// its own (the field's description states it).
pub const SKILLS_BY_INTERNSHIP: &str = "SELECT internship_id, skill_id FROM ( \
       SELECT internship_id, skill_id, position, \
              row_number() OVER (PARTITION BY internship_id ORDER BY position) AS rank \
       FROM internship_skills WHERE internship_id = ANY($1)) ranked \
     WHERE rank <= 20 ORDER BY internship_id, position";

pub const APPLICATIONS_BY_ID: &str = concat!(
    "SELECT ",
    application_columns!(),
    " FROM internship_applications WHERE id = ANY($1)"
);

pub const APPLICATION_PAGES_BY_APPLICANT: &str = child_page_sql!(
    select: application_columns!(),
    from: "internship_applications",
    parent: "applicant_id",
    order: ("applied_at", "id"),
);

/// What the internship search narrows by; `None` leaves a condition out.
pub struct InternshipSearch {
    pub kind: Option<InternshipKind>,
    pub organization_id: Option<Uuid>,
    pub remote: Option<bool>,
    pub skill_id: Option<Uuid>,
}

/// One page of the internship search, newest first.
///
/// Only the conditions asked for are written into the statement, so that
/// each combination of filters is a prepared statement for which
/// PostgreSQL can keep one generic plan; see the job search in employer's
/// store for the figures.
pub async fn search_internships(
    database: &Database,
    search: InternshipSearch,
    page: &PageArgs,
) -> Result<Vec<Internship>, InternshipError> {
    let mut statement = internship_search_statement(search, page, CardsInSearch::NotRead);
    Ok(database
        .fetch_all(statement.build_query_as::<Internship>())
        .await?)
}

/// [`search_internships`], with each internship's organization card read by
/// the same statement (see `talentgraph_organization_cards::JOINED_CARD_COLUMNS`).
pub async fn search_internships_with_cards(
    database: &Database,
    search: InternshipSearch,
    page: &PageArgs,
) -> Result<Vec<WithCard<Internship>>, InternshipError> {
    let mut statement = internship_search_statement(search, page, CardsInSearch::ReadBeside);
    Ok(database
        .fetch_all(statement.build_query_as::<WithCard<Internship>>())
        .await?)
}

fn internship_search_statement(
    search: InternshipSearch,
    page: &PageArgs,
    cards: CardsInSearch,
) -> QueryBuilder<'static, Postgres> {
    let (cursor_at, cursor_id) = page.sql_bounds();
    let mut statement = QueryBuilder::<Postgres>::new(concat!("SELECT ", internship_columns!()));
    statement
        .push(cards.columns())
        .push(" FROM internships i")
        .push(cards.join());
    statement
        .push(" WHERE (created_at, id) < (")
        .push_bind(cursor_at)
        .push(", ")
        .push_bind(cursor_id)
        .push(")");
    push_equals_if_given(
        &mut statement,
        "kind",
        search.kind.map(InternshipKind::as_str),
    );
    push_equals_if_given(&mut statement, "organization_id", search.organization_id);
    push_equals_if_given(&mut statement, "remote", search.remote);
    if let Some(skill_id) = search.skill_id {
        statement
            .push(
                " AND EXISTS (SELECT 1 FROM internship_skills s \
                 WHERE s.internship_id = i.id AND s.skill_id = ",
            )
            .push_bind(skill_id)
            .push(")");
    }
    statement
        .push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .push_bind(page.fetch_limit());
    statement
}

/// Applies `applicant` to an internship whose deadline has not passed;
/// a second application is `AlreadyApplied` (the unique constraint
/// decides, so races agree).
pub async fn insert_application(
    database: &Database,
    internship_id: Uuid,
    applicant: Uuid,
    motivation: Option<String>,
) -> Result<InternshipApplication, InternshipError> {
    let mut transaction = database.begin().await?;
    let deadline: Option<(Option<NaiveDate>,)> = transaction
        .fetch_optional(
            sqlx::query_as("SELECT application_deadline FROM internships WHERE id = $1 FOR SHARE")
                .bind(internship_id),
        )
        .await?;
    let (deadline,) = deadline.ok_or(InternshipError::InternshipNotFound)?;
    if deadline.is_some_and(|deadline| deadline < Utc::now().date_naive()) {
        return Err(InternshipError::DeadlinePassed);
    }
    let application = transaction
        .fetch_one(
            sqlx::query_as::<_, InternshipApplication>(concat!(
                "INSERT INTO internship_applications (id, internship_id, applicant_id, motivation) \
                 VALUES ($1, $2, $3, $4) RETURNING ",
                application_columns!()
            ))
            .bind(Uuid::new_v4())
            .bind(internship_id)
            .bind(applicant)
            .bind(motivation),
        )
        .await?;
    transaction.commit().await?;
    Ok(application)
}
