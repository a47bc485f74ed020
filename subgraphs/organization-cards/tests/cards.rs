//! The card consumer's handler against a real PostgreSQL: a newer revision
//! replaces a card, an older or equal one never does.

use talentgraph_events::OrganizationChanged;
use talentgraph_kit::events::{Envelope, EventHandler};
use talentgraph_kit::testing::fresh_event_database;
use talentgraph_organization_cards::{CardsFromCore, ORGANIZATION_CARDS_SQL, kept_card_count};
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
