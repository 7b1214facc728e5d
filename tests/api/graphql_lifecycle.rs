//! The account lifecycle through GraphQL: the same service as REST, with the same error codes.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    graphql_helpers::SEND_OTP,
    helpers::{Backend, PASSWORD, TestApp},
    on_both_backends,
};

on_both_backends!(
    graphql_deletes_the_account_behind_a_confirmation,
    graphql_changes_the_phone_number,
    graphql_lists_and_ends_sessions,
);

const DELETE: &str = "mutation($input: DeleteAccountInput!) { deleteAccount(input: $input) }";
const SESSIONS: &str = "{ sessions { id deviceName ipNetwork loginMethod current createdAt lastUsedAt } }";

fn access_of(signed_in: &Value) -> String {
    signed_in["tokens"]["access"].as_str().unwrap().to_string()
}

async fn graphql_deletes_the_account_behind_a_confirmation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let access = access_of(&app.graphql_register("+998901234567").await);

    let unconfirmed = app.graphql_as(DELETE, json!({"input": {}}), Some(&access)).await;
    assert_eq!(unconfirmed.graphql_codes(), ["BAD_USER_INPUT"], "{}", unconfirmed.body);
    let anonymous = app.graphql(DELETE, json!({"input": {"password": PASSWORD}})).await;
    assert_eq!(anonymous.graphql_codes(), ["UNAUTHENTICATED"]);
    let code_without_token =
        app.graphql(SEND_OTP, json!({"input": {"type": "DELETE_ACCOUNT", "phoneNumber": "+998901234567"}})).await;
    assert_eq!(code_without_token.graphql_codes(), ["UNAUTHENTICATED"]);

    let deleted = app.graphql_as(DELETE, json!({"input": {"password": PASSWORD}}), Some(&access)).await;
    assert_eq!(deleted.body, json!({"data": {"deleteAccount": true}}));
    let me = app.graphql_as("{ me { id } }", json!({}), Some(&access)).await;
    assert_eq!(me.graphql_codes(), ["UNAUTHENTICATED"]);
    let check = app.graphql("{ checkUser(phoneNumber: \"+998901234567\") { exists } }", json!({})).await;
    assert_eq!(check.body["data"]["checkUser"]["exists"], false);
}

async fn graphql_changes_the_phone_number(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let access = access_of(&app.graphql_register("+998901234567").await);
    app.graphql_register("+998931234567").await;

    let taken = app
        .graphql_as(SEND_OTP, json!({"input": {"type": "CHANGE_PHONE", "phoneNumber": "+998931234567"}}), Some(&access))
        .await;
    assert_eq!(taken.graphql_codes(), ["USER_EXISTS"], "{}", taken.body);
    let sent = app
        .graphql_as(SEND_OTP, json!({"input": {"type": "CHANGE_PHONE", "phoneNumber": "+998911234567"}}), Some(&access))
        .await;
    let session = sent.body["data"]["sendOtp"]["session"].as_str().unwrap_or_else(|| panic!("{}", sent.body));
    let code = app.last_code("+998911234567");
    let verify = "mutation($input: VerifyOtpInput!) { verifyOtp(input: $input) { verified } }";
    let input = json!({"type": "CHANGE_PHONE", "phoneNumber": "+998911234567", "session": session, "otpCode": code});
    assert_eq!(app.graphql(verify, json!({"input": input})).await.body["data"]["verifyOtp"]["verified"], true);

    let change = "mutation($input: ChangePhoneNumberInput!) { changePhoneNumber(input: $input) { user { phoneNumber } tokens { access } } }";
    let changed = app
        .graphql_as(change, json!({"input": {"phoneNumber": "+998911234567", "session": session}}), Some(&access))
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body["data"]["changePhoneNumber"]["user"]["phoneNumber"], "+998911234567", "{}", changed.body);
    let fresh = changed.body["data"]["changePhoneNumber"]["tokens"]["access"].as_str().unwrap();
    let me = app.graphql_as("{ me { phoneNumber } }", json!({}), Some(fresh)).await;
    assert_eq!(me.body["data"]["me"]["phoneNumber"], "+998911234567");
    let again = app
        .graphql_as(change, json!({"input": {"phoneNumber": "+998911234567", "session": session}}), Some(fresh))
        .await;
    assert_eq!(again.graphql_codes(), ["USER_EXISTS"], "{}", again.body);
}

async fn graphql_lists_and_ends_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = access_of(&app.graphql_register("+998901234567").await);
    let login = "mutation($input: LoginInput!) { login(input: $input) { tokens { access } } }";
    let input = json!({"input": {"phoneNumber": "+998901234567", "password": PASSWORD}});
    let second = access_of(&app.graphql(login, input.clone()).await.body["data"]["login"]);
    let third = access_of(&app.graphql(login, input).await.body["data"]["login"]);

    let listed = app.graphql_as(SESSIONS, json!({}), Some(&second)).await;
    let sessions = listed.body["data"]["sessions"].as_array().unwrap_or_else(|| panic!("{}", listed.body)).clone();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(sessions[2]["loginMethod"], "OTP", "registration signs in by its code");
    assert_eq!(sessions[1]["loginMethod"], "PASSWORD");

    let unknown = app.graphql_as("mutation { revokeSession(id: \"nope\") }", json!({}), Some(&second)).await;
    assert_eq!(unknown.graphql_codes(), ["NOT_FOUND"]);
    let first_id = sessions[2]["id"].as_str().unwrap();
    let revoke = "mutation($id: ID!) { revokeSession(id: $id) }";
    let revoked = app.graphql_as(revoke, json!({"id": first_id}), Some(&second)).await;
    assert_eq!(revoked.body, json!({"data": {"revokeSession": true}}));
    assert_eq!(app.graphql_as("{ me { id } }", json!({}), Some(&first)).await.graphql_codes(), ["UNAUTHENTICATED"]);

    let others = app.graphql_as("mutation { logoutAll(keepCurrent: true) }", json!({}), Some(&second)).await;
    assert_eq!(others.body, json!({"data": {"logoutAll": 1}}));
    assert_eq!(app.graphql_as("{ me { id } }", json!({}), Some(&third)).await.graphql_codes(), ["UNAUTHENTICATED"]);
    let all = app.graphql_as("mutation { logoutAll }", json!({}), Some(&second)).await;
    assert_eq!(all.body, json!({"data": {"logoutAll": 1}}));
    assert_eq!(app.graphql_as("{ me { id } }", json!({}), Some(&second)).await.graphql_codes(), ["UNAUTHENTICATED"]);
}
