//! Parsed documents kept between requests.
//!
//! A subgraph behind the router sees the same few documents over and over:
//! the router generates one subgraph query per query-plan fetch, and only
//! the variables change between requests. Parsing (async-graphql's pest
//! grammar) was about 6 % of a subgraph's CPU under load, so a document
//! seen before is cloned from this cache instead of parsed again.
//!
//! The cache is a [`GenerationalCache`] keyed by the whole document text,
//! so two documents can never share an entry, and a client sending endless
//! distinct documents costs a bounded amount of memory without stopping the
//! shapes in steady use from being cached. Documents over
//! [`LARGEST_CACHED_DOCUMENT_BYTES`] are never kept.
//!
//! Only documents that parsed are kept; a document that fails to parse is
//! parsed (and refused) every time it arrives.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;

use crate::generational_cache::GenerationalCache;

/// Documents longer than this are parsed every time: the router's
/// subgraph queries are a few hundred bytes to a few KiB.
pub const LARGEST_CACHED_DOCUMENT_BYTES: usize = 16 * 1024;

/// A bounded cache of parsed documents, shared by a subgraph's requests.
#[derive(Clone)]
pub struct DocumentCache {
    documents: Arc<GenerationalCache<ExecutableDocument>>,
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
            documents: Arc::new(GenerationalCache::new(entries_per_generation)),
        }
    }

    /// The parsed form of `text`: a copy of the cached one, or a fresh parse
    /// that is kept for the next request when it succeeds.
    pub fn parse(
        &self,
        text: &str,
    ) -> Result<(ExecutableDocument, DocumentSource), async_graphql::parser::Error> {
        let cacheable = self.documents.is_enabled() && text.len() <= LARGEST_CACHED_DOCUMENT_BYTES;
        if cacheable && let Some(document) = self.documents.get(text) {
            return Ok((document, DocumentSource::Cache));
        }
        let document = async_graphql::parser::parse_query(text)?;
        if cacheable {
            self.documents.insert(text, document.clone());
        }
        Ok((document, DocumentSource::Parser))
    }

    /// How many documents the cache holds now, both generations together.
    pub fn len(&self) -> usize {
        self.documents.len()
    }

    /// Whether the cache holds no document.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
