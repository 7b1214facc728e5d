//! Signing in and passwords: password login, OTP login, reset, set, and bearer authentication.

use chrono::Utc;
use entity::user;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseTransaction, IntoActiveModel, TransactionTrait};

use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{LoginMethod, OtpType},
    error::{AppError, AppResult, FieldError, Rule},
    request::{Field, named},
    service::{
        AppState, Client, accounts::find_by_phone, caller::CurrentUser, device_session, otp,
        otp::require_verified_session, rate_limit, session, user::SignedIn, validate::Validator,
    },
};

/// How long after an OTP login `login/set-password/` may skip the old password.
const OTP_LOGIN_GRACE_SECS: i64 = 600;

/// Body of `login/` and `login/password/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = LoginRequest)]
pub struct LoginInput {
    #[schema(value_type = String, required, example = "+998901234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
    #[schema(value_type = String, required, example = "Tashkent-2024!")]
    #[serde(default)]
    pub password: Field<String>,
}

/// Body of `login/otp/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = OtpLoginRequest)]
pub struct OtpLoginInput {
    #[schema(value_type = String, required, example = "+998901234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
    /// A session verified by `verify-otp/` with type `login`; it is consumed.
    #[schema(value_type = String, required, format = "uuid")]
    #[serde(default)]
    pub session: Field<String>,
}

/// Body of `forgot-password/reset/` and `forgot-password/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ResetPasswordRequest)]
pub struct ResetPasswordInput {
    #[schema(value_type = String, required, example = "+998901234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
    #[schema(value_type = String, required, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password: Field<String>,
    #[schema(value_type = String, required, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password2: Field<String>,
    /// A session verified by `verify-otp/` with type `forgot_password`; it is consumed.
    #[schema(value_type = String, required, format = "uuid")]
    #[serde(default)]
    pub session: Field<String>,
}

/// Body of `login/set-password/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SetPasswordRequest)]
pub struct SetPasswordInput {
    #[schema(value_type = String, required, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password: Field<String>,
    #[schema(value_type = String, required, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password2: Field<String>,
    /// Required when the account has a password, unless the access token comes from an OTP
    /// login less than 10 minutes old.
    #[schema(value_type = String)]
    #[serde(default)]
    pub old_password: Field<String>,
}

/// Phone + password. Unknown phone and wrong password look the same, in body and in time.
pub async fn login_with_password(state: &AppState, client: &Client, input: LoginInput) -> AppResult<SignedIn> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let phone = validator.phone(named!(input.phone_number));
    let password = validator.text(named!(input.password));
    let (Some(phone), Some(password)) = (phone, password) else {
        return Err(validator.into_error());
    };
    // Both at once share one round trip to Redis; the IP limit's answer still comes first. The
    // account's failure lock is reserved before any hashing: guessing costs the attacker, not us.
    let (from_ip, check) = tokio::join!(
        rate_limit::check_auth_attempt_from(state, client.ip),
        rate_limit::reserve_password_check(state, phone.as_str())
    );
    if let Err(refused) = from_ip {
        if let Ok(check) = check {
            check.released(state).await;
        }
        return Err(refused);
    }
    let check = check?;

    let checked = async {
        let user = find_by_phone(state, &phone).await?;
        let stored = user.as_ref().map(|user| user.password.as_str());
        AppResult::Ok((state.passwords.verify(&password, stored).await?, user))
    };
    let (verification, user) = match checked.await {
        Ok(checked) => checked,
        Err(error) => {
            check.released(state).await;
            return Err(error);
        }
    };
    let Some(user) = user.filter(|_| verification.matches) else {
        check.failed();
        tracing::info!(phone_number = %phone.masked(), "password login failed");
        metrics::counter!("logins_total", "method" => "password", "result" => "failed").increment(1);
        return Err(AppError::InvalidCredentials);
    };
    check.succeeded(state).await?;
    ensure_active(&user)?;
    let new_hash = if verification.needs_rehash { Some(state.passwords.hash(&password).await?) } else { None };
    sign_in(state, client, user, new_hash, LoginMethod::Password).await
}

