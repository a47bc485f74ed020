//! The schema registry server; see `schema_registry::server`.

fn main() -> std::process::ExitCode {
    schema_registry::server::run_main(std::env::args().skip(1).collect())
}
