//! Organization cards: the copy of core's organizations that employer and
//! internship keep so that a page costs one fetch fewer.
//!
//! Nearly every page that shows a job or an internship shows its
//! organization's name and logo next to it. Core owns organizations, so
//! without a copy the router answers `Job.organization { name }` with a
//! second fetch to core after employer's. With a copy, employer declares
//! `Job.organization @provides(fields: "name slug logoUrl verified")` and
//! answers the card in the same fetch as the job; the router asks core only
//! for fields outside the card (an organization's `about`, its size).
//!
//! The copy is a projection of core's `organization.changed` events (the
//! outbox → NATS JetStream → inbox path of `talentgraph_kit::events`), so
//! it is eventually consistent: a name changed in core reaches job pages
//! once employer has applied the event, normally within a second. Each card
//! carries core's revision of the organization and is only ever replaced by
//! a newer one, so a redelivered old event cannot roll a card back.
//!
//! An organization whose card has not arrived yet is an error on the
//! provided fields (code `NOT_FOUND`), never a guessed value. Core creates
//! organizations only in its demo data today, which announces each one;
//! the migration that introduced the copies announced every organization
//! that existed before; and the test harness waits for every card before
//! its first request. Core marks the four card fields `@shareable`, and
//! composition fails if a keeper provides a field core does not share.

mod entity;

pub use entity::{CardLoaderOfRequest, OrganizationCardFields};

/// What [`organization_entity!`] names, so a keeper need not import it.
#[doc(hidden)]
pub mod reexports {
    pub use talentgraph_kit::graphql::plain_fields::PlainFields;
    pub use talentgraph_kit::loaders::RequestLoaders;
    pub use uuid::Uuid;
}

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::postgres::PgRow;
use talentgraph_events::OrganizationChanged;
use talentgraph_kit::database::{ColumnsInOrder, Transaction};
use talentgraph_kit::entity_cache::{CacheTier, CachedEntity};
use talentgraph_kit::events::{BoxFuture, ConsumerSettings, Envelope, EventHandler, HandlerError};
use talentgraph_kit::loaders::CachedRowsById;
use talentgraph_kit::loaders::LoaderScope;
use talentgraph_kit::{Database, DatabaseError, ErrorCode, client_error, identified_row};
use uuid::Uuid;

/// The migration every keeping subgraph has (`*_organization_cards.sql`,
/// a byte-for-byte copy of this text, which a test checks).
pub const ORGANIZATION_CARDS_SQL: &str = include_str!("../sql/organization_cards.sql");

/// Reads the cards of a batch of organizations (`$1::uuid[]`).
pub const ORGANIZATION_CARDS_BY_ID: &str = "SELECT organization_id, name, slug, logo_url, verified \
     FROM organization_cards WHERE organization_id = ANY($1)";

/// What pages show of an organization wherever it is mentioned.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct OrganizationCard {
    pub organization_id: Uuid,
    pub name: String,
    pub slug: String,
    pub logo_url: Option<String>,
    pub verified: bool,
}

identified_row!(OrganizationCard, organization_id);

/// The per-request loader of cards, for a subgraph's `Loaders`.
pub type OrganizationCardLoader =
    talentgraph_kit::batching::RequestLoader<CachedRowsById<OrganizationCard>>;

/// Cards are read through the entity cache; [`keep_card`] invalidates a
/// card's tag when the consumer of core's `organization.changed` replaces
/// it, so a page read after the consumer applied the event shows the new
/// card.
pub const CACHED_CARD: CachedEntity = CachedEntity {
    name: "Organization.card",
    tier: CacheTier::SlowChanging,
    remembers_absence: false,
};

/// The loader of cards for one request, named `Organization.card` in the
/// statement counts and traces.
pub fn card_loader(scope: &LoaderScope<'_>) -> OrganizationCardLoader {
    scope.loader(CachedRowsById::new(
        scope.statement(CACHED_CARD.name, ORGANIZATION_CARDS_BY_ID),
        CACHED_CARD,
    ))
}