/// Phone + a verified `login` session: signs in without a password.
pub async fn login_with_otp(state: &AppState, client: &Client, input: OtpLoginInput) -> AppResult<SignedIn> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let phone = validator.phone(named!(input.phone_number));
    let session = validator.session(named!(input.session));
    let (Some(phone), Some(session)) = (phone, session) else {
        return Err(validator.into_error());
    };
    rate_limit::check_auth_attempt_from(state, client.ip).await?;
    let Some(user) = find_by_phone(state, &phone).await? else {
        return Err(AppError::Rule(Rule::UserNotFound));
    };
    ensure_active(&user)?;
    otp::consume_verified_session(state, &session, &phone, OtpType::Login).await?;
    sign_in(state, client, user, None, LoginMethod::Otp).await
}

/// Sets a new password behind a verified `forgot_password` session.
pub async fn reset_password(state: &AppState, client: &Client, input: ResetPasswordInput) -> AppResult<user::Model> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let phone = validator.phone(named!(input.phone_number));
    let password = validator.new_password(named!(input.password), named!(input.password2));
    let session = validator.session(named!(input.session));
    if !validator.is_valid() {
        return Err(validator.into_error());
    }
    let (Some(phone), Some(password), Some(session)) = (phone, password, session) else {
        return Err(validator.into_error());
    };
    rate_limit::check_auth_attempt_from(state, client.ip).await?;
    let Some(user) = find_by_phone(state, &phone).await? else {
        return Err(AppError::Rule(Rule::UserNotFound));
    };
    rate_limit::check_password_change_for(state, &account_key(&user)).await?;
    require_verified_session(state, &session, &phone, OtpType::ForgotPassword).await?;
    let password_hash = state.passwords.hash(&password).await?;

    let txn = state.db.begin().await?;
    let user = replace_password(&txn, user, password_hash).await?;
    otp::consume_verified_session(state, &session, &phone, OtpType::ForgotPassword).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id, "password reset");
    Ok(user)
}

/// Sets (or replaces) the caller's password. The old one is asked for unless the account has none
/// or the caller signed in by OTP in the last ten minutes (the "forgot it, got in by SMS" path).
pub async fn set_password(
    state: &AppState,
    client: &Client,
    caller: CurrentUser,
    input: SetPasswordInput,
) -> AppResult<user::Model> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let password = validator.new_password(named!(input.password), named!(input.password2));
    // `auth_time` is the sign-in itself, unchanged by refreshes; tokens without it get no grace.
    let recent_otp_login = caller.claims.login_method == Some(LoginMethod::Otp)
        && caller.claims.auth_time.is_some_and(|signed_in| Utc::now().timestamp() - signed_in <= OTP_LOGIN_GRACE_SECS);
    let needs_old_password = caller.user.has_usable_password() && !recent_otp_login;
    let old_password = named!(input.old_password);
    let old_password = if needs_old_password {
        validator.text(old_password)
    } else {
        validator.well_typed(&old_password);
        None
    };
    if !validator.is_valid() {
        return Err(validator.into_error());
    }
    let Some(password) = password else {
        return Err(validator.into_error());
    };
    limit_password_change(state, client, &caller.user).await?;
    if let Some(old_password) = old_password {
        ensure_old_password(state, &caller.user, &old_password).await?;
    }
    let password_hash = state.passwords.hash(&password).await?;
    let had_password = caller.user.has_usable_password();
    let user = if had_password {
        // Replacing a password is a change: every earlier session ends.
        let txn = state.db.begin().await?;
        let user = replace_password(&txn, caller.user, password_hash).await?;
        txn.commit().await?;
        user
    } else {
        // A first password protects nothing yet; the caller's OTP session stays valid.
        let mut active = caller.user.into_active_model();
        active.password = Set(password_hash);
        active.updated_at = Set(Utc::now());
        active.update(&state.db).await?
    };
    tracing::info!(user_id = user.id, replaced = had_password, "password set");
    Ok(user)
}

/// Body of `change-password/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ChangePasswordRequest)]
pub struct ChangePasswordInput {
    #[schema(value_type = String, required)]
    #[serde(default)]
    pub old_password: Field<String>,
    #[schema(value_type = String, required, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password: Field<String>,
    #[schema(value_type = String, required, min_length = 8, max_length = 128)]
    #[serde(default)]
    pub password2: Field<String>,
}

