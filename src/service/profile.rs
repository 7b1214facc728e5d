//! The caller's own profile: reading it and changing its editable fields.

use chrono::{NaiveDate, Utc};
use entity::user;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, SqlErr,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use unicode_normalization::UnicodeNormalization;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    domain::{Gender, Language},
    error::{AppError, AppResult, FieldError},
    request::{Field, Named, named},
    service::{
        AppState,
        caller::CurrentUser,
        validate::{UsernameInput, Validator},
    },
};

/// Body of `me/` PATCH: only the fields present change; `null` clears the nullable ones.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = UpdateProfileRequest)]
pub struct UpdateProfileInput {
    #[schema(value_type = String, max_length = 255)]
    #[serde(default)]
    pub full_name: Field<String>,
    /// Letters, digits and `@.+-_`, unique.
    #[schema(value_type = Option<String>, max_length = 150)]
    #[serde(default)]
    pub username: Field<String>,
    #[schema(value_type = Option<chrono::NaiveDate>)]
    #[serde(default)]
    pub date_of_birth: Field<NaiveDate>,
    #[schema(value_type = Option<Gender>)]
    #[serde(default)]
    pub gender: Field<Gender>,
    #[schema(value_type = Language)]
    #[serde(default)]
    pub language: Field<Language>,
    #[schema(value_type = bool)]
    #[serde(default)]
    pub is_notification_enabled: Field<bool>,
}

/// What a partial update does to one field.
enum Change<T> {
    Keep,
    Clear,
    Set(T),
}

/// Applies a partial update, validating every given field first.
pub async fn update_profile(
    state: &AppState,
    caller: CurrentUser,
    input: UpdateProfileInput,
) -> AppResult<user::Model> {
    let mut validator = Validator::new(state.config.phone_default_region);
    // `null` leaves the fields that cannot be empty as they are, and clears the others.
    let full_name = match named!(input.full_name) {
        Named { field: Field::Absent | Field::Null, .. } => None,
        full_name => validator.display_name(full_name, 255),
    };
    let username = match named!(input.username) {
        Named { field: Field::Absent, .. } => None,
        Named { field: Field::Null, .. } => Some(UsernameInput::Clear),
        Named { name, field: Field::Value(value) | Field::Unparsed(value) } => Some(validator.username(name, value)),
        wrong => {
            validator.well_typed(&wrong);
            None
        }
    };
    let date_of_birth = match named!(input.date_of_birth) {
        Named { field: Field::Absent, .. } => Change::Keep,
        date => validator.optional_past_date(date).map_or(Change::Clear, Change::Set),
    };
    let gender = match named!(input.gender) {
        Named { field: Field::Absent, .. } => Change::Keep,
        gender => validator.optional_choice(gender).map_or(Change::Clear, Change::Set),
    };
    let language = match named!(input.language) {
        Named { field: Field::Absent | Field::Null, .. } => None,
        language => validator.choice(language),
    };
    let is_notification_enabled = match named!(input.is_notification_enabled) {
        Named { field: Field::Value(enabled), .. } => Some(enabled),
        other => {
            validator.well_typed(&other);
            None
        }
    };
    if let Some(UsernameInput::Valid(name)) = &username
        && username_taken(&state.db, name, caller.user.id).await?
    {
        validator.push(username_taken_error());
    }
    validator.finish()?;

    let mut active = caller.user.into_active_model();
    if let Some(full_name) = full_name {
        active.full_name = Set(full_name);
    }
    match username {
        Some(UsernameInput::Valid(name)) => active.username = Set(Some(name)),
        Some(UsernameInput::Clear) => active.username = Set(None),
        Some(UsernameInput::Invalid) | None => {}
    }
    match date_of_birth {
        Change::Keep => {}
        Change::Clear => active.date_of_birth = Set(None),
        Change::Set(date) => active.date_of_birth = Set(Some(date)),
    }
    match gender {
        Change::Keep => {}
        Change::Clear => active.gender = Set(None),
        Change::Set(gender) => active.gender = Set(Some(gender.as_str().to_string())),
    }
    if let Some(language) = language {
        active.language = Set(language.as_str().to_string());
    }
    if let Some(enabled) = is_notification_enabled {
        active.is_notification_enabled = Set(enabled);
    }
    active.updated_at = Set(Utc::now());
    // The unique index settles a race between two users claiming one username.
    active.update(&state.db).await.map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Validation(vec![username_taken_error()]),
        _ => AppError::from(error),
    })
}

/// Whether an account other than `except` holds `name` in any letter case, as Django's forms
/// check (`username__iexact`).
async fn username_taken(db: &impl ConnectionTrait, name: &str, except: i64) -> AppResult<bool> {
    let folded = name.to_lowercase();
    // SQL lower() folds ASCII on every backend but other letters only under some locales (never
    // in SQLite), so the query narrows by the ASCII letters and Rust compares the rest.
    let candidates: Vec<Option<String>> = user::Entity::find()
        .select_only()
        .column(user::Column::Username)
        .filter(
            Expr::expr(Func::lower(Expr::col(user::Column::Username)))
                .like(LikeExpr::new(ascii_like_pattern(name)).escape('\\')),
        )
        .filter(user::Column::Id.ne(except))
        .into_tuple()
        .all(db)
        .await?;
    Ok(candidates.into_iter().flatten().any(|taken| taken.nfkc().collect::<String>().to_lowercase() == folded))
}

/// A LIKE pattern matching `name` with ASCII letters in lower case and any other character
/// standing for one character.
fn ascii_like_pattern(name: &str) -> String {
    let mut pattern = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            c if c.is_ascii() => pattern.push(c.to_ascii_lowercase()),
            _ => pattern.push('_'),
        }
    }
    pattern
}

fn username_taken_error() -> FieldError {
    FieldError::new("username", "unique", "A user with that username already exists.")
}
