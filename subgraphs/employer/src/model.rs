//! The GraphQL types of the employer subgraph and their field resolvers.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use talentgraph_kit::identity::Viewer;
use talentgraph_kit::loaders::{NoFilter, RequestLoaders, load_child_page};
use talentgraph_kit::{connection_type, text_enum};
use uuid::Uuid;

use talentgraph_kit::graphql::plain_fields::{PlainFields, PlainObject, PlainSelection};
use talentgraph_organization_cards::{OfOrganization, known_card};

use crate::loaders::Loaders;
use crate::visibility::StatusFilter;
use talentgraph_kit::{child_row, columns_in_order_row, identified_row};

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
        Rejected => "REJECTED",
    }
}

/// A salary band; amounts are whole units of `currency` per year.
#[derive(Debug, Clone, SimpleObject)]
pub struct SalaryRange {
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub currency: String,
}

impl PlainFields for SalaryRange {
    fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
        use async_graphql::ScalarType;
        let amount = |amount: Option<i32>| {
            amount.map_or(async_graphql::Value::Null, |amount| amount.to_value())
        };
        Some(match field_name {
            "min" => amount(self.min),
            "max" => amount(self.max),
            "currency" => self.currency.to_value(),
            _ => return None,
        })
    }
}

/// A job posting.
// Read from the columns `store::job_columns!` lists, in that order (see the
// `columns_in_order_row!` below); a doc comment here would become the schema's
// description of `Job`.
#[derive(Debug, Clone, SimpleObject, serde::Serialize, serde::Deserialize)]
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
    pub employment_type: EmploymentType,
    #[graphql(skip)]
    pub salary_min: Option<i32>,
    #[graphql(skip)]
    pub salary_max: Option<i32>,
    #[graphql(skip)]
    pub salary_currency: Option<String>,
    pub status: JobStatus,
    pub posted_at: DateTime<Utc>,
}

// By position rather than by name: a search reads ten to a hundred jobs a
// page, and sqlx's lookup of each column by name was a quarter of reading
// them (see `talentgraph_kit::database::ColumnsInOrder`). The
// names must follow `store::job_columns!`; one out of order is an error
// on every statement that reads jobs, which every store test runs.
columns_in_order_row!(Job {
    id,
    organization_id,
    posted_by,
    title,
    description,
    location,
    remote,
    employment_type,
    salary_min,
    salary_max,
    salary_currency,
    status,
    posted_at,
});

identified_row!(Job, id);

impl OfOrganization for Job {
    fn organization_id(&self) -> Uuid {
        self.organization_id
    }
}

child_row!(Job, parent: organization_id, cursor: (posted_at, id));

impl Job {
    /// The salary band, when the posting gives one (a currency says so).
    fn salary_range_held(&self) -> Option<SalaryRange> {
        self.salary_currency.clone().map(|currency| SalaryRange {
            min: self.salary_min,
            max: self.salary_max,
            currency,
        })
    }

    /// The hiring organization, with its card when the request already
    /// holds it (a search reads the cards beside the jobs).
    fn organization_of_request(&self, loaders: &Loaders) -> Organization {
        Organization::with_card(
            self.organization_id,
            known_card(&loaders.organization_cards, self.organization_id),
        )
    }
}

/// A search's jobs resolve in one pass with their salary bands and badges
/// (see [`PlainFields`]); only `postedBy` and the fields other subgraphs
/// add send a selection the generic way.
impl PlainFields for Job {
    fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
        use async_graphql::{ScalarType, Value, resolver_utils::enum_value};
        Some(match field_name {
            "id" => Value::String(self.id.to_string()),
            "title" => Value::String(self.title.clone()),
            "description" => Value::String(self.description.clone()),
            "location" => Value::String(self.location.clone()),
            "remote" => Value::Boolean(self.remote),
            "employmentType" => enum_value(self.employment_type),
            "status" => enum_value(self.status),
            "postedAt" => self.posted_at.to_value(),
            _ => return None,
        })
    }

    fn plain_object_field(
        &self,
        field_name: &str,
        selection: &PlainSelection<'_>,
    ) -> Option<async_graphql::Value> {
        match field_name {
            "salaryRange" => selection.optional_object(self.salary_range_held().as_ref()),
            "organization" => {
                let loaders = selection.data::<Loaders>()?;
                selection.object(&self.organization_of_request(loaders))
            }
            _ => None,
        }
    }
}

#[ComplexObject]
impl Job {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn salary_range(&self) -> Option<PlainObject<SalaryRange>> {
        self.salary_range_held().map(PlainObject)
    }

    /// The hiring organization. Its card comes from employer's copy in the
    /// same fetch; every other field is resolved by core.
    #[graphql(provides = "name slug logoUrl verified")]
    async fn organization(&self, context: &Context<'_>) -> PlainObject<Organization> {
        PlainObject(self.organization_of_request(Loaders::of(context)))
    }

    /// The recruiter who posted the job (resolved by core).
    async fn posted_by(&self) -> User {
        User { id: self.posted_by }
    }
}

/// A recruiter membership, read from either side: `parent_id` is the
/// side the page was asked for, `member_id` the other.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Membership {
    pub parent_id: Uuid,
    pub member_id: Uuid,
    pub added_at: DateTime<Utc>,
}

child_row!(Membership, parent: parent_id, cursor: (added_at, member_id));

connection_type!(JobConnection, JobEdge, Job, plain_fields);
connection_type!(UserConnection, UserEdge, User);
connection_type!(OrganizationConnection, OrganizationEdge, Organization);

/// The fields employer owns on an organization (the entity is `Organization`,
/// declared below with its card fields): its jobs and recruiters.
pub struct OrganizationHiring {
    pub id: Uuid,
}

// The organization entity: its card fields merged with the fields above.
talentgraph_organization_cards::organization_entity!(OrganizationHiring, Loaders);

#[Object]
impl OrganizationHiring {
    /// The organization's jobs, newest first. Rejected postings only for
    /// the organization's recruiters (and admins).
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn jobs(
        &self,
        context: &Context<'_>,
        status: Option<JobStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PlainObject<JobConnection>> {
        let filter = StatusFilter::for_viewer(Viewer::of(context), self.id, status)?;
        let loader = &Loaders::of(context).jobs_of_organization;
        let page = load_child_page(loader, self.id, first, after, filter).await?;
        Ok(PlainObject(JobConnection::from_child_page(page, |job| job)))
    }

    /// How many of the organization's jobs are open.
    async fn open_jobs_count(&self, context: &Context<'_>) -> async_graphql::Result<i64> {
        let loader = &Loaders::of(context).open_job_counts;
        Ok(loader.load_one(self.id).await?.unwrap_or(0))
    }

    /// The users who recruit for the organization, longest-serving last.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn recruiters(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<UserConnection> {
        let loader = &Loaders::of(context).recruiters_of_organization;
        let page = load_child_page(loader, self.id, first, after, NoFilter).await?;
        Ok(UserConnection::from_child_page(page, |row| User {
            id: row.member_id,
        }))
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

    /// The organizations this user recruits for, with their cards.
    #[graphql(
        provides = "edges { node { name slug logoUrl verified } }",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn recruiter_at(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrganizationConnection> {
        let loader = &Loaders::of(context).organizations_of_recruiter;
        let page = load_child_page(loader, self.id, first, after, NoFilter).await?;
        Ok(OrganizationConnection::from_child_page(page, |row| {
            Organization::without_card(row.member_id)
        }))
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
