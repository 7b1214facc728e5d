//! The GraphQL transport (contract §3): the schema, its resolvers and `/graphql`, over the same
//! service layer as REST.

mod context;
mod documents;
pub mod error;
mod graphiql;
mod handler;
mod inputs;
mod limits;
mod mutation;
mod query;
pub mod scalars;
mod types;

use async_graphql::{EmptySubscription, SDLExportOptions, Schema, SchemaBuilder};

pub use handler::router;
pub use limits::{MAX_DEPTH, MAX_INTROSPECTION_DEPTH};
pub use mutation::Mutation;
pub use query::Query;

use crate::service::AppState;

/// The schema type.
pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// Highest complexity of one operation: each field counts 1, password-hashing mutations 50.
pub const MAX_COMPLEXITY: usize = 500;
/// Most operations in one batched request.
pub const MAX_BATCH: usize = 10;

/// The schema the server runs, with the state resolvers need and the configured switches.
pub fn build_schema(state: AppState) -> AppSchema {
    let introspection = state.config.graphql_introspection;
    let builder = schema_builder().data(state);
    if introspection { builder } else { builder.disable_introspection() }.finish()
}

/// The schema without state: enough to print the SDL, not to run operations.
pub fn build_schema_bare() -> AppSchema {
    schema_builder().finish()
}

/// The SDL that `schema.graphql` holds (`cargo run -- print-schema > schema.graphql`).
pub fn sdl() -> String {
    build_schema_bare().sdl_with_options(SDLExportOptions::new().include_specified_by())
}

fn schema_builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query, Mutation::default(), EmptySubscription).limit_complexity(MAX_COMPLEXITY)
}
