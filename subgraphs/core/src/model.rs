//! The GraphQL types of the core subgraph and their field resolvers.

use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use talentgraph_kit::loaders::RequestLoaders;
use talentgraph_kit::{connection_type, text_enum};
use uuid::Uuid;

use crate::loaders::Loaders;
use talentgraph_kit::{child_row, identified_row};

text_enum! {
    /// Head-count bands, as on public company profiles.
    pub enum OrganizationSize {
        Size1To10 => "SIZE_1_TO_10",
        Size11To50 => "SIZE_11_TO_50",
        Size51To200 => "SIZE_51_TO_200",
        Size201To1000 => "SIZE_201_TO_1000",
        Size1001Plus => "SIZE_1001_PLUS",
    }
}

/// A person on the platform.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
#[graphql(complex)]
pub struct User {
    #[graphql(skip)]
    pub id: Uuid,
    pub handle: String,
    pub display_name: String,
    pub headline: Option<String>,
    pub location: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

identified_row!(User, id);

#[ComplexObject]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's skills, most relevant first (at most 50).
    async fn skills(&self, context: &Context<'_>) -> async_graphql::Result<Vec<Skill>> {
        let loader = &Loaders::of(context).skills_of_user;
        let rows = loader.load_one(self.id).await?.unwrap_or_default();
        Ok(rows.iter().map(UserSkill::skill).collect())
    }
}

/// A company or institution that hires.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
#[graphql(complex)]
pub struct Organization {
    #[graphql(skip)]
    pub id: Uuid,
    // The card: employer and internship keep a copy of these four fields
    // (`organization.changed` events) and provide them next to jobs and
    // internships, so they are shareable.
    #[graphql(shareable)]
    pub name: String,
    #[graphql(shareable)]
    pub slug: String,
    pub about: Option<String>,
    pub industry: String,
    pub size: OrganizationSize,
    pub website: Option<String>,
    #[graphql(shareable)]
    pub logo_url: Option<String>,
    #[graphql(shareable)]
    pub verified: bool,
    pub created_at: DateTime<Utc>,
}

identified_row!(Organization, id);

#[ComplexObject]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
}

/// A skill people list and jobs ask for.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Skill {
    #[graphql(skip)]
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

identified_row!(Skill, id);

#[ComplexObject]
impl Skill {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
}

/// A skill as listed on a user's profile.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserSkill {
    pub user_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub slug: String,
}

impl UserSkill {
    fn skill(&self) -> Skill {
        Skill {
            id: self.id,
            name: self.name.clone(),
            slug: self.slug.clone(),
        }
    }
}

child_row!(UserSkill, parent: user_id, cursor: (unordered, id));

connection_type!(OrganizationConnection, OrganizationEdge, Organization);

/// Narrows the organization directory.
#[derive(Debug, Default, InputObject)]
pub struct OrganizationFilter {
    /// Exact industry, such as "Software".
    pub industry: Option<String>,
    pub verified: Option<bool>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

/// Fields left out stay as they are.
#[derive(Debug, Default, InputObject)]
pub struct UpdateOrganizationInput {
    /// 1 to 200 characters.
    pub name: Option<String>,
    /// Up to 2,000 characters.
    pub about: Option<String>,
    /// An https address.
    pub website: Option<String>,
    /// An https address of the logo image.
    pub logo_url: Option<String>,
}
