//! The one list of Talentgraph's subgraphs.
//!
//! Everything that runs all of them — the dev stack, the end-to-end test
//! harness, schema export — iterates this list, so a seventh subgraph is
//! its own crate plus one line here (and its entry in
//! `router/supergraph.yaml`, which a test checks against this list).

use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::Subgraph;

/// Every subgraph, in port order (4001–4006).
pub static SUBGRAPHS: [&Subgraph<DemoWorld>; 6] = [
    &talentgraph_core::SUBGRAPH,
    &talentgraph_auth::SUBGRAPH,
    &talentgraph_jobseeker::SUBGRAPH,
    &talentgraph_employer::SUBGRAPH,
    &talentgraph_payment::SUBGRAPH,
    &talentgraph_internship::SUBGRAPH,
];

/// The subgraph called `name`, if there is one.
pub fn subgraph_named(name: &str) -> Option<&'static Subgraph<DemoWorld>> {
    SUBGRAPHS
        .iter()
        .copied()
        .find(|subgraph| subgraph.name == name)
}

/// Every configuration variable a subgraph process may read: the
/// platform's, then each subgraph's own domain's, in list order.
pub fn configuration_variables() -> Vec<talentgraph_kit::config::VariableDoc> {
    let mut variables: Vec<talentgraph_kit::config::VariableDoc> =
        talentgraph_kit::config::Variable::ALL
            .iter()
            .map(|variable| variable.doc())
            .collect();
    for subgraph in SUBGRAPHS {
        for variable in subgraph.variables() {
            if !variables.contains(&variable) {
                variables.push(variable);
            }
        }
    }
    variables
}

#[cfg(test)]
mod tests {
    use super::{SUBGRAPHS, configuration_variables};

    /// The README's configuration table is the one the code declares:
    /// every variable a subgraph reads is documented, with its default,
    /// and nothing documented is unread.
    #[test]
    fn the_readme_documents_every_variable() {
        talentgraph_kit::testing::assert_readme_table(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
            "| variable | default | meaning |",
            &talentgraph_kit::config::markdown_table(configuration_variables()),
        );
    }

    /// The README's table of rate-limit classes is the kit's table.
    #[test]
    fn the_readme_documents_every_rate_limit() {
        talentgraph_kit::testing::assert_readme_table(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
            "| class | limit | window | key | operations |",
            &talentgraph_kit::rate_limits::table::markdown(),
        );
    }

    /// No two variables share a name, within or across crates.
    #[test]
    fn variable_names_are_distinct() {
        let variables = configuration_variables();
        let mut names: Vec<&str> = variables.iter().map(|variable| variable.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), variables.len());
    }

    /// Names and ports are what the router and the deployment files key on.
    #[test]
    fn names_and_ports_are_distinct_and_in_port_order() {
        let ports: Vec<u16> = SUBGRAPHS
            .iter()
            .map(|subgraph| subgraph.default_port)
            .collect();
        assert_eq!(ports, vec![4001, 4002, 4003, 4004, 4005, 4006]);
        let mut names: Vec<&str> = SUBGRAPHS.iter().map(|subgraph| subgraph.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SUBGRAPHS.len());
    }
}
