//! What a resolver takes from the request: the shared state and, when it needs one, the caller.

use async_graphql::Context;

use super::error::graphql_error;
use crate::{
    error::AppError,
    request::Credentials,
    service::{
        AppState, Client,
        caller::{self, CurrentUser},
    },
};

/// Who sent the HTTP request; per-client limits key on it.
pub fn client(ctx: &Context<'_>) -> Client {
    ctx.data_opt::<Client>().cloned().unwrap_or_default()
}

/// The application state the schema was built with.
pub fn state<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AppState> {
    ctx.data::<AppState>().map_err(|_| {
        graphql_error(&AppError::Internal(anyhow::anyhow!("the GraphQL schema was built without an AppState")))
    })
}

/// The authenticated caller, from the request's bearer access token.
pub async fn caller(ctx: &Context<'_>) -> async_graphql::Result<CurrentUser> {
    caller::caller_from(state(ctx)?, credentials(ctx)).await.map_err(|error| graphql_error(&error))
}

/// The request's bearer token, for a use case that needs a caller only for some inputs.
pub fn credentials<'a>(ctx: &Context<'a>) -> Option<&'a Credentials> {
    ctx.data_opt::<Credentials>()
}
