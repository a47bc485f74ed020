//! The jobseeker subgraph: what candidates do. Owns `Application` and
//! `JobseekerProfile`; contributes `User.jobseekerProfile`,
//! `User.applications`, `User.savedJobs`, `Job.applicationCount`,
//! `Job.viewerHasApplied` and `Job.applications`.

pub mod demo;

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{
    ComplexObject, Context, EmptySubscription, ID, InputObject, Object, Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use talentgraph_kit::loaders::{
    ChildRow, CountsByParent, IdentifiedRow, NoFilter, PageKey, PagesByParent, RequestLoader,
    RowsById, load_by_id, parse_id, parse_id_argument,
};
use talentgraph_kit::server::LoaderScope;
use talentgraph_kit::viewer::{OwnerGuard, RecruiterGuard, RoleGuard};
use talentgraph_kit::{
    Cursor, Database, DatabaseError, ErrorCode, PageArgs, Role, SubgraphConfig, SubgraphDefinition,
    Viewer, client_error, conflict_error, connection_type, input_error, internal_error, text_enum,
};
use uuid::Uuid;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/jobseeker");

pub static DEFINITION: SubgraphDefinition = SubgraphDefinition {
    name: "jobseeker",
    default_port: 4003,
    migrator: &MIGRATOR,
    build_app,
};

/// The one error enum of this crate; each variant maps to a stable code.
/// Not `Display`, so `?` uses the mapping below (see the employer crate).
#[derive(Debug)]
pub enum JobseekerError {
    Database(DatabaseError),
    NotSignedIn,
    NotYourApplication,
    ApplicationNotFound,
    AlreadyApplied,
    AlreadyWithdrawn,
    InvalidInput {
        field: &'static str,
        message: String,
    },
}

impl From<DatabaseError> for JobseekerError {
    fn from(error: DatabaseError) -> Self {
        if error.is_unique_violation_of("applications_job_applicant_key") {
            Self::AlreadyApplied
        } else {
            Self::Database(error)
        }
    }
}

impl From<JobseekerError> for async_graphql::Error {
    fn from(error: JobseekerError) -> Self {
        match error {
            JobseekerError::Database(error) => internal_error(error),
            JobseekerError::NotSignedIn => client_error(
                ErrorCode::Unauthenticated,
                "You must be signed in to do this.",
            ),
            JobseekerError::NotYourApplication => client_error(
                ErrorCode::Forbidden,
                "Only the applicant may change this application.",
            ),
            JobseekerError::ApplicationNotFound => {
                client_error(ErrorCode::NotFound, "There is no application with that id.")
            }
            JobseekerError::AlreadyApplied => {
                conflict_error("ALREADY_APPLIED", "You have already applied to this job.")
            }
            JobseekerError::AlreadyWithdrawn => conflict_error(
                "ALREADY_WITHDRAWN",
                "This application has already been withdrawn.",
            ),
            JobseekerError::InvalidInput { field, message } => input_error(field, message),
        }
    }
}

text_enum! {
    pub enum ApplicationStatus {
        Submitted => "SUBMITTED",
        InReview => "IN_REVIEW",
        Interviewing => "INTERVIEWING",
        Offered => "OFFERED",
        Rejected => "REJECTED",
        Withdrawn => "WITHDRAWN",
    }
}

/// An application of a person to a job.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Application {
    #[graphql(skip)]
    pub id: Uuid,
    /// Which parent a page query grouped the row under (job or applicant).
    #[graphql(skip)]
    #[sqlx(default)]
    pub parent_id: Uuid,
    #[graphql(skip)]
    pub job_id: Uuid,
    #[graphql(skip)]
    pub applicant_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: ApplicationStatus,
    pub cover_letter: Option<String>,
    pub applied_at: DateTime<Utc>,
}

impl IdentifiedRow for Application {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl ChildRow for Application {
    fn parent_id(&self) -> Uuid {
        self.parent_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(self.applied_at, self.id)
    }
}

#[ComplexObject]
impl Application {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn job(&self) -> Job {
        Job::new(self.job_id)
    }

