//! `cargo run -p devstack -- [up|seed|export-schemas]`: see `devstack::Command`.

// glibc's allocator serves the stack. The `mimalloc` feature builds the dev
// stack with mimalloc instead, only to measure the two against each other:
// profiled under load, mimalloc took the same share of the subgraphs' CPU
// as glibc's malloc (tests/README.md, "Pages under load"), so it is not
// the default.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    devstack::main_with_args(std::env::args().skip(1).collect())
}
