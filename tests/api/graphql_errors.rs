//! Each `extensions.code` of contract §3 reached through `/graphql`, with the same rule failures
//! REST reports.

use std::time::Duration;

use entity::user;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::json;

use crate::{
    graphql_helpers::{SEND_OTP, VERIFY_OTP},
    helpers::{Backend, PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(
    graphql_bad_input_lists_every_problem_with_camel_case_fields,
    graphql_missing_or_bad_credentials_are_unauthenticated,
    graphql_inactive_user_is_forbidden,
    graphql_wrong_codes_are_invalid_then_exceeded,
    graphql_expired_code_is_otp_expired,
    graphql_unknown_session_is_session_invalid,
    graphql_account_rules_give_user_exists_and_user_not_found,
    graphql_second_send_is_rate_limited_with_retry_after,
);

const PHONE: &str = "+998901234567";
const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }";

async fn graphql_bad_input_lists_every_problem_with_camel_case_fields(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let input = json!({"phoneNumber": "12", "password": "1234", "password2": "12345", "fullName": " ",
                       "dateOfBirth": "2999-01-01", "session": "not-a-session"});

    // Act
    let response = app.graphql(REGISTER, json!({"input": input})).await;

    // Assert
    let error = response.graphql_error();
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(error["path"], json!(["register"]));
    let entries = error["extensions"]["errors"].as_array().unwrap();
    let fields: Vec<&str> = entries.iter().map(|entry| entry["field"].as_str().unwrap()).collect();
    for field in ["phoneNumber", "password2", "fullName", "dateOfBirth", "session"] {
        assert!(fields.contains(&field), "{field} missing from {}", response.body);
    }
    assert!(fields.iter().all(|field| !field.contains('_')), "{fields:?}");
    let phone = entries.iter().find(|entry| entry["field"] == "phoneNumber").unwrap();
    assert_eq!(
        phone,
        &json!({"field": "phoneNumber", "code": "invalid_phone_number", "message": "The phone number entered is not valid."})
    );
    assert!(error["message"].as_str().unwrap().contains("phoneNumber: The phone number entered is not valid."));
    assert_eq!(response.body["data"], json!(null));

    // A value the `Date` scalar cannot read is refused before anything runs.
    let bad_date = json!({"phoneNumber": PHONE, "password": PASSWORD, "password2": PASSWORD, "fullName": "A",
                          "dateOfBirth": "17.05.1990", "session": "s"});
    let refused = app.graphql(REGISTER, json!({"input": bad_date})).await;
    assert_eq!(refused.graphql_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(refused.graphql_error()["message"].as_str().unwrap().contains("Date"), "{}", refused.body);
}

async fn graphql_missing_or_bad_credentials_are_unauthenticated(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    app.graphql_register(PHONE).await;

    // Act
    let anonymous = app.graphql("{ me { id } }", json!({})).await;
    let forged = app.graphql_as("{ me { id } }", json!({}), Some("not.a.jwt")).await;
    let wrong_password = app
        .graphql(
            "mutation($input: LoginInput!) { login(input: $input) { user { id } } }",
            json!({"input": {"phoneNumber": PHONE, "password": "Wrong-pass-1"}}),
        )
        .await;

    // Assert
    for (response, code) in
        [(&anonymous, "not_authenticated"), (&forged, "token_not_valid"), (&wrong_password, "invalid_credentials")]
    {
        let error = response.graphql_error();
        assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{}", response.body);
        assert_eq!(error["extensions"]["errors"][0]["code"], code);
        assert_eq!(error["extensions"]["errors"][0]["field"], json!(null));
    }
    assert_eq!(wrong_password.graphql_error()["message"], "Invalid phone number or password.");

    // A mangled Authorization header only matters to fields that need a caller.
    let headers = [("content-type", "application/json"), ("authorization", "Bearer")];
    let body = json!({"query": "{ checkUser(phoneNumber: \"+998901234567\") { exists } me { id } }"});
    let mixed =
        app.request(axum::http::Method::POST, "/graphql", &headers, axum::body::Body::from(body.to_string())).await;
    assert_eq!(mixed.graphql_codes(), ["UNAUTHENTICATED"]);
    assert_eq!(mixed.graphql_error()["path"], json!(["me"]));
}

async fn graphql_inactive_user_is_forbidden(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let registered = app.graphql_register(PHONE).await;
    let access = registered["tokens"]["access"].as_str().unwrap().to_string();
    let mut row = user::Entity::find_by_id(1).one(&app.state.db).await.unwrap().unwrap().into_active_model();
    row.is_active = Set(false);
    row.update(&app.state.db).await.unwrap();

    // Act
    let login = app
        .graphql(
            "mutation($input: LoginInput!) { login(input: $input) { user { id } } }",
            json!({"input": {"phoneNumber": PHONE, "password": PASSWORD}}),
        )
        .await;
    let me = app.graphql_as("{ me { id } }", json!({}), Some(&access)).await;

    // Assert
    let error = login.graphql_error();
    assert_eq!(error["extensions"]["code"], "FORBIDDEN");
    assert_eq!(error["message"], "User account is disabled.");
    assert_eq!(me.graphql_codes(), ["UNAUTHENTICATED"]);
    assert_eq!(me.graphql_error()["extensions"]["errors"][0]["code"], "user_inactive");
}

async fn graphql_wrong_codes_are_invalid_then_exceeded(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let session = app.graphql_send_otp("AUTH", PHONE).await;
    let code = app.last_code(PHONE);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guess = |otp_code: &str| json!({"input": {"type": "AUTH", "phoneNumber": PHONE, "session": session, "otpCode": otp_code}});

    // Act
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.extend(app.graphql(VERIFY_OTP, guess(wrong)).await.graphql_codes());
    }
    let right = app.graphql(VERIFY_OTP, guess(&code)).await;

    // Assert
    assert_eq!(
        codes,
        ["OTP_INVALID", "OTP_INVALID", "OTP_INVALID", "OTP_INVALID", "OTP_INVALID", "OTP_ATTEMPTS_EXCEEDED"]
    );
    assert_eq!(right.graphql_codes(), ["OTP_ATTEMPTS_EXCEEDED"]);
}

async fn graphql_expired_code_is_otp_expired(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, &[("OTP_TTL", "1")]).await;
    let session = app.graphql_send_otp("AUTH", PHONE).await;
    let code = app.last_code(PHONE);
    tokio::time::sleep(Duration::from_millis(1300)).await;

    // Act
    let input = json!({"type": "AUTH", "phoneNumber": PHONE, "session": session, "otpCode": code});
    let response = app.graphql(VERIFY_OTP, json!({"input": input})).await;

    // Assert
    assert_eq!(response.graphql_codes(), ["OTP_EXPIRED"]);
}

