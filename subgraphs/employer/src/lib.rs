//! The employer subgraph: job postings and recruiters. Owns `Job`;
//! contributes `Organization.jobs`, `Organization.openJobsCount`,
//! `Organization.recruiters` and `User.recruiterAt`.

pub mod demo;

use async_graphql::{
    ComplexObject, Context, EmptySubscription, ID, InputObject, Object, Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use talentgraph_kit::loaders::{
    ChildRow, CountsByParent, IdentifiedRow, PageKey, PagesByParent, RequestLoader, RowsById,
    TextFilter, load_by_id, parse_id, parse_id_argument,
};
use talentgraph_kit::server::LoaderScope;
use talentgraph_kit::{
    Cursor, Database, DatabaseError, ErrorCode, PageArgs, SubgraphConfig, SubgraphDefinition,
    Viewer, client_error, connection_type, input_error, text_enum,
};
use uuid::Uuid;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/employer");

pub static DEFINITION: SubgraphDefinition = SubgraphDefinition {
    name: "employer",
    default_port: 4004,
    migrator: &MIGRATOR,
    build_app,
};

/// The one error enum of this crate; each variant maps to a stable code.
///
/// It deliberately does not implement `Display`: async-graphql converts any
/// `Display` error with `?` into a code-less error (which the kit masks as
/// internal), and that blanket conversion would shadow the mapping below.
#[derive(Debug)]
pub enum EmployerError {
    Database(DatabaseError),
    NotSignedIn,
    NotRecruiter,
    JobNotFound,
    InvalidInput {
        field: &'static str,
        message: String,
    },
}

impl From<DatabaseError> for EmployerError {
    fn from(error: DatabaseError) -> Self {
        Self::Database(error)
    }
}

impl From<EmployerError> for async_graphql::Error {
    fn from(error: EmployerError) -> Self {
        match error {
            EmployerError::Database(error) => talentgraph_kit::internal_error(error),
            EmployerError::NotSignedIn => client_error(
                ErrorCode::Unauthenticated,
                "You must be signed in to do this.",
            ),
            EmployerError::NotRecruiter => client_error(
                ErrorCode::Forbidden,
                "Only recruiters of the organization may do this.",
            ),
            EmployerError::JobNotFound => {
                client_error(ErrorCode::NotFound, "There is no job with that id.")
            }
            EmployerError::InvalidInput { field, message } => input_error(field, message),
        }
    }
}

text_enum! {
    pub enum EmploymentType {
        FullTime => "FULL_TIME",
        PartTime => "PART_TIME",
        Contract => "CONTRACT",
        Temporary => "TEMPORARY",
    }
}

text_enum! {
    pub enum JobStatus {
        Open => "OPEN",
        Closed => "CLOSED",
    }
}

/// A salary band; amounts are whole units of `currency` per year.
#[derive(Debug, Clone, SimpleObject)]
pub struct SalaryRange {
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub currency: String,
}

/// A job posting.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Job {
    #[graphql(skip)]
    pub id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    #[graphql(skip)]
    pub posted_by: Uuid,
    pub title: String,
    pub description: String,
    pub location: String,
    pub remote: bool,
    #[sqlx(try_from = "String")]
    pub employment_type: EmploymentType,
    #[graphql(skip)]
    pub salary_min: Option<i32>,
    #[graphql(skip)]
    pub salary_max: Option<i32>,
    #[graphql(skip)]
    pub salary_currency: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    pub posted_at: DateTime<Utc>,
}

impl IdentifiedRow for Job {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl ChildRow for Job {
    fn parent_id(&self) -> Uuid {
        self.organization_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(self.posted_at, self.id)
    }
}

#[ComplexObject]
impl Job {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn salary_range(&self) -> Option<SalaryRange> {
        self.salary_currency.clone().map(|currency| SalaryRange {
            min: self.salary_min,
            max: self.salary_max,
            currency,
        })
    }

    /// The hiring organization (resolved by core).
    async fn organization(&self) -> Organization {
        Organization {
            id: self.organization_id,
        }
    }

