//! The committed federation SDL matches what the code exports, and the
//! database agrees with it on which fields can be null.

/// `subgraphs/payment/schema.graphql` is fresh.
#[test]
fn committed_schema_is_fresh() {
    talentgraph_kit::testing::assert_committed_schema(
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_PKG_NAME"),
        &talentgraph_payment::SUBGRAPH.exported_sdl(),
    );
}

/// No nullable column of payment's tables feeds a non-null field.
#[tokio::test]
async fn nullable_columns_feed_only_nullable_fields() {
    let (database, _url) = talentgraph_kit::testing::fresh_database(&talentgraph_payment::MIGRATOR)
        .await
        .expect("a fresh payment database");
    talentgraph_kit::testing::assert_nullability_agrees(
        &database,
        &talentgraph_payment::SUBGRAPH.exported_sdl(),
        &[
            ("invoices", "Invoice"),
            ("plans", "Plan"),
            ("job_promotions", "JobPromotion"),
            ("subscriptions", "Billing"),
        ],
    )
    .await;
}
