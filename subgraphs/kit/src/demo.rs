//! Domain-free helpers for deterministic demo data.
//!
//! Every subgraph seeds its own tables, yet the data must agree across
//! databases (an application in jobseeker names a job that exists in
//! employer). Ids are therefore derived, not random: the same kind and
//! index give the same UUID in every process, and a seeded generator gives
//! the same choices on every run, so seeding twice changes nothing.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// The namespace for demo-data UUIDs (a fixed, arbitrary v4 UUID).
const DEMO_NAMESPACE: Uuid = Uuid::from_u128(0x5f1d_8a0c_3b2e_4c71_9d6a_2e8f_4b13_a7c9);

/// The stable UUID of the `index`-th demo record of `kind`.
pub fn demo_id(kind: &str, index: u64) -> Uuid {
    Uuid::new_v5(&DEMO_NAMESPACE, format!("{kind}:{index}").as_bytes())
}

/// A random generator that yields the same sequence for the same `stream`.
pub fn demo_rng(stream: &str) -> ChaCha8Rng {
    let seed = Uuid::new_v5(&DEMO_NAMESPACE, stream.as_bytes());
    let mut bytes = [0_u8; 32];
    bytes[..16].copy_from_slice(seed.as_bytes());
    bytes[16..].copy_from_slice(seed.as_bytes());
    ChaCha8Rng::from_seed(bytes)
}
