//! Request limits that async-graphql cannot express itself: a depth limit that still lets
//! GraphiQL introspect, and a guard against the recursive introspection queries that explode.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    Name, Positioned, ServerError, ServerResult,
    parser::types::{ExecutableDocument, Field, Selection, SelectionSet},
};

use super::error::{VALIDATION_FAILED, transport_error};

/// Deepest nesting of the schema's own fields.
pub const MAX_DEPTH: usize = 12;
/// Deepest nesting under `__schema` / `__type`: graphql-js's standard introspection query, the
/// one GraphiQL sends, is 14 deep because of its nine-level `ofType` chain.
pub const MAX_INTROSPECTION_DEPTH: usize = 15;
/// Introspection fields that list types; nesting three of them multiplies the answer by the
/// schema size each time, so at most two may nest (graphql-js's `MaxIntrospectionDepthRule`).
const TYPE_LISTS: [&str; 4] = ["fields", "interfaces", "possibleTypes", "inputFields"];
const MAX_NESTED_TYPE_LISTS: usize = 2;

/// How far a selection set reaches below its parent field.
#[derive(Debug, Clone, Copy, Default)]
struct Reach {
    depth: usize,
    nested_type_lists: usize,
}

impl Reach {
    fn max(self, other: Reach) -> Reach {
        Reach {
            depth: self.depth.max(other.depth),
            nested_type_lists: self.nested_type_lists.max(other.nested_type_lists),
        }
    }
}

/// Rejects a document past the limits (run by `documents::DocumentCache` once it is parsed).
pub(super) fn check_depth(document: &ExecutableDocument) -> ServerResult<()> {
    let mut measure = Measure { document, fragments: HashMap::new() };
    for (_, operation) in document.operations.iter() {
        let mut root_fields = Vec::new();
        measure.collect_root_fields(&operation.node.selection_set.node, &mut root_fields, &mut HashSet::new());
        for field in root_fields {
            let reach = measure.field(&field.node);
            let introspection = field.node.name.node.starts_with("__");
            let limit = if introspection { MAX_INTROSPECTION_DEPTH } else { MAX_DEPTH };
            if reach.depth > limit {
                return Err(too_deep(field, reach.depth, limit));
            }
            if introspection && reach.nested_type_lists > MAX_NESTED_TYPE_LISTS {
                return Err(positioned(
                    field,
                    format!(
                        "Introspection nests more than {MAX_NESTED_TYPE_LISTS} of {} inside each other.",
                        TYPE_LISTS.join("/")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn too_deep(field: &Positioned<Field>, depth: usize, limit: usize) -> ServerError {
    positioned(field, format!("Query is nested too deep: {depth} levels, the limit is {limit}."))
}

fn positioned(field: &Positioned<Field>, message: String) -> ServerError {
    let mut error = transport_error(VALIDATION_FAILED, message);
    error.locations = vec![field.pos];
    error
}

/// Walks selection sets through fragments, measuring each fragment once: a document that spreads
/// fragments inside fragments would otherwise cost exponential time to measure.
struct Measure<'a> {
    document: &'a ExecutableDocument,
    /// `None` while a fragment is being measured, so a cycle (rejected later by validation) ends.
    fragments: HashMap<&'a Name, Option<Reach>>,
}

impl<'a> Measure<'a> {
    fn collect_root_fields(
        &self,
        set: &'a SelectionSet,
        fields: &mut Vec<&'a Positioned<Field>>,
        expanded: &mut HashSet<&'a Name>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => fields.push(field),
                Selection::InlineFragment(fragment) => {
                    self.collect_root_fields(&fragment.node.selection_set.node, fields, expanded);
                }
                Selection::FragmentSpread(spread) => {
                    // A fragment spread twice at the root adds the same fields: expanding it once
                    // is enough, and ends cycles.
                    let name = &spread.node.fragment_name.node;
                    if let Some(fragment) = self.document.fragments.get(name)
                        && expanded.insert(name)
                    {
                        self.collect_root_fields(&fragment.node.selection_set.node, fields, expanded);
                    }
                }
            }
        }
    }

    fn field(&mut self, field: &'a Field) -> Reach {
        let below = self.set(&field.selection_set.node);
        let is_type_list = TYPE_LISTS.contains(&field.name.node.as_str());
        Reach { depth: below.depth + 1, nested_type_lists: below.nested_type_lists + usize::from(is_type_list) }
    }

    fn set(&mut self, set: &'a SelectionSet) -> Reach {
        set.items.iter().fold(Reach::default(), |reach, selection| {
            let here = match &selection.node {
                Selection::Field(field) => self.field(&field.node),
                Selection::InlineFragment(fragment) => self.set(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            reach.max(here)
        })
    }

    fn fragment(&mut self, name: &'a Name) -> Reach {
        if let Some(known) = self.fragments.get(name) {
            return known.unwrap_or_default();
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Reach::default();
        };
        self.fragments.insert(name, None);
        let reach = self.set(&fragment.node.selection_set.node);
        self.fragments.insert(name, Some(reach));
        reach
    }
}
