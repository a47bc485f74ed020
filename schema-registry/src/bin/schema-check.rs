//! `schema-check`: the schema governance command line. See `schema_registry::cli`.

fn main() -> std::process::ExitCode {
    schema_registry::cli::run(std::env::args().skip(1).collect())
}
