//! Refresh-token lifecycle in simplejwt's blacklist tables: issue, rotate, verify, revoke.
//!
//! Rotation blacklists the presented token. Presenting a rotated token again is treated as
//! theft and revokes every refresh token of the user, except within `REUSE_GRACE_SECS` of the
//! rotation, where a client that lost the response to a network error gets the current pair back.

use chrono::{DateTime, Utc};
use entity::{blacklisted_token, outstanding_token, refresh_rotation, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, SqlErr, TransactionTrait, sea_query::OnConflict,
};

use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::LoginMethod,
    error::{AppError, AppResult, TokenKind, TokenProblem},
    request::{Field, named},
    service::{
        AppState, Client, device_session,
        token::{Claims, TokenPair},
        validate::Validator,
    },
};

/// Body of `token/refresh/` and `logout/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RefreshRequest)]
pub struct RefreshInput {
    /// A refresh token.
    #[schema(value_type = String, required)]
    #[serde(default)]
    pub refresh: Field<String>,
}

/// Body of `token/verify/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = VerifyTokenRequest)]
pub struct VerifyTokenInput {
    /// An access or a refresh token.
    #[schema(value_type = String, required)]
    #[serde(default)]
    pub token: Field<String>,
}

/// How long after a rotation the old refresh token still returns the current pair.
pub const REUSE_GRACE_SECS: i64 = 10;

fn refused(problem: TokenProblem) -> AppError {
    AppError::InvalidToken { problem, kind: TokenKind::Refresh }
}

/// Records a sign-in: `last_login` (and an upgraded password hash) on the account and `pair`'s
/// refresh token as outstanding, both or neither. Answers the account as stored afterwards, or
/// `None` when it was deleted since it was read.
pub async fn record_sign_in(
    state: &AppState,
    client: &Client,
    user: user::Model,
    at: DateTime<Utc>,
    new_password_hash: Option<String>,
    pair: &TokenPair,
) -> AppResult<Option<user::Model>> {
    let claims = &pair.refresh_claims;
    let txn = state.db.begin().await?;
    let mut active = user.into_active_model();
    active.last_login = Set(Some(at));
    if let Some(hash) = new_password_hash {
        active.password = Set(hash);
        active.updated_at = Set(at);
    }
    let user = match active.update(&txn).await {
        Ok(user) => user,
        Err(DbErr::RecordNotUpdated) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    record_outstanding(&txn, &pair.refresh, claims).await?;
    device_session::start(&txn, client, claims).await?;
    txn.commit().await?;
    Ok(Some(user))
}

/// Issues a pair for a user who just signed in, recording the refresh token as outstanding and
/// the sign-in as a new session.
pub async fn issue_tokens(
    state: &AppState,
    client: &Client,
    user_id: i64,
    method: LoginMethod,
) -> AppResult<TokenPair> {
    let pair = state.tokens.issue_pair(user_id, method, device_session::new_id())?;
    let txn = state.db.begin().await?;
    record_outstanding(&txn, &pair.refresh, &pair.refresh_claims).await?;
    device_session::start(&txn, client, &pair.refresh_claims).await?;
    txn.commit().await?;
    Ok(pair)
}

/// A fresh pair for a session that goes on (the caller's, after a change of phone number);
/// a caller whose token names no session gets a new one.
pub async fn renew_tokens(
    txn: &DatabaseTransaction,
    state: &AppState,
    client: &Client,
    claims: &Claims,
) -> AppResult<TokenPair> {
    let user_id = claims.user_id().ok_or_else(|| refused(TokenProblem::Invalid))?;
    let method = claims.login_method.unwrap_or(LoginMethod::Password);
    let Some(sid) = claims.sid.clone() else {
        let pair = state.tokens.issue_pair(user_id, method, device_session::new_id())?;
        record_outstanding(txn, &pair.refresh, &pair.refresh_claims).await?;
        device_session::start(txn, client, &pair.refresh_claims).await?;
        return Ok(pair);
    };
    let pair = state.tokens.issue_pair(user_id, method, sid)?;
    record_outstanding(txn, &pair.refresh, &pair.refresh_claims).await?;
    device_session::advance(txn, &pair.refresh_claims).await?;
    Ok(pair)
}

/// `token/refresh/`: rotates a refresh token into a new pair.
pub async fn refresh_tokens(state: &AppState, input: RefreshInput) -> AppResult<TokenPair> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let Some(refresh) = validator.text(named!(input.refresh)) else {
        return Err(validator.into_error());
    };
    let claims = state.tokens.verify(refresh.trim(), TokenKind::Refresh)?;
    ensure_user_accepts(state, &claims).await?;
    // A concurrent rotation of the same token makes our blacklist insert fail; the second pass
    // then sees the rotation and answers from the grace window.
    for _ in 0..2 {
        match try_rotate(state, refresh.trim(), &claims).await {
            Err(RotateError::Raced) => continue,
            Err(RotateError::App(error)) => return Err(error),
            Ok(pair) => return Ok(pair),
        }
    }
    Err(refused(TokenProblem::Revoked))
}

