//! The account's lifecycle after sign-up: deleting it, and moving it to a new phone number.

use chrono::Utc;
use entity::user;
use rand::{Rng, distributions::Alphanumeric};
use sea_orm::{ActiveValue::Set, IntoActiveModel, TransactionTrait};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{OtpType, PhoneNumber},
    error::{AppError, AppResult, FieldError, Rule},
    request::{Field, named},
    service::{
        AppState, Client, accounts::update_user, auth::ensure_current_password, caller::CurrentUser, device_session,
        otp, rate_limit, session, user::SignedIn, validate::Validator,
    },
};

/// Body of `DELETE me/` and `me/delete/`: the caller confirms with one of the two.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = DeleteAccountRequest)]
pub struct DeleteAccountInput {
    /// The account's current password.
    #[schema(value_type = String)]
    #[serde(default)]
    pub password: Field<String>,
    /// A session verified by `verify-otp/` with type `delete_account` (sent to the account's own
    /// number); it is consumed.
    #[schema(value_type = String, format = "uuid")]
    #[serde(default)]
    pub session: Field<String>,
}

/// Body of `me/change-phone/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = ChangePhoneRequest)]
pub struct ChangePhoneInput {
    /// The new number, the one the `change_phone` code went to.
    #[schema(value_type = String, required, example = "+998911234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
    /// A session verified by `verify-otp/` with type `change_phone`; it is consumed.
    #[schema(value_type = String, required, format = "uuid")]
    #[serde(default)]
    pub session: Field<String>,
}

/// Deletes the caller's account after they confirm it again: the row stays (other tables point at
/// it) with every personal field erased, the number is free at once, and every token and session
/// of the account is refused from now on.
pub async fn delete_account(
    state: &AppState,
    client: &Client,
    caller: CurrentUser,
    input: DeleteAccountInput,
) -> AppResult<()> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let password = validator.optional(named!(input.password), Validator::text);
    let session = validator.optional(named!(input.session), Validator::session);
    validator.finish()?;
    if password.is_none() && session.is_none() {
        return Err(AppError::Validation(vec![FieldError {
            field: None,
            code: "reauthentication_required",
            message: "Confirm with the account's password or a verified delete_account code.".into(),
        }]));
    }
    rate_limit::check_auth_attempt_from(state, client.ip).await?;
    let user = caller.user;
    let phone = PhoneNumber::from_e164_unchecked(user.phone_number.clone());
    match (&password, &session) {
        (Some(password), _) => ensure_current_password(state, &user, "password", password).await?,
        (None, Some(session)) => {
            otp::require_verified_session(state, session, &phone, OtpType::DeleteAccount).await?;
        }
        (None, None) => unreachable!("refused above"),
    }

    let user_id = user.id;
    let masked = phone.masked();
    let txn = state.db.begin().await?;
    update_user(&txn, erased(user)).await?;
    session::revoke_all_refresh_tokens(&txn, user_id, None).await?;
    device_session::forget_all(&txn, user_id).await?;
    if let (None, Some(session)) = (&password, &session) {
        otp::consume_verified_session(state, session, &phone, OtpType::DeleteAccount).await?;
    }
    txn.commit().await?;
    tracing::info!(user_id, phone_number = %masked, "account deleted");
    metrics::counter!("accounts_deleted_total").increment(1);
    Ok(())
}

/// The row of a deleted account: a tombstone number no phone can collide with (numbers are
/// stored as `+` and digits), personal fields empty, a password that never verifies, and every
/// earlier token refused.
fn erased(user: user::Model) -> user::ActiveModel {
    let now = Utc::now();
    let tombstone = format!("deleted:{}", user.id);
    let mut row = user.into_active_model();
    row.phone_number = Set(tombstone);
    row.full_name = Set(String::new());
    row.first_name = Set(String::new());
    row.last_name = Set(String::new());
    row.email = Set(String::new());
    row.username = Set(None);
    row.date_of_birth = Set(None);
    row.gender = Set(None);
    row.photo = Set(None);
    row.last_login = Set(None);
    row.password = Set(unusable_password());
    row.is_active = Set(false);
    row.is_staff = Set(false);
    row.is_superuser = Set(false);
    row.is_notification_enabled = Set(false);
    row.tokens_valid_after = Set(Some(now));
    row.deleted_at = Set(Some(now));
    row.updated_at = Set(now);
    row
}

/// Django's `make_password(None)`: `!` and 40 random characters, which no password matches.
fn unusable_password() -> String {
    let random: String = rand::thread_rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect();
    format!("!{random}")
}

/// Moves the caller's account to the number a verified `change_phone` session was sent to. Every
/// other session ends; the caller's goes on with a fresh token pair.
pub async fn change_phone_number(
    state: &AppState,
    client: &Client,
    caller: CurrentUser,
    input: ChangePhoneInput,
) -> AppResult<SignedIn> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let phone = validator.phone(named!(input.phone_number));
    let session = validator.session(named!(input.session));
    let (Some(phone), Some(session)) = (phone, session) else {
        return Err(validator.into_error());
    };
    rate_limit::check_auth_attempt_from(state, client.ip).await?;
    if phone.as_str() == caller.user.phone_number {
        return Err(AppError::Rule(Rule::UserExists));
    }
    otp::require_verified_session(state, &session, &phone, OtpType::ChangePhone).await?;

    let old_phone = PhoneNumber::from_e164_unchecked(caller.user.phone_number.clone()).masked();
    let now = Utc::now();
    let mut row = caller.user.into_active_model();
    row.phone_number = Set(phone.as_str().to_string());
    row.updated_at = Set(now);
    // Every access token issued before now, the other devices' included, is refused; the caller
    // gets a new pair below.
    row.tokens_valid_after = Set(Some(now));
    let txn = state.db.begin().await?;
    // The unique number index decides a race with a registration or another change.
    let user = update_user(&txn, row).await?;
    otp::consume_verified_session(state, &session, &phone, OtpType::ChangePhone).await?;
    session::revoke_all_refresh_tokens(&txn, user.id, caller.claims.sid.as_deref()).await?;
    let tokens = session::renew_tokens(&txn, state, client, &caller.claims).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id, from = %old_phone, to = %phone.masked(), "phone number changed");
    Ok(SignedIn { user, tokens })
}
