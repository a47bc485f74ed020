//! The internship subgraph: internships and apprenticeships. Owns
//! `Internship` and `InternshipApplication`; contributes
//! `Organization.internships` and `User.internshipApplications`.

pub mod demo;

use async_graphql::{
    ComplexObject, Context, EmptySubscription, ID, InputObject, Object, Schema, SimpleObject,
};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::migrate::Migrator;
use talentgraph_kit::loaders::{
    ChildRow, IdentifiedRow, PageKey, PagesByParent, RequestLoader, RowsById, RowsByParent,
    TextFilter, load_by_id, parse_id, parse_id_argument,
};
use talentgraph_kit::server::LoaderScope;
use talentgraph_kit::viewer::{OwnerGuard, RoleGuard};
use talentgraph_kit::{
    Cursor, Database, DatabaseError, ErrorCode, PageArgs, Role, SubgraphConfig, SubgraphDefinition,
    Viewer, client_error, conflict_error, connection_type, input_error, internal_error, text_enum,
};
use uuid::Uuid;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/internship");

pub static DEFINITION: SubgraphDefinition = SubgraphDefinition {
    name: "internship",
    default_port: 4006,
    migrator: &MIGRATOR,
    build_app,
};

/// The one error enum of this crate; not `Display` (see the employer crate).
#[derive(Debug)]
pub enum InternshipError {
    Database(DatabaseError),
    NotSignedIn,
    InternshipNotFound,
    AlreadyApplied,
    DeadlinePassed,
    InvalidInput {
        field: &'static str,
        message: String,
    },
}

impl From<DatabaseError> for InternshipError {
    fn from(error: DatabaseError) -> Self {
        if error.is_unique_violation_of("internship_applications_internship_applicant_key") {
            Self::AlreadyApplied
        } else {
            Self::Database(error)
        }
    }
}

impl From<InternshipError> for async_graphql::Error {
    fn from(error: InternshipError) -> Self {
        match error {
            InternshipError::Database(error) => internal_error(error),
            InternshipError::NotSignedIn => client_error(
                ErrorCode::Unauthenticated,
                "You must be signed in to do this.",
            ),
            InternshipError::InternshipNotFound => {
                client_error(ErrorCode::NotFound, "There is no internship with that id.")
            }
            InternshipError::AlreadyApplied => conflict_error(
                "ALREADY_APPLIED",
                "You have already applied to this internship.",
            ),
            InternshipError::DeadlinePassed => conflict_error(
                "APPLICATION_DEADLINE_PASSED",
                "The application deadline for this internship has passed.",
            ),
            InternshipError::InvalidInput { field, message } => input_error(field, message),
        }
    }
}

text_enum! {
    pub enum InternshipKind {
        Internship => "INTERNSHIP",
        Apprenticeship => "APPRENTICESHIP",
    }
}

text_enum! {
    pub enum StipendPeriod {
        Week => "WEEK",
        Month => "MONTH",
        Total => "TOTAL",
    }
}

text_enum! {
    pub enum InternshipApplicationStatus {
        Submitted => "SUBMITTED",
        Accepted => "ACCEPTED",
        Rejected => "REJECTED",
        Withdrawn => "WITHDRAWN",
    }
}

/// What an intern is paid, in whole units of `currency` per `period`.
#[derive(Debug, Clone, SimpleObject)]
pub struct Stipend {
    pub amount: i32,
    pub currency: String,
    pub period: StipendPeriod,
}

/// An internship or apprenticeship.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Internship {
    #[graphql(skip)]
    pub id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    #[graphql(skip)]
    pub mentor_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub kind: InternshipKind,
    #[graphql(skip)]
    pub stipend_amount: Option<i32>,
    #[graphql(skip)]
    pub stipend_currency: Option<String>,
    #[graphql(skip)]
    pub stipend_period: Option<String>,
    pub duration_weeks: i32,
    pub starts_on: NaiveDate,
    pub application_deadline: Option<NaiveDate>,
    pub location: String,
    pub remote: bool,
    pub created_at: DateTime<Utc>,
}

impl IdentifiedRow for Internship {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl ChildRow for Internship {
    fn parent_id(&self) -> Uuid {
        self.organization_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(self.created_at, self.id)
    }
}

#[ComplexObject]
impl Internship {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn stipend(&self) -> Option<Stipend> {
        let period = StipendPeriod::try_from(self.stipend_period.clone()?).ok()?;
        Some(Stipend {
            amount: self.stipend_amount?,
            currency: self.stipend_currency.clone()?,
            period,
        })
    }

    async fn organization(&self) -> Organization {
        Organization {
            id: self.organization_id,
        }
    }

    async fn mentor(&self) -> Option<User> {
        self.mentor_id.map(|id| User { id })
    }

    /// The skills the internship teaches or asks for (resolved by core).
    async fn skills(&self, context: &Context<'_>) -> async_graphql::Result<Vec<Skill>> {
        let rows = context
            .data_unchecked::<RequestLoader<RowsByParent<InternshipSkill>>>()
            .load_one(self.id)
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|row| Skill {
                id: ID(row.skill_id.to_string()),
            })
            .collect())
    }
}

