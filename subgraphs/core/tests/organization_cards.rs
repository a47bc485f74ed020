//! Core announces organization cards (`organization.changed`): when the
//! demo data creates organizations, when `updateOrganization` changes one,
//! and once for every organization that existed before the copies did (the
//! migration that adds `revision`). Each announcement must decode as the
//! event the card consumers read.

use talentgraph_core::store::{OrganizationChanges, update_organization};
use talentgraph_core::{MIGRATOR, demo};
use talentgraph_demo_world::DemoWorld;
use talentgraph_events::OrganizationChanged;
use talentgraph_kit::Database;
use talentgraph_kit::events::Envelope;
use talentgraph_kit::testing::fresh_database;

/// The migration that adds `revision` and announces existing organizations.
const REVISION_MIGRATION: &str =
    include_str!("../../../migrations/core/20261127000001_organization_revision.sql");

/// Every card announcement in the outbox, in the order written.
async fn announced_cards(database: &Database) -> Vec<OrganizationChanged> {
    let envelopes: Vec<(String,)> = database
        .fetch_all(sqlx::query_as(
            "SELECT envelope::text FROM outbox \
             WHERE subject = 'talentgraph.core.organization.changed.v1' ORDER BY sequence",
        ))
        .await
        .expect("reads the outbox");
    envelopes
        .into_iter()
        .map(|(envelope,)| {
            Envelope::from_bytes(envelope.as_bytes())
                .expect("an envelope the kit reads")
                .decode::<OrganizationChanged>()
                .expect("an organization.changed payload")
        })
        .collect()
}

#[tokio::test]
async fn every_card_change_is_announced_with_a_growing_revision() {
    let (database, _url) = fresh_database(&MIGRATOR).await.expect("a database");
    let world = DemoWorld::SMALL;
    demo::seed(&database, &world).await.expect("seeds");
    let seeded = announced_cards(&database).await;
    assert_eq!(seeded.len() as u64, world.organizations);
    assert!(seeded.iter().all(|card| card.revision == 1));

    // Seeding again creates nothing and so announces nothing.
    demo::seed(&database, &world).await.expect("seeds again");
    assert_eq!(announced_cards(&database).await.len(), seeded.len());

    let organization = world.organization_id(3);
    let updated = update_organization(
        &database,
        organization,
        OrganizationChanges {
            name: Some("Renamed Works".to_owned()),
            about: None,
            website: None,
            logo_url: None,
        },
    )
    .await
    .expect("updates")
    .expect("the organization exists");
    assert_eq!(updated.name, "Renamed Works");
    let last = announced_cards(&database)
        .await
        .pop()
        .expect("an announcement");
    assert_eq!(last.organization_id, organization);
    assert_eq!(last.name, "Renamed Works");
    assert_eq!(last.revision, 2);
    assert_eq!(
        last.logo_url, updated.logo_url,
        "unchanged fields travel too"
    );

    let nobody = update_organization(
        &database,
        uuid::Uuid::new_v4(),
        OrganizationChanges {
            name: Some("Ghost".to_owned()),
            about: None,
            website: None,
            logo_url: None,
        },
    )
    .await
    .expect("runs");
    assert!(nobody.is_none());
}

/// A database whose organizations predate the copies gets one announcement
/// per organization from the migration, in the kit's envelope.
#[tokio::test]
async fn the_migration_announces_organizations_that_already_exist() {
    let (database, _url) = fresh_database(&MIGRATOR).await.expect("a database");
    let world = DemoWorld::SMALL;
    demo::seed(&database, &world).await.expect("seeds");
    database
        .execute(sqlx::query("DELETE FROM outbox"))
        .await
        .expect("empties the outbox, as a database from before the copies has it");
    database
        .execute_script(REVISION_MIGRATION)
        .await
        .unwrap_or_else(|error| panic!("the migration runs again: {}", error.detail()));
    let mut cards = announced_cards(&database).await;
    assert_eq!(cards.len() as u64, world.organizations);
    cards.sort_by_key(|card| card.organization_id);
    let mut expected: Vec<uuid::Uuid> = (0..world.organizations)
        .map(|index| world.organization_id(index))
        .collect();
    expected.sort();
    assert_eq!(
        cards
            .iter()
            .map(|card| card.organization_id)
            .collect::<Vec<_>>(),
        expected
    );
    assert!(
        cards
            .iter()
            .all(|card| !card.name.is_empty() && card.revision == 1)
    );
    let event_ids: Vec<(uuid::Uuid,)> = database
        .fetch_all(sqlx::query_as("SELECT event_id FROM outbox"))
        .await
        .expect("reads");
    let distinct_ids: std::collections::BTreeSet<uuid::Uuid> =
        event_ids.into_iter().map(|(id,)| id).collect();
    assert_eq!(distinct_ids.len() as u64, world.organizations);
}