enum RotateError {
    Raced,
    App(AppError),
}

impl<E: Into<AppError>> From<E> for RotateError {
    fn from(error: E) -> Self {
        RotateError::App(error.into())
    }
}

async fn try_rotate(state: &AppState, token: &str, claims: &Claims) -> Result<TokenPair, RotateError> {
    let txn = state.db.begin().await?;
    let outstanding = find_or_record_outstanding(&txn, token, claims).await?;
    if is_blacklisted(&txn, outstanding.id).await? {
        let answer = answer_reuse(state, &txn, claims).await;
        txn.commit().await?;
        return answer.map_err(RotateError::App);
    }
    let blacklisted = blacklisted_token::ActiveModel {
        blacklisted_at: Set(Utc::now()),
        token_id: Set(outstanding.id),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    if let Err(error) = blacklisted {
        return Err(match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => RotateError::Raced,
            _ => RotateError::App(error.into()),
        });
    }
    let pair = state.tokens.rotate(claims)?;
    record_outstanding(&txn, &pair.refresh, &pair.refresh_claims).await?;
    device_session::advance(&txn, &pair.refresh_claims).await?;
    refresh_rotation::ActiveModel {
        parent_jti: Set(claims.jti.clone()),
        child_jti: Set(pair.refresh_claims.jti.clone()),
        rotated_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(pair)
}

/// A blacklisted refresh token was presented: a retry inside the grace window gets the current
/// pair; a rotated token outside it is a replay, and every refresh token of the user dies.
async fn answer_reuse(state: &AppState, txn: &DatabaseTransaction, claims: &Claims) -> AppResult<TokenPair> {
    let Some(rotation) = refresh_rotation::Entity::find_by_id(claims.jti.clone()).one(txn).await? else {
        // Blacklisted by logout or a revocation, not by rotation: simply refused.
        return Err(refused(TokenProblem::Revoked));
    };
    let within_grace = (Utc::now() - rotation.rotated_at).num_seconds() < REUSE_GRACE_SECS;
    let child = if within_grace {
        outstanding_token::Entity::find()
            .filter(outstanding_token::Column::Jti.eq(&rotation.child_jti))
            .one(txn)
            .await?
    } else {
        None
    };
    if let Some(child) = child
        && !is_blacklisted(txn, child.id).await?
    {
        let child_claims = state.tokens.verify(&child.token, TokenKind::Refresh)?;
        let access = state.tokens.access_for(&child_claims)?;
        return Ok(TokenPair { access, refresh: child.token, refresh_claims: child_claims });
    }
    if let Some(user_id) = claims.user_id() {
        tracing::warn!(user_id, "rotated refresh token presented again: revoking all refresh tokens of the user");
        revoke_all_refresh_tokens(txn, user_id, None).await?;
    }
    Err(refused(TokenProblem::Revoked))
}

/// `logout/`: blacklists the refresh token.
pub async fn logout(state: &AppState, input: RefreshInput) -> AppResult<()> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let Some(refresh) = validator.text(named!(input.refresh)) else {
        return Err(validator.into_error());
    };
    let claims = state.tokens.verify(refresh.trim(), TokenKind::Refresh)?;
    let txn = state.db.begin().await?;
    let outstanding = find_or_record_outstanding(&txn, refresh.trim(), &claims).await?;
    let inserted = blacklisted_token::Entity::insert(blacklisted_token::ActiveModel {
        blacklisted_at: Set(Utc::now()),
        token_id: Set(outstanding.id),
        ..Default::default()
    })
    .on_conflict(OnConflict::column(blacklisted_token::Column::TokenId).do_nothing().to_owned())
    .exec_without_returning(&txn)
    .await?;
    // Logging out ends the sign-in, its access tokens included.
    let ended = match (&claims.sid, claims.user_id()) {
        (Some(sid), Some(user_id)) if inserted > 0 => {
            device_session::end_in(&txn, user_id, device_session::Ending::One(sid)).await?
        }
        _ => Vec::new(),
    };
    txn.commit().await?;
    if inserted == 0 {
        return Err(refused(TokenProblem::Revoked));
    }
    device_session::announce_ended(state, &ended).await
}

