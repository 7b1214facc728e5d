//! The README flows through REST v1, with the exact bodies legacy clients parse.

use axum::http::StatusCode;
use entity::user;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel, PaginatorTrait};
use serde_json::json;

use crate::{
    helpers::{Backend, PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(
    registration_flow_returns_the_documented_bodies,
    login_and_its_alias_return_the_user_and_tokens,
    check_user_and_login_check_tell_the_next_step,
    otp_login_signs_in_and_allows_setting_a_password_without_the_old_one,
    forgot_password_reset_replaces_the_password,
    concurrent_registers_with_one_session_create_one_user,
    registering_a_taken_phone_is_refused,
    inactive_user_cannot_log_in,
    password_policy_failures_are_all_listed,
    set_password_after_password_login_needs_the_old_password,
);

async fn registration_flow_returns_the_documented_bodies(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;

    // Act: send-otp
    let sent = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998 90 123-45-67"})).await;

    // Assert
    assert_eq!(sent.status, StatusCode::CREATED);
    let session = sent.body["session"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&session).is_ok());
    assert_eq!(sent.body, json!({"type": "auth", "phone_number": "+998901234567", "session": session}));
    let sms = app.outbox();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0]["phone_number"], "+998901234567");
    assert_eq!(sms[0]["type"], "auth");
    let code = sms[0]["code"].as_str().unwrap().to_string();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    assert!(sms[0]["message"].as_str().unwrap().contains(&code));

    // Act: verify-otp
    let verified = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "998901234567", "session": session, "otp_code": code}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::CREATED);
    assert_eq!(
        verified.body,
        json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": code})
    );

    // Act: register
    let registered = app
        .post(
            "register/",
            json!({"phone_number": "+998901234567", "password": PASSWORD, "password2": PASSWORD,
                   "full_name": "Ali Valiyev", "date_of_birth": "1990-05-17", "gender": "male",
                   "language": "ru", "session": session}),
        )
        .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let tokens = registered.body["tokens"].clone();
    assert_eq!(
        registered.body,
        json!({
            "success": true,
            "message": "User registered successfully",
            "user": {"id": 1, "phone_number": "+998901234567", "full_name": "Ali Valiyev", "username": null,
                     "date_of_birth": "1990-05-17", "gender": "male", "language": "ru"},
            "tokens": {"access": tokens["access"], "refresh": tokens["refresh"]},
        })
    );
    assert_eq!(tokens["access"].as_str().unwrap().split('.').count(), 3);

    // The session is spent: registering again with it fails.
    let again = app
        .post(
            "register/",
            json!({"phone_number": "+998901234567", "password": PASSWORD, "password2": PASSWORD,
                   "full_name": "Ali Valiyev", "session": session}),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.error_codes(), ["non_field_errors_user_exists"]);
}

async fn login_and_its_alias_return_the_user_and_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;

    for path in ["login/", "login/password/", "login", "login/password"] {
        let response = app.post(path, json!({"phone_number": "998901234567", "password": PASSWORD})).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
        let tokens = response.body["tokens"].clone();
        assert_eq!(
            response.body,
            json!({
                "success": true,
                "message": "Login successful",
                "user": {"id": 1, "phone_number": "+998901234567", "full_name": "Ali Valiyev", "username": null},
                "tokens": {"access": tokens["access"], "refresh": tokens["refresh"]},
            })
        );
    }

    let wrong = app.post("login/", json!({"phone_number": "+998901234567", "password": "Wrong-pass-1"})).await;
    let unknown = app.post("login/", json!({"phone_number": "+998901112233", "password": PASSWORD})).await;
    for response in [&wrong, &unknown] {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.header("www-authenticate"), Some("Bearer realm=\"api\""));
        assert_eq!(
            response.body,
            json!({"success": false, "status_code": 401, "errors": [{
                "code": "non_field_errors_invalid_credentials", "field": null,
                "message": "Invalid phone number or password."}]})
        );
    }
}

