//! The schema's one async-graphql extension: codes for the errors async-graphql raises itself,
//! and the depth limits of `limits`.
//!
//! One extension rather than one per concern: every extension adds a link, a boxed future and an
//! allocation to each hook's chain on every request, and with any extension at all each field's
//! resolution goes through the `resolve` chain too.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation},
    parser::types::ExecutableDocument,
};

use super::{
    error::{PARSE_FAILED, VALIDATION_FAILED, with_code},
    limits::check_depth,
};

/// Codes parse and validation errors and argument values a resolver could not read, and rejects
/// documents past the depth limits before they are validated or run.
pub struct RequestChecks;

impl ExtensionFactory for RequestChecks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestChecks)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestChecks {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await.map_err(|error| with_code(error, PARSE_FAILED))?;
        check_depth(&document)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx)
            .await
            .map_err(|errors| errors.into_iter().map(|error| with_code(error, VALIDATION_FAILED)).collect())
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|error| {
                // Resolver errors all come through `graphql_error`; an uncoded one with a path is an
                // argument async-graphql could not coerce, one without is about the operation.
                let code = if error.path.is_empty() { VALIDATION_FAILED } else { "BAD_USER_INPUT" };
                with_code(error, code)
            })
            .collect();
        response
    }
}