    /// The recruiter who posted the job (resolved by core).
    async fn posted_by(&self) -> User {
        User { id: self.posted_by }
    }
}

/// A recruiter membership, read from either side.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Membership {
    pub parent_id: Uuid,
    pub member_id: Uuid,
    pub added_at: DateTime<Utc>,
}

impl ChildRow for Membership {
    fn parent_id(&self) -> Uuid {
        self.parent_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(self.added_at, self.member_id)
    }
}

connection_type!(JobConnection, JobEdge, Job);
connection_type!(UserConnection, UserEdge, User);
connection_type!(OrganizationConnection, OrganizationEdge, Organization);

/// An organization as employer sees it: its jobs and recruiters.
pub struct Organization {
    pub id: Uuid,
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The organization's jobs, newest first.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn jobs(
        &self,
        context: &Context<'_>,
        status: Option<JobStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<JobConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let key = PageKey {
            parent: self.id,
            page,
            filter: TextFilter(status.map(JobStatus::as_str)),
        };
        let rows = context
            .data_unchecked::<RequestLoader<PagesByParent<Job, TextFilter>>>()
            .load_one(key)
            .await?
            .unwrap_or_default();
        Ok(JobConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |job| job,
        ))
    }

    /// How many of the organization's jobs are open.
    async fn open_jobs_count(&self, context: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(context
            .data_unchecked::<RequestLoader<CountsByParent>>()
            .load_one(self.id)
            .await?
            .unwrap_or(0))
    }

    /// The users who recruit for the organization, longest-serving last.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn recruiters(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<RecruitersOfOrganization>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: talentgraph_kit::loaders::NoFilter,
            })
            .await?
            .unwrap_or_default();
        Ok(UserConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| User { id: row.member_id },
        ))
    }
}

/// A user as employer sees them: where they recruit.
pub struct User {
    pub id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The organizations this user recruits for.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn recruiter_at(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrganizationConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<OrganizationsOfRecruiter>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: talentgraph_kit::loaders::NoFilter,
            })
            .await?
            .unwrap_or_default();
        Ok(OrganizationConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| Organization { id: row.member_id },
        ))
    }
}

type RecruitersOfOrganization = PagesByParent<Membership>;
/// The same loader shape keyed the other way round; a distinct type so the
/// two can live side by side in the request data.
pub struct OrganizationsOfRecruiter(PagesByParent<Membership>);

impl async_graphql::dataloader::Loader<PageKey<talentgraph_kit::loaders::NoFilter>>
    for OrganizationsOfRecruiter
{
    type Value = Vec<Membership>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[PageKey<talentgraph_kit::loaders::NoFilter>],
    ) -> Result<
        std::collections::HashMap<PageKey<talentgraph_kit::loaders::NoFilter>, Vec<Membership>>,
        Self::Error,
    > {
        self.0.load(keys).await
    }
}

/// Narrows the job search.
#[derive(Debug, Default, InputObject)]
pub struct JobFilter {
    pub organization_id: Option<ID>,
    pub remote: Option<bool>,
    pub employment_type: Option<EmploymentType>,
    /// Defaults to OPEN.
    pub status: Option<JobStatus>,
    /// Case-insensitive substring of the title.
    pub search: Option<String>,
}

#[derive(Debug, InputObject)]
pub struct SalaryRangeInput {
    pub min: Option<i32>,
    pub max: Option<i32>,
    /// ISO 4217 code such as EUR.
    pub currency: String,
}

#[derive(Debug, InputObject)]
pub struct PostJobInput {
    pub organization_id: ID,
    pub title: String,
    pub description: String,
    pub location: String,
    #[graphql(default)]
    pub remote: bool,
    pub employment_type: EmploymentType,
    pub salary_range: Option<SalaryRangeInput>,
}

/// Fields left out stay as they are.
#[derive(Debug, Default, InputObject)]
pub struct UpdateJobInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub remote: Option<bool>,
    pub employment_type: Option<EmploymentType>,
    pub salary_range: Option<SalaryRangeInput>,
}

const JOB_COLUMNS: &str = "id, organization_id, posted_by, title, description, location, remote, employment_type, \
     salary_min, salary_max, salary_currency, status, posted_at";

