//! Sign-in sessions as their owner manages them: list them, end one, end all (or all others).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, IntoActiveModel, TransactionTrait};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    error::{AppError, AppResult},
    request::{Field, named},
    service::{
        AppState,
        caller::CurrentUser,
        device_session::{self, DeviceSession, Ending},
        session,
        validate::Validator,
    },
};

/// Body of `logout-all/`; it may be empty.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = LogoutAllRequest)]
pub struct LogoutAllInput {
    /// Keep the session of the token that asks (default `false`: every session ends).
    #[schema(value_type = bool, default = false)]
    #[serde(default)]
    pub keep_current: Field<bool>,
}

/// The caller's live sessions, newest first, theirs marked `current`.
pub async fn list_sessions(state: &AppState, caller: &CurrentUser) -> AppResult<Vec<DeviceSession>> {
    device_session::list(state, caller.user.id, caller.claims.sid.as_deref()).await
}

/// Ends one of the caller's sessions (their own included); another user's or an ended one is
/// not found.
pub async fn revoke_session(state: &AppState, caller: &CurrentUser, id: &str) -> AppResult<()> {
    let ended = device_session::end(state, caller.user.id, Ending::One(id.trim())).await?;
    if ended == 0 {
        return Err(AppError::NotFound);
    }
    tracing::info!(user_id = caller.user.id, "session revoked");
    Ok(())
}

/// Ends every session of the caller, or every other one; answers how many ended.
pub async fn log_out_everywhere(state: &AppState, caller: &CurrentUser, input: LogoutAllInput) -> AppResult<usize> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let keep_current = validator.optional_choice(named!(input.keep_current)).unwrap_or(false);
    validator.finish()?;
    let user_id = caller.user.id;
    let ended = if keep_current {
        device_session::end(state, user_id, Ending::AllBut(caller.claims.sid.as_deref())).await?
    } else {
        // Everything, the tokens minted by Django (which name no session) included.
        let txn = state.db.begin().await?;
        let ended = device_session::end_in(&txn, user_id, Ending::AllBut(None)).await?;
        session::revoke_all_refresh_tokens(&txn, user_id, None).await?;
        let mut row = caller.user.clone().into_active_model();
        row.tokens_valid_after = Set(Some(Utc::now()));
        row.update(&txn).await?;
        txn.commit().await?;
        device_session::announce_ended(state, &ended).await?;
        ended.len()
    };
    tracing::info!(user_id, ended, keep_current, "logged out everywhere");
    Ok(ended)
}
