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

#[cfg(test)]
mod tests {
    use super::SUBGRAPHS;

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
