//! Composition of the project's subgraphs, and how failures are reported.

use std::path::Path;

use schema_registry::{
    RegistryError, SubgraphInput, SupergraphConfig, compose_from_config, compose_subgraphs,
};

fn repository_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the repository")
}

/// `router/supergraph.graphql` is what composing `router/supergraph.yaml`
/// gives now; a stale file fails with the command that regenerates it.
#[test]
fn committed_supergraph_is_fresh() {
    let config = SupergraphConfig::load(&repository_root().join("router/supergraph.yaml"))
        .expect("the configuration loads");
    let composed = compose_from_config(&config).unwrap_or_else(|error| match error {
        RegistryError::Composition(diagnostics) => {
            panic!(
                "composition failed:\n{}",
                diagnostics
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        }
        other => panic!("{other}"),
    });
    let committed = std::fs::read_to_string(repository_root().join("router/supergraph.graphql"))
        .unwrap_or_default();
    assert!(
        committed == composed.sdl,
        "router/supergraph.graphql is stale. Regenerate it with:\n  \
         cargo run -p schema-registry --bin schema-check -- compose --config router/supergraph.yaml --output router/supergraph.graphql"
    );
    assert!(
        !composed.sdl.contains("requiresScopes")
            && !composed.sdl.contains("specs.apollo.dev/authenticated"),
        "the supergraph must not link features the router refuses to run without a license"
    );
    assert!(
        composed.api_sdl.contains("type Job"),
        "the API schema holds the client-facing types"
    );
    assert!(
        !composed.api_sdl.contains("join__"),
        "the API schema has no join directives"
    );
}

fn subgraph(name: &str, sdl: &str) -> SubgraphInput {
    SubgraphInput {
        name: name.to_owned(),
        routing_url: format!("http://{name}/graphql"),
        sdl: sdl.to_owned(),
    }
}

const LINK: &str = "extend schema @link(url: \"https://specs.apollo.dev/federation/v2.5\", import: [\"@key\", \"@shareable\"])\n";

/// A field defined by two subgraphs without @shareable fails with Apollo's
/// code, naming the subgraphs and the locations in their SDL.
#[test]
fn unshareable_field_reports_code_subgraph_and_location() {
    let first = format!(
        "{LINK}type Query {{ a: Thing }}\ntype Thing @key(fields: \"id\") {{ id: ID!\n  name: String }}\n"
    );
    let second = format!(
        "{LINK}type Query {{ b: Thing }}\ntype Thing @key(fields: \"id\") {{ id: ID!\n  name: String }}\n"
    );
    let error = compose_subgraphs(&[subgraph("first", &first), subgraph("second", &second)])
        .expect_err("must fail");
    let RegistryError::Composition(diagnostics) = error else {
        panic!("expected composition errors, got {error}")
    };
    let diagnostic = diagnostics
        .iter()
        .find(|diagnostic| diagnostic.code == "INVALID_FIELD_SHARING")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert!(
        diagnostic.message.contains("Thing.name"),
        "{}",
        diagnostic.message
    );
    let subgraphs: Vec<&str> = diagnostic
        .locations
        .iter()
        .map(|location| location.subgraph.as_str())
        .collect();
    assert!(
        subgraphs.contains(&"first") && subgraphs.contains(&"second"),
        "{diagnostic}"
    );
    assert!(
        diagnostic
            .locations
            .iter()
            .all(|location| location.line == 4),
        "{diagnostic}"
    );
}

/// SDL that does not parse is reported against its subgraph.
#[test]
fn unparsable_subgraph_is_named() {
    let error =
        compose_subgraphs(&[subgraph("broken", "type Query { a: }")]).expect_err("must fail");
    let RegistryError::Composition(diagnostics) = error else {
        panic!("expected composition errors")
    };
    assert_eq!(diagnostics[0].subgraph.as_deref(), Some("broken"));
}

/// Every page operation in `pages/` validates against the composed API schema.
#[test]
fn every_page_validates_against_the_api_schema() {
    let config = SupergraphConfig::load(&repository_root().join("router/supergraph.yaml"))
        .expect("the configuration loads");
    let composed = compose_from_config(&config).expect("composes");
    let pages = schema_registry::operations::load_operations(&repository_root().join("pages"))
        .expect("reads pages/");
    assert_eq!(pages.len(), 7, "one operation per page in pages/");
    let problems = schema_registry::operations::validate_operations(&composed.api_sdl, &pages)
        .expect("the API schema is valid");
    assert!(problems.is_empty(), "{problems:#?}");

    let actions =
        schema_registry::operations::load_operations(&repository_root().join("operations"))
            .expect("reads operations/");
    assert!(
        actions.len() >= 6,
        "the web client's actions are in operations/"
    );
    let problems = schema_registry::operations::validate_operations(&composed.api_sdl, &actions)
        .expect("the API schema is valid");
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `router/rhai/trusted_documents.rhai` lists exactly the documents of
/// `pages/` and `operations/`, each under its operation name; a stale file
/// fails with the command that regenerates it.
#[test]
fn committed_trusted_documents_are_fresh() {
    let mut documents = Vec::new();
    for directory in ["pages", "operations"] {
        documents.extend(
            schema_registry::operations::load_operations(&repository_root().join(directory))
                .expect("reads the operations"),
        );
    }
    let trusted = schema_registry::trusted_documents::from_operation_documents(&documents)
        .expect("the documents parse");
    assert_eq!(trusted.len(), documents.len(), "one operation per file");
    let module = schema_registry::trusted_documents::rhai_module(&trusted);
    for document in &documents {
        let digest = schema_registry::trusted_documents::document_sha256(&document.source);
        let name = document
            .path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("a file name");
        assert!(
            module.contains(&format!("\"{digest}\" => \"{name}\"")),
            "{} is listed under its operation name",
            document.path.display()
        );
    }
    let committed = std::fs::read_to_string(
        repository_root().join(schema_registry::trusted_documents::COMMITTED_MODULE_PATH),
    )
    .unwrap_or_default();
    assert!(
        committed == module,
        "router/rhai/trusted_documents.rhai is stale. Regenerate it with:\n  \
         cargo run -p schema-registry --bin schema-check -- trusted-documents --operations pages --operations operations --output router/rhai/trusted_documents.rhai"
    );
}

/// An operation naming a field the schema lacks is reported with its file.
#[test]
fn invalid_operations_are_reported() {
    let config = SupergraphConfig::load(&repository_root().join("router/supergraph.yaml"))
        .expect("the configuration loads");
    let composed = compose_from_config(&config).expect("composes");
    let broken = schema_registry::operations::OperationDocument {
        path: "Broken.graphql".into(),
        source: "query Broken { jobs(first: 1) { edges { node { salary } } } }".to_owned(),
    };
    let problems = schema_registry::operations::validate_operations(&composed.api_sdl, &[broken])
        .expect("the API schema is valid");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].message.contains("salary"),
        "{}",
        problems[0].message
    );
}
