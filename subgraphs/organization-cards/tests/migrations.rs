//! Every keeping subgraph creates the same `organization_cards` table.

use std::path::Path;

/// Each `*_organization_cards.sql` migration is the crate's table, byte for
/// byte, and every subgraph that consumes the cards has one.
#[test]
fn every_cards_migration_is_the_crates_table() {
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let mut keeping = Vec::new();
    for subgraph in std::fs::read_dir(&migrations).expect("migrations/") {
        let subgraph = subgraph.expect("an entry").path();
        for file in std::fs::read_dir(&subgraph).expect("a subgraph's migrations") {
            let file = file.expect("an entry").path();
            if file.to_string_lossy().ends_with("_organization_cards.sql") {
                let text = std::fs::read_to_string(&file).expect("reads");
                assert!(
                    text == talentgraph_organization_cards::ORGANIZATION_CARDS_SQL,
                    "{} differs from subgraphs/organization-cards/sql/organization_cards.sql",
                    file.display()
                );
                keeping.push(
                    subgraph
                        .file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
            }
        }
    }
    keeping.sort();
    assert_eq!(keeping, ["employer", "internship"]);
}