async fn check_user_and_login_check_tell_the_next_step(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;
    let passwordless = app.register("+998901234568").await;
    let id = passwordless["user"]["id"].as_i64().unwrap();
    let mut row = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap().into_active_model();
    row.password = Set("!unusable".into());
    row.update(&app.state.db).await.unwrap();

    let exists = app.post("check-user/", json!({"phone_number": "+998 90 123 45 67"})).await;
    assert_eq!(exists.status, StatusCode::OK);
    assert_eq!(exists.body, json!({"success": true, "exists": true, "phone_number": "+998901234567"}));
    let missing = app.post("check-user/", json!({"phone_number": "+998901112233"})).await;
    assert_eq!(missing.body, json!({"success": true, "exists": false, "phone_number": "+998901112233"}));

    for (phone, exists, has_password, next) in [
        ("+998901234567", true, true, "password"),
        ("+998901234568", true, false, "otp"),
        ("+998901112233", false, false, "register"),
    ] {
        let response = app.post("login/check/", json!({"phone_number": phone})).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(
            response.body,
            json!({"success": true, "exists": exists, "has_password": has_password, "phone_number": phone, "next": next})
        );
    }
}

async fn otp_login_signs_in_and_allows_setting_a_password_without_the_old_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;

    let session = app.verified_session("login", "+998901234567").await;
    let response = app.post("login/otp/", json!({"phone_number": "+998901234567", "session": session})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["message"], "Login successful");
    assert_eq!(response.body["user"]["phone_number"], "+998901234567");
    let access = response.body["tokens"]["access"].as_str().unwrap().to_string();

    // The OTP session is spent.
    let reuse = app.post("login/otp/", json!({"phone_number": "+998901234567", "session": session})).await;
    assert_eq!(reuse.error_codes(), ["non_field_errors_session_invalid"]);

    // Within ten minutes of an OTP login the old password is not needed.
    let new_password = "Samarkand-1999?";
    let set = app
        .post_as("login/set-password/", json!({"password": new_password, "password2": new_password}), Some(&access))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert_eq!(
        set.body,
        json!({"success": true, "message": "Password set successfully",
               "user": {"id": 1, "phone_number": "+998901234567", "full_name": "Ali Valiyev"}})
    );
    let login = app.post("login/", json!({"phone_number": "+998901234567", "password": new_password})).await;
    assert_eq!(login.status, StatusCode::OK);
}

async fn forgot_password_reset_replaces_the_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;
    let new_password = "Bukhara-2025#";

    for path in ["forgot-password/reset/", "forgot-password/"] {
        let session = app.verified_session("forgot_password", "+998901234567").await;
        let response = app
            .post(
                path,
                json!({"phone_number": "+998901234567", "password": new_password, "password2": new_password,
                       "session": session}),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
        assert_eq!(
            response.body,
            json!({"success": true, "message": "Password reset successfully",
                   "user": {"id": 1, "phone_number": "+998901234567", "full_name": "Ali Valiyev"}})
        );
        // Each path has its own cooldown window only once; wait it out by clearing it.
        app.state.store.remove("otp_cooldown:forgot_password:+998901234567").await.unwrap();
    }
    let old = app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app.post("login/", json!({"phone_number": "+998901234567", "password": new_password})).await;
    assert_eq!(new.status, StatusCode::OK);

    let unknown = app.post("send-otp/", json!({"type": "forgot_password", "phone_number": "+998901112233"})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        unknown.body["errors"],
        json!([{"code": "non_field_errors_user_not_found", "field": null,
                "message": "User does not exist with this phone number"}])
    );
}

async fn concurrent_registers_with_one_session_create_one_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = app.verified_session("auth", "+998901234567").await;
    let body = json!({"phone_number": "+998901234567", "password": PASSWORD, "password2": PASSWORD,
                      "full_name": "Ali Valiyev", "session": session});

    let (first, second) = tokio::join!(app.post("register/", body.clone()), app.post("register/", body.clone()));

    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::BAD_REQUEST], "{} / {}", first.body, second.body);
    let loser = if first.status == StatusCode::BAD_REQUEST { &first } else { &second };
    let code = &loser.error_codes()[0];
    assert!(code == "non_field_errors_session_invalid" || code == "non_field_errors_user_exists", "{code}");
    assert_eq!(user::Entity::find().count(&app.state.db).await.unwrap(), 1);
}