    async fn applicant(&self) -> User {
        User {
            id: self.applicant_id,
        }
    }
}

/// What a candidate tells recruiters they are looking for.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
pub struct JobseekerProfile {
    #[graphql(skip)]
    pub user_id: Uuid,
    pub open_to_work: bool,
    pub desired_titles: Vec<String>,
    pub desired_locations: Vec<String>,
    pub years_of_experience: Option<i32>,
    pub resume_url: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl IdentifiedRow for JobseekerProfile {
    fn row_id(&self) -> Uuid {
        self.user_id
    }
}

/// A job a user saved for later.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SavedJob {
    pub user_id: Uuid,
    pub job_id: Uuid,
    pub saved_at: DateTime<Utc>,
}

impl ChildRow for SavedJob {
    fn parent_id(&self) -> Uuid {
        self.user_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(self.saved_at, self.job_id)
    }
}

connection_type!(ApplicationConnection, ApplicationEdge, Application);
connection_type!(JobConnection, JobEdge, Job);

/// Whether the viewer has an active application for each job: a loader
/// bound to one viewer, which is why loaders are created per request.
pub struct ViewerApplications {
    database: Database,
    viewer_id: Option<Uuid>,
    /// The request's span; see `talentgraph_kit::loaders`.
    request_span: tracing::Span,
}

impl Loader<Uuid> for ViewerApplications {
    type Value = bool;
    type Error = async_graphql::Error;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.request_span, skip_all, fields(entity = "Job.viewerHasApplied", batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, bool>, Self::Error> {
        talentgraph_kit::metrics::observe_batch("Job.viewerHasApplied", keys.len());
        let mut applied: HashMap<Uuid, bool> = keys.iter().map(|key| (*key, false)).collect();
        let Some(viewer_id) = self.viewer_id else {
            return Ok(applied);
        };
        let rows: Vec<(Uuid,)> = self
            .database
            .fetch_all(
                sqlx::query_as(
                    "SELECT job_id FROM applications WHERE applicant_id = $1 AND job_id = ANY($2) AND status <> 'WITHDRAWN'",
                )
                .bind(viewer_id)
                .bind(keys),
            )
            .await
            .map_err(internal_error)?;
        applied.extend(rows.into_iter().map(|(job_id,)| (job_id, true)));
        Ok(applied)
    }
}

type ApplicationsByApplicant = PagesByParent<Application>;
/// Pages of a job's applications; a newtype so it can sit beside
/// [`ApplicationsByApplicant`] in the request data.
pub struct ApplicationsByJob(PagesByParent<Application>);

impl Loader<PageKey<NoFilter>> for ApplicationsByJob {
    type Value = Vec<Application>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[PageKey<NoFilter>],
    ) -> Result<HashMap<PageKey<NoFilter>, Vec<Application>>, Self::Error> {
        self.0.load(keys).await
    }
}

/// A job as jobseeker sees it: how many applied, and whether the viewer did.
pub struct Job {
    pub id: Uuid,
    /// The job's organization, when the router sent it along (it does for
    /// `applications`, which requires it); owned by employer.
    pub organization_id: Option<Uuid>,
}

impl Job {
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            organization_id: None,
        }
    }
}

/// An organization by reference only: jobseeker never resolves one.
#[derive(SimpleObject)]
#[graphql(unresolvable = "id")]
pub struct Organization {
    pub id: ID,
}

/// The organization part of a job representation sent by the router.
#[derive(Debug, InputObject)]
pub struct OrganizationReference {
    pub id: ID,
}

#[Object]
impl Job {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Employer's field, declared here so `applications` can require it.
    /// The router always asks employer for it; jobseeker only knows it
    /// when a representation carried it.
    #[graphql(external)]
    async fn organization(&self) -> async_graphql::Result<Organization> {
        self.organization_id
            .map(|id| Organization {
                id: ID(id.to_string()),
            })
            .ok_or_else(|| "the job's organization is resolved by the employer subgraph".into())
    }

    /// Active (not withdrawn) applications to this job.
    async fn application_count(&self, context: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(context
            .data_unchecked::<RequestLoader<CountsByParent>>()
            .load_one(self.id)
            .await?
            .unwrap_or(0))
    }

    /// Whether the signed-in viewer has an active application; false when anonymous.
    async fn viewer_has_applied(&self, context: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(context
            .data_unchecked::<RequestLoader<ViewerApplications>>()
            .load_one(self.id)
            .await?
            .unwrap_or(false))
    }

    /// The job's applications, newest first: for recruiters of the job's
    /// organization and admins. Which organization the job belongs to is
    /// employer's data, sent by the router in the job's representation; a
    /// request that bypasses the router could invent it, so this field is
    /// only served through the router.
    #[graphql(
        requires = "organization { id }",
        guard = "RecruiterGuard::of_required_organization(self.organization_id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn applications(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ApplicationConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<ApplicationsByJob>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: NoFilter,
            })
            .await?
            .unwrap_or_default();
        Ok(ApplicationConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| row,
        ))
    }
}

