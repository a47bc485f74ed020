//! The card consumer's handler against a real PostgreSQL: a newer revision
//! replaces a card, an older or equal one never does. And the cards a
//! search reads beside its rows: decoded from the join, handed to the card
//! loader, which then answers them without a statement.

use std::time::Duration;

use talentgraph_events::OrganizationChanged;
use talentgraph_kit::batching::{BatchGathering, RequestActivity};
use talentgraph_kit::events::{Envelope, EventHandler};
use talentgraph_kit::loaders::LoaderScope;
use talentgraph_kit::testing::fresh_event_database;
use talentgraph_kit::{ErrorCode, RequestContext, Viewer};
use talentgraph_organization_cards::{
    CARD_JOIN, CardsFromCore, JOINED_CARD_COLUMNS, ORGANIZATION_CARDS_SQL, OfOrganization,
    WithCard, card_loader, card_of, keep_joined_cards, kept_card_count,
};
use uuid::Uuid;

fn changed(organization_id: Uuid, name: &str, revision: i64) -> OrganizationChanged {
    OrganizationChanged {
        organization_id,
        name: name.to_owned(),
        slug: "acme".to_owned(),
        logo_url: Some("https://logos.example/acme.png".to_owned()),
        verified: true,
        revision,
    }
}

async fn apply(database: &talentgraph_kit::Database, event: &OrganizationChanged) {
    let envelope = Envelope::wrap(event).expect("wraps");
    let mut transaction = database.begin().await.expect("begins");
    CardsFromCore
        .handle(&mut transaction, &envelope)
        .await
        .expect("the handler applies the card");
    transaction.commit().await.expect("commits");
}

async fn kept_name(database: &talentgraph_kit::Database, organization_id: Uuid) -> String {
    database
        .fetch_scalar(
            sqlx::query_scalar("SELECT name FROM organization_cards WHERE organization_id = $1")
                .bind(organization_id),
        )
        .await
        .expect("the card is kept")
}

#[tokio::test]
async fn only_a_newer_revision_replaces_a_card() {
    let database = fresh_event_database(ORGANIZATION_CARDS_SQL, 2).await;
    let organization = Uuid::new_v4();

    apply(&database, &changed(organization, "Acme 2", 2)).await;
    assert_eq!(kept_name(&database, organization).await, "Acme 2");

    // A late delivery of an older change and a repeat of the same revision
    // leave the card alone.
    apply(&database, &changed(organization, "Acme 1", 1)).await;
    apply(&database, &changed(organization, "Acme 2 again", 2)).await;
    assert_eq!(kept_name(&database, organization).await, "Acme 2");

    apply(&database, &changed(organization, "Acme 3", 3)).await;
    assert_eq!(kept_name(&database, organization).await, "Acme 3");
    assert_eq!(kept_card_count(&database).await.expect("counts"), 1);
}

/// A searched table of the shape the card join expects: rows that name
/// their organization.
const LISTINGS_WITH_CARDS_SQL: &str = concat!(
    include_str!("../sql/organization_cards.sql"),
    "\nCREATE TABLE listings (id integer PRIMARY KEY, organization_id uuid NOT NULL);"
);

#[derive(Debug, sqlx::FromRow)]
struct Listing {
    id: i32,
    organization_id: Uuid,
}

impl OfOrganization for Listing {
    fn organization_id(&self) -> Uuid {
        self.organization_id
    }
}

#[tokio::test]
async fn cards_read_beside_a_search_cost_the_loader_no_statement() {
    let database = fresh_event_database(LISTINGS_WITH_CARDS_SQL, 2).await;
    let with_card = Uuid::new_v4();
    let without_card = Uuid::new_v4();
    apply(&database, &changed(with_card, "Acme", 1)).await;
    for (id, organization_id) in [(1, with_card), (2, without_card), (3, with_card)] {
        database
            .execute(
                sqlx::query("INSERT INTO listings (id, organization_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(organization_id),
            )
            .await
            .expect("inserts a listing");
    }
    let search = format!(
        "SELECT id, organization_id{JOINED_CARD_COLUMNS} FROM listings{CARD_JOIN} ORDER BY id"
    );
    let rows: Vec<WithCard<Listing>> = database
        .fetch_all(sqlx::query_as(&search))
        .await
        .expect("the search with its cards runs");
    let cards: Vec<Option<&str>> = rows
        .iter()
        .map(|row| row.card.as_ref().map(|card| card.name.as_str()))
        .collect();
    assert_eq!(cards, [Some("Acme"), None, Some("Acme")]);
    let card = rows[0].card.as_ref().expect("the first listing's card");
    assert_eq!(card.organization_id, with_card);
    assert_eq!(card.slug, "acme");
    assert_eq!(
        card.logo_url.as_deref(),
        Some("https://logos.example/acme.png")
    );
    assert!(card.verified);

    let request = RequestContext {
        request_id: "cards-read-beside".to_owned(),
        viewer: Viewer::Anonymous,
        via_router: false,
        client_address: None,
        activity: RequestActivity::default(),
    };
    let scope = LoaderScope {
        database: &database,
        gathering: BatchGathering::FixedWindow(Duration::from_millis(1)),
        request: &request,
    };
    let loader = card_loader(&scope);
    let listings = keep_joined_cards(&loader, rows);
    let ids: Vec<i32> = listings.iter().map(|listing| listing.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(listings[1].organization_id, without_card);

    let statements_before = database.statements_executed();
    let kept = card_of(&loader, with_card)
        .await
        .expect("the card was handed over");
    assert_eq!(kept.name, "Acme");
    assert_eq!(
        database.statements_executed(),
        statements_before,
        "a card read beside the search costs no statement of its own"
    );
    // An organization whose card has not arrived is asked of the table, as
    // before the join, and is still an error the client can read.
    let missing = card_of(&loader, without_card)
        .await
        .expect_err("no card has arrived for it");
    assert_eq!(
        missing
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map(|code| code.to_string()),
        Some(format!("\"{}\"", ErrorCode::NotFound.as_str()))
    );
    assert_eq!(database.statements_executed(), statements_before + 1);
}
