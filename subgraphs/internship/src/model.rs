//! The GraphQL types of the internship subgraph and their field resolvers.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use talentgraph_kit::guards::OwnerGuard;
use talentgraph_kit::loaders::{NoFilter, RequestLoaders, TextFilter, load_child_page};
use talentgraph_kit::{connection_type, text_enum};
use uuid::Uuid;

use talentgraph_kit::graphql::plain_fields::PlainObject;
use talentgraph_organization_cards::{OfOrganization, known_card};

use crate::loaders::Loaders;
use talentgraph_kit::{child_row, columns_in_order_row, identified_row};

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
// Read from the columns `store::internship_columns!` lists, in that order
// (`columns_in_order_row!` below).
#[derive(Debug, Clone, SimpleObject, serde::Serialize, serde::Deserialize)]
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

// By position rather than by name, as employer reads its jobs (see
// `talentgraph_kit::database::ColumnsInOrder`): InternshipBrowsePage reads
// ten to a hundred internships a page. The names must follow
// `store::internship_columns!`.
columns_in_order_row!(Internship {
    id,
    organization_id,
    mentor_id,
    title,
    description,
    kind,
    stipend_amount,
    stipend_currency,
    stipend_period,
    duration_weeks,
    starts_on,
    application_deadline,
    location,
    remote,
    created_at,
});

identified_row!(Internship, id);

impl OfOrganization for Internship {
    fn organization_id(&self) -> Uuid {
        self.organization_id
    }
}

child_row!(Internship, parent: organization_id, cursor: (created_at, id));

#[ComplexObject]
impl Internship {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn stipend(&self) -> Option<Stipend> {
        let period = StipendPeriod::try_from(self.stipend_period.as_deref()?).ok()?;
        Some(Stipend {
            amount: self.stipend_amount?,
            currency: self.stipend_currency.clone()?,
            period,
        })
    }

    /// The organization offering it. Its card comes from internship's copy
    /// in the same fetch; every other field is resolved by core.
    #[graphql(provides = "name slug logoUrl verified")]
    async fn organization(&self, context: &Context<'_>) -> PlainObject<Organization> {
        let loader = &Loaders::of(context).organization_cards;
        PlainObject(Organization::with_card(
            self.organization_id,
            known_card(loader, self.organization_id),
        ))
    }

    async fn mentor(&self) -> Option<User> {
        self.mentor_id.map(|id| User { id })
    }

    /// The skills the internship teaches or asks for, most relevant first (at
    /// most 20; resolved by core).
    async fn skills(&self, context: &Context<'_>) -> async_graphql::Result<Vec<Skill>> {
        let rows = Loaders::of(context)
            .skills_of_internship
            .load_one(self.id)
            .await?;
        Ok(rows
            .unwrap_or_default()
            .iter()
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

child_row!(InternshipSkill, parent: internship_id, cursor: (unordered, skill_id));

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
    pub status: InternshipApplicationStatus,
    pub motivation: Option<String>,
    pub applied_at: DateTime<Utc>,
}

identified_row!(InternshipApplication, id);

child_row!(InternshipApplication, parent: applicant_id, cursor: (applied_at, id));

#[ComplexObject]
impl InternshipApplication {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn internship(
        &self,
        context: &Context<'_>,
    ) -> async_graphql::Result<Option<Arc<Internship>>> {
        Loaders::of(context)
            .internships_by_id
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

/// The fields internship owns on an organization (the entity is `Organization`,
/// declared below with its card fields): its internships.
pub struct OrganizationInternships {
    pub id: Uuid,
}

// The organization entity: its card fields merged with the fields above.
talentgraph_organization_cards::organization_entity!(OrganizationInternships, Loaders);

#[Object]
impl OrganizationInternships {
    /// The organization's internships and apprenticeships, newest first.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn internships(
        &self,
        context: &Context<'_>,
        kind: Option<InternshipKind>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InternshipConnection> {
        let filter = TextFilter(kind.map(InternshipKind::as_str));
        let loader = &Loaders::of(context).internships_of_organization;
        let page = load_child_page(loader, self.id, first, after, filter).await?;
        Ok(InternshipConnection::from_child_page(page, |row| row))
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
        let loader = &Loaders::of(context).applications_of_applicant;
        let page = load_child_page(loader, self.id, first, after, NoFilter).await?;
        Ok(InternshipApplicationConnection::from_child_page(
            page,
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