/// A user as jobseeker sees them.
pub struct User {
    pub id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's candidate profile; null when they have none.
    async fn jobseeker_profile(
        &self,
        context: &Context<'_>,
    ) -> async_graphql::Result<Option<JobseekerProfile>> {
        context
            .data_unchecked::<RequestLoader<RowsById<JobseekerProfile>>>()
            .load_one(self.id)
            .await
    }

    /// The user's own applications, newest first (the user and admins only).
    #[graphql(
        guard = "OwnerGuard::self_or_admin(self.id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn applications(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ApplicationConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<ApplicationsByApplicant>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: NoFilter,
            })
            .await?
            .unwrap_or_default();
        Ok(ApplicationConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| row,
        ))
    }

    /// Jobs the user saved, most recently saved first (the user and admins only).
    #[graphql(
        guard = "OwnerGuard::self_or_admin(self.id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn saved_jobs(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<JobConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<PagesByParent<SavedJob>>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: NoFilter,
            })
            .await?
            .unwrap_or_default();
        Ok(JobConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| Job::new(row.job_id),
        ))
    }
}

const APPLICATION_COLUMNS: &str = "id, job_id, applicant_id, status, cover_letter, applied_at";
const APPLICATIONS_BY_ID: &str = "SELECT id, job_id, applicant_id, status, cover_letter, applied_at FROM applications WHERE id = ANY($1)";
const APPLICATION_PAGES_BY_APPLICANT: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT applicant_id AS parent_id, id, job_id, applicant_id, status, cover_letter, applied_at FROM applications \
       WHERE applicant_id = parent.id AND (applied_at, id) < ($2, $3) ORDER BY applied_at DESC, id DESC LIMIT $4) page";
const APPLICATION_PAGES_BY_JOB: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT job_id AS parent_id, id, job_id, applicant_id, status, cover_letter, applied_at FROM applications \
       WHERE job_id = parent.id AND (applied_at, id) < ($2, $3) ORDER BY applied_at DESC, id DESC LIMIT $4) page";
const APPLICATION_COUNTS_BY_JOB: &str = "SELECT job_id, count(*) FROM applications \
     WHERE job_id = ANY($1) AND status <> 'WITHDRAWN' GROUP BY job_id";
const PROFILES_BY_USER: &str = "SELECT user_id, open_to_work, desired_titles, desired_locations, years_of_experience, \
     resume_url, updated_at FROM jobseeker_profiles WHERE user_id = ANY($1)";
const SAVED_JOB_PAGES_BY_USER: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT user_id, job_id, saved_at FROM saved_jobs \
       WHERE user_id = parent.id AND (saved_at, job_id) < ($2, $3) ORDER BY saved_at DESC, job_id DESC LIMIT $4) page";

fn attach_loaders(
    scope: &LoaderScope<'_>,
    request: async_graphql::Request,
) -> async_graphql::Request {
    let (database, viewer) = (scope.database, &scope.request.viewer);
    request
        .data(scope.loader(RowsById::<Application>::new(
            database.clone(),
            "Application",
            APPLICATIONS_BY_ID,
        )))
        .data(scope.loader(ApplicationsByApplicant::new(
            database.clone(),
            "User.applications",
            APPLICATION_PAGES_BY_APPLICANT,
        )))
        .data(scope.loader(ApplicationsByJob(PagesByParent::new(
            database.clone(),
            "Job.applications",
            APPLICATION_PAGES_BY_JOB,
        ))))
        .data(scope.loader(CountsByParent::new(
            database.clone(),
            "Job.applicationCount",
            APPLICATION_COUNTS_BY_JOB,
        )))
        .data(scope.loader(ViewerApplications {
            request_span: tracing::Span::current(),
            database: database.clone(),
            viewer_id: viewer.user_id(),
        }))
        .data(scope.loader(RowsById::<JobseekerProfile>::new(
            database.clone(),
            "JobseekerProfile",
            PROFILES_BY_USER,
        )))
        .data(scope.loader(PagesByParent::<SavedJob>::new(
            database.clone(),
            "User.savedJobs",
            SAVED_JOB_PAGES_BY_USER,
        )))
}

/// May the viewer read this application by id? Only the applicant and
/// admins: employers see applications through `Job.applications`.
fn may_read_application(viewer: &Viewer, application: &Application) -> bool {
    viewer.user_id() == Some(application.applicant_id) || viewer.is_admin()
}

pub struct Query;

