//! The committed federation SDL matches what the code exports.

/// `subgraphs/internship/schema.graphql` is fresh.
#[test]
fn committed_schema_is_fresh() {
    talentgraph_kit::testing::assert_committed_schema(
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_PKG_NAME"),
        &talentgraph_internship::SUBGRAPH.exported_sdl(),
    );
}
