//! Runs the jobseeker subgraph. Configuration: see `talentgraph_kit::SubgraphConfig`.

fn main() -> std::process::ExitCode {
    talentgraph_kit::run_subgraph_main(&talentgraph_jobseeker::SUBGRAPH)
}
