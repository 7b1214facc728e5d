//! The account lifecycle through REST: deleting the account, changing its phone number, and the
//! sign-in sessions a user lists and ends.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use entity::{device_session, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tantana::service::device_session::ENDED_CHECK_CACHE;

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    deleting_with_the_password_erases_the_account_and_frees_the_number,
    deleting_with_a_delete_account_code,
    deleting_without_confirmation_is_refused,
    changing_the_phone_number_moves_the_account_and_ends_the_other_sessions,
    change_phone_codes_need_a_token_and_a_free_number,
    parallel_phone_changes_with_one_session_have_one_winner,
    a_phone_change_racing_a_registration_has_one_winner,
    two_devices_list_their_sessions_and_one_ends_the_other,
    logout_all_with_and_without_keep_current,
    logout_ends_the_session,
    a_django_token_works_and_belongs_to_no_listed_session,
);

const OTHER_PHONE: &str = "+998911234567";

fn tokens(body: &Value) -> (String, String) {
    let tokens = if body.get("tokens").is_some() { &body["tokens"] } else { body };
    (tokens["access"].as_str().unwrap().to_string(), tokens["refresh"].as_str().unwrap().to_string())
}

fn bearer(access: &str) -> String {
    format!("Bearer {access}")
}

async fn get_as(app: &TestApp, path: &str, access: &str) -> TestResponse {
    app.request(Method::GET, &format!("/api/v1/users/{path}"), &[("authorization", &bearer(access))], Body::empty())
        .await
}

async fn delete_as(app: &TestApp, path: &str, body: Value, access: &str) -> TestResponse {
    let headers = [("authorization", bearer(access)), ("content-type", "application/json".to_string())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
    app.request(Method::DELETE, &format!("/api/v1/users/{path}"), &headers, Body::from(body.to_string())).await
}

/// A login from a named device; answers (access, refresh).
async fn login_from(app: &TestApp, phone: &str, device: &str) -> (String, String) {
    let body = json!({"phone_number": phone, "password": PASSWORD}).to_string();
    let headers = [("content-type", "application/json"), ("x-device-name", device), ("user-agent", "TantanaApp/3.1")];
    let response = app.request(Method::POST, "/api/v1/users/login/", &headers, Body::from(body)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    tokens(&response.body)
}

/// send-otp + verify-otp of a type that needs the caller's token; answers the verified session.
async fn verified_session_as(app: &TestApp, otp_type: &str, phone: &str, access: &str) -> String {
    let sent = app.post_as("send-otp/", json!({"type": otp_type, "phone_number": phone}), Some(access)).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    let session = sent.body["session"].as_str().unwrap().to_string();
    let code = app.last_code(phone);
    let verified = app
        .post("verify-otp/", json!({"type": otp_type, "phone_number": phone, "session": session, "otp_code": code}))
        .await;
    assert_eq!(verified.status, StatusCode::CREATED, "{}", verified.body);
    session
}

async fn exists(app: &TestApp, phone: &str) -> bool {
    let response = app.post("check-user/", json!({"phone_number": phone})).await;
    response.body["exists"].as_bool().unwrap()
}

async fn refresh(app: &TestApp, refresh: &str) -> TestResponse {
    app.post("token/refresh/", json!({"refresh": refresh})).await
}

fn assert_token_refused(response: &TestResponse) {
    assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{}", response.body);
    assert_eq!(response.body["code"], "token_not_valid", "{}", response.body);
}

async fn deleting_with_the_password_erases_the_account_and_frees_the_number(backend: Backend) {
    // The number registers again at once, inside the resend cooldown of its first code.
    let app = TestApp::spawn_with(backend, &[("OTP_RESEND_COOLDOWN", "0")]).await;
    let registered = app.register("+998901234567").await;
    let id = registered["user"]["id"].as_i64().unwrap();
    let (access, refresh_token) = tokens(&registered);
    let (other_access, _) = login_from(&app, "+998901234567", "Pixel").await;

    let wrong = delete_as(&app, "me/", json!({"password": "not-the-password"}), &access).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    assert_eq!(wrong.error_codes(), ["password_password_incorrect"]);

    let deleted = delete_as(&app, "me/", json!({"password": PASSWORD}), &access).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.body, json!({"success": true, "message": "Account deleted successfully"}));

    // Every token of the account is refused, on every device.
    assert_token_refused(&get_as(&app, "me/", &access).await);
    assert_token_refused(&get_as(&app, "me/", &other_access).await);
    assert_token_refused(&refresh(&app, &refresh_token).await);
    let again = delete_as(&app, "me/", json!({"password": PASSWORD}), &access).await;
    assert_token_refused(&again);
    let login = app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login.error_codes(), ["non_field_errors_invalid_credentials"]);

    // The row stays, with nothing personal left.
    let row = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().expect("the row stays");
    assert_eq!(row.phone_number, format!("deleted:{id}"));
    assert_eq!((row.full_name.as_str(), row.email.as_str()), ("", ""));
    assert_eq!((row.first_name.as_str(), row.last_name.as_str()), ("", ""));
    assert_eq!((&row.username, &row.date_of_birth, &row.gender, &row.photo), (&None, &None, &None, &None));
    assert!(row.password.starts_with('!') && !row.has_usable_password());
    assert!(!row.is_active && row.deleted_at.is_some() && row.last_login.is_none());
    let sessions = device_session::Entity::find().filter(device_session::Column::UserId.eq(id));
    assert_eq!(sessions.count(&app.state.db).await.unwrap(), 0, "addresses and devices are gone too");

    // The number is free for a new, unrelated account.
    assert!(!exists(&app, "+998901234567").await);
    let again = app.register("+998901234567").await;
    assert_ne!(again["user"]["id"].as_i64().unwrap(), id);
}