/// A skill reference; core owns skills, this subgraph only points at them.
#[derive(Debug, Clone, SimpleObject)]
#[graphql(unresolvable)]
pub struct Skill {
    pub id: ID,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InternshipSkill {
    pub internship_id: Uuid,
    pub skill_id: Uuid,
}

impl ChildRow for InternshipSkill {
    fn parent_id(&self) -> Uuid {
        self.internship_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(DateTime::<Utc>::UNIX_EPOCH, self.skill_id)
    }
}

/// An application to an internship.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct InternshipApplication {
    #[graphql(skip)]
    pub id: Uuid,
    #[graphql(skip)]
    pub internship_id: Uuid,
    #[graphql(skip)]
    pub applicant_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: InternshipApplicationStatus,
    pub motivation: Option<String>,
    pub applied_at: DateTime<Utc>,
}

impl IdentifiedRow for InternshipApplication {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl ChildRow for InternshipApplication {
    fn parent_id(&self) -> Uuid {
        self.applicant_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(self.applied_at, self.id)
    }
}

#[ComplexObject]
impl InternshipApplication {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn internship(&self, context: &Context<'_>) -> async_graphql::Result<Option<Internship>> {
        context
            .data_unchecked::<RequestLoader<RowsById<Internship>>>()
            .load_one(self.internship_id)
            .await
    }

    async fn applicant(&self) -> User {
        User {
            id: self.applicant_id,
        }
    }
}

connection_type!(InternshipConnection, InternshipEdge, Internship);
connection_type!(
    InternshipApplicationConnection,
    InternshipApplicationEdge,
    InternshipApplication
);

/// An organization as internship sees it.
pub struct Organization {
    pub id: Uuid,
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The organization's internships and apprenticeships, newest first.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn internships(
        &self,
        context: &Context<'_>,
        kind: Option<InternshipKind>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InternshipConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<PagesByParent<Internship, TextFilter>>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: TextFilter(kind.map(InternshipKind::as_str)),
            })
            .await?
            .unwrap_or_default();
        Ok(InternshipConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| row,
        ))
    }
}

/// A user as internship sees them.
pub struct User {
    pub id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's internship applications, newest first (the user and admins only).
    #[graphql(
        guard = "OwnerGuard::self_or_admin(self.id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn internship_applications(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InternshipApplicationConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<PagesByParent<InternshipApplication>>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: talentgraph_kit::loaders::NoFilter,
            })
            .await?
            .unwrap_or_default();
        Ok(InternshipApplicationConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| row,
        ))
    }
}

/// Narrows the internship search.
#[derive(Debug, Default, InputObject)]
pub struct InternshipFilter {
    pub kind: Option<InternshipKind>,
    pub organization_id: Option<ID>,
    pub remote: Option<bool>,
    /// Only internships that list this skill.
    pub skill_id: Option<ID>,
}

const INTERNSHIP_COLUMNS: &str = "id, organization_id, mentor_id, title, description, kind, stipend_amount, \
     stipend_currency, stipend_period, duration_weeks, starts_on, application_deadline, location, remote, created_at";
const INTERNSHIPS_BY_ID: &str = "SELECT id, organization_id, mentor_id, title, description, kind, stipend_amount, \
     stipend_currency, stipend_period, duration_weeks, starts_on, application_deadline, location, remote, created_at \
     FROM internships WHERE id = ANY($1)";
const INTERNSHIP_PAGES_BY_ORGANIZATION: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT id, organization_id, mentor_id, title, description, kind, stipend_amount, stipend_currency, stipend_period, \
              duration_weeks, starts_on, application_deadline, location, remote, created_at \
       FROM internships WHERE organization_id = parent.id AND ($5::text IS NULL OR kind = $5) \
         AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4) page";
const SKILLS_BY_INTERNSHIP: &str = "SELECT internship_id, skill_id FROM internship_skills \
     WHERE internship_id = ANY($1) ORDER BY internship_id, position";
const APPLICATIONS_BY_ID: &str = "SELECT id, internship_id, applicant_id, status, motivation, applied_at \
     FROM internship_applications WHERE id = ANY($1)";
const APPLICATION_PAGES_BY_APPLICANT: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT id, internship_id, applicant_id, status, motivation, applied_at FROM internship_applications \
       WHERE applicant_id = parent.id AND (applied_at, id) < ($2, $3) ORDER BY applied_at DESC, id DESC LIMIT $4) page";

fn attach_loaders(
    scope: &LoaderScope<'_>,
    request: async_graphql::Request,
) -> async_graphql::Request {
    let database = scope.database;
    request
        .data(scope.loader(RowsById::<Internship>::new(
            database.clone(),
            "Internship",
            INTERNSHIPS_BY_ID,
        )))
        .data(scope.loader(PagesByParent::<Internship, TextFilter>::new(
            database.clone(),
            "Organization.internships",
            INTERNSHIP_PAGES_BY_ORGANIZATION,
        )))
        .data(scope.loader(RowsByParent::<InternshipSkill>::new(
            database.clone(),
            "Internship.skills",
            SKILLS_BY_INTERNSHIP,
        )))
        .data(scope.loader(RowsById::<InternshipApplication>::new(
            database.clone(),
            "InternshipApplication",
            APPLICATIONS_BY_ID,
        )))
        .data(scope.loader(PagesByParent::<InternshipApplication>::new(
            database.clone(),
            "User.internshipApplications",
            APPLICATION_PAGES_BY_APPLICANT,
        )))
}

pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_internship_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Internship>> {
        load_by_id::<Internship>(context, &id).await
    }

    /// Internship applications resolve only for their applicant and admins.
    #[graphql(entity)]
    async fn find_internship_application_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<InternshipApplication>> {
        let viewer = Viewer::of(context);
        let application = load_by_id::<InternshipApplication>(context, &id).await?;
        Ok(application.filter(|application| {
            viewer.user_id() == Some(application.applicant_id) || viewer.is_admin()
        }))
    }

    #[graphql(entity)]
    async fn find_organization_by_id(&self, id: ID) -> Option<Organization> {
        parse_id(&id).map(|id| Organization { id })
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        parse_id(&id).map(|id| User { id })
    }

    /// One internship by id; null when there is none.
    async fn internship(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Internship>> {
        let id = parse_id_argument("id", &id)?;
        context
            .data_unchecked::<RequestLoader<RowsById<Internship>>>()
            .load_one(id)
            .await
    }

    /// Internship search, newest first.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn internships(
        &self,
        context: &Context<'_>,
        filter: Option<InternshipFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InternshipConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let organization_id = filter
            .organization_id
            .as_ref()
            .map(|id| parse_id_argument("filter.organizationId", id))
            .transpose()?;
        let skill_id = filter
            .skill_id
            .as_ref()
            .map(|id| parse_id_argument("filter.skillId", id))
            .transpose()?;
        let (cursor_at, cursor_id) = page.sql_bounds();
        let sql = format!(
            "SELECT {INTERNSHIP_COLUMNS} FROM internships i \
             WHERE ($1::text IS NULL OR kind = $1) \
               AND ($2::uuid IS NULL OR organization_id = $2) \
               AND ($3::boolean IS NULL OR remote = $3) \
               AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM internship_skills s WHERE s.internship_id = i.id AND s.skill_id = $4)) \
               AND (created_at, id) < ($5, $6) \
             ORDER BY created_at DESC, id DESC LIMIT $7"
        );
        let rows = context
            .data_unchecked::<Database>()
            .fetch_all(
                sqlx::query_as::<_, Internship>(&sql)
                    .bind(filter.kind.map(InternshipKind::as_str))
                    .bind(organization_id)
                    .bind(filter.remote)
                    .bind(skill_id)
                    .bind(cursor_at)
                    .bind(cursor_id)
                    .bind(page.fetch_limit()),
            )
            .await?;
        Ok(InternshipConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| row,
        ))
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Applies the viewer to an internship before its deadline, once.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Jobseeker])")]
    async fn apply_to_internship(
        &self,
        context: &Context<'_>,
        internship_id: ID,
        motivation: Option<String>,
    ) -> async_graphql::Result<InternshipApplication> {
        let internship_id = parse_id_argument("internshipId", &internship_id)?;
        let applicant = Viewer::of(context)
            .user_id()
            .ok_or(InternshipError::NotSignedIn)?;
        let motivation = motivation
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty());
        if motivation
            .as_ref()
            .is_some_and(|text| text.chars().count() > 5_000)
        {
            return Err(InternshipError::InvalidInput {
                field: "motivation",
                message: "The motivation must be at most 5,000 characters.".to_owned(),
            }
            .into());
        }
        let database = context.data_unchecked::<Database>();
        let mut transaction = database.begin().await?;
        let deadline: Option<(Option<NaiveDate>,)> = transaction
            .fetch_optional(
                sqlx::query_as(
                    "SELECT application_deadline FROM internships WHERE id = $1 FOR SHARE",
                )
                .bind(internship_id),
            )
            .await
            .map_err(InternshipError::from)?;
        let (deadline,) = deadline.ok_or(InternshipError::InternshipNotFound)?;
        if deadline.is_some_and(|deadline| deadline < Utc::now().date_naive()) {
            return Err(InternshipError::DeadlinePassed.into());
        }
        let application = transaction
            .fetch_optional(
                sqlx::query_as::<_, InternshipApplication>(
                    "INSERT INTO internship_applications (id, internship_id, applicant_id, motivation) VALUES ($1, $2, $3, $4) \
                     RETURNING id, internship_id, applicant_id, status, motivation, applied_at",
                )
                .bind(Uuid::new_v4())
                .bind(internship_id)
                .bind(applicant)
                .bind(motivation),
            )
            .await
            .map_err(InternshipError::from)?
            .ok_or(InternshipError::InternshipNotFound)?;
        transaction.commit().await.map_err(InternshipError::from)?;
        Ok(application)
    }
}

pub type InternshipSchema = Schema<Query, Mutation, EmptySubscription>;

/// The executable schema.
pub fn schema(database: Database, config: &SubgraphConfig) -> InternshipSchema {
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
