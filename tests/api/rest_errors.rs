//! Malformed requests: every one gets the contract's envelope and a 4xx, never a 500.

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp},
    on_both_backends,
};

on_both_backends!(
    malformed_requests_get_the_error_envelope,
    wrong_field_types_are_field_errors,
    null_characters_are_field_errors
);

async fn malformed_requests_get_the_error_envelope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let json_header = [("content-type", "application/json")];
    let cases = [
        (
            Method::POST,
            "/api/v1/users/login/",
            &json_header[..],
            Body::from("{\"phone_number\": "),
            400,
            "non_field_errors_parse_error",
        ),
        (
            Method::POST,
            "/api/v1/users/login/",
            &[("content-type", "text/plain")][..],
            Body::from("hello"),
            415,
            "non_field_errors_unsupported_media_type",
        ),
        (
            Method::POST,
            "/api/v1/users/login/",
            &json_header[..],
            Body::from(format!("{{\"a\":\"{}\"}}", "x".repeat(70_000))),
            413,
            "non_field_errors_payload_too_large",
        ),
        (Method::POST, "/api/v1/users/login/", &json_header[..], Body::from("[1, 2]"), 400, "non_field_errors_invalid"),
        (Method::GET, "/api/v1/users/login/", &[][..], Body::empty(), 405, "non_field_errors_method_not_allowed"),
        (
            Method::POST,
            "/api/v1/users/nothing-here/",
            &json_header[..],
            Body::from("{}"),
            404,
            "non_field_errors_not_found",
        ),
        (Method::GET, "/", &[][..], Body::empty(), 404, "non_field_errors_not_found"),
    ];

    for (method, path, headers, body, status, code) in cases {
        let response = app.request(method.clone(), path, headers, body).await;
        assert_eq!(response.status.as_u16(), status, "{method} {path}: {}", response.body);
        assert_eq!(response.body["success"], false);
        assert_eq!(response.body["status_code"], status);
        assert_eq!(response.error_codes(), [code], "{method} {path}");
        assert!(response.body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let list = app.request(Method::POST, "/api/v1/users/login/", &json_header, Body::from("[1]")).await;
    assert_eq!(list.body["errors"][0]["message"], "Invalid data. Expected a dictionary, but got list.");

    // An empty body reads as an empty form: the required fields are reported.
    let empty = app.request(Method::POST, "/api/v1/users/login/", &json_header, Body::empty()).await;
    assert_eq!(empty.error_codes(), ["phone_number_required", "password_required"]);
}

async fn wrong_field_types_are_field_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.post("login/", json!({"phone_number": ["+998901234567"], "password": {"a": 1}})).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        response.body["errors"],
        json!([
            {"code": "phone_number_invalid", "field": "phone_number", "message": "Not a valid string."},
            {"code": "password_invalid", "field": "password", "message": "Not a valid string."},
        ])
    );
    // Numbers are read as text, as DRF's CharField does.
    let numeric = app.post("check-user/", json!({"phone_number": 998901234567_i64})).await;
    assert_eq!(numeric.status, StatusCode::OK);
    assert_eq!(numeric.body["phone_number"], "+998901234567");
}

/// PostgreSQL refuses U+0000 in text columns: a name carrying one once got a 500 there.
async fn null_characters_are_field_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let phone = "+998901234567";
    let registered = app.register(phone).await;
    let access = registered["tokens"]["access"].as_str().expect("an access token");
    let authorization = format!("Bearer {access}");
    let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];

    let body = json!({"full_name": "Ali\u{0}Valiyev"}).to_string();
    let response = app.request(Method::PATCH, "/api/v1/users/me/", &headers, Body::from(body)).await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST, "{}", response.body);
    assert_eq!(response.error_codes(), ["full_name_null_characters_not_allowed"]);
    let profile = app.request(Method::GET, "/api/v1/users/me/", &headers[1..], Body::empty()).await;
    assert_eq!(profile.body["full_name"], "Ali Valiyev");
}
