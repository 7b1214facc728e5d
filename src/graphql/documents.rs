//! Parsed GraphQL documents kept by query text: clients send the same few queries with different
//! variables, and parsing took a third of a small operation's time.

use std::{collections::HashMap, sync::RwLock};

use async_graphql::{Request, parser::types::ExecutableDocument};

/// Most documents kept; when full the cache starts over, so a client sending endless distinct
/// queries costs memory no more than this and costs the others only their parse.
const CAPACITY: usize = 256;
/// Longer queries are parsed every time rather than kept.
const MAX_QUERY_BYTES: usize = 8 * 1024;

#[derive(Default)]
pub struct DocumentCache {
    by_query: RwLock<HashMap<String, ExecutableDocument>>,
}

impl DocumentCache {
    /// Gives the request its parsed document, from the cache or parsed now and kept. A query
    /// that does not parse is left alone: the executor parses it again and reports the error.
    /// Validation still runs on every request, because it depends on the variables.
    pub fn attach(&self, request: &mut Request) {
        if request.query.len() > MAX_QUERY_BYTES {
            return;
        }
        let cached = self.by_query.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&request.query).cloned();
        if let Some(document) = cached {
            request.set_parsed_query(document);
            return;
        }
        let Ok(document) = request.parsed_query() else {
            return;
        };
        let document = document.clone();
        let mut by_query = self.by_query.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if by_query.len() >= CAPACITY {
            by_query.clear();
        }
        by_query.insert(request.query.clone(), document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl DocumentCache {
        fn len(&self) -> usize {
            self.by_query.read().unwrap().len()
        }
    }

    #[test]
    fn keeps_a_parsed_query_and_hands_out_the_same_document() {
        let cache = DocumentCache::default();
        let query = "query($p: String!) { checkUser(phoneNumber: $p) { exists } }";
        let mut first = Request::new(query);
        cache.attach(&mut first);
        assert_eq!(cache.len(), 1);
        let mut second = Request::new(query);
        cache.attach(&mut second);
        assert_eq!(cache.len(), 1);
        let parsed = |request: &mut Request| format!("{:?}", request.parsed_query().unwrap());
        assert_eq!(parsed(&mut first), parsed(&mut second));
    }

    #[test]
    fn leaves_unparsable_and_oversized_queries_out() {
        let cache = DocumentCache::default();
        cache.attach(&mut Request::new("{ checkUser("));
        cache.attach(&mut Request::new(format!("{{ {} }}", "a ".repeat(MAX_QUERY_BYTES))));
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn starts_over_when_full() {
        let cache = DocumentCache::default();
        for field in 0..=CAPACITY {
            cache.attach(&mut Request::new(format!("{{ field{field} }}")));
        }
        assert_eq!(cache.len(), 1);
    }
}