/// Changes the caller's password after checking the old one; all sessions end.
pub async fn change_password(
    state: &AppState,
    client: &Client,
    caller: CurrentUser,
    input: ChangePasswordInput,
) -> AppResult<()> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let old_password = validator.text(named!(input.old_password));
    let password = validator.new_password(named!(input.password), named!(input.password2));
    if !validator.is_valid() {
        return Err(validator.into_error());
    }
    let (Some(old_password), Some(password)) = (old_password, password) else {
        return Err(validator.into_error());
    };
    limit_password_change(state, client, &caller.user).await?;
    ensure_old_password(state, &caller.user, &old_password).await?;
    let password_hash = state.passwords.hash(&password).await?;
    let txn = state.db.begin().await?;
    let user = replace_password(&txn, caller.user, password_hash).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id, "password changed");
    Ok(())
}

/// The per-account key of `rate_limit::check_password_change_for` for an existing account.
fn account_key(user: &user::Model) -> String {
    format!("user:{}", user.id)
}

/// The per-client and per-account brakes before set- and change-password hash anything. One after
/// the other: a request the client limit refuses does not spend the account's budget.
async fn limit_password_change(state: &AppState, client: &Client, user: &user::Model) -> AppResult<()> {
    rate_limit::check_auth_attempt_from(state, client.ip).await?;
    rate_limit::check_password_change_for(state, &account_key(user)).await
}

/// The caller proves they know the current password (Django's `password_incorrect`). A wrong one
/// counts towards the same lock as a failed login, so a stolen access token cannot guess the
/// password faster than the login form can; while the account is locked it is not checked.
async fn ensure_old_password(state: &AppState, user: &user::Model, old_password: &str) -> AppResult<()> {
    ensure_current_password(state, user, "old_password", old_password).await
}

/// `ensure_old_password` for a request whose field is named `field`.
pub async fn ensure_current_password(
    state: &AppState,
    user: &user::Model,
    field: &'static str,
    old_password: &str,
) -> AppResult<()> {
    let check = rate_limit::reserve_password_check(state, &user.phone_number).await?;
    let verification = match state.passwords.verify(old_password, Some(&user.password)).await {
        Ok(verification) => verification,
        Err(error) => {
            check.released(state).await;
            return Err(error);
        }
    };
    if verification.matches {
        return check.succeeded(state).await;
    }
    check.failed();
    Err(AppError::Validation(vec![FieldError::new(
        field,
        "password_incorrect",
        "Your old password was entered incorrectly. Please enter it again.",
    )]))
}

/// Stores a new hash, refuses every access token issued before now, and revokes refresh tokens.
async fn replace_password(
    txn: &DatabaseTransaction,
    user: user::Model,
    password_hash: String,
) -> AppResult<user::Model> {
    let now = Utc::now();
    let user_id = user.id;
    let mut active = user.into_active_model();
    active.password = Set(password_hash);
    active.updated_at = Set(now);
    active.tokens_valid_after = Set(Some(now));
    let user = active.update(txn).await?;
    session::revoke_all_refresh_tokens(txn, user_id, None).await?;
    Ok(user)
}

fn ensure_active(user: &user::Model) -> AppResult<()> {
    if user.is_active { Ok(()) } else { Err(AppError::user_inactive()) }
}

/// Records the login (and an upgraded hash) and issues tokens.
async fn sign_in(
    state: &AppState,
    client: &Client,
    user: user::Model,
    new_password_hash: Option<String>,
    method: LoginMethod,
) -> AppResult<SignedIn> {
    let tokens = state.tokens.issue_pair(user.id, method, device_session::new_id())?;
    // Deleted between the look-up and now: as if it had never been found.
    let Some(user) = session::record_sign_in(state, client, user, Utc::now(), new_password_hash, &tokens).await? else {
        return Err(AppError::InvalidCredentials);
    };
    tracing::info!(user_id = user.id, method = ?method, "signed in");
    metrics::counter!("logins_total", "method" => method.as_str(), "result" => "ok").increment(1);
    Ok(SignedIn { user, tokens })
}