const JOBS_BY_ID: &str = "SELECT id, organization_id, posted_by, title, description, location, remote, employment_type, \
     salary_min, salary_max, salary_currency, status, posted_at FROM jobs WHERE id = ANY($1)";
const JOB_PAGES_BY_ORGANIZATION: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT id, organization_id, posted_by, title, description, location, remote, employment_type, \
              salary_min, salary_max, salary_currency, status, posted_at \
       FROM jobs WHERE organization_id = parent.id AND ($5::text IS NULL OR status = $5) \
         AND (posted_at, id) < ($2, $3) ORDER BY posted_at DESC, id DESC LIMIT $4) page";
const OPEN_JOB_COUNTS: &str = "SELECT organization_id, count(*) FROM jobs \
     WHERE organization_id = ANY($1) AND status = 'OPEN' GROUP BY organization_id";
const RECRUITER_PAGES_BY_ORGANIZATION: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT organization_id AS parent_id, user_id AS member_id, added_at FROM recruiters \
       WHERE organization_id = parent.id AND (added_at, user_id) < ($2, $3) \
       ORDER BY added_at DESC, user_id DESC LIMIT $4) page";
const ORGANIZATION_PAGES_BY_RECRUITER: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT user_id AS parent_id, organization_id AS member_id, added_at FROM recruiters \
       WHERE user_id = parent.id AND (added_at, organization_id) < ($2, $3) \
       ORDER BY added_at DESC, organization_id DESC LIMIT $4) page";

fn attach_loaders(
    scope: &LoaderScope<'_>,
    request: async_graphql::Request,
) -> async_graphql::Request {
    let database = scope.database;
    request
        .data(scope.loader(RowsById::<Job>::new(database.clone(), "Job", JOBS_BY_ID)))
        .data(scope.loader(PagesByParent::<Job, TextFilter>::new(
            database.clone(),
            "Organization.jobs",
            JOB_PAGES_BY_ORGANIZATION,
        )))
        .data(scope.loader(CountsByParent::new(
            database.clone(),
            "Organization.openJobsCount",
            OPEN_JOB_COUNTS,
        )))
        .data(scope.loader(RecruitersOfOrganization::new(
            database.clone(),
            "Organization.recruiters",
            RECRUITER_PAGES_BY_ORGANIZATION,
        )))
        .data(scope.loader(OrganizationsOfRecruiter(PagesByParent::new(
            database.clone(),
            "User.recruiterAt",
            ORGANIZATION_PAGES_BY_RECRUITER,
        ))))
}

pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_job_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Job>> {
        load_by_id::<Job>(context, &id).await
    }

    /// Organizations are owned by core; employer only adds fields to them.
    #[graphql(entity)]
    async fn find_organization_by_id(&self, id: ID) -> Option<Organization> {
        parse_id(&id).map(|id| Organization { id })
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// One job by id; null when there is none.
    async fn job(&self, context: &Context<'_>, id: ID) -> async_graphql::Result<Option<Job>> {
        let id = parse_id_argument("id", &id)?;
        context
            .data_unchecked::<RequestLoader<RowsById<Job>>>()
            .load_one(id)
            .await
    }

    /// Job search, newest first. Only open jobs unless `filter.status` says otherwise.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn jobs(
        &self,
        context: &Context<'_>,
        filter: Option<JobFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<JobConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let organization_id = filter
            .organization_id
            .as_ref()
            .map(|id| parse_id_argument("filter.organizationId", id))
            .transpose()?;
        let (cursor_at, cursor_id) = page.sql_bounds();
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs \
             WHERE status = $1 \
               AND ($2::uuid IS NULL OR organization_id = $2) \
               AND ($3::boolean IS NULL OR remote = $3) \
               AND ($4::text IS NULL OR employment_type = $4) \
               AND ($5::text IS NULL OR title ILIKE '%' || $5 || '%') \
               AND (posted_at, id) < ($6, $7) \
             ORDER BY posted_at DESC, id DESC LIMIT $8"
        );
        let rows = context
            .data_unchecked::<Database>()
            .fetch_all(
                sqlx::query_as::<_, Job>(&sql)
                    .bind(filter.status.unwrap_or(JobStatus::Open).as_str())
                    .bind(organization_id)
                    .bind(filter.remote)
                    .bind(filter.employment_type.map(EmploymentType::as_str))
                    .bind(filter.search.map(|text| escape_like(&text)))
                    .bind(cursor_at)
                    .bind(cursor_id)
                    .bind(page.fetch_limit()),
            )
            .await?;
        Ok(JobConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |job| job,
        ))
    }
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn validate_text(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, EmployerError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        return Err(EmployerError::InvalidInput {
            field,
            message: format!("`{field}` must be {min} to {max} characters long."),
        });
    }
    Ok(trimmed.to_owned())
}

