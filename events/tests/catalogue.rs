//! The committed catalogue is what the code says, and versions behave as
//! the catalogue promises.

use std::path::Path;

use talentgraph_events::AccountCreated;
use talentgraph_kit::events::{Envelope, Event};

/// `events/CATALOGUE.md` and `events/schemas/` match the code; a stale
/// file fails with the command that regenerates it.
#[test]
fn committed_catalogue_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let regenerate = "cargo run -p talentgraph-events --bin write-catalogue";
    let committed = std::fs::read_to_string(root.join("CATALOGUE.md")).unwrap_or_default();
    assert!(
        committed == talentgraph_events::catalogue_markdown(),
        "events/CATALOGUE.md is stale; regenerate it with {regenerate}"
    );
    let mut expected: Vec<(String, String)> = talentgraph_events::schema_files();
    expected.sort();
    let mut found: Vec<(String, String)> = std::fs::read_dir(root.join("schemas"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| {
                    (
                        entry.file_name().to_string_lossy().into_owned(),
                        std::fs::read_to_string(entry.path()).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    assert!(
        found == expected,
        "events/schemas/ is stale; regenerate it with {regenerate}"
    );
}

/// Subjects are unique and follow `talentgraph.<producer>.<type>.v<N>`.
#[test]
fn subjects_are_unique_and_well_formed() {
    let catalogue = talentgraph_events::catalogue();
    let mut subjects: Vec<&str> = catalogue
        .iter()
        .map(|entry| entry.subject.as_str())
        .collect();
    subjects.sort_unstable();
    subjects.dedup();
    assert_eq!(subjects.len(), catalogue.len());
    for entry in &catalogue {
        assert_eq!(
            entry.subject,
            format!(
                "talentgraph.{}.{}.v{}",
                entry.producer, entry.event_type, entry.version
            )
        );
    }
}

/// An incompatible change is a new version on a new subject: a consumer
/// of v1 keeps reading v1 envelopes (with fields added since, which it
/// ignores) and refuses a v2 envelope rather than misreading it.
#[test]
fn an_old_consumer_keeps_reading_version_one() {
    #[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct AccountCreatedV2 {
        user_id: uuid::Uuid,
        given_name: String,
        family_name: String,
        roles: Vec<String>,
    }
    impl Event for AccountCreatedV2 {
        const PRODUCER: &'static str = "auth";
        const TYPE: &'static str = "account.created";
        const VERSION: u32 = 2;
    }
    let user_id = uuid::Uuid::new_v4();
    // A v1 envelope from a newer producer that added an optional field.
    let mut v1 = Envelope::wrap(&AccountCreated {
        user_id,
        display_name: "Ada".to_owned(),
        role: "JOBSEEKER".to_owned(),
        email: Some("ada@example.com".to_owned()),
    })
    .expect("wraps");
    v1.data["pronouns"] = serde_json::json!("she/her");
    let read: AccountCreated = v1.decode().expect("v1 reads v1 with an added field");
    assert_eq!(read.display_name, "Ada");
    // A v1 envelope from before `email` was added still reads, without it.
    let mut older = v1.clone();
    older
        .data
        .as_object_mut()
        .expect("an object")
        .remove("email");
    let read: AccountCreated = older.decode().expect("v1 reads v1 without the new field");
    assert_eq!(read.email, None);

    let v2 = Envelope::wrap(&AccountCreatedV2 {
        user_id,
        given_name: "Ada".to_owned(),
        family_name: "Lovelace".to_owned(),
        roles: vec!["JOBSEEKER".to_owned()],
    })
    .expect("wraps");
    assert_ne!(v2.subject(), AccountCreated::subject(), "a new subject");
    assert!(v2.decode::<AccountCreated>().is_err(), "v1 refuses v2");
}

/// Every subgraph's events migration is the kit's event tables, byte for
/// byte, so the relay and consumers find the same tables everywhere; the
/// producers and consumers of the catalogue have one.
#[test]
fn every_events_migration_is_the_kits_tables() {
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut with_tables = Vec::new();
    for subgraph in std::fs::read_dir(&migrations).expect("migrations/") {
        let subgraph = subgraph.expect("an entry").path();
        for file in std::fs::read_dir(&subgraph).expect("a subgraph's migrations") {
            let file = file.expect("an entry").path();
            if file.to_string_lossy().ends_with("_events.sql") {
                let text = std::fs::read_to_string(&file).expect("reads");
                assert!(
                    text == talentgraph_kit::events::EVENT_TABLES_SQL,
                    "{} differs from subgraphs/kit/sql/event_tables.sql",
                    file.display()
                );
                with_tables.push(
                    subgraph
                        .file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
            }
        }
    }
    for entry in talentgraph_events::catalogue() {
        assert!(
            with_tables.iter().any(|name| name == entry.producer),
            "{} produces {} but has no events migration",
            entry.producer,
            entry.subject
        );
        for consumer in entry.consumers {
            let subgraph = consumer
                .split_once('(')
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(name, _)| name)
                .expect("`name (subgraph): effect`");
            assert!(
                with_tables.iter().any(|name| name == subgraph),
                "{subgraph} consumes {} but has no events migration",
                entry.subject
            );
        }
    }
}