#[Object]
impl Query {
    /// Applications resolve through `_entities` only for those who may read
    /// them: a direct `_entities` call is no way around the rules.
    #[graphql(entity)]
    async fn find_application_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Application>> {
        let application = load_by_id::<Application>(context, &id).await?;
        Ok(
            application
                .filter(|application| may_read_application(Viewer::of(context), application)),
        )
    }

    #[graphql(entity)]
    async fn find_job_by_id(
        &self,
        #[graphql(key)] id: ID,
        organization: Option<OrganizationReference>,
    ) -> Option<Job> {
        parse_id(&id).map(|id| Job {
            id,
            organization_id: organization.and_then(|organization| parse_id(&organization.id)),
        })
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// One application, for its applicant (and admins).
    async fn application(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Application>> {
        let id = parse_id_argument("id", &id)?;
        let viewer = Viewer::of(context);
        viewer.require_user()?;
        let application = context
            .data_unchecked::<RequestLoader<RowsById<Application>>>()
            .load_one(id)
            .await?;
        Ok(application.filter(|application| may_read_application(viewer, application)))
    }
}

#[derive(Debug, InputObject)]
pub struct UpdateJobseekerProfileInput {
    pub open_to_work: Option<bool>,
    pub desired_titles: Option<Vec<String>>,
    pub desired_locations: Option<Vec<String>>,
    pub years_of_experience: Option<i32>,
    pub resume_url: Option<String>,
}

fn validate_list(field: &'static str, values: &[String]) -> Result<Vec<String>, JobseekerError> {
    if values.len() > 10 {
        return Err(JobseekerError::InvalidInput {
            field,
            message: format!("`{field}` takes at most 10 entries."),
        });
    }
    values
        .iter()
        .map(|value| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > 100 {
                Err(JobseekerError::InvalidInput {
                    field,
                    message: format!("Each `{field}` entry must be 1 to 100 characters."),
                })
            } else {
                Ok(value.to_owned())
            }
        })
        .collect()
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Applies the viewer to a job. Applying twice is a CONFLICT with
    /// reason ALREADY_APPLIED.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Jobseeker])")]
    async fn apply_to_job(
        &self,
        context: &Context<'_>,
        job_id: ID,
        cover_letter: Option<String>,
    ) -> async_graphql::Result<Application> {
        let job_id = parse_id_argument("jobId", &job_id)?;
        let applicant = Viewer::of(context)
            .user_id()
            .ok_or(JobseekerError::NotSignedIn)?;
        let cover_letter = cover_letter
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty());
        if cover_letter
            .as_ref()
            .is_some_and(|text| text.chars().count() > 10_000)
        {
            return Err(JobseekerError::InvalidInput {
                field: "coverLetter",
                message: "The cover letter must be at most 10,000 characters.".to_owned(),
            }
            .into());
        }
        let sql = format!(
            "INSERT INTO applications (id, job_id, applicant_id, cover_letter) VALUES ($1, $2, $3, $4) \
             RETURNING {APPLICATION_COLUMNS}"
        );
        let application = context
            .data_unchecked::<Database>()
            .fetch_optional(
                sqlx::query_as::<_, Application>(&sql)
                    .bind(Uuid::new_v4())
                    .bind(job_id)
                    .bind(applicant)
                    .bind(cover_letter),
            )
            .await
            .map_err(JobseekerError::from)?
            .ok_or(JobseekerError::ApplicationNotFound)?;
        Ok(application)
    }

