//! The caller's own profile: reading it and changing its editable fields.

use chrono::Utc;
use entity::user;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, SqlErr};

use crate::{
    domain::{Gender, Language},
    error::{AppError, AppResult, FieldError},
    service::{auth::CurrentUser, validate::Validator},
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

const USERNAME_MAX: usize = 150;

/// Applies a partial update, validating every given field first.
pub async fn update_profile(
    state: &AppState,
    caller: CurrentUser,
    input: UpdateProfileInput,
) -> AppResult<user::Model> {
    let mut validator = Validator::new(state.config.phone_default_region);
    let full_name = input.full_name.map(|value| validator.bounded_text("full_name", Some(value), 255));
    let username = input.username.map(|value| parse_username(&mut validator, value));
    let date_of_birth = input
        .date_of_birth
        .map(|value| if value.is_empty() { None } else { validator.optional_past_date("date_of_birth", Some(value)) });
    let gender = input.gender.map(|value| validator.optional_choice("gender", Some(value), Gender::from_wire));
    let language = input.language.map(|value| validator.choice("language", Some(value), Language::from_wire));
    if let Some(Some(name)) = &username {
        let taken = user::Entity::find()
            .filter(user::Column::Username.eq(name.as_str()))
            .filter(user::Column::Id.ne(caller.user.id))
            .one(&state.db)
            .await?
            .is_some();
        if taken {
            validator.push(username_taken());
        }
    }
    validator.finish()?;

    let mut active = caller.user.into_active_model();
    if let Some(Some(full_name)) = full_name {
        active.full_name = Set(full_name);
    }
    if let Some(username) = username {
        active.username = Set(username);
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
        Some(SqlErr::UniqueConstraintViolation(_)) => AppError::Validation(vec![username_taken()]),
        _ => AppError::from(error),
    })
}

/// Django's username rule: letters, digits and @/./+/-/_ only, at most 150 characters.
fn parse_username(validator: &mut Validator, value: String) -> Option<String> {
    let value = value.trim().to_string();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() > USERNAME_MAX {
        validator.push(FieldError::new("username", "max_length", "Ensure this field has no more than 150 characters."));
    } else if !value.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
        validator.push(FieldError::new(
            "username",
            "invalid",
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
        ));
    }
    Some(value)
}

fn username_taken() -> FieldError {
    FieldError::new("username", "unique", "A user with that username already exists.")
}