async fn deleting_with_a_delete_account_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, _) = tokens(&app.register("+998901234567").await);
    app.register(OTHER_PHONE).await;

    let elsewhere =
        app.post_as("send-otp/", json!({"type": "delete_account", "phone_number": OTHER_PHONE}), Some(&access)).await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST, "{}", elsewhere.body);
    assert_eq!(elsewhere.error_codes(), ["phone_number_not_own"]);
    let anonymous = app.post("send-otp/", json!({"type": "delete_account", "phone_number": "+998901234567"})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{}", anonymous.body);
    assert_eq!(anonymous.error_codes(), ["non_field_errors_not_authenticated"]);

    let session = verified_session_as(&app, "delete_account", "+998901234567", &access).await;
    let deleted = app.post_as("me/delete/", json!({"session": session}), Some(&access)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    assert_eq!(deleted.body, json!({"success": true, "message": "Account deleted successfully"}));
    assert!(!exists(&app, "+998901234567").await);
    assert!(exists(&app, OTHER_PHONE).await, "only the caller's account goes");
}

async fn deleting_without_confirmation_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, _) = tokens(&app.register("+998901234567").await);

    let bare = delete_as(&app, "me/", json!({}), &access).await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST, "{}", bare.body);
    assert_eq!(bare.error_codes(), ["non_field_errors_reauthentication_required"]);
    // A code verified for another purpose does not confirm a deletion.
    let login_session = app.verified_session("login", "+998901234567").await;
    let wrong_type = delete_as(&app, "me/", json!({"session": login_session}), &access).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST, "{}", wrong_type.body);
    assert_eq!(wrong_type.error_codes(), ["non_field_errors_session_invalid"]);
    let no_token = app.post("me/delete/", json!({"password": PASSWORD})).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);

    assert_eq!(get_as(&app, "me/", &access).await.status, StatusCode::OK);
    assert!(exists(&app, "+998901234567").await);
}

