//! Every GraphQL query and mutation succeeding, with the exact `data` a web frontend reads.

use entity::user;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};

use crate::{
    graphql_helpers::{SEND_OTP, USER_FIELDS, VERIFY_OTP},
    helpers::{Backend, PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(
    graphql_registration_flow_returns_the_documented_data,
    graphql_check_user_and_login_check_tell_the_next_step,
    graphql_login_returns_the_user_and_tokens,
    graphql_otp_login_then_set_password_needs_no_old_password,
    graphql_reset_password_replaces_the_password,
    graphql_change_password_replaces_the_password,
    graphql_update_profile_changes_and_clears_fields,
    graphql_refresh_token_rotates_and_logout_ends_the_session,
);

const PHONE: &str = "+998901234567";
const NEW_PASSWORD: &str = "Samarkand-1999?";

fn user_query(operation: &str) -> String {
    operation.replace("USER", USER_FIELDS)
}

async fn graphql_registration_flow_returns_the_documented_data(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;

    // Act: sendOtp, with a spelling that needs normalising
    let sent = app.graphql(SEND_OTP, json!({"input": {"type": "AUTH", "phoneNumber": "+998 90 123-45-67"}})).await;

    // Assert
    let session = sent.body["data"]["sendOtp"]["session"].as_str().expect("a session").to_string();
    assert!(uuid::Uuid::parse_str(&session).is_ok());
    assert_eq!(sent.body, json!({"data": {"sendOtp": {"type": "AUTH", "phoneNumber": PHONE, "session": session}}}));
    let code = app.last_code(PHONE);

    // Act: verifyOtp
    let input = json!({"type": "AUTH", "phoneNumber": "998901234567", "session": session, "otpCode": code});
    let verified = app.graphql(VERIFY_OTP, json!({"input": input})).await;

    // Assert: the code is not echoed back
    assert_eq!(
        verified.body,
        json!({"data": {"verifyOtp": {"type": "AUTH", "phoneNumber": PHONE, "session": session, "verified": true}}})
    );

    // Act: register
    let register = user_query(
        "mutation($input: RegisterInput!) { register(input: $input) { user { USER } tokens { access refresh } } }",
    );
    let input = json!({"phoneNumber": PHONE, "password": PASSWORD, "password2": PASSWORD, "fullName": "Ali Valiyev",
                       "dateOfBirth": "1990-05-17", "gender": "MALE", "language": "RU", "session": session});
    let registered = app.graphql(&register, json!({"input": input})).await;

    // Assert
    let data = &registered.body["data"]["register"];
    let date_joined = data["user"]["dateJoined"].as_str().expect("dateJoined").to_string();
    assert!(chrono::DateTime::parse_from_rfc3339(&date_joined).is_ok(), "{date_joined}");
    assert!(date_joined.ends_with('Z'), "{date_joined}");
    assert_eq!(
        registered.body,
        json!({"data": {"register": {
            "user": {"id": "1", "phoneNumber": PHONE, "fullName": "Ali Valiyev", "username": null,
                     "dateOfBirth": "1990-05-17", "gender": "MALE", "language": "RU", "hasPassword": true,
                     "isNotificationEnabled": true, "dateJoined": date_joined},
            "tokens": {"access": data["tokens"]["access"], "refresh": data["tokens"]["refresh"]},
        }}})
    );
    let access = data["tokens"]["access"].as_str().unwrap();
    assert_eq!(access.split('.').count(), 3);

    // Act: me, with the new access token
    let me = app.graphql_as(&user_query("{ me { USER } }"), json!({}), Some(access)).await;

    // Assert
    assert_eq!(me.body["data"]["me"], data["user"]);

    // The session is spent: a second register with it fails.
    let again = app.graphql(&register, json!({"input": input})).await;
    assert_eq!(again.graphql_codes(), ["USER_EXISTS"]);
}

async fn graphql_check_user_and_login_check_tell_the_next_step(backend: Backend) {
    // Arrange: one account with a password, one without
    let app = TestApp::spawn(backend).await;
    app.graphql_register(PHONE).await;
    let passwordless = app.graphql_register("+998901234568").await;
    let id: i64 = passwordless["user"]["id"].as_str().unwrap().parse().unwrap();
    let mut row = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap().into_active_model();
    row.password = Set("!unusable".into());
    row.update(&app.state.db).await.unwrap();
    let check = "query($phone: String!) { checkUser(phoneNumber: $phone) { exists phoneNumber } }";
    let login_check =
        "query($phone: String!) { loginCheck(phoneNumber: $phone) { exists hasPassword phoneNumber next } }";

    // Act + Assert: checkUser
    let exists = app.graphql(check, json!({"phone": "+998 90 123 45 67"})).await;
    assert_eq!(exists.body, json!({"data": {"checkUser": {"exists": true, "phoneNumber": PHONE}}}));
    let missing = app.graphql(check, json!({"phone": "+998901112233"})).await;
    assert_eq!(missing.body, json!({"data": {"checkUser": {"exists": false, "phoneNumber": "+998901112233"}}}));

    // Act + Assert: loginCheck
    for (phone, exists, has_password, next) in [
        (PHONE, true, true, "PASSWORD"),
        ("+998901234568", true, false, "OTP"),
        ("+998901112233", false, false, "REGISTER"),
    ] {
        let response = app.graphql(login_check, json!({"phone": phone})).await;
        assert_eq!(
            response.body,
            json!({"data": {"loginCheck": {"exists": exists, "hasPassword": has_password, "phoneNumber": phone, "next": next}}})
        );
    }
}

async fn graphql_login_returns_the_user_and_tokens(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    app.graphql_register(PHONE).await;
    let login = "mutation($input: LoginInput!) { login(input: $input) { user { id phoneNumber fullName } tokens { access refresh } } }";

    // Act
    let response = app.graphql(login, json!({"input": {"phoneNumber": "998901234567", "password": PASSWORD}})).await;

    // Assert
    let tokens = &response.body["data"]["login"]["tokens"];
    assert_eq!(
        response.body,
        json!({"data": {"login": {
            "user": {"id": "1", "phoneNumber": PHONE, "fullName": "Ali Valiyev"},
            "tokens": {"access": tokens["access"], "refresh": tokens["refresh"]},
        }}})
    );
    let me = app.graphql_as("{ me { phoneNumber } }", json!({}), tokens["access"].as_str()).await;
    assert_eq!(me.body, json!({"data": {"me": {"phoneNumber": PHONE}}}));
}

async fn graphql_otp_login_then_set_password_needs_no_old_password(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    app.graphql_register(PHONE).await;
    let session = app.graphql_verified_session("LOGIN", PHONE).await;
    let login_with_otp = "mutation($input: LoginWithOtpInput!) { loginWithOtp(input: $input) { user { phoneNumber } tokens { access } } }";

    // Act: loginWithOtp
    let response = app.graphql(login_with_otp, json!({"input": {"phoneNumber": PHONE, "session": session}})).await;

    // Assert
    assert_eq!(response.body["data"]["loginWithOtp"]["user"], json!({"phoneNumber": PHONE}));
    let access = response.body["data"]["loginWithOtp"]["tokens"]["access"].as_str().unwrap().to_string();
    let reuse = app.graphql(login_with_otp, json!({"input": {"phoneNumber": PHONE, "session": session}})).await;
    assert_eq!(reuse.graphql_codes(), ["SESSION_INVALID"]);

    // Act: setPassword without oldPassword, within the OTP-login grace time
    let set_password = "mutation($input: SetPasswordInput!) { setPassword(input: $input) { phoneNumber hasPassword } }";
    let set = app
        .graphql_as(
            set_password,
            json!({"input": {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}}),
            Some(&access),
        )
        .await;

    // Assert
    assert_eq!(set.body, json!({"data": {"setPassword": {"phoneNumber": PHONE, "hasPassword": true}}}));
    let login = app
        .graphql("mutation { login(input: {phoneNumber: \"+998901234567\", password: \"Samarkand-1999?\"}) { user { id } } }", json!({}))
        .await;
    assert_eq!(login.body, json!({"data": {"login": {"user": {"id": "1"}}}}));
}

async fn graphql_reset_password_replaces_the_password(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    app.graphql_register(PHONE).await;
    let session = app.graphql_verified_session("FORGOT_PASSWORD", PHONE).await;

    // Act
    let reset = "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { id phoneNumber fullName } }";
    let input = json!({"phoneNumber": PHONE, "password": NEW_PASSWORD, "password2": NEW_PASSWORD, "session": session});
    let response = app.graphql(reset, json!({"input": input})).await;

    // Assert
    assert_eq!(
        response.body,
        json!({"data": {"resetPassword": {"id": "1", "phoneNumber": PHONE, "fullName": "Ali Valiyev"}}})
    );
    assert_eq!(login(&app, PASSWORD).await, ["UNAUTHENTICATED"]);
    assert!(login(&app, NEW_PASSWORD).await.is_empty());
}

async fn graphql_change_password_replaces_the_password(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let registered = app.graphql_register(PHONE).await;
    let access = registered["tokens"]["access"].as_str().unwrap();

    // Act
    let change = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) }";
    let input = json!({"oldPassword": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
    let response = app.graphql_as(change, json!({"input": input}), Some(access)).await;

    // Assert
    assert_eq!(response.body, json!({"data": {"changePassword": true}}));
    assert_eq!(login(&app, PASSWORD).await, ["UNAUTHENTICATED"]);
    assert!(login(&app, NEW_PASSWORD).await.is_empty());
}

/// Logs in with `password`; the error codes (empty on success).
async fn login(app: &TestApp, password: &str) -> Vec<String> {
    let login = "mutation($input: LoginInput!) { login(input: $input) { user { id } } }";
    app.graphql(login, json!({"input": {"phoneNumber": PHONE, "password": password}})).await.graphql_codes()
}

async fn graphql_update_profile_changes_and_clears_fields(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let registered = app.graphql_register(PHONE).await;
    let access = registered["tokens"]["access"].as_str().unwrap();
    let update = user_query("mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { USER } }");

    // Act: set every field
    let input = json!({"fullName": "Vali Aliyev", "username": "vali", "dateOfBirth": "1991-02-03",
                       "gender": "FEMALE", "language": "EN", "isNotificationEnabled": false});
    let changed = app.graphql_as(&update, json!({"input": input}), Some(access)).await;

    // Assert
    let mut expected: Value = registered["user"].clone();
    for (field, value) in input.as_object().unwrap() {
        expected[field] = value.clone();
    }
    assert_eq!(changed.body, json!({"data": {"updateProfile": expected}}));

    // Act: null clears the clearable fields; omitted fields stay
    let input = json!({"username": null, "dateOfBirth": null, "gender": null});
    let cleared = app.graphql_as(&update, json!({"input": input}), Some(access)).await;

    // Assert
    for (field, value) in input.as_object().unwrap() {
        expected[field] = value.clone();
    }
    assert_eq!(cleared.body, json!({"data": {"updateProfile": expected}}));
    let me = app.graphql_as(&user_query("{ me { USER } }"), json!({}), Some(access)).await;
    assert_eq!(me.body, json!({"data": {"me": expected}}));
}

async fn graphql_refresh_token_rotates_and_logout_ends_the_session(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let registered = app.graphql_register(PHONE).await;
    let first_refresh = registered["tokens"]["refresh"].as_str().unwrap();
    let refresh = "mutation($refresh: String!) { refreshToken(refresh: $refresh) { access refresh } }";
    let logout = "mutation($refresh: String!) { logout(refresh: $refresh) }";

    // Act: refreshToken
    let rotated = app.graphql(refresh, json!({"refresh": first_refresh})).await;

    // Assert
    let pair = &rotated.body["data"]["refreshToken"];
    assert_eq!(rotated.body, json!({"data": {"refreshToken": {"access": pair["access"], "refresh": pair["refresh"]}}}));
    assert_ne!(pair["refresh"], registered["tokens"]["refresh"]);
    let me = app.graphql_as("{ me { id } }", json!({}), pair["access"].as_str()).await;
    assert_eq!(me.body, json!({"data": {"me": {"id": "1"}}}));

    // Act: logout with the new refresh token
    let new_refresh = pair["refresh"].as_str().unwrap();
    let logged_out = app.graphql(logout, json!({"refresh": new_refresh})).await;

    // Assert
    assert_eq!(logged_out.body, json!({"data": {"logout": true}}));
    let after = app.graphql(refresh, json!({"refresh": new_refresh})).await;
    assert_eq!(after.graphql_codes(), ["UNAUTHENTICATED"]);
    assert_eq!(after.graphql_error()["extensions"]["errors"][0]["code"], "token_not_valid");
}
