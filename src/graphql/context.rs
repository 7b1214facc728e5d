//! What a resolver takes from the request: the shared state and, when it needs one, the caller.

use std::sync::Arc;

use async_graphql::Context;

use super::error::graphql_error;
use crate::{
    error::AppError,
    service::{
        AppState, Client,
        auth::{self, CurrentUser},
    },
};

/// The bearer token of the `Authorization` header, or why the header could not be read. It is
/// judged only by resolvers that need a caller, so a bad header does not break `checkUser`.
#[derive(Clone)]
pub struct Credentials(pub Result<String, Arc<AppError>>);

/// Who sent the HTTP request; per-client limits key on it.
pub fn client(ctx: &Context<'_>) -> Client {
    ctx.data_opt::<Client>().copied().unwrap_or_default()
}

/// The application state the schema was built with.
pub fn state<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a AppState> {
    ctx.data::<AppState>().map_err(|_| {
        graphql_error(&AppError::Internal(anyhow::anyhow!("the GraphQL schema was built without an AppState")))
    })
}

/// The authenticated caller, from the request's bearer access token.
pub async fn caller(ctx: &Context<'_>) -> async_graphql::Result<CurrentUser> {
    let state = state(ctx)?;
    match ctx.data_opt::<Credentials>() {
        None => Err(graphql_error(&AppError::NotAuthenticated)),
        Some(Credentials(Err(error))) => Err(graphql_error(error)),
        Some(Credentials(Ok(token))) => auth::authenticate(state, token).await.map_err(|error| graphql_error(&error)),
    }
}
