//! The core subgraph: the people and organizations every other domain
//! refers to. Owns `User`, `Organization` and `Skill`.

pub mod demo;

use async_graphql::{
    ComplexObject, Context, EmptyMutation, EmptySubscription, ID, InputObject, Object, Schema,
    SimpleObject,
};

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use talentgraph_kit::loaders::{
    ChildRow, IdentifiedRow, RequestLoader, RowsById, RowsByParent, load_by_id, parse_id,
    parse_id_argument,
};
use talentgraph_kit::server::LoaderScope;
use talentgraph_kit::{
    Cursor, Database, PageArgs, SubgraphConfig, SubgraphDefinition, connection_type, text_enum,
};
use uuid::Uuid;

/// The subgraph's migrations, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/core");

/// How the kit runs this subgraph.
pub static DEFINITION: SubgraphDefinition = SubgraphDefinition {
    name: "core",
    default_port: 4001,
    migrator: &MIGRATOR,
    build_app,
};

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
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
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

impl IdentifiedRow for User {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

#[ComplexObject]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's skills, most relevant first (at most 50).
    async fn skills(&self, context: &Context<'_>) -> async_graphql::Result<Vec<Skill>> {
        let loader = context.data_unchecked::<RequestLoader<RowsByParent<UserSkill>>>();
        let rows = loader.load_one(self.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| row.skill()).collect())
    }
}

/// A company or institution that hires.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Organization {
    #[graphql(skip)]
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub about: Option<String>,
    pub industry: String,
    #[sqlx(try_from = "String")]
    pub size: OrganizationSize,
    pub website: Option<String>,
    pub logo_url: Option<String>,
    pub verified: bool,
    pub created_at: DateTime<Utc>,
}

impl IdentifiedRow for Organization {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

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

impl IdentifiedRow for Skill {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

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
    fn skill(self) -> Skill {
        Skill {
            id: self.id,
            name: self.name,
            slug: self.slug,
        }
    }
}

impl ChildRow for UserSkill {
    fn parent_id(&self) -> Uuid {
        self.user_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(DateTime::<Utc>::UNIX_EPOCH, self.id)
    }
}

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

const ORGANIZATION_COLUMNS: &str =
    "id, name, slug, about, industry, size, website, logo_url, verified, created_at";

const USERS_BY_ID: &str = "SELECT id, handle, display_name, headline, location, avatar_url, created_at FROM users WHERE id = ANY($1)";
const ORGANIZATIONS_BY_ID: &str = "SELECT id, name, slug, about, industry, size, website, logo_url, verified, created_at \
     FROM organizations WHERE id = ANY($1)";
const SKILLS_BY_ID: &str = "SELECT id, name, slug FROM skills WHERE id = ANY($1)";
const SKILLS_BY_USER: &str = "SELECT user_id, id, name, slug FROM ( \
       SELECT us.user_id, s.id, s.name, s.slug, us.position, \
              row_number() OVER (PARTITION BY us.user_id ORDER BY us.position) AS rank \
       FROM user_skills us JOIN skills s ON s.id = us.skill_id \
       WHERE us.user_id = ANY($1)) ranked \
     WHERE rank <= 50 ORDER BY user_id, position";

/// The per-request DataLoaders of this subgraph.
fn attach_loaders(
    scope: &LoaderScope<'_>,
    request: async_graphql::Request,
) -> async_graphql::Request {
    let database = scope.database;
    request
        .data(scope.loader(RowsById::<User>::new(database.clone(), "User", USERS_BY_ID)))
        .data(scope.loader(RowsById::<Organization>::new(
            database.clone(),
            "Organization",
            ORGANIZATIONS_BY_ID,
        )))
        .data(scope.loader(RowsById::<Skill>::new(
            database.clone(),
            "Skill",
            SKILLS_BY_ID,
        )))
        .data(scope.loader(RowsByParent::<UserSkill>::new(
            database.clone(),
            "UserSkill",
            SKILLS_BY_USER,
        )))
}

pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_user_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<User>> {
        load_by_id::<User>(context, &id).await
    }