/// The card of `organization_id`, loaded in the current batch and shared
/// by every field that asks for it; an error the client may see when the
/// card has not reached this subgraph yet.
pub async fn card_of(
    loader: &OrganizationCardLoader,
    organization_id: Uuid,
) -> async_graphql::Result<Arc<OrganizationCard>> {
    loader.load_one(organization_id).await?.ok_or_else(|| {
        client_error(
            ErrorCode::NotFound,
            format!("Organization {organization_id} is not known here yet; try again shortly."),
        )
    })
}

/// The card columns a search selects beside its own when its page shows
/// each row's organization; they come with [`CARD_JOIN`].
///
/// On JobSearchPage every job's card was a second statement (the card
/// loader's batch, `WHERE organization_id = ANY($1)`) right after the
/// search that found the jobs. Read in the search itself, the cards are in
/// the loader before any field asks for them, and the page costs one
/// statement fewer.
pub const JOINED_CARD_COLUMNS: &str = ", card.name AS card_name, card.slug AS card_slug, \
     card.logo_url AS card_logo_url, card.verified AS card_verified";

/// The join that goes with [`JOINED_CARD_COLUMNS`], after the searched
/// table, which must have an `organization_id` column. A left join: a row
/// whose card has not arrived yet is still found, and its card is then
/// asked of the loader (which answers that it is not known yet).
pub const CARD_JOIN: &str = " LEFT JOIN organization_cards card USING (organization_id)";

/// Whether a search statement reads its rows' organization cards beside
/// them: what it pushes after its own columns and after its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardsInSearch {
    NotRead,
    ReadBeside,
}

impl CardsInSearch {
    /// Pushed right after the search's own columns.
    pub fn columns(self) -> &'static str {
        match self {
            Self::NotRead => "",
            Self::ReadBeside => JOINED_CARD_COLUMNS,
        }
    }

    /// Pushed right after the searched table.
    pub fn join(self) -> &'static str {
        match self {
            Self::NotRead => "",
            Self::ReadBeside => CARD_JOIN,
        }
    }
}

/// A row that belongs to one organization (a job, an internship): the row
/// a search reads with its organization's card beside it.
pub trait OfOrganization {
    fn organization_id(&self) -> Uuid;
}

/// A searched row and its organization's card, read by one statement that
/// selects [`JOINED_CARD_COLUMNS`] through [`CARD_JOIN`].
pub struct WithCard<Row> {
    pub row: Row,
    /// `None` when the organization's card has not arrived yet.
    pub card: Option<OrganizationCard>,
}

impl<'r, Row> sqlx::FromRow<'r, PgRow> for WithCard<Row>
where
    Row: sqlx::FromRow<'r, PgRow> + OfOrganization,
{
    fn from_row(pg_row: &'r PgRow) -> Result<Self, sqlx::Error> {
        // The card's columns come last, in the order of
        // `JOINED_CARD_COLUMNS`, and are read by position like the search
        // rows before them (see `talentgraph_kit::database::ColumnsInOrder`).
        // The card's name is `NOT NULL` in its table, so a null name means
        // the join found no card.
        let row = Row::from_row(pg_row)?;
        let mut columns = ColumnsInOrder::from_column(pg_row, "card_name")?;
        let card = match columns.next::<Option<String>>("card_name")? {
            None => None,
            Some(name) => Some(OrganizationCard {
                organization_id: row.organization_id(),
                name,
                slug: columns.next("card_slug")?,
                logo_url: columns.next("card_logo_url")?,
                verified: columns.next("card_verified")?,
            }),
        };
        Ok(Self { row, card })
    }
}

/// The card of `organization_id` when this request already knows it, for
/// an organization badge resolved in one pass
/// ([`talentgraph_kit::graphql::plain_fields`]). A search that shows
/// organizations read their cards beside its rows and fed them to the
/// loader ([`keep_joined_cards`]), so the card is usually known; when it
/// is not, nothing is loaded here and the badge's fields load it.
pub fn known_card(
    loader: &OrganizationCardLoader,
    organization_id: Uuid,
) -> Option<Arc<OrganizationCard>> {
    loader.known(&organization_id).flatten()
}

