//! The users table: the lookups and inserts that several use cases share.

use chrono::Utc;
use entity::user;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect, SqlErr,
};

use crate::{
    domain::{Language, PhoneNumber},
    error::{AppError, AppResult, Rule},
    service::AppState,
};

/// The account with this phone number, if any.
pub async fn find_by_phone(state: &AppState, phone: &PhoneNumber) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::PhoneNumber.eq(phone.as_str())).one(&state.db).await?)
}

/// The stored password of the account with this phone number, if there is one. Only that
/// column is read: check-user and login/check are hot, and the other twenty are wasted work.
pub async fn password_by_phone(db: &DatabaseConnection, phone: &str) -> Result<Option<String>, DbErr> {
    user::Entity::find()
        .select_only()
        .column(user::Column::Password)
        .filter(user::Column::PhoneNumber.eq(phone))
        .into_tuple()
        .one(db)
        .await
}

/// A new, active, ordinary account with Django's defaults for the columns we do not use.
pub fn new_user_row(phone: &PhoneNumber, full_name: String, password_hash: String) -> user::ActiveModel {
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

/// Saves a changed row; the unique phone index turns a lost race for a number into "user exists".
pub async fn update_user(db: &impl ConnectionTrait, row: user::ActiveModel) -> AppResult<user::Model> {
    row.update(db).await.map_err(number_taken)
}

/// Inserts a row; the unique phone index turns a lost race into "user exists".
pub async fn insert_user(db: &impl ConnectionTrait, row: user::ActiveModel) -> AppResult<user::Model> {
    row.insert(db).await.map_err(number_taken)
}

fn number_taken(error: DbErr) -> AppError {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Rule(Rule::UserExists),
        _ => AppError::from(error),
    }
}
