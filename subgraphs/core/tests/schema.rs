//! The committed federation SDL matches what the code exports, and the
//! database agrees with it on which fields can be null.

/// `subgraphs/core/schema.graphql` is fresh.
#[test]
fn committed_schema_is_fresh() {
    talentgraph_kit::testing::assert_committed_schema(
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_PKG_NAME"),
        &talentgraph_core::SUBGRAPH.exported_sdl(),
    );
}

/// No nullable column of core's tables feeds a non-null field.
#[tokio::test]
async fn nullable_columns_feed_only_nullable_fields() {
    let (database, _url) = talentgraph_kit::testing::fresh_database(&talentgraph_core::MIGRATOR)
        .await
        .expect("a fresh core database");
    talentgraph_kit::testing::assert_nullability_agrees(
        &database,
        &talentgraph_core::SUBGRAPH.exported_sdl(),
        &[
            ("users", "User"),
            ("organizations", "Organization"),
            ("skills", "Skill"),
        ],
    )
    .await;
}
