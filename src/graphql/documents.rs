//! Parsed GraphQL documents kept by query text, each checked against the depth limits once:
//! clients send the same few queries with different variables, and parsing took a third of a
//! small operation's time.

use std::{collections::HashMap, sync::RwLock};

use async_graphql::{Request, ServerError, parser::types::ExecutableDocument};

use super::{
    error::{PARSE_FAILED, with_code},
    limits::check_depth,
};

/// Most documents kept; when full the cache starts over, so a client sending endless distinct
/// queries costs memory no more than this and costs the others only their parse.
const CAPACITY: usize = 256;
/// Longer queries are parsed and checked every time rather than kept.
const MAX_QUERY_BYTES: usize = 8 * 1024;

/// Documents that parsed and are within the limits; nothing else is kept.
#[derive(Default)]
pub struct DocumentCache {
    by_query: RwLock<HashMap<String, ExecutableDocument>>,
}

impl DocumentCache {
    /// The request with its parsed document attached, from the cache or parsed and checked now;
    /// or the error that refuses it before it runs: `GRAPHQL_PARSE_FAILED` for a document that is
    /// not GraphQL, `GRAPHQL_VALIDATION_FAILED` for one past the depth limits. Validation against
    /// the schema still runs on every request, because it depends on the variables.
    pub fn check(&self, mut request: Request) -> Result<Request, ServerError> {
        let cacheable = request.query.len() <= MAX_QUERY_BYTES;
        if cacheable {
            let by_query = self.by_query.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(document) = by_query.get(&request.query) {
                // Each run takes its own copy: the executor prunes `@skip`ped fields in place.
                request.set_parsed_query(document.clone());
                return Ok(request);
            }
        }
        let document = request.parsed_query().map_err(|error| with_code(error, PARSE_FAILED))?;
        check_depth(document)?;
        if cacheable {
            let document = document.clone();
            let mut by_query = self.by_query.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            if by_query.len() >= CAPACITY {
                by_query.clear();
            }
            by_query.insert(request.query.clone(), document);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Value;

    use super::*;
    use crate::graphql::error::VALIDATION_FAILED;

    impl DocumentCache {
        fn len(&self) -> usize {
            self.by_query.read().unwrap().len()
        }
    }

    fn code(error: &ServerError) -> Option<&Value> {
        error.extensions.as_ref()?.get("code")
    }

    #[test]
    fn keeps_a_parsed_query_and_hands_out_the_same_document() {
        let cache = DocumentCache::default();
        let query = "query($p: String!) { checkUser(phoneNumber: $p) { exists } }";
        let mut first = cache.check(Request::new(query)).unwrap();
        assert_eq!(cache.len(), 1);
        let mut second = cache.check(Request::new(query)).unwrap();
        assert_eq!(cache.len(), 1);
        let parsed = |request: &mut Request| format!("{:?}", request.parsed_query().unwrap());
        assert_eq!(parsed(&mut first), parsed(&mut second));
    }

    #[test]
    fn refuses_unparsable_and_too_deep_queries_and_keeps_neither() {
        let cache = DocumentCache::default();
        let too_deep = format!("{{ me {}{{ id }}{} }}", "{ f ".repeat(12), " }".repeat(12));

        let unparsable = cache.check(Request::new("{ checkUser(")).unwrap_err();
        let deep = cache.check(Request::new(too_deep.as_str())).unwrap_err();
        let deep_again = cache.check(Request::new(too_deep)).unwrap_err();

        assert_eq!(code(&unparsable), Some(&Value::from(PARSE_FAILED)));
        assert_eq!(code(&deep), Some(&Value::from(VALIDATION_FAILED)));
        assert_eq!(deep.message, "Query is nested too deep: 14 levels, the limit is 12.");
        assert_eq!(deep_again.message, deep.message);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn checks_but_does_not_keep_oversized_queries() {
        let cache = DocumentCache::default();
        let oversized = format!("{{ {} }}", "a ".repeat(MAX_QUERY_BYTES));
        assert!(cache.check(Request::new(oversized)).is_ok());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn starts_over_when_full() {
        let cache = DocumentCache::default();
        for field in 0..=CAPACITY {
            cache.check(Request::new(format!("{{ field{field} }}"))).unwrap();
        }
        assert_eq!(cache.len(), 1);
    }
}