async fn changing_the_phone_number_moves_the_account_and_ends_the_other_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let registered = app.register("+998901234567").await;
    let id = registered["user"]["id"].as_i64().unwrap();
    let (access, old_refresh) = tokens(&registered);
    let (other_access, other_refresh) = login_from(&app, "+998901234567", "Pixel").await;

    let session = verified_session_as(&app, "change_phone", OTHER_PHONE, &access).await;
    let changed =
        app.post_as("me/change-phone/", json!({"phone_number": OTHER_PHONE, "session": session}), Some(&access)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["success"], true);
    assert_eq!(changed.body["message"], "Phone number changed successfully");
    assert_eq!(
        changed.body["user"],
        json!({"id": id, "phone_number": OTHER_PHONE, "full_name": "Ali Valiyev", "username": null})
    );
    let (new_access, new_refresh) = tokens(&changed.body);

    assert!(!exists(&app, "+998901234567").await, "the old number is free");
    assert!(exists(&app, OTHER_PHONE).await);
    // The other device is signed out; this one goes on with the new pair only.
    assert_token_refused(&get_as(&app, "me/", &other_access).await);
    assert_token_refused(&refresh(&app, &other_refresh).await);
    assert_token_refused(&get_as(&app, "me/", &access).await);
    assert_token_refused(&refresh(&app, &old_refresh).await);
    let me = get_as(&app, "me/", &new_access).await;
    assert_eq!((me.status, &me.body["phone_number"]), (StatusCode::OK, &json!(OTHER_PHONE)));
    let listed = get_as(&app, "sessions/", &new_access).await;
    let sessions = listed.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{}", listed.body);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(refresh(&app, &new_refresh).await.status, StatusCode::OK);

    let login = app.post("login/", json!({"phone_number": OTHER_PHONE, "password": PASSWORD})).await;
    assert_eq!(login.status, StatusCode::OK, "the account signs in with its new number");
}

async fn change_phone_codes_need_a_token_and_a_free_number(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, _) = tokens(&app.register("+998901234567").await);
    app.register(OTHER_PHONE).await;

    let anonymous = app.post("send-otp/", json!({"type": "change_phone", "phone_number": "+998931234567"})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{}", anonymous.body);
    let taken =
        app.post_as("send-otp/", json!({"type": "change_phone", "phone_number": OTHER_PHONE}), Some(&access)).await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST, "{}", taken.body);
    assert_eq!(taken.error_codes(), ["non_field_errors_user_exists"]);
    let landline =
        app.post_as("send-otp/", json!({"type": "change_phone", "phone_number": "+998712345678"}), Some(&access)).await;
    assert_eq!(landline.error_codes(), ["phone_number_not_allowed"]);
    // A session verified for another number does not move the account there.
    let session = verified_session_as(&app, "change_phone", "+998931234567", &access).await;
    let elsewhere = app
        .post_as("me/change-phone/", json!({"phone_number": "+998941234567", "session": session}), Some(&access))
        .await;
    assert_eq!(elsewhere.error_codes(), ["non_field_errors_session_invalid"]);
    let bad = app.post_as("me/change-phone/", json!({"phone_number": "12", "session": "x"}), Some(&access)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_codes(), ["phone_number_invalid_phone_number", "session_invalid"]);
}

async fn parallel_phone_changes_with_one_session_have_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, _) = tokens(&app.register("+998901234567").await);
    let session = verified_session_as(&app, "change_phone", OTHER_PHONE, &access).await;

    let body = json!({"phone_number": OTHER_PHONE, "session": session});
    let attempts = (0..10).map(|_| app.post_as("me/change-phone/", body.clone(), Some(&access)));
    let responses = futures::future::join_all(attempts).await;
    let winners = responses.iter().filter(|response| response.status == StatusCode::OK).count();
    assert_eq!(winners, 1, "{:?}", responses.iter().map(|r| &r.body).collect::<Vec<_>>());
    // A loser is refused for its spent session, or, once the winner committed, for its token.
    for response in responses.iter().filter(|response| response.status != StatusCode::OK) {
        let codes = response.error_codes();
        assert!(
            codes == ["non_field_errors_session_invalid"] || codes == ["non_field_errors_token_not_valid"],
            "{}",
            response.body
        );
    }
    assert!(exists(&app, OTHER_PHONE).await && !exists(&app, "+998901234567").await);
}

