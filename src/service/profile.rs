//! The caller's own profile: reading it and changing its editable fields.

use chrono::Utc;
use entity::user;
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, SqlErr,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use unicode_normalization::UnicodeNormalization;

use crate::{
    domain::{Gender, Language},
    error::{AppError, AppResult, FieldError},
    service::{
        auth::CurrentUser,
        validate::{UsernameInput, Validator},
    },
    state::AppState,
};

/// Fields a user may change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UpdateProfileInput {
    pub full_name: Option<String>,
    /// `Some("")` clears the username.
    pub username: Option<String>,
    /// `Some("")` clears the date.
    pub date_of_birth: Option<String>,
    /// `Some("")` clears the gender.
    pub gender: Option<String>,
    pub language: Option<String>,
    pub is_notification_enabled: Option<bool>,
}

/// Applies a partial update, validating every given field first.
pub async fn update_profile(
    state: &AppState,
    caller: CurrentUser,
    input: UpdateProfileInput,
) -> AppResult<user::Model> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let full_name = input.full_name.map(|value| validator.display_name("full_name", Some(value), 255));
    let username = input.username.map(|value| validator.username("username", value));
    let date_of_birth = input
        .date_of_birth
        .map(|value| if value.is_empty() { None } else { validator.optional_past_date("date_of_birth", Some(value)) });
    let gender = input.gender.map(|value| validator.optional_choice("gender", Some(value), Gender::from_wire));
    let language = input.language.map(|value| validator.choice("language", Some(value), Language::from_wire));
    if let Some(UsernameInput::Valid(name)) = &username
        && username_taken(&state.db, name, caller.user.id).await?
    {
        validator.push(username_taken_error());
    }
    validator.finish()?;

    let mut active = caller.user.into_active_model();
    if let Some(Some(full_name)) = full_name {
        active.full_name = Set(full_name);
    }
    match username {
        Some(UsernameInput::Valid(name)) => active.username = Set(Some(name)),
        Some(UsernameInput::Clear) => active.username = Set(None),
        Some(UsernameInput::Invalid) | None => {}
    }
    if let Some(date_of_birth) = date_of_birth {
        active.date_of_birth = Set(date_of_birth);
    }
    if let Some(gender) = gender {
        active.gender = Set(gender.map(|gender| gender.as_str().to_string()));
    }
    if let Some(Some(language)) = language {
        active.language = Set(language.as_str().to_string());
    }
    if let Some(enabled) = input.is_notification_enabled {
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
