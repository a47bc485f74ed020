//! Every SQL statement of the jobseeker subgraph.
//!
//! Each table's column list is written once (`application_columns!`,
//! `profile_columns!`), and every statement that returns such rows is
//! built from it at compile time.

use talentgraph_kit::{Database, child_page_sql};
use uuid::Uuid;

use crate::error::JobseekerError;
use crate::model::{Application, ApplicationStatus, JobseekerProfile};

/// The `applications` columns an [`Application`] is read from (page
/// queries add `parent_id` in front).
macro_rules! application_columns {
    () => {
        "id, job_id, applicant_id, status, cover_letter, applied_at"
    };
}

/// The `jobseeker_profiles` columns a [`JobseekerProfile`] is read from.
macro_rules! profile_columns {
    () => {
        "user_id, open_to_work, desired_titles, desired_locations, years_of_experience, resume_url, updated_at"
    };
}

pub const APPLICATIONS_BY_ID: &str = concat!(
    "SELECT ",
    application_columns!(),
    " FROM applications WHERE id = ANY($1)"
);

pub const APPLICATION_PAGES_BY_APPLICANT: &str = child_page_sql!(
    select: concat!("applicant_id AS parent_id, ", application_columns!()),
    from: "applications",
    parent: "applicant_id",
    order: ("applied_at", "id"),
);

pub const APPLICATION_PAGES_BY_JOB: &str = child_page_sql!(
    select: concat!("job_id AS parent_id, ", application_columns!()),
    from: "applications",
    parent: "job_id",
    order: ("applied_at", "id"),
);

/// Each job in `$1` with its count of active applications and whether the
/// viewer `$2` (null when anonymous) holds one of them. `bool_or` over no
/// match is false and over a null viewer null, hence the `coalesce`.
/// `applications_active_job_applicant_idx` holds both columns, so the
/// statement reads the index alone.
pub const ACTIVE_APPLICATION_TALLIES_BY_JOB: &str = "SELECT job_id, count(*), \
     coalesce(bool_or(applicant_id = $2), false) FROM applications \
     WHERE job_id = ANY($1) AND status <> 'WITHDRAWN' GROUP BY job_id";

pub const PROFILES_BY_USER: &str = concat!(
    "SELECT ",
    profile_columns!(),
    " FROM jobseeker_profiles WHERE user_id = ANY($1)"
);

pub const SAVED_JOB_PAGES_BY_USER: &str = child_page_sql!(
    select: "user_id, job_id, saved_at",
    from: "saved_jobs",
    parent: "user_id",
    order: ("saved_at", "job_id"),
);

/// Applies `applicant` to `job_id`; a second active application is
/// `AlreadyApplied` (the unique constraint decides, so races agree).
pub async fn insert_application(
    database: &Database,
    job_id: Uuid,
    applicant: Uuid,
    cover_letter: Option<String>,
) -> Result<Application, JobseekerError> {
    // Jobseeker's own record of the job, from employer's events: a closed
    // job or one never announced takes no application. The insert names
    // the job only if it is open, in one statement.
    let query = sqlx::query_as::<_, Application>(concat!(
        "INSERT INTO applications (id, job_id, applicant_id, cover_letter) \
         SELECT $1, job_id, $3, $4 FROM job_organizations WHERE job_id = $2 AND closed_at IS NULL \
         RETURNING ",
        application_columns!()
    ))
    .bind(Uuid::new_v4())
    .bind(job_id)
    .bind(applicant)
    .bind(cover_letter);
    if let Some(application) = database.fetch_optional(query).await? {
        return Ok(application);
    }
    let known: Option<(Option<chrono::DateTime<chrono::Utc>>,)> = database
        .fetch_optional(
            sqlx::query_as("SELECT closed_at FROM job_organizations WHERE job_id = $1")
                .bind(job_id),
        )
        .await?;
    Err(match known {
        Some((Some(_),)) => JobseekerError::JobClosed,
        _ => JobseekerError::JobNotFound,
    })
}

/// Marks a job closed from `job.closed`; a job not yet recorded is
/// recorded closed (its `job.posted` comes first on the same stream, so
/// this only happens for jobs older than the projection).
pub async fn record_job_closed(
    transaction: &mut talentgraph_kit::database::Transaction,
    job_id: Uuid,
    organization_id: Uuid,
) -> Result<(), talentgraph_kit::DatabaseError> {
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO job_organizations (job_id, organization_id, closed_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (job_id) DO UPDATE SET closed_at = COALESCE(job_organizations.closed_at, now())",
            )
            .bind(job_id)
            .bind(organization_id),
        )
        .await?;
    Ok(())
}

