//! What an operation costs, from its document and variables.

use async_graphql::Variables;
use async_graphql::parser::parse_query;
use async_graphql::parser::types::Selection;

use super::table::{self, KeyBy};
use super::*;

/// The charges of a one-operation document without fragments (the
/// pipeline follows fragments with `graphql::limits::root_fields`).
fn charges_of(query: &str, variables: serde_json::Value) -> Vec<Charge> {
    let document = parse_query(query).expect("a valid document");
    let (_, operation) = document.operations.iter().next().expect("one operation");
    let fields: Vec<_> = operation
        .node
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|selection| match &selection.node {
            Selection::Field(field) => Some(field),
            _ => None,
        })
        .collect();
    charges(operation.node.ty, &fields, &Variables::from_json(variables))
}

#[test]
fn the_routers_entity_fetches_cost_nothing() {
    let fetch = "query($representations: [_Any!]!) { _entities(representations: $representations) { __typename } }";
    assert!(charges_of(fetch, serde_json::json!({ "representations": [] })).is_empty());
    assert!(charges_of("{ _service { sdl } }", serde_json::json!({})).is_empty());
}

#[test]
fn a_query_is_one_page_read_however_many_root_fields() {
    let charges = charges_of(
        "{ jobs { totalCount } me { id } a: jobs { totalCount } }",
        serde_json::json!({}),
    );
    assert_eq!(
        charges,
        vec![Charge {
            class: table::PAGE_READS,
            organization: None
        }]
    );
}

#[test]
fn each_root_mutation_field_costs_its_class_aliases_too() {
    let charges = charges_of(
        "mutation { a: applyToJob(jobId: \"x\") { id } b: applyToJob(jobId: \"y\") { id } signUp(input: {}) { id } }",
        serde_json::json!({}),
    );
    let names: Vec<&str> = charges.iter().map(|charge| charge.class.name).collect();
    assert_eq!(names, ["applications", "applications", "account_creation"]);
    assert_eq!(table::mutation_class("somethingNew"), table::OTHER_WRITES);
}

#[test]
fn the_organization_comes_from_the_arguments_or_the_input_through_variables() {
    let organization = uuid::Uuid::new_v4();
    let by_input = charges_of(
        "mutation($input: PostJobInput!) { postJob(input: $input) { id } }",
        serde_json::json!({ "input": { "organizationId": organization.to_string(), "title": "t" } }),
    );
    assert_eq!(by_input[0].class.key_by, KeyBy::OrganizationActedFor);
    assert_eq!(by_input[0].organization, Some(organization));
    let by_argument = charges_of(
        &format!(
            "mutation {{ changePlan(organizationId: \"{organization}\", plan: PRO) {{ plan }} }}"
        ),
        serde_json::json!({}),
    );
    assert_eq!(by_argument[0].organization, Some(organization));
    let not_an_id = charges_of(
        "mutation { changePlan(organizationId: \"../../etc\", plan: PRO) { plan } }",
        serde_json::json!({}),
    );
    assert_eq!(not_an_id[0].organization, None);
}
