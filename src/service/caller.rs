//! Who is calling: a bearer access token resolved to its user and sign-in session.

use entity::user;
use sea_orm::EntityTrait;

use crate::{
    error::{AppError, AppResult, TokenKind, TokenProblem},
    request::Credentials,
    service::{AppState, device_session, session, token::Claims},
};

/// The caller of an authenticated request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: user::Model,
    pub claims: Claims,
}

/// The caller behind a request's bearer credentials; 401 without usable ones.
pub async fn caller_from(state: &AppState, credentials: Option<&Credentials>) -> AppResult<CurrentUser> {
    match credentials {
        None => Err(AppError::NotAuthenticated),
        // An unreadable header is one of these two (see `request::bearer_token`).
        Some(Credentials(Err(error))) => Err(match **error {
            AppError::InvalidToken { problem, kind } => AppError::InvalidToken { problem, kind },
            _ => AppError::NotAuthenticated,
        }),
        Some(Credentials(Ok(token))) => authenticate(state, token).await,
    }
}

/// Resolves a bearer access token to its active user.
pub async fn authenticate(state: &AppState, access_token: &str) -> AppResult<CurrentUser> {
    let claims = state.tokens.verify(access_token, TokenKind::Access)?;
    let refuse = |problem| AppError::InvalidToken { problem, kind: TokenKind::Access };
    let user_id = claims.user_id().ok_or_else(|| refuse(TokenProblem::Invalid))?;
    // The user's row and the session's flag at once: the flag is a store (not a database) read,
    // and usually a cached one.
    let (user, ended) =
        tokio::join!(user::Entity::find_by_id(user_id).one(&state.db), device_session::has_ended(state, &claims));
    let user = user?.ok_or_else(|| refuse(TokenProblem::UserNotFound))?;
    session::judge(&user, &claims, !ended?).map_err(refuse)?;
    Ok(CurrentUser { user, claims })
}