/// Withdraws application `id` on behalf of `viewer_id`, who must be its
/// applicant.
pub async fn withdraw_application(
    database: &Database,
    id: Uuid,
    viewer_id: Uuid,
) -> Result<Application, JobseekerError> {
    let mut transaction = database.begin().await?;
    let current: Option<(Uuid, String)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT applicant_id, status FROM applications WHERE id = $1 FOR UPDATE",
            )
            .bind(id),
        )
        .await?;
    let (applicant, status) = current.ok_or(JobseekerError::ApplicationNotFound)?;
    if applicant != viewer_id {
        return Err(JobseekerError::NotYourApplication);
    }
    if status == ApplicationStatus::Withdrawn.as_str() {
        return Err(JobseekerError::AlreadyWithdrawn);
    }
    // The row is locked above, so it is still there.
    let application = transaction
        .fetch_one(
            sqlx::query_as::<_, Application>(concat!(
                "UPDATE applications SET status = 'WITHDRAWN', updated_at = now() WHERE id = $1 RETURNING ",
                application_columns!()
            ))
            .bind(id),
        )
        .await?;
    transaction.commit().await?;
    Ok(application)
}

/// Saves `job_id` for `user_id`; saving twice keeps one entry.
pub async fn save_job(
    database: &Database,
    user_id: Uuid,
    job_id: Uuid,
) -> Result<(), JobseekerError> {
    database
        .execute(
            sqlx::query(
                "INSERT INTO saved_jobs (user_id, job_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(job_id),
        )
        .await?;
    Ok(())
}

/// Removes a saved job; true when it was saved.
pub async fn unsave_job(
    database: &Database,
    user_id: Uuid,
    job_id: Uuid,
) -> Result<bool, JobseekerError> {
    let removed = database
        .execute(
            sqlx::query("DELETE FROM saved_jobs WHERE user_id = $1 AND job_id = $2")
                .bind(user_id)
                .bind(job_id),
        )
        .await?;
    Ok(removed > 0)
}

/// Changes to a candidate profile, validated; `None` keeps the stored
/// value (or the column default for a new profile).
pub struct ProfileChanges {
    pub open_to_work: Option<bool>,
    pub desired_titles: Option<Vec<String>>,
    pub desired_locations: Option<Vec<String>>,
    pub years_of_experience: Option<i32>,
    pub resume_url: Option<String>,
}

/// Creates or changes `user_id`'s candidate profile.
pub async fn upsert_profile(
    database: &Database,
    user_id: Uuid,
    changes: ProfileChanges,
) -> Result<JobseekerProfile, JobseekerError> {
    let query = sqlx::query_as::<_, JobseekerProfile>(concat!(
        "INSERT INTO jobseeker_profiles AS p (user_id, open_to_work, desired_titles, desired_locations, \
                                              years_of_experience, resume_url) \
         VALUES ($1, COALESCE($2, true), COALESCE($3, '{}'), COALESCE($4, '{}'), $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET \
             open_to_work = COALESCE($2, p.open_to_work), \
             desired_titles = COALESCE($3, p.desired_titles), \
             desired_locations = COALESCE($4, p.desired_locations), \
             years_of_experience = COALESCE($5, p.years_of_experience), \
             resume_url = COALESCE($6, p.resume_url), \
             updated_at = now() \
         RETURNING ",
        profile_columns!()
    ))
    .bind(user_id)
    .bind(changes.open_to_work)
    .bind(changes.desired_titles)
    .bind(changes.desired_locations)
    .bind(changes.years_of_experience)
    .bind(changes.resume_url);
    Ok(database.fetch_one(query).await?)
}

/// The organizations of jobs, as recorded from `job.posted`.
/// The candidates (of `$1`) with an application not withdrawn to a job of
/// one of the organizations in `$2`: whose résumé those organizations'
/// recruiters may read.
pub const APPLICANTS_TO_ORGANIZATIONS: &str = "SELECT DISTINCT a.applicant_id FROM applications a \
     JOIN job_organizations j ON j.job_id = a.job_id \
     WHERE a.applicant_id = ANY($1) AND j.organization_id = ANY($2) AND a.status <> 'WITHDRAWN'";

pub const JOB_ORGANIZATIONS_BY_JOB: &str =
    "SELECT job_id, organization_id FROM job_organizations WHERE job_id = ANY($1)";

/// Records a job's organization from `job.posted`, in the consumer's
/// transaction. A job already recorded keeps its organization (jobs do not
/// move between organizations; a replayed event changes nothing).
pub async fn record_job_organization(
    transaction: &mut talentgraph_kit::database::Transaction,
    job_id: uuid::Uuid,
    organization_id: uuid::Uuid,
) -> Result<(), talentgraph_kit::DatabaseError> {
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO job_organizations (job_id, organization_id) VALUES ($1, $2) \
                 ON CONFLICT (job_id) DO NOTHING",
            )
            .bind(job_id)
            .bind(organization_id),
        )
        .await?;
    Ok(())
}
