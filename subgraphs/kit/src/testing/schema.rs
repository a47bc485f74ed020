//! The committed SDL, and the agreement between the schema and the
//! database it reads.

use std::path::Path;

use crate::database::Database;

/// Fails when the committed `schema.graphql` differs from what the code
/// exports, printing the command that regenerates it. With
/// `UPDATE_SCHEMAS=1` it writes the file instead.
pub fn assert_committed_schema(crate_directory: &str, package: &str, exported: &str) {
    let path = Path::new(crate_directory).join("schema.graphql");
    if std::env::var("UPDATE_SCHEMAS").as_deref() == Ok("1") {
        std::fs::write(&path, exported).expect("writes schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == exported,
        "{} is stale: the code exports a different schema.\n\
         Regenerate it with:  UPDATE_SCHEMAS=1 cargo test -p {package} --test schema\n\
         (or for every subgraph: cargo run -p devstack -- export-schemas)",
        path.display()
    );
}

/// One disagreement between a table column and the GraphQL field it feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullabilityMismatch {
    pub table: String,
    pub column: String,
    pub graphql_type: String,
    pub field: String,
}

impl std::fmt::Display for NullabilityMismatch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}.{} is nullable but feeds the non-null field {}.{}: a NULL would fail the whole parent object",
            self.table, self.column, self.graphql_type, self.field
        )
    }
}

/// The field a column feeds: `display_name` feeds `displayName`.
fn field_name_of_column(column: &str) -> String {
    let mut field = String::with_capacity(column.len());
    let mut upper_next = false;
    for character in column.chars() {
        if character == '_' {
            upper_next = true;
        } else if upper_next {
            field.extend(character.to_uppercase());
            upper_next = false;
        } else {
            field.push(character);
        }
    }
    field
}

/// The non-null-ness of each field of object type `type_name` in `sdl`
/// (`None` when the SDL has no such object type).
fn field_nullability(sdl: &str, type_name: &str) -> Option<Vec<(String, bool)>> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(sdl).ok()?;
    document.definitions.iter().find_map(|definition| {
        let TypeSystemDefinition::Type(definition) = definition else {
            return None;
        };
        let definition = &definition.node;
        if definition.name.node.as_str() != type_name {
            return None;
        }
        let TypeKind::Object(object) = &definition.kind else {
            return None;
        };
        Some(
            object
                .fields
                .iter()
                .map(|field| {
                    let field = &field.node;
                    (field.name.node.to_string(), !field.ty.node.nullable)
                })
                .collect(),
        )
    })
}

/// Compares columns (name, nullable) of `table` with the fields of
/// `graphql_type` in `sdl`. Returns the mismatches, and how many columns fed
/// a field at all (so a caller can tell a real check from a vacuous one).
pub fn nullability_mismatches(
    table: &str,
    columns: &[(String, bool)],
    sdl: &str,
    graphql_type: &str,
) -> Result<(Vec<NullabilityMismatch>, usize), String> {
    let fields = field_nullability(sdl, graphql_type)
        .ok_or_else(|| format!("the SDL has no object type {graphql_type}"))?;
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for (column, column_nullable) in columns {
        let field_name = field_name_of_column(column);
        let Some((_, field_non_null)) = fields.iter().find(|(name, _)| *name == field_name) else {
            continue;
        };
        compared += 1;
        if *column_nullable && *field_non_null {
            mismatches.push(NullabilityMismatch {
                table: table.to_owned(),
                column: column.clone(),
                graphql_type: graphql_type.to_owned(),
                field: field_name,
            });
        }
    }
    Ok((mismatches, compared))
}