    /// Withdraws one of the viewer's own applications.
    async fn withdraw_application(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Application> {
        let id = parse_id_argument("id", &id)?;
        let viewer_id = Viewer::of(context)
            .user_id()
            .ok_or(JobseekerError::NotSignedIn)?;
        let database = context.data_unchecked::<Database>();
        let mut transaction = database.begin().await?;
        let current: Option<(Uuid, String)> = transaction
            .fetch_optional(
                sqlx::query_as(
                    "SELECT applicant_id, status FROM applications WHERE id = $1 FOR UPDATE",
                )
                .bind(id),
            )
            .await
            .map_err(JobseekerError::from)?;
        let (applicant, status) = current.ok_or(JobseekerError::ApplicationNotFound)?;
        if applicant != viewer_id {
            return Err(JobseekerError::NotYourApplication.into());
        }
        if status == ApplicationStatus::Withdrawn.as_str() {
            return Err(JobseekerError::AlreadyWithdrawn.into());
        }
        let sql = format!(
            "UPDATE applications SET status = 'WITHDRAWN', updated_at = now() WHERE id = $1 RETURNING {APPLICATION_COLUMNS}"
        );
        let application = transaction
            .fetch_optional(sqlx::query_as::<_, Application>(&sql).bind(id))
            .await
            .map_err(JobseekerError::from)?
            .ok_or(JobseekerError::ApplicationNotFound)?;
        transaction.commit().await.map_err(JobseekerError::from)?;
        Ok(application)
    }

    /// Saves a job for the viewer; saving twice keeps one entry.
    async fn save_job(&self, context: &Context<'_>, job_id: ID) -> async_graphql::Result<Job> {
        let job_id = parse_id_argument("jobId", &job_id)?;
        let viewer_id = Viewer::of(context)
            .user_id()
            .ok_or(JobseekerError::NotSignedIn)?;
        context
            .data_unchecked::<Database>()
            .execute(
                sqlx::query("INSERT INTO saved_jobs (user_id, job_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(viewer_id)
                    .bind(job_id),
            )
            .await
            .map_err(JobseekerError::from)?;
        Ok(Job::new(job_id))
    }

    /// Removes a saved job; returns whether it was saved.
    async fn unsave_job(&self, context: &Context<'_>, job_id: ID) -> async_graphql::Result<bool> {
        let job_id = parse_id_argument("jobId", &job_id)?;
        let viewer_id = Viewer::of(context)
            .user_id()
            .ok_or(JobseekerError::NotSignedIn)?;
        let removed = context
            .data_unchecked::<Database>()
            .execute(
                sqlx::query("DELETE FROM saved_jobs WHERE user_id = $1 AND job_id = $2")
                    .bind(viewer_id)
                    .bind(job_id),
            )
            .await
            .map_err(JobseekerError::from)?;
        Ok(removed > 0)
    }

    /// Creates or changes the viewer's candidate profile; left-out fields stay.
    async fn update_jobseeker_profile(
        &self,
        context: &Context<'_>,
        input: UpdateJobseekerProfileInput,
    ) -> async_graphql::Result<JobseekerProfile> {
        let viewer_id = Viewer::of(context)
            .user_id()
            .ok_or(JobseekerError::NotSignedIn)?;
        let titles = input
            .desired_titles
            .as_deref()
            .map(|values| validate_list("desiredTitles", values))
            .transpose()?;
        let locations = input
            .desired_locations
            .as_deref()
            .map(|values| validate_list("desiredLocations", values))
            .transpose()?;
        if input
            .years_of_experience
            .is_some_and(|years| !(0..=70).contains(&years))
        {
            return Err(JobseekerError::InvalidInput {
                field: "yearsOfExperience",
                message: "`yearsOfExperience` must be from 0 to 70.".to_owned(),
            }
            .into());
        }
        if input
            .resume_url
            .as_ref()
            .is_some_and(|url| !url.starts_with("https://"))
        {
            return Err(JobseekerError::InvalidInput {
                field: "resumeUrl",
                message: "`resumeUrl` must be an https:// URL.".to_owned(),
            }
            .into());
        }
        let profile = context
            .data_unchecked::<Database>()
            .fetch_optional(
                sqlx::query_as::<_, JobseekerProfile>(
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
                     RETURNING user_id, open_to_work, desired_titles, desired_locations, years_of_experience, resume_url, updated_at",
                )
                .bind(viewer_id)
                .bind(input.open_to_work)
                .bind(titles)
                .bind(locations)
                .bind(input.years_of_experience)
                .bind(input.resume_url),
            )
            .await
            .map_err(JobseekerError::from)?
            .ok_or(JobseekerError::NotSignedIn)?;
        Ok(profile)
    }
}

pub type JobseekerSchema = Schema<Query, Mutation, EmptySubscription>;

/// The executable schema.
pub fn schema(database: Database, config: &SubgraphConfig) -> JobseekerSchema {
    talentgraph_kit::graphql::build_schema(Query, Mutation, database, config)
}

/// The federation SDL this subgraph exports (committed as `schema.graphql`).
pub fn exported_sdl() -> String {
    talentgraph_kit::graphql::export_sdl(Query, Mutation)
}

/// The HTTP application as deployed.
pub fn build_app(database: Database, config: &SubgraphConfig) -> axum::Router {
    app(
        database,
        config,
        talentgraph_kit::tokens::jwks_authenticator(&config.tokens),
    )
}

/// The HTTP application with a chosen way of authenticating requests.
pub fn app(
    database: Database,
    config: &SubgraphConfig,
    authenticator: talentgraph_kit::auth::SharedAuthenticator,
) -> axum::Router {
    talentgraph_kit::server::subgraph_app(
        schema(database.clone(), config),
        database,
        config,
        authenticator,
        attach_loaders,
    )
}
