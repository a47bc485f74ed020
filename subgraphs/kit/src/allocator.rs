//! The heap allocator of every process that links the kit: the six subgraph
//! binaries, the dev stack that runs them in one process, and the tests.
//!
//! A subgraph allocates about a thousand times per fetch: async-graphql
//! builds each response as a tree of maps and strings, one boxed future
//! per field, and the JSON it writes. Counted with callgrind (the same 200
//! fetches of JobSearchPage's three subgraph requests, one build with
//! glibc's malloc and one with mimalloc, see `tests/README.md`), mimalloc
//! executed 20 to 22 % fewer instructions per fetch for the same
//! allocations: glibc's allocator ran 29 % of employer's instructions,
//! mimalloc 13 %. Timed, the difference was inside this machine's spread
//! between two starts of one build. Why mimalloc is called through
//! `talentgraph-allocator` and not the `mimalloc` crate is in that crate.
//!
//! It is declared here, not in each binary's `main.rs`, so that no binary
//! that links the kit can run on another allocator by omission: a second
//! `#[global_allocator]` anywhere in the same binary does not compile.

#[global_allocator]
static ALLOCATOR: talentgraph_allocator::MimallocGlobalAllocator =
    talentgraph_allocator::MimallocGlobalAllocator;
