//! `cargo run -p devstack -- [up|seed|export-schemas]`: see `devstack::Command`.

fn main() -> std::process::ExitCode {
    devstack::main_with_args(std::env::args().skip(1).collect())
}