async fn a_phone_change_racing_a_registration_has_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, _) = tokens(&app.register("+998901234567").await);
    let change = verified_session_as(&app, "change_phone", OTHER_PHONE, &access).await;
    let register = app.verified_session("auth", OTHER_PHONE).await;

    let (changed, registered) = tokio::join!(
        app.post_as("me/change-phone/", json!({"phone_number": OTHER_PHONE, "session": change}), Some(&access)),
        app.post(
            "register/",
            json!({"phone_number": OTHER_PHONE, "password": PASSWORD, "password2": PASSWORD,
                   "full_name": "Vali Aliyev", "session": register}),
        )
    );
    let won = [changed.status == StatusCode::OK, registered.status == StatusCode::CREATED];
    assert_eq!(won.iter().filter(|won| **won).count(), 1, "{} / {}", changed.body, registered.body);
    let loser = if won[0] { &registered } else { &changed };
    assert_eq!(loser.status, StatusCode::BAD_REQUEST, "{}", loser.body);
    assert_eq!(loser.error_codes(), ["non_field_errors_user_exists"]);
    let owners = user::Entity::find().filter(user::Column::PhoneNumber.eq(OTHER_PHONE));
    assert_eq!(owners.count(&app.state.db).await.unwrap(), 1);
}

async fn two_devices_list_their_sessions_and_one_ends_the_other(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;
    let (phone_access, phone_refresh) = login_from(&app, "+998901234567", "Ali's iPhone").await;
    let (tablet_access, _) = login_from(&app, "+998901234567", "Galaxy Tab").await;
    // Another instance answers the phone's token once, and so remembers it as live.
    let sibling = if backend == Backend::Postgres { Some(app.sibling().await) } else { None };
    if let Some(sibling) = &sibling {
        assert_eq!(get_as(sibling, "me/", &phone_access).await.status, StatusCode::OK);
    }

    let listed = get_as(&app, "sessions/", &tablet_access).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let sessions = listed.body["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 3, "registration and two logins: {}", listed.body);
    let named: Vec<(&str, bool)> =
        sessions.iter().map(|s| (s["device_name"].as_str().unwrap_or("-"), s["current"].as_bool().unwrap())).collect();
    assert_eq!(named, [("Galaxy Tab", true), ("Ali's iPhone", false), ("-", false)], "newest first");
    let tablet = &sessions[0];
    assert_eq!(tablet["ip_network"], "127.0.0.0/24", "the address is shown cut to its /24");
    assert_eq!(tablet["user_agent"], "TantanaApp/3.1");
    assert_eq!(tablet["login_method"], "password");
    assert_eq!(tablet["id"].as_str().unwrap().len(), 32);
    let keys: Vec<&String> = tablet.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["id", "device_name", "user_agent", "ip_network", "login_method", "created_at", "last_used_at", "current"]
    );

    let phone_id = sessions[1]["id"].as_str().unwrap();
    let ended = delete_as(&app, &format!("sessions/{phone_id}/"), json!({}), &tablet_access).await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert_eq!(ended.body, json!({"success": true, "message": "Session ended"}));
    assert_token_refused(&get_as(&app, "me/", &phone_access).await);
    assert_token_refused(&refresh(&app, &phone_refresh).await);
    assert_eq!(get_as(&app, "me/", &tablet_access).await.status, StatusCode::OK);
    if let Some(sibling) = &sibling {
        // The sibling may trust its memory for ENDED_CHECK_CACHE, and no longer.
        tokio::time::sleep(ENDED_CHECK_CACHE + Duration::from_millis(200)).await;
        assert_token_refused(&get_as(sibling, "me/", &phone_access).await);
        assert_token_refused(&refresh(sibling, &phone_refresh).await);
    }
    let after = get_as(&app, "sessions/", &tablet_access).await;
    assert_eq!(after.body["sessions"].as_array().unwrap().len(), 2);

    // Ended, unknown or someone else's: all the same 404.
    let twice = delete_as(&app, &format!("sessions/{phone_id}/"), json!({}), &tablet_access).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    assert_eq!(twice.error_codes(), ["non_field_errors_not_found"]);
    let (stranger, _) = tokens(&app.register(OTHER_PHONE).await);
    let tablet_id = sessions[0]["id"].as_str().unwrap();
    let foreign = delete_as(&app, &format!("sessions/{tablet_id}/"), json!({}), &stranger).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(get_as(&app, "me/", &tablet_access).await.status, StatusCode::OK);
}

