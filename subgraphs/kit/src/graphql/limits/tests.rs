//! Tests of the document checks.

use super::*;

fn check(document: &str, variables: serde_json::Value) -> Result<(), ServerError> {
    let parsed = async_graphql::parser::parse_query(document).expect("a valid document");
    let operation = select_operation(&parsed, None)?;
    check_operation(
        &parsed,
        operation,
        &Variables::from_json(variables),
        &LimitsConfig::default(),
    )
}

fn code(result: Result<(), ServerError>) -> Option<String> {
    result.err().and_then(|error| {
        match error
            .extensions
            .and_then(|extensions| extensions.get("code").cloned())
        {
            Some(Value::String(code)) => Some(code),
            _ => None,
        }
    })
}

/// The representation limit reads the list's length from a provided
/// variable and from a declared default, as it does from a literal:
/// the walk borrows a variable's value rather than copying it, and that
/// must not lose either source.
#[test]
fn representations_in_a_variable_or_its_default_are_counted() {
    let limit = LimitsConfig::default().max_representations;
    let representations = |count: usize| -> Vec<serde_json::Value> {
        (0..count)
            .map(|index| serde_json::json!({ "__typename": "Job", "id": index.to_string() }))
            .collect()
    };
    let by_variable = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }";
    assert_eq!(
        code(check(
            by_variable,
            serde_json::json!({ "r": representations(limit + 1) })
        )),
        Some("REPRESENTATION_LIMIT_EXCEEDED".to_owned())
    );
    assert_eq!(
        code(check(
            by_variable,
            serde_json::json!({ "r": representations(limit) })
        )),
        None
    );
    let too_many_by_default = format!(
        "query($r: [_Any!]! = [{}]) {{ _entities(representations: $r) {{ __typename }} }}",
        vec!["{ __typename: \"Job\", id: \"1\" }"; limit + 1].join(", ")
    );
    assert_eq!(
        code(check(&too_many_by_default, serde_json::json!({}))),
        Some("REPRESENTATION_LIMIT_EXCEEDED".to_owned())
    );
}

/// `{ ...F0 }` with each of `fragments` fragments spreading the next
/// `spreads` times, the last one ending in `leaf`.
fn fan_out(fragments: usize, spreads: usize, leaf: &str) -> String {
    let mut document = String::from("query FanOut { ...F0 }");
    for index in 0..fragments {
        let body = if index + 1 == fragments {
            leaf.to_owned()
        } else {
            vec![format!("...F{}", index + 1); spreads].join(" ")
        };
        document.push_str(&format!(" fragment F{index} on Query {{ {body} }}"));
    }
    document
}

/// Wide (7 × 40, about 10^11 selections), deep (nested fields inside
/// each fragment) and mixed (inline fragments between spreads) fan-out
/// shapes stop at the selection budget; the walk's work is bounded by
/// the budget, not by the expansion.
#[test]
fn fragment_fan_out_stops_at_the_selection_budget() {
    let wide = fan_out(7, 40, "__typename");
    let deep = fan_out(5, 12, "organizations { edges { node { id name slug } } }");
    let mut mixed = String::from("query Mixed { ...F0 }");
    for index in 0..6 {
        mixed.push_str(&format!(
            " fragment F{index} on Query {{ {} }}",
            vec![format!("... on Query {{ ...F{} }}", index + 1); 15].join(" ")
        ));
    }
    mixed.push_str(" fragment F6 on Query { __typename }");
    for (shape, document) in [("wide", wide), ("deep", deep), ("mixed", mixed)] {
        let started = std::time::Instant::now();
        assert_eq!(
            code(check(&document, serde_json::json!({}))).as_deref(),
            Some("SELECTION_LIMIT_EXCEEDED"),
            "{shape}"
        );
        eprintln!("{shape} fan-out refused in {:?}", started.elapsed());
    }
    // A document within the budget passes: 3 fragments × 10 spreads.
    assert!(check(&fan_out(3, 10, "__typename"), serde_json::json!({})).is_ok());
}

/// `count` Organization representations, all distinct or all the same.
fn organization_representations(count: usize, distinct: bool) -> Vec<serde_json::Value> {
    (0..count)
        .map(|index| {
            serde_json::json!({
                "__typename": "Organization",
                "id": if distinct { index.to_string() } else { "1".to_owned() },
            })
        })
        .collect()
}

/// `_entities` carries at most the configured number of
/// representations, as a literal or a variable, identical ones counted.
#[test]
fn representations_are_capped() {
    let document = "query Entities($r: [_Any!]!) { _entities(representations: $r) { __typename } }";
    assert!(
        check(
            document,
            serde_json::json!({ "r": organization_representations(1_000, true) })
        )
        .is_ok()
    );
    for distinct in [true, false] {
        assert_eq!(
            code(check(
                document,
                serde_json::json!({ "r": organization_representations(1_001, distinct) })
            ))
            .as_deref(),
            Some("REPRESENTATION_LIMIT_EXCEEDED")
        );
        assert_eq!(
            code(check(
                document,
                serde_json::json!({ "r": organization_representations(3_000, distinct) })
            ))
            .as_deref(),
            Some("REPRESENTATION_LIMIT_EXCEEDED")
        );
    }
    let literal = format!(
        "{{ _entities(representations: [{}]) {{ __typename }} }}",
        vec!["{ __typename: \"Organization\", id: \"1\" }"; 1_001].join(", ")
    );
    assert_eq!(
        code(check(&literal, serde_json::json!({}))).as_deref(),
        Some("REPRESENTATION_LIMIT_EXCEEDED")
    );
}

/// Each representation pays for its selection, nested pages at their
/// size: 1,000 representations of a flat selection pass, but 100 with
/// a `first: 100` page each (about 30,000) exceed the complexity limit,
/// as do 1,000 identical ones.
#[test]
fn representations_pay_for_their_selection() {
    let flat = "query E($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { id name } } }";
    assert!(
        check(
            flat,
            serde_json::json!({ "r": organization_representations(1_000, true) })
        )
        .is_ok()
    );
    let nested = "query E($r: [_Any!]!) { _entities(representations: $r) { ... on Organization { jobs(first: 100) { edges { node { id title } } } } } }";
    assert!(
        check(
            nested,
            serde_json::json!({ "r": organization_representations(1, true) })
        )
        .is_ok()
    );
    for distinct in [true, false] {
        assert_eq!(
            code(check(
                nested,
                serde_json::json!({ "r": organization_representations(100, distinct) })
            ))
            .as_deref(),
            Some("COMPLEXITY_LIMIT_EXCEEDED")
        );
    }
    assert_eq!(
        code(check(
            flat,
            serde_json::json!({ "r": organization_representations(1_000, false) })
        ))
        .as_deref(),
        None,
        "identical flat representations are as cheap as distinct ones"
    );
}

/// A variable left out of the request takes its declared default, and
/// the default is checked like a sent value.
#[test]
fn variable_defaults_are_checked() {
    let first = "query Page($f: Int = 101) { organizations(first: $f) { edges { cursor } } }";
    assert_eq!(
        code(check(first, serde_json::json!({}))).as_deref(),
        Some("PAGE_SIZE_EXCEEDED")
    );
    assert!(check(first, serde_json::json!({ "f": 10 })).is_ok());
    let ids = format!(
        "query Users($ids: [ID!]! = [{}]) {{ users(ids: $ids) {{ id }} }}",
        (0..5_000)
            .map(|index| format!("\"{index}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(
        code(check(&ids, serde_json::json!({}))).as_deref(),
        Some("PAGE_SIZE_EXCEEDED")
    );
}