/// The value of the badge field `field_name` of an `Organization` (`id`,
/// `name`, `slug`, `logoUrl`, `verified`) as async-graphql would write it;
/// `None` for any other field, or for a card field without `card`.
pub fn badge_field_value(
    organization_id: Uuid,
    card: Option<&OrganizationCard>,
    field_name: &str,
) -> Option<async_graphql::Value> {
    use async_graphql::ScalarType;
    if field_name == "id" {
        return Some(async_graphql::Value::String(organization_id.to_string()));
    }
    let card = card?;
    Some(match field_name {
        "name" => card.name.to_value(),
        "slug" => card.slug.to_value(),
        "logoUrl" => card
            .logo_url
            .as_ref()
            .map_or(async_graphql::Value::Null, ScalarType::to_value),
        "verified" => card.verified.to_value(),
        _ => return None,
    })
}

/// Hands the cards read beside `rows` to this request's card `loader`, so
/// the organization fields of those rows cost no statement, and returns the
/// rows alone.
pub fn keep_joined_cards<Row>(
    loader: &OrganizationCardLoader,
    rows: Vec<WithCard<Row>>,
) -> Vec<Row> {
    let mut cards: HashMap<Uuid, Arc<OrganizationCard>> = HashMap::new();
    let rows = rows
        .into_iter()
        .map(|WithCard { row, card }| {
            if let Some(card) = card {
                cards
                    .entry(card.organization_id)
                    .or_insert_with(|| Arc::new(card));
            }
            row
        })
        .collect();
    loader.feed_many(cards);
    rows
}

/// Whether the page asks for the organization of the rows of the
/// connection `context` resolves (`edges { node { organization } }`,
/// through fragments too): the question a search answers before it decides
/// to read the cards beside its rows.
pub fn connection_asks_for_organization(context: &async_graphql::Context<'_>) -> bool {
    context
        .look_ahead()
        .field("edges")
        .field("node")
        .field("organization")
        .exists()
}

/// Keeps `changed` unless a card with the same or a higher revision is
/// already kept.
pub async fn keep_card(
    transaction: &mut Transaction,
    changed: &OrganizationChanged,
) -> Result<(), DatabaseError> {
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO organization_cards (organization_id, name, slug, logo_url, verified, revision) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (organization_id) DO UPDATE SET \
                     name = EXCLUDED.name, slug = EXCLUDED.slug, logo_url = EXCLUDED.logo_url, \
                     verified = EXCLUDED.verified, revision = EXCLUDED.revision \
                 WHERE organization_cards.revision < EXCLUDED.revision",
            )
            .bind(changed.organization_id)
            .bind(&changed.name)
            .bind(&changed.slug)
            .bind(&changed.logo_url)
            .bind(changed.verified)
            .bind(changed.revision),
        )
        .await?;
    transaction.invalidate(CACHED_CARD.tag(changed.organization_id));
    Ok(())
}

/// How many cards `database` keeps; the test harness and the dev stack
/// wait on it after seeding.
pub async fn kept_card_count(database: &Database) -> Result<i64, DatabaseError> {
    database
        .fetch_scalar(sqlx::query_scalar(
            "SELECT count(*) FROM organization_cards",
        ))
        .await
}

/// `organization.changed` → the card, in the consumer's transaction.
pub struct CardsFromCore;

impl EventHandler for CardsFromCore {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let changed: OrganizationChanged = envelope.decode()?;
            keep_card(transaction, &changed).await?;
            Ok(())
        })
    }
}

/// The settings of a keeper's consumer of core's `organization.changed`
/// events, named `consumer_name`; its handler is [`CardsFromCore`].
pub fn card_consumer_settings(consumer_name: &'static str) -> ConsumerSettings {
    ConsumerSettings::for_event::<OrganizationChanged>(consumer_name)
}