/// Fails when a nullable column feeds a non-null GraphQL field, for each
/// `(table, GraphQL object type)` pair, reading the columns from
/// `information_schema` after the migrations ran.
///
/// No federation tool checks this: the SDL composes, and the first NULL in
/// such a column turns into a runtime error that nulls the whole parent
/// object (or the whole response, up to the nearest nullable field). A
/// column feeds the field of the same name in camelCase; fields computed
/// from several columns (a salary range) are nullable by design and not
/// compared. Each pair must compare at least one column, so a renamed
/// table or type cannot make the check pass by matching nothing.
pub async fn assert_nullability_agrees(database: &Database, sdl: &str, pairs: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (table, graphql_type) in pairs {
        let columns: Vec<(String, bool)> = database
            .fetch_all(
                sqlx::query_as::<_, (String, String)>(
                    "SELECT column_name::text, is_nullable::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(*table),
            )
            .await
            .unwrap_or_else(|error| panic!("reading the columns of {table}: {}", error.detail()))
            .into_iter()
            .map(|(name, nullable)| (name, nullable == "YES"))
            .collect();
        assert!(!columns.is_empty(), "the database has no table {table}");
        let (mismatches, compared) = nullability_mismatches(table, &columns, sdl, graphql_type)
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(
            compared > 0,
            "no column of {table} feeds a field of {graphql_type}: is the pair right?"
        );
        failures.extend(mismatches);
    }
    assert!(
        failures.is_empty(),
        "schema and database disagree:\n{}",
        failures
            .iter()
            .map(|failure| format!("  - {failure}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Fails when the README's Markdown table that starts with the line
/// `header` is not `expected` (a table the code renders from its own
/// declarations), printing the table to paste. With `UPDATE_README=1` it
/// rewrites the table instead.
pub fn assert_readme_table(readme: &Path, header: &str, expected: &str) {
    let text = std::fs::read_to_string(readme).expect("reads the README");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with(header))
        .unwrap_or_else(|| panic!("the README has no table starting with {header:?}"));
    let end = start
        + lines[start..]
            .iter()
            .position(|line| !line.starts_with('|'))
            .unwrap_or(lines.len() - start);
    let documented = lines[start..end].join("\n") + "\n";
    if documented == expected {
        return;
    }
    if std::env::var("UPDATE_README").as_deref() == Ok("1") {
        let mut updated: Vec<&str> = lines[..start].to_vec();
        updated.extend(expected.lines());
        updated.extend(&lines[end..]);
        std::fs::write(readme, updated.join("\n") + "\n").expect("writes the README");
        return;
    }
    panic!(
        "the README's table {header:?} is not what the code declares; \
         rerun with UPDATE_README=1 or paste:\n{expected}"
    );
}

#[cfg(test)]
mod tests {
    use super::{field_name_of_column, nullability_mismatches};

    const SDL: &str = "type Job { id: ID! title: String! location: String salaryRange: SalaryRange }\n\
                       type SalaryRange { min: Int }";

    #[test]
    fn a_nullable_column_under_a_non_null_field_is_reported() {
        let columns = vec![
            ("id".to_owned(), false),
            ("title".to_owned(), true),
            ("location".to_owned(), true),
            ("salary_min".to_owned(), true),
        ];
        let (mismatches, compared) = nullability_mismatches("jobs", &columns, SDL, "Job").unwrap();
        assert_eq!(
            compared, 3,
            "id, title and location feed fields; salary_min does not"
        );
        assert_eq!(mismatches.len(), 1);
        assert_eq!(mismatches[0].column, "title");
        assert_eq!(mismatches[0].field, "title");
    }

    #[test]
    fn agreeing_columns_pass_and_an_unknown_type_is_an_error() {
        let columns = vec![("id".to_owned(), false), ("title".to_owned(), false)];
        let (mismatches, _) = nullability_mismatches("jobs", &columns, SDL, "Job").unwrap();
        assert!(mismatches.is_empty());
        assert!(nullability_mismatches("jobs", &columns, SDL, "Nothing").is_err());
    }

    #[test]
    fn columns_map_to_camel_case_fields() {
        assert_eq!(field_name_of_column("display_name"), "displayName");
        assert_eq!(field_name_of_column("id"), "id");
        assert_eq!(
            field_name_of_column("current_period_end"),
            "currentPeriodEnd"
        );
    }
}