    #[graphql(entity)]
    async fn find_organization_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Organization>> {
        load_by_id::<Organization>(context, &id).await
    }

    #[graphql(entity)]
    async fn find_skill_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Skill>> {
        load_by_id::<Skill>(context, &id).await
    }

    /// One user by id; null when there is none.
    async fn user(&self, context: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        let id = parse_id_argument("id", &id)?;
        context
            .data_unchecked::<RequestLoader<RowsById<User>>>()
            .load_one(id)
            .await
    }

    /// Users by id, in the order asked, null for unknown ids (at most 100).
    #[graphql(
        complexity = "talentgraph_kit::pagination::list_complexity(Some(ids.len().try_into().unwrap_or(i32::MAX)), child_complexity)"
    )]
    async fn users(
        &self,
        context: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<User>>> {
        let parsed: Vec<Option<Uuid>> = ids.iter().map(parse_id).collect();
        let wanted: Vec<Uuid> = parsed.iter().flatten().copied().collect();
        let found = context
            .data_unchecked::<RequestLoader<RowsById<User>>>()
            .load_many(wanted)
            .await?;
        Ok(parsed
            .into_iter()
            .map(|id| id.and_then(|id| found.get(&id).cloned()))
            .collect())
    }

    /// One organization by id or by slug.
    async fn organization(
        &self,
        context: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Option<Organization>> {
        match (id, slug) {
            (Some(id), None) => {
                let id = parse_id_argument("id", &id)?;
                Ok(context
                    .data_unchecked::<RequestLoader<RowsById<Organization>>>()
                    .load_one(id)
                    .await?)
            }
            (None, Some(slug)) => {
                let database = context.data_unchecked::<Database>();
                let sql =
                    format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE slug = $1");
                Ok(database
                    .fetch_optional(sqlx::query_as::<_, Organization>(&sql).bind(slug))
                    .await?)
            }
            _ => Err(talentgraph_kit::input_error(
                "id",
                "Give exactly one of `id` and `slug`.",
            )),
        }
    }

    /// The organization directory, newest first.
    #[graphql(complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)")]
    async fn organizations(
        &self,
        context: &Context<'_>,
        filter: Option<OrganizationFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<OrganizationConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let (cursor_at, cursor_id) = page.sql_bounds();
        let database = context.data_unchecked::<Database>();
        let sql = format!(
            "SELECT {ORGANIZATION_COLUMNS} FROM organizations \
             WHERE ($1::text IS NULL OR industry = $1) \
               AND ($2::boolean IS NULL OR verified = $2) \
               AND ($3::text IS NULL OR name ILIKE '%' || $3 || '%') \
               AND (created_at, id) < ($4, $5) \
             ORDER BY created_at DESC, id DESC LIMIT $6"
        );
        let search = filter.search.map(|text| escape_like(&text));
        let rows = database
            .fetch_all(
                sqlx::query_as::<_, Organization>(&sql)
                    .bind(filter.industry)
                    .bind(filter.verified)
                    .bind(search)
                    .bind(cursor_at)
                    .bind(cursor_id)
                    .bind(page.fetch_limit()),
            )
            .await?;
        Ok(OrganizationConnection::from_rows(
            &page,
            rows,
            |row| Cursor::new(row.created_at, row.id),
            |row| row,
        ))
    }
}

/// Escapes LIKE wildcards so a search for "100%" means the text "100%".
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub type CoreSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The executable schema.
pub fn schema(database: Database, config: &SubgraphConfig) -> CoreSchema {
    talentgraph_kit::graphql::build_schema(Query, EmptyMutation, database, config)
}

/// The federation SDL this subgraph exports (committed as `schema.graphql`).
pub fn exported_sdl() -> String {
    talentgraph_kit::graphql::export_sdl(Query, EmptyMutation)
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
