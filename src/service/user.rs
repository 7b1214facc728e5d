//! Accounts: lookup by phone, existence checks, and registration behind a verified OTP session.

use chrono::{NaiveDate, Utc};
use entity::user;
use sea_orm::{ActiveValue::Set, TransactionTrait};

use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{Gender, Language, LoginMethod, LoginNext, OtpType, PhoneNumber},
    error::{AppError, AppResult, Rule},
    request::{Field, named},
    service::{
        AppState, Client,
        accounts::{find_by_phone, insert_user, new_user_row, password_by_phone},
        otp::{self, require_verified_session},
        rate_limit, session,
        token::TokenPair,
        validate::Validator,
    },
};

/// Answer of check-user and login/check.
#[derive(Debug, Clone)]
pub struct UserLookup {
    pub phone_number: PhoneNumber,
    pub exists: bool,
    pub has_password: bool,
}

impl UserLookup {
    pub fn next(&self) -> LoginNext {
        match (self.exists, self.has_password) {
            (false, _) => LoginNext::Register,
            (true, true) => LoginNext::Password,
            (true, false) => LoginNext::Otp,
        }
    }
}

/// Body of `check-user/` and `login/check/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PhoneNumberRequest)]
pub struct LookUpInput {
    #[schema(value_type = String, required, example = "+998901234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
}

/// Body of `register/`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = RegisterRequest)]
pub struct RegisterInput {
    #[schema(value_type = String, required, example = "+998901234567")]
    #[serde(default)]
    pub phone_number: Field<String>,
    /// 8 to 128 characters, not entirely numeric, not a common password.
    #[schema(value_type = String, required, min_length = 8, max_length = 128, example = "Tashkent-2024!")]
    #[serde(default)]
    pub password: Field<String>,
    /// Must equal `password`.
    #[schema(value_type = String, required, min_length = 8, max_length = 128, example = "Tashkent-2024!")]
    #[serde(default)]
    pub password2: Field<String>,
    #[schema(value_type = String, required, max_length = 255, example = "Ali Valiyev")]
    #[serde(default)]
    pub full_name: Field<String>,
    #[schema(value_type = Option<chrono::NaiveDate>, example = "1990-05-17")]
    #[serde(default)]
    pub date_of_birth: Field<NaiveDate>,
    #[schema(value_type = Option<Gender>)]
    #[serde(default)]
    pub gender: Field<Gender>,
    /// `uz` when absent.
    #[schema(value_type = Option<Language>)]
    #[serde(default)]
    pub language: Field<Language>,
    /// A session verified by `verify-otp/` with type `auth`; it is consumed.
    #[schema(value_type = String, required, format = "uuid")]
    #[serde(default)]
    pub session: Field<String>,
}

/// A signed-in user: the account and a fresh token pair.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: user::Model,
    pub tokens: TokenPair,
}

/// Whether an account exists for the phone number, and whether it has a password.
pub async fn look_up_user(state: &AppState, client: &Client, input: LookUpInput) -> AppResult<UserLookup> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let Some(phone) = validator.phone(named!(input.phone_number)) else {
        return Err(validator.into_error());
    };
    rate_limit::check_lookup_from(state, client.ip).await?;
    // Boxed: the driver's future is several kilobytes, and unboxed it made every layer above it
    // (handler, middleware, router) that large, each move a memcpy on every request.
    let password = Box::pin(password_by_phone(&state.db, phone.as_str())).await?;
    Ok(UserLookup {
        exists: password.is_some(),
        has_password: password.as_deref().is_some_and(user::is_usable_password),
        phone_number: phone,
    })
}

/// Creates the account behind a verified `auth` session and signs it in.
pub async fn register_user(state: &AppState, client: &Client, input: RegisterInput) -> AppResult<SignedIn> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let phone = validator.phone(named!(input.phone_number));
    let password = validator.new_password(named!(input.password), named!(input.password2));
    let full_name = validator.display_name(named!(input.full_name), 255);
    let date_of_birth = validator.optional_past_date(named!(input.date_of_birth));
    let gender = validator.optional_choice(named!(input.gender));
    let language = validator.optional_choice(named!(input.language));
    let session = validator.session(named!(input.session));
    if !validator.is_valid() {
        return Err(validator.into_error());
    }
    let (Some(phone), Some(password), Some(full_name), Some(session)) = (phone, password, full_name, session) else {
        return Err(validator.into_error());
    };
    // Registration hashes, so it has the brakes of every password change; no account yet, so the
    // phone is the account's key.
    rate_limit::check_auth_attempt_from(state, client.ip).await?;
    rate_limit::check_password_change_for(state, &format!("phone:{}", phone.as_str())).await?;

    if find_by_phone(state, &phone).await?.is_some() {
        return Err(AppError::Rule(Rule::UserExists));
    }
    // Hashing is the expensive step: only do it for a session that can actually be consumed.
    require_verified_session(state, &session, &phone, OtpType::Auth).await?;
    let password_hash = state.passwords.hash(&password).await?;

    let mut new_user = new_user_row(&phone, full_name, password_hash);
    new_user.last_login = Set(Some(Utc::now()));
    new_user.date_of_birth = Set(date_of_birth);
    new_user.language = Set(language.unwrap_or(Language::Uz).as_str().to_string());
    new_user.gender = Set(gender.map(|gender| gender.as_str().to_string()));
    // The row and the session's consumption commit together: a lost race leaves neither.
    let txn = state.db.begin().await?;
    let user = insert_user(&txn, new_user).await?;
    otp::consume_verified_session(state, &session, &phone, OtpType::Auth).await?;
    txn.commit().await?;

    tracing::info!(user_id = user.id, phone_number = %phone.masked(), "user registered");
    let tokens = session::issue_tokens(state, client, user.id, LoginMethod::Otp).await?;
    Ok(SignedIn { user, tokens })
}

/// Input of the `createsuperuser` command; `None` is a value the operator did not give.
#[derive(Debug, Default)]
pub struct CreateSuperuserInput {
    pub phone_number: Option<String>,
    pub full_name: Option<String>,
    pub password: Option<String>,
    pub password2: Option<String>,
}

/// Creates a staff superuser, as Django's `createsuperuser` does, under the password policy.
pub async fn create_superuser(state: &AppState, input: CreateSuperuserInput) -> AppResult<user::Model> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let phone = validator.phone(named!(input.phone_number));
    let full_name = validator.display_name(named!(input.full_name), 255);
    let password = validator.new_password(named!(input.password), named!(input.password2));
    if !validator.is_valid() {
        return Err(validator.into_error());
    }
    let (Some(phone), Some(full_name), Some(password)) = (phone, full_name, password) else {
        return Err(validator.into_error());
    };
    if find_by_phone(state, &phone).await?.is_some() {
        return Err(AppError::Rule(Rule::UserExists));
    }
    let mut row = new_user_row(&phone, full_name, state.passwords.hash(&password).await?);
    row.is_staff = Set(true);
    row.is_superuser = Set(true);
    let user = insert_user(&state.db, row).await?;
    tracing::info!(user_id = user.id, phone_number = %phone.masked(), "superuser created");
    Ok(user)
}