/// Checks a salary band: non-negative, minimum not above maximum, and a
/// three-letter currency code.
fn validate_salary(range: &SalaryRangeInput) -> Result<(), EmployerError> {
    let invalid = |message: &str| EmployerError::InvalidInput {
        field: "salaryRange",
        message: message.to_owned(),
    };
    if range.min.is_some_and(|min| min < 0) || range.max.is_some_and(|max| max < 0) {
        return Err(invalid("Salary amounts must not be negative."));
    }
    if let (Some(min), Some(max)) = (range.min, range.max)
        && min > max
    {
        return Err(invalid("The salary minimum must not be above the maximum."));
    }
    if range.currency.len() != 3 || !range.currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err(EmployerError::InvalidInput {
            field: "salaryRange.currency",
            message: "The currency must be an ISO 4217 code such as EUR.".to_owned(),
        });
    }
    Ok(())
}

/// Ensures the viewer recruits for `organization_id` (admins may act for
/// any organization). Runs inside the mutation's transaction.
async fn require_recruiter(
    transaction: &mut talentgraph_kit::database::Transaction,
    viewer: &Viewer,
    organization_id: Uuid,
) -> Result<Uuid, EmployerError> {
    let user_id = viewer.user_id().ok_or(EmployerError::NotSignedIn)?;
    if viewer.is_admin() {
        return Ok(user_id);
    }
    let membership: Option<(Uuid,)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT user_id FROM recruiters WHERE organization_id = $1 AND user_id = $2",
            )
            .bind(organization_id)
            .bind(user_id),
        )
        .await?;
    membership
        .map(|_| user_id)
        .ok_or(EmployerError::NotRecruiter)
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Posts an open job for an organization the viewer recruits for.
    async fn post_job(
        &self,
        context: &Context<'_>,
        input: PostJobInput,
    ) -> async_graphql::Result<Job> {
        let organization_id = parse_id_argument("input.organizationId", &input.organization_id)?;
        let title = validate_text("title", &input.title, 3, 200)?;
        let description = validate_text("description", &input.description, 1, 20_000)?;
        let location = validate_text("location", &input.location, 1, 120)?;
        if let Some(range) = &input.salary_range {
            validate_salary(range)?;
        }
        let database = context.data_unchecked::<Database>();
        let mut transaction = database.begin().await?;
        let poster =
            require_recruiter(&mut transaction, Viewer::of(context), organization_id).await?;
        let sql = format!(
            "INSERT INTO jobs (id, organization_id, posted_by, title, description, location, remote, employment_type, \
                               salary_min, salary_max, salary_currency) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {JOB_COLUMNS}"
        );
        let salary = input.salary_range.as_ref();
        let job = transaction
            .fetch_optional(
                sqlx::query_as::<_, Job>(&sql)
                    .bind(Uuid::new_v4())
                    .bind(organization_id)
                    .bind(poster)
                    .bind(title)
                    .bind(description)
                    .bind(location)
                    .bind(input.remote)
                    .bind(input.employment_type.as_str())
                    .bind(salary.and_then(|range| range.min))
                    .bind(salary.and_then(|range| range.max))
                    .bind(salary.map(|range| range.currency.clone())),
            )
            .await
            .map_err(EmployerError::from)?
            .ok_or(EmployerError::JobNotFound)?;
        transaction.commit().await.map_err(EmployerError::from)?;
        Ok(job)
    }

    /// Changes a job's details; only the given fields change.
    async fn update_job(
        &self,
        context: &Context<'_>,
        id: ID,
        input: UpdateJobInput,
    ) -> async_graphql::Result<Job> {
        let id = parse_id_argument("id", &id)?;
        let title = input
            .title
            .as_deref()
            .map(|title| validate_text("title", title, 3, 200))
            .transpose()?;
        let description = input
            .description
            .as_deref()
            .map(|text| validate_text("description", text, 1, 20_000))
            .transpose()?;
        let location = input
            .location
            .as_deref()
            .map(|text| validate_text("location", text, 1, 120))
            .transpose()?;
        if let Some(range) = &input.salary_range {
            validate_salary(range)?;
        }
        let database = context.data_unchecked::<Database>();
        let mut transaction = database.begin().await?;
        let organization_id = job_organization_for_update(&mut transaction, id).await?;
        require_recruiter(&mut transaction, Viewer::of(context), organization_id).await?;
        let salary = input.salary_range.as_ref();
        let sql = format!(
            "UPDATE jobs SET title = COALESCE($2, title), description = COALESCE($3, description), \
                 location = COALESCE($4, location), remote = COALESCE($5, remote), \
                 employment_type = COALESCE($6, employment_type), \
                 salary_min = CASE WHEN $7 THEN $8 ELSE salary_min END, \
                 salary_max = CASE WHEN $7 THEN $9 ELSE salary_max END, \
                 salary_currency = CASE WHEN $7 THEN $10 ELSE salary_currency END, \
                 updated_at = now() \
             WHERE id = $1 RETURNING {JOB_COLUMNS}"
        );
        let job = transaction
            .fetch_optional(
                sqlx::query_as::<_, Job>(&sql)
                    .bind(id)
                    .bind(title)
                    .bind(description)
                    .bind(location)
                    .bind(input.remote)
                    .bind(input.employment_type.map(EmploymentType::as_str))
                    .bind(salary.is_some())
                    .bind(salary.and_then(|range| range.min))
                    .bind(salary.and_then(|range| range.max))
                    .bind(salary.map(|range| range.currency.clone())),
            )
            .await
            .map_err(EmployerError::from)?
            .ok_or(EmployerError::JobNotFound)?;
        transaction.commit().await.map_err(EmployerError::from)?;
        Ok(job)
    }

    /// Closes a job to new applications. Closing a closed job is a no-op.
    async fn close_job(&self, context: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        let id = parse_id_argument("id", &id)?;
        let database = context.data_unchecked::<Database>();
        let mut transaction = database.begin().await?;
        let organization_id = job_organization_for_update(&mut transaction, id).await?;
        require_recruiter(&mut transaction, Viewer::of(context), organization_id).await?;
        let sql = format!(
            "UPDATE jobs SET status = 'CLOSED', updated_at = now() WHERE id = $1 RETURNING {JOB_COLUMNS}"
        );
        let job = transaction
            .fetch_optional(sqlx::query_as::<_, Job>(&sql).bind(id))
            .await
            .map_err(EmployerError::from)?
            .ok_or(EmployerError::JobNotFound)?;
        transaction.commit().await.map_err(EmployerError::from)?;
        Ok(job)
    }
}

/// Locks the job row and returns its organization, or `JobNotFound`.
async fn job_organization_for_update(
    transaction: &mut talentgraph_kit::database::Transaction,
    id: Uuid,
) -> Result<Uuid, EmployerError> {
    let row: Option<(Uuid,)> = transaction
        .fetch_optional(
            sqlx::query_as("SELECT organization_id FROM jobs WHERE id = $1 FOR UPDATE").bind(id),
        )
        .await?;
    row.map(|(organization_id,)| organization_id)
        .ok_or(EmployerError::JobNotFound)
}

pub type EmployerSchema = Schema<Query, Mutation, EmptySubscription>;

/// The executable schema.
pub fn schema(database: Database, config: &SubgraphConfig) -> EmployerSchema {
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