async fn logout_all_with_and_without_keep_current(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (first, first_refresh) = tokens(&app.register("+998901234567").await);
    let (second, second_refresh) = login_from(&app, "+998901234567", "second").await;
    let (third, _) = login_from(&app, "+998901234567", "third").await;

    let others = app.post_as("logout-all/", json!({"keep_current": true}), Some(&first)).await;
    assert_eq!(others.status, StatusCode::OK, "{}", others.body);
    assert_eq!(others.body, json!({"success": true, "message": "Logged out of all sessions", "ended": 2}));
    assert_token_refused(&get_as(&app, "me/", &second).await);
    assert_token_refused(&get_as(&app, "me/", &third).await);
    assert_token_refused(&refresh(&app, &second_refresh).await);
    assert_eq!(get_as(&app, "me/", &first).await.status, StatusCode::OK);
    let bad = app.post_as("logout-all/", json!({"keep_current": "yes"}), Some(&first)).await;
    assert_eq!(bad.error_codes(), ["keep_current_invalid"]);

    let all = app.post_as("logout-all/", json!({}), Some(&first)).await;
    assert_eq!(all.body["ended"], 1, "{}", all.body);
    assert_token_refused(&get_as(&app, "me/", &first).await);
    assert_token_refused(&refresh(&app, &first_refresh).await);
    let (fresh, _) = login_from(&app, "+998901234567", "again").await;
    let listed = get_as(&app, "sessions/", &fresh).await;
    assert_eq!(listed.body["sessions"].as_array().unwrap().len(), 1);
}

async fn logout_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, refresh_token) = tokens(&app.register("+998901234567").await);
    let (other, _) = login_from(&app, "+998901234567", "other").await;

    let response = app.post("logout/", json!({"refresh": refresh_token})).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_token_refused(&get_as(&app, "me/", &access).await);
    let listed = get_as(&app, "sessions/", &other).await;
    let names: Vec<&Value> = listed.body["sessions"].as_array().unwrap().iter().map(|s| &s["device_name"]).collect();
    assert_eq!(names, [&json!("other")]);
}

async fn a_django_token_works_and_belongs_to_no_listed_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixtures: Value = serde_json::from_str(include_str!("../fixtures/django.json")).unwrap();
    let id = fixtures["user_id"].as_i64().unwrap();
    crate::rest_tokens::insert_django_user(&app, id, "+998901110003", "!unusable").await;
    let access = fixtures["access"].as_str().unwrap();

    let listed = get_as(&app, "sessions/", access).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(listed.body, json!({"success": true, "sessions": []}));
    // Keeping "the current one" keeps nothing for a token without a session, and still works.
    let kept = app.post_as("logout-all/", json!({"keep_current": true}), Some(access)).await;
    assert_eq!(kept.body["ended"], 0, "{}", kept.body);
    assert_eq!(get_as(&app, "me/", access).await.status, StatusCode::OK);
}
