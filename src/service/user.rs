//! Accounts: lookup by phone, existence checks, and registration behind a verified OTP session.

use std::sync::OnceLock;

use chrono::Utc;
use entity::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, QuerySelect, QueryTrait, SqlErr, Statement, TransactionTrait, sqlx,
};

use crate::{
    domain::{Gender, Language, OtpType, PhoneNumber},
    error::{AppError, AppResult, Rule},
    service::{
        Client, otp, rate_limit, session,
        token::{LoginMethod, TokenPair},
        validate::Validator,
    },
    state::AppState,
    store::SessionState,
};

/// What the next screen of a login flow should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginNext {
    Password,
    Otp,
    Register,
}

impl LoginNext {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginNext::Password => "password",
            LoginNext::Otp => "otp",
            LoginNext::Register => "register",
        }
    }
}

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

/// Raw registration input.
#[derive(Debug, Default)]
pub struct RegisterInput {
    pub phone_number: Option<String>,
    pub password: Option<String>,
    pub password2: Option<String>,
    pub full_name: Option<String>,
    pub date_of_birth: Option<String>,
    pub gender: Option<String>,
    pub language: Option<String>,
    pub session: Option<String>,
}

/// A signed-in user: the account and a fresh token pair.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: user::Model,
    pub tokens: TokenPair,
}

/// The account with this phone number, if any.
pub async fn find_by_phone(state: &AppState, phone: &PhoneNumber) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::PhoneNumber.eq(phone.as_str())).one(&state.db).await?)
}

/// Whether an account exists for the phone number, and whether it has a password.
pub async fn look_up_user(state: &AppState, client: &Client, phone_number: Option<String>) -> AppResult<UserLookup> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let Some(phone) = validator.phone("phone_number", phone_number) else {
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

const PASSWORD_BY_PHONE_LIMIT: u64 = 1;

/// The stored password of the account with this phone number, if there is one.
///
/// Sent straight through the sqlx pool that SeaORM holds. `query_one_raw` wraps the driver's
/// future in three more (two trace-level `#[instrument]` wrappers and an `async` block), each
/// moved whole when it is awaited: under callgrind those copies and the conversion of SeaORM's
/// values cost check-user more instructions than the driver's own work.
async fn password_by_phone(db: &DatabaseConnection, phone: &str) -> Result<Option<String>, DbErr> {
    let backend = db.get_database_backend();
    let sql = password_by_phone_sql(backend);
    let limit = PASSWORD_BY_PHONE_LIMIT as i64;
    // With the sqlx-postgres and sqlx-sqlite features only, the backend names the pool's type.
    let found = match backend {
        DbBackend::Postgres => {
            sqlx::query_scalar(sql).bind(phone).bind(limit).fetch_optional(db.get_postgres_connection_pool()).await
        }
        DbBackend::Sqlite => {
            sqlx::query_scalar(sql).bind(phone).bind(limit).fetch_optional(db.get_sqlite_connection_pool()).await
        }
        _ => {
            let statement = Statement::from_sql_and_values(backend, sql, [phone.into(), limit.into()]);
            let row = db.query_one_raw(statement).await?;
            return row.map(|row| row.try_get_by_index(0)).transpose();
        }
    };
    found.map_err(crate::db::query_failed)
}

/// `SELECT password FROM users WHERE phone_number = ? LIMIT ?` in the backend's dialect, built
/// once: check-user and login/check are hot, sea-query wrote the same text on every request, and
/// sending the other twenty columns (timestamps included) would be wasted work.
fn password_by_phone_sql(backend: DbBackend) -> &'static str {
    static BY_BACKEND: [OnceLock<String>; 3] = [const { OnceLock::new() }; 3];
    let cell = match backend {
        DbBackend::Postgres => &BY_BACKEND[0],
        DbBackend::Sqlite => &BY_BACKEND[1],
        _ => &BY_BACKEND[2],
    };
    cell.get_or_init(|| {
        user::Entity::find()
            .select_only()
            .column(user::Column::Password)
            .filter(user::Column::PhoneNumber.eq(""))
            .limit(PASSWORD_BY_PHONE_LIMIT)
            .build(backend)
            .sql
    })
}

/// Creates the account behind a verified `auth` session and signs it in.
pub async fn register_user(state: &AppState, client: &Client, input: RegisterInput) -> AppResult<SignedIn> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let phone = validator.phone("phone_number", input.phone_number);
    let password = validator.new_password(input.password, input.password2);
    let full_name = validator.display_name("full_name", input.full_name, 255);
    let date_of_birth = validator.optional_past_date("date_of_birth", input.date_of_birth);
    let gender = validator.optional_choice("gender", input.gender, Gender::from_wire);
    let language = validator.optional_choice("language", input.language, Language::from_wire);
    let session = validator.session("session", input.session);
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
    let tokens = session::issue_tokens(state, user.id, LoginMethod::Otp).await?;
    Ok(SignedIn { user, tokens })
}

/// Fails unless the session is verified for this phone and type (without consuming it).
pub async fn require_verified_session(
    state: &AppState,
    session: &str,
    phone: &PhoneNumber,
    otp_type: OtpType,
) -> AppResult<()> {
    let now_ms = Utc::now().timestamp_millis();
    match state.store.get_otp_session(session).await? {
        Some(record)
            if record.state == SessionState::Verified
                && record.phone_number == phone.as_str()
                && record.otp_type == otp_type
                && record.verified_until_ms >= now_ms =>
        {
            Ok(())
        }
        _ => Err(AppError::Rule(Rule::SessionInvalid)),
    }
}

/// A new, active, ordinary account with Django's defaults for the columns we do not use.
fn new_user_row(phone: &PhoneNumber, full_name: String, password_hash: String) -> user::ActiveModel {
    let now = Utc::now();
    user::ActiveModel {
        password: Set(password_hash),
        last_login: Set(None),
        is_superuser: Set(false),
        first_name: Set(String::new()),
        last_name: Set(String::new()),
        email: Set(String::new()),
        is_staff: Set(false),
        is_active: Set(true),
        date_joined: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        username: Set(None),
        phone_number: Set(phone.as_str().to_string()),
        full_name: Set(full_name),
        date_of_birth: Set(None),
        language: Set(Language::Uz.as_str().to_string()),
        gender: Set(None),
        photo: Set(None),
        is_notification_enabled: Set(true),
        ..Default::default()
    }
}

/// Inserts a row; the unique phone index turns a lost race into "user exists".
async fn insert_user(db: &impl ConnectionTrait, row: user::ActiveModel) -> AppResult<user::Model> {
    row.insert(db).await.map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Rule(Rule::UserExists),
        _ => AppError::from(error),
    })
}

/// Raw input of the `createsuperuser` command.
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
    let phone = validator.phone("phone_number", input.phone_number);
    let full_name = validator.display_name("full_name", input.full_name, 255);
    let password = validator.new_password(input.password, input.password2);
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
