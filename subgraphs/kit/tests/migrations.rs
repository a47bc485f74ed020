//! Migrations during a rolling deploy: the new build's migration runs while
//! the old build serves, so an old replica that starts afterwards (a
//! restart, a rollback) must accept a database one migration ahead of it.
//! A migration whose text changed after it ran is still refused.

use std::path::Path;

use sqlx::migrate::Migrator;
use talentgraph_kit::testing::fresh_database;

const CREATE: &str = "CREATE TABLE notes (id bigint PRIMARY KEY);";
const EXPAND: &str = "ALTER TABLE notes ADD COLUMN body text;";

/// A migrator read from a directory holding `files` (name, SQL).
async fn migrator(directory: &Path, files: &[(&str, &str)]) -> Migrator {
    std::fs::create_dir_all(directory).expect("creates the migrations directory");
    for (name, sql) in files {
        std::fs::write(directory.join(name), sql).expect("writes a migration");
    }
    Migrator::new(directory)
        .await
        .expect("reads the migrations")
}

#[tokio::test]
async fn an_old_build_starts_against_a_database_a_newer_build_migrated() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let old_build = migrator(
        &directory.path().join("old"),
        &[("1_create_notes.sql", CREATE)],
    )
    .await;
    let new_build = migrator(
        &directory.path().join("new"),
        &[("1_create_notes.sql", CREATE), ("2_note_body.sql", EXPAND)],
    )
    .await;
    let (database, _) = fresh_database(&old_build).await.expect("a database");

    database
        .run_migrations(&new_build)
        .await
        .expect("the new build migrates");
    database
        .run_migrations(&old_build)
        .await
        .expect("the old build starts although the database has a migration it lacks");

    let applied: i64 = database
        .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations"))
        .await
        .expect("reads the applied migrations");
    assert_eq!(applied, 2);
}

#[tokio::test]
async fn a_migration_changed_after_it_ran_is_refused() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let original = migrator(
        &directory.path().join("original"),
        &[("1_create_notes.sql", CREATE)],
    )
    .await;
    let edited = migrator(
        &directory.path().join("edited"),
        &[(
            "1_create_notes.sql",
            "CREATE TABLE notes (id bigint PRIMARY KEY, extra text);",
        )],
    )
    .await;
    let (database, _) = fresh_database(&original).await.expect("a database");

    let refused = database.run_migrations(&edited).await;
    assert!(
        matches!(
            refused,
            Err(sqlx::migrate::MigrateError::VersionMismatch(1))
        ),
        "an edited migration must be refused: {refused:?}"
    );
}