async fn graphql_unknown_session_is_session_invalid(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let unknown = uuid::Uuid::new_v4().to_string();

    // Act
    let verify = app
        .graphql(
            VERIFY_OTP,
            json!({"input": {"type": "AUTH", "phoneNumber": PHONE, "session": unknown, "otpCode": "123456"}}),
        )
        .await;
    // An unverified session cannot register either.
    let session = app.graphql_send_otp("AUTH", PHONE).await;
    let register = app
        .graphql(
            REGISTER,
            json!({"input": {"phoneNumber": PHONE, "password": PASSWORD, "password2": PASSWORD,
                             "fullName": "Ali Valiyev", "session": session}}),
        )
        .await;

    // Assert
    assert_eq!(verify.graphql_codes(), ["SESSION_INVALID"]);
    assert_eq!(register.graphql_codes(), ["SESSION_INVALID"]);
}

async fn graphql_account_rules_give_user_exists_and_user_not_found(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    app.graphql_register(PHONE).await;

    // Act
    let taken = app.graphql(SEND_OTP, json!({"input": {"type": "AUTH", "phoneNumber": PHONE}})).await;
    let unknown =
        app.graphql(SEND_OTP, json!({"input": {"type": "FORGOT_PASSWORD", "phoneNumber": "+998901112233"}})).await;

    // Assert
    assert_eq!(taken.graphql_codes(), ["USER_EXISTS"]);
    assert_eq!(taken.graphql_error()["message"], "User exists with this phone number");
    assert_eq!(unknown.graphql_codes(), ["USER_NOT_FOUND"]);
    assert_eq!(unknown.graphql_error()["message"], "User does not exist with this phone number");
}

async fn graphql_second_send_is_rate_limited_with_retry_after(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    app.graphql_send_otp("AUTH", PHONE).await;

    // Act
    let again = app.graphql(SEND_OTP, json!({"input": {"type": "AUTH", "phoneNumber": PHONE}})).await;

    // Assert
    let error = again.graphql_error();
    assert_eq!(error["extensions"]["code"], "RATE_LIMITED");
    assert_eq!(error["message"], "OTP Already sent");
    let retry_after = error["extensions"]["retryAfter"].as_u64().expect("retryAfter in seconds");
    assert!((1..=120).contains(&retry_after), "{retry_after}");
    assert_eq!(app.outbox().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_internal_errors_reveal_nothing() {
    // Arrange: the users table disappears from under the service
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.state.db.execute_unprepared("ALTER TABLE users RENAME TO users_gone").await.unwrap();

    // Act
    let response = app.graphql("{ checkUser(phoneNumber: \"+998901234567\") { exists } }", json!({})).await;

    // Assert
    let error = response.graphql_error();
    assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(error["message"], "Internal server error.");
    assert!(!response.body.to_string().contains("users"), "{}", response.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_database_outage_is_service_unavailable() {
    // Arrange: the connection pool is closed under the running app
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.state.db.close_by_ref().await.unwrap();

    // Act
    let response = app.graphql("{ checkUser(phoneNumber: \"+998901234567\") { exists } }", json!({})).await;

    // Assert
    let error = response.graphql_error();
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(error["message"], "The database is temporarily unavailable. Try again shortly.");
}