async fn registering_a_taken_phone_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;

    let response = app.post("send-otp/", json!({"type": "auth", "phone_number": "998901234567"})).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.body,
        json!({"success": false, "status_code": 400, "errors": [{
            "code": "non_field_errors_user_exists", "field": null, "message": "User exists with this phone number"}]})
    );
}

async fn inactive_user_cannot_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let registered = app.register("+998901234567").await;
    let access = registered["tokens"]["access"].as_str().unwrap().to_string();
    let mut row = user::Entity::find_by_id(1).one(&app.state.db).await.unwrap().unwrap().into_active_model();
    row.is_active = Set(false);
    row.update(&app.state.db).await.unwrap();

    let response = app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(
        response.body,
        json!({"success": false, "status_code": 403, "errors": [{
            "code": "non_field_errors_user_inactive", "field": null, "message": "User account is disabled."}]})
    );
    // A wrong password for an inactive account says nothing about the account.
    let wrong = app.post("login/", json!({"phone_number": "+998901234567", "password": "Wrong-pass-1"})).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    // No code is sent to a disabled account, for login or for a reset.
    for otp_type in ["login", "forgot_password"] {
        let refused = app.post("send-otp/", json!({"type": otp_type, "phone_number": "+998901234567"})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.error_codes(), ["non_field_errors_user_inactive"]);
    }
    // Tokens issued before the deactivation stop working.
    let authorization = format!("Bearer {access}");
    let me = app
        .request(
            axum::http::Method::GET,
            "/api/v1/users/me/",
            &[("authorization", &authorization)],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.body["code"], "user_inactive");
}

async fn password_policy_failures_are_all_listed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = app.verified_session("auth", "+998901234567").await;

    let response = app
        .post(
            "register/",
            json!({"phone_number": "+998901234567", "password": "1234567", "password2": "7654321",
                   "full_name": "Ali", "session": session}),
        )
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.body["errors"],
        json!([
            {"code": "password_min_length", "field": "password",
             "message": "This password is too short. It must contain at least 8 characters."},
            {"code": "password_password_entirely_numeric", "field": "password", "message": "This password is entirely numeric."},
            {"code": "password_password_too_common", "field": "password", "message": "This password is too common."},
            {"code": "password2_password_mismatch", "field": "password2", "message": "Passwords do not match."},
        ])
    );
    // Nothing was written and the session still works.
    assert_eq!(user::Entity::find().count(&app.state.db).await.unwrap(), 0);
    let retry = app
        .post(
            "register/",
            json!({"phone_number": "+998901234567", "password": PASSWORD, "password2": PASSWORD,
                   "full_name": "Ali", "session": session}),
        )
        .await;
    assert_eq!(retry.status, StatusCode::CREATED);
}

async fn set_password_after_password_login_needs_the_old_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;
    let login = app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await;
    let access = login.body["tokens"]["access"].as_str().unwrap().to_string();
    let new_password = "Khiva-Castle-7";

    let missing = app
        .post_as("login/set-password/", json!({"password": new_password, "password2": new_password}), Some(&access))
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.error_codes(), ["old_password_required"]);

    let wrong = app
        .post_as(
            "login/set-password/",
            json!({"password": new_password, "password2": new_password, "old_password": "Nope-nope-1"}),
            Some(&access),
        )
        .await;
    assert_eq!(wrong.error_codes(), ["old_password_password_incorrect"]);

    let right = app
        .post_as(
            "login/set-password/",
            json!({"password": new_password, "password2": new_password, "old_password": PASSWORD}),
            Some(&access),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.body);

    let anonymous = app.post("login/set-password/", json!({"password": new_password, "password2": new_password})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.body["code"], "not_authenticated");
}
