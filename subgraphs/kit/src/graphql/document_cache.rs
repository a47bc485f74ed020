//! Parsed documents kept between requests.
//!
//! A subgraph behind the router sees the same few documents over and over:
//! the router generates one subgraph query per query-plan fetch, and only
//! the variables change between requests. Parsing (async-graphql's pest
//! grammar) was about 6 % of a subgraph's CPU under load, so a document
//! seen before is cloned from this cache instead of parsed again.
//!
//! The cache is keyed by the whole document text, not a hash of it, so two
//! documents can never share an entry. It is bounded two ways: documents
//! over [`LARGEST_CACHED_DOCUMENT_BYTES`] are never kept, and the entries
//! live in two generations of at most `entries_per_generation` each. A
//! lookup that hits the older generation moves the entry into the current
//! one; when the current generation is full it becomes the older one and
//! the previous older one is dropped. Documents in use survive every
//! turnover, while a client sending endless distinct documents only ever
//! churns the cache: it costs a bounded amount of memory and never stops
//! the shapes in steady use from being cached again.
//!
//! Only documents that parsed are kept; a document that fails to parse is
//! parsed (and refused) every time it arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

/// Documents longer than this are parsed every time: the router's
/// subgraph queries are a few hundred bytes to a few KiB.
pub const LARGEST_CACHED_DOCUMENT_BYTES: usize = 16 * 1024;

/// A bounded cache of parsed documents, shared by a subgraph's requests.
#[derive(Clone)]
pub struct DocumentCache {
    entries_per_generation: usize,
    generations: Arc<Mutex<Generations>>,
}

#[derive(Default)]
struct Generations {
    current: HashMap<Arc<str>, ExecutableDocument>,
    older: HashMap<Arc<str>, ExecutableDocument>,
}

impl Generations {
    fn insert(
        &mut self,
        entries_per_generation: usize,
        text: Arc<str>,
        document: ExecutableDocument,
    ) {
        if self.current.len() >= entries_per_generation {
            self.older = std::mem::take(&mut self.current);
        }
        self.current.insert(text, document);
    }
}

/// How a document was obtained, for the tests and the parse counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSource {
    Cache,
    Parser,
}

impl DocumentCache {
    /// A cache holding up to `entries_per_generation` documents per
    /// generation; zero turns caching off.
    pub fn new(entries_per_generation: usize) -> Self {
        Self {
            entries_per_generation,
            generations: Arc::new(Mutex::new(Generations::default())),
        }
    }

    /// The parsed form of `text`: a copy of the cached one, or a fresh parse
    /// that is kept for the next request when it succeeds.
    pub fn parse(
        &self,
        text: &str,
    ) -> Result<(ExecutableDocument, DocumentSource), async_graphql::parser::Error> {
        let cacheable =
            self.entries_per_generation > 0 && text.len() <= LARGEST_CACHED_DOCUMENT_BYTES;
        if cacheable && let Some(document) = self.lookup(text) {
            return Ok((document, DocumentSource::Cache));
        }
        let document = async_graphql::parser::parse_query(text)?;
        if cacheable && let Ok(mut generations) = self.generations.lock() {
            generations.insert(
                self.entries_per_generation,
                Arc::from(text),
                document.clone(),
            );
        }
        Ok((document, DocumentSource::Parser))
    }

    fn lookup(&self, text: &str) -> Option<ExecutableDocument> {
        // A poisoned lock only means another request panicked while it held
        // it; the maps are still consistent, so caching goes on.
        let mut generations = self
            .generations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(document) = generations.current.get(text) {
            return Some(document.clone());
        }
        let (key, document) = generations.older.remove_entry(text)?;
        let copy = document.clone();
        generations.insert(self.entries_per_generation, key, document);
        Some(copy)
    }

    /// How many documents the cache holds now, both generations together.
    pub fn len(&self) -> usize {
        self.generations.lock().map_or(0, |generations| {
            generations.current.len() + generations.older.len()
        })
    }

    /// Whether the cache holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(index: usize) -> String {
        format!("query Q{index} {{ field{index} }}")
    }

    #[test]
    fn a_document_seen_before_comes_from_the_cache_and_equals_a_fresh_parse() {
        let cache = DocumentCache::new(4);
        let text = "query Jobs($first: Int!) { jobs(first: $first) { id ...F } } fragment F on Job { title }";
        let (first, first_source) = cache.parse(text).expect("parses");
        let (second, second_source) = cache.parse(text).expect("parses");
        assert_eq!(first_source, DocumentSource::Parser);
        assert_eq!(second_source, DocumentSource::Cache);
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
    }

    #[test]
    fn zero_entries_parses_every_time() {
        let cache = DocumentCache::new(0);
        for _ in 0..3 {
            assert_eq!(
                cache.parse("{ a }").expect("parses").1,
                DocumentSource::Parser
            );
        }
        assert!(cache.is_empty());
    }

    #[test]
    fn documents_that_fail_to_parse_or_are_too_long_are_not_kept() {
        let cache = DocumentCache::new(4);
        assert!(cache.parse("{ unclosed").is_err());
        let long = format!("{{ a{} }}", "b".repeat(LARGEST_CACHED_DOCUMENT_BYTES));
        cache.parse(&long).expect("parses");
        assert_eq!(
            cache.parse(&long).expect("parses").1,
            DocumentSource::Parser
        );
        assert!(cache.is_empty());
    }

    #[test]
    fn memory_stays_bounded_and_documents_in_use_survive_a_flood() {
        let cache = DocumentCache::new(4);
        let in_use = document(0);
        cache.parse(&in_use).expect("parses");
        for index in 1..1_000 {
            cache.parse(&document(index)).expect("parses");
            // The document in steady use is asked for between the others.
            if index % 3 == 0 {
                assert_eq!(
                    cache.parse(&in_use).expect("parses").1,
                    DocumentSource::Cache,
                    "the document in use was dropped after {index} others"
                );
            }
            assert!(cache.len() <= 8, "two generations of four at most");
        }
    }
}