/// `token/verify/`: any kind of token, valid, not blacklisted, not revoked by a password change.
pub async fn verify_token(state: &AppState, input: VerifyTokenInput) -> AppResult<()> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let Some(token) = validator.text(named!(input.token)) else {
        return Err(validator.into_error());
    };
    let claims = state.tokens.verify(token.trim(), TokenKind::Any)?;
    let refuse = |problem| AppError::InvalidToken { problem, kind: TokenKind::Any };
    if claims.token_type == "refresh" {
        let outstanding = outstanding_token::Entity::find()
            .filter(outstanding_token::Column::Jti.eq(&claims.jti))
            .one(&state.db)
            .await?;
        if let Some(outstanding) = outstanding
            && is_blacklisted(&state.db, outstanding.id).await?
        {
            return Err(refuse(TokenProblem::Revoked));
        }
    }
    ensure_user_accepts(state, &claims).await.map_err(|_| refuse(TokenProblem::Revoked))?;
    Ok(())
}

/// The user exists, is active, has not changed their password since the token was issued, and
/// the token's session (if it names one) has not ended.
pub async fn ensure_user_accepts(state: &AppState, claims: &Claims) -> AppResult<user::Model> {
    let user_id = claims.user_id().ok_or_else(|| refused(TokenProblem::Invalid))?;
    let (user, open) =
        tokio::join!(user::Entity::find_by_id(user_id).one(&state.db), device_session::is_open(&state.db, claims));
    let user = user?.ok_or_else(|| refused(TokenProblem::UserNotFound))?;
    judge(&user, claims, open?).map_err(refused)?;
    Ok(user)
}

/// Why the account refuses a token of `claims` whose user is `user`, if it does; `session_open`
/// is whether the token's sign-in session (if it names one) is still open.
pub fn judge(user: &user::Model, claims: &Claims, session_open: bool) -> Result<(), TokenProblem> {
    // A deleted account's tokens are simply not valid: the account is gone, not disabled.
    if user.deleted_at.is_some() {
        return Err(TokenProblem::Revoked);
    }
    if !user.is_active {
        return Err(TokenProblem::UserInactive);
    }
    if !session_open || issued_before(claims, user.tokens_valid_after) {
        return Err(TokenProblem::Revoked);
    }
    Ok(())
}

/// Whether a token predates the user's last password change. Our tokens carry `iat_ms`; a
/// Django token has whole seconds only, so one from the second of the change counts as before it.
pub fn issued_before(claims: &Claims, valid_after: Option<DateTime<Utc>>) -> bool {
    valid_after.is_some_and(|instant| match claims.iat_ms {
        Some(iat_ms) => iat_ms < instant.timestamp_millis(),
        None => claims.iat <= instant.timestamp(),
    })
}

/// Blacklists every outstanding refresh token of the user (password change, reset, reuse), which
/// ends all their sessions but `keep_session` (which the caller then gives a new pair).
pub async fn revoke_all_refresh_tokens(
    db: &impl ConnectionTrait,
    user_id: i64,
    keep_session: Option<&str>,
) -> AppResult<()> {
    device_session::close_all(db, user_id, keep_session).await?;
    let ids: Vec<i64> = outstanding_token::Entity::find()
        .select_only()
        .column(outstanding_token::Column::Id)
        .filter(outstanding_token::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    device_session::blacklist(db, ids).await
}

async fn is_blacklisted(db: &impl ConnectionTrait, outstanding_id: i64) -> AppResult<bool> {
    Ok(blacklisted_token::Entity::find()
        .filter(blacklisted_token::Column::TokenId.eq(outstanding_id))
        .one(db)
        .await?
        .is_some())
}

/// Tokens a Django deployment issued may have no row here yet; they get one on first use.
async fn find_or_record_outstanding(
    db: &impl ConnectionTrait,
    token: &str,
    claims: &Claims,
) -> AppResult<outstanding_token::Model> {
    let existing =
        outstanding_token::Entity::find().filter(outstanding_token::Column::Jti.eq(&claims.jti)).one(db).await?;
    match existing {
        Some(row) => Ok(row),
        None => record_outstanding(db, token, claims).await,
    }
}

async fn record_outstanding(
    db: &impl ConnectionTrait,
    token: &str,
    claims: &Claims,
) -> AppResult<outstanding_token::Model> {
    Ok(outstanding_token::ActiveModel {
        token: Set(token.to_string()),
        created_at: Set(Some(Utc::now())),
        expires_at: Set(claims.expires_at()),
        user_id: Set(claims.user_id()),
        jti: Set(claims.jti.clone()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
