//! Token rules an attacker probed: the OTP-login grace cannot be renewed by refreshing, and a
//! password change refuses every token issued before it, within the same second too.

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::user;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    a_refreshed_token_of_an_old_otp_login_cannot_set_a_password_without_the_old_one,
    a_password_change_refuses_tokens_issued_earlier_in_the_same_second,
);

/// The key `TestApp` configures as `SECRET_KEY`.
const KEY: &[u8] = b"test-secret-key-that-is-long-enough-for-hs256";
const PHONE: &str = "+998901234567";

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

/// Signs `claims` as our tokens are signed (HS256 with the test key).
fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &jsonwebtoken::EncodingKey::from_secret(KEY))
        .expect("signing works")
}

async fn get_me(app: &TestApp, access: &str) -> TestResponse {
    app.request(Method::GET, "/api/v1/users/me/", &[("authorization", &format!("Bearer {access}"))], Body::empty())
        .await
}

async fn a_refreshed_token_of_an_old_otp_login_cannot_set_a_password_without_the_old_one(backend: Backend) {
    // Arrange: an OTP login, and its refresh token as it would look 11 minutes later.
    let app = TestApp::spawn(backend).await;
    app.register(PHONE).await;
    let session = app.verified_session("login", PHONE).await;
    let login = app.post("login/otp/", json!({"phone_number": PHONE, "session": session})).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let refresh = login.body["tokens"]["refresh"].as_str().unwrap();
    let mut claims = claims_of(refresh);
    assert_eq!(claims["login_method"], "otp");
    let eleven_minutes_ago = chrono::Utc::now().timestamp() - 11 * 60;
    claims["iat"] = json!(eleven_minutes_ago);
    claims["auth_time"] = json!(eleven_minutes_ago);
    claims["iat_ms"] = json!(eleven_minutes_ago * 1000);
    claims["jti"] = json!(uuid::Uuid::new_v4().simple().to_string());
    let old_refresh = sign(&claims);

    // Act: refresh it, and set a password with the fresh access token and no old password.
    let refreshed = app.post("token/refresh/", json!({"refresh": old_refresh})).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let access = refreshed.body["access"].as_str().unwrap();
    assert_eq!(claims_of(access)["auth_time"], eleven_minutes_ago, "auth_time survives the refresh");
    let new_password = "Samarkand-1999?";
    let set = app
        .post_as("login/set-password/", json!({"password": new_password, "password2": new_password}), Some(access))
        .await;

    // Assert: the sign-in is 11 minutes old, so the old password is asked for.
    assert_eq!(set.status, StatusCode::BAD_REQUEST, "{}", set.body);
    assert_eq!(set.error_codes(), ["old_password_required"]);
    let login_again = app.post("login/", json!({"phone_number": PHONE, "password": PASSWORD})).await;
    assert_eq!(login_again.status, StatusCode::OK, "the password is unchanged");
}

async fn a_password_change_refuses_tokens_issued_earlier_in_the_same_second(backend: Backend) {
    // Arrange: a signed-in user changes the password.
    let app = TestApp::spawn(backend).await;
    let registered = app.register(PHONE).await;
    let access = registered["tokens"]["access"].as_str().unwrap().to_string();
    let new_password = "Samarkand-1999?";
    let changed = app
        .post_as(
            "change-password/",
            json!({"old_password": PASSWORD, "password": new_password, "password2": new_password}),
            Some(&access),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let account = user::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    let changed_at = account.tokens_valid_after.expect("the change is recorded");
    let (second, millis) = (changed_at.timestamp(), changed_at.timestamp_millis());
    let mut claims = claims_of(&access);
    claims["iat"] = json!(second);

    // Act: tokens from the same second as the change, a millisecond before and after it, and
    // one in Django's shape (whole seconds only).
    claims["iat_ms"] = json!(millis - 1);
    let just_before = get_me(&app, &sign(&claims)).await;
    claims["iat_ms"] = json!(millis + 1);
    let just_after = get_me(&app, &sign(&claims)).await;
    claims.as_object_mut().unwrap().remove("iat_ms");
    let django_same_second = get_me(&app, &sign(&claims)).await;

    // Assert
    assert_eq!(just_before.status, StatusCode::UNAUTHORIZED, "{}", just_before.body);
    assert_eq!(just_before.body["code"], "token_not_valid");
    assert_eq!(just_after.status, StatusCode::OK, "tokens issued after the change work: {}", just_after.body);
    assert_eq!(django_same_second.status, StatusCode::UNAUTHORIZED, "{}", django_same_second.body);
    assert_eq!(get_me(&app, &access).await.status, StatusCode::UNAUTHORIZED);
}
