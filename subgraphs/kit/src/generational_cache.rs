//! A bounded map from text to a value, shared by a process's requests.
//!
//! Two caches use it: parsed GraphQL documents (`graphql::document_cache`)
//! and verified access tokens (`tokens`). Both see a few keys over and over
//! (the router's few subgraph queries; the tokens of the users active right
//! now) among keys a client may vary at will, so the cache must keep the
//! keys in steady use while a flood of new ones costs only bounded memory.
//!
//! Entries live in two generations of at most `entries_per_generation`
//! each. A lookup that hits the older generation moves the entry into the
//! current one; when the current generation is full it becomes the older
//! one and the previous older one is dropped. Keys in use survive every
//! turnover, while endless distinct keys only churn the cache.
//!
//! Keys are whole texts, never hashes of them, so two different texts can
//! never share an entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A bounded cache; zero entries per generation keeps nothing.
pub struct GenerationalCache<Value> {
    entries_per_generation: usize,
    generations: Mutex<Generations<Value>>,
}

struct Generations<Value> {
    current: HashMap<Arc<str>, Value>,
    older: HashMap<Arc<str>, Value>,
}

impl<Value> Generations<Value> {
    fn insert(&mut self, entries_per_generation: usize, key: Arc<str>, value: Value) {
        if self.current.len() >= entries_per_generation {
            self.older = std::mem::take(&mut self.current);
        }
        self.current.insert(key, value);
    }
}

impl<Value: Clone> GenerationalCache<Value> {
    pub fn new(entries_per_generation: usize) -> Self {
        Self {
            entries_per_generation,
            generations: Mutex::new(Generations {
                current: HashMap::new(),
                older: HashMap::new(),
            }),
        }
    }

    /// Whether the cache keeps anything at all.
    pub fn is_enabled(&self) -> bool {
        self.entries_per_generation > 0
    }

    /// A copy of the value kept for `key`, if any.
    pub fn get(&self, key: &str) -> Option<Value> {
        if !self.is_enabled() {
            return None;
        }
        // A poisoned lock only means another request panicked while it held
        // it; the maps are still consistent, so caching goes on.
        let mut generations = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = generations.current.get(key) {
            return Some(value.clone());
        }
        let (key, value) = generations.older.remove_entry(key)?;
        let copy = value.clone();
        generations.insert(self.entries_per_generation, key, value);
        Some(copy)
    }

    /// Keeps `value` for `key`, replacing what was kept for it.
    pub fn insert(&self, key: &str, value: Value) {
        if !self.is_enabled() {
            return;
        }
        let mut generations = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        generations.older.remove(key);
        generations.insert(self.entries_per_generation, Arc::from(key), value);
    }

    /// Drops what is kept for `key`.
    pub fn remove(&self, key: &str) {
        let mut generations = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        generations.current.remove(key);
        generations.older.remove(key);
    }

    /// How many entries the cache holds now, both generations together.
    pub fn len(&self) -> usize {
        let generations = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        generations.current.len() + generations.older.len()
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_entries_keeps_nothing() {
        let cache = GenerationalCache::new(0);
        cache.insert("a", 1);
        assert_eq!(cache.get("a"), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_key_in_use_survives_a_flood_and_memory_stays_bounded() {
        let cache = GenerationalCache::new(4);
        cache.insert("in use", 0);
        for index in 1..1_000 {
            cache.insert(&format!("key {index}"), index);
            // The key in steady use is asked for between the others.
            if index % 3 == 0 {
                assert_eq!(
                    cache.get("in use"),
                    Some(0),
                    "the key in use was dropped after {index} others"
                );
            }
            assert!(cache.len() <= 8, "two generations of four at most");
        }
    }

    #[test]
    fn a_replaced_or_removed_key_answers_its_new_state() {
        let cache = GenerationalCache::new(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        // "a" is now in the older generation; replacing it must not leave
        // the old value behind to be promoted later.
        cache.insert("c", 3);
        cache.insert("a", 10);
        assert_eq!(cache.get("a"), Some(10));
        cache.remove("a");
        assert_eq!(cache.get("a"), None);
    }
}
