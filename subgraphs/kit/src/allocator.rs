//! The heap allocator of every process that links the kit: the six subgraph
//! binaries, the dev stack that runs them in one process, and the tests.
//!
//! A subgraph allocates about a thousand times per fetch: async-graphql
//! builds each response as a tree of maps and strings, one boxed future
//! per field, and the JSON it writes. Most of those blocks live for one
//! request, so what an allocator costs here is mostly whether the block it
//! hands out is still in the CPU's cache.
//!
//! jemalloc (through `tikv-jemallocator`) answers a request from a per-thread
//! cache that gives back the block of that size freed last, which is
//! usually still cached. mimalloc, the allocator before it, executed fewer
//! instructions per fetch (counted with callgrind, see `docs/performance.md`),
//! but it hands out a page's free blocks in turn and takes the blocks freed
//! since only when that list is empty, so under load, with the router and
//! PostgreSQL sharing the cores, the block it popped had often left the
//! cache: in a profile of the dev stack at 32 connections, 10.8 % of the
//! process's samples sat on the one load in mimalloc's allocation path that
//! reads the popped block, and mimalloc's functions 16 % in all, against
//! 6.5 % for jemalloc's. Timed through the router in two runs, every
//! start on jemalloc spent less subgraph CPU per page, relative to the
//! router's, than every start on mimalloc at the same number of
//! connections (0.52–0.56× against 0.55–0.63×).
//!
//! It is declared here, not in each binary's `main.rs`, so that no binary
//! that links the kit can run on another allocator by omission: a second
//! `#[global_allocator]` anywhere in the same binary does not compile.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
