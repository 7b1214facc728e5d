//! Usernames and full names that impersonate or hide: case, width and script look-alikes of a
//! taken username, and control, bidi and zero-width characters, through REST and GraphQL.

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use serde_json::{Value, json};
use tantana::{
    error::AppError,
    service::user::{CreateSuperuserInput, create_superuser},
};

use crate::{
    graphql_helpers::USER_FIELDS,
    helpers::{Backend, PASSWORD, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    rest_usernames_are_unique_across_case_and_width_and_in_one_script,
    graphql_usernames_are_unique_across_case_and_width_and_in_one_script,
    rest_full_names_refuse_hidden_characters,
    graphql_full_names_refuse_hidden_characters,
    createsuperuser_refuses_hidden_characters_in_the_full_name,
);

const UNIQUE: &str = "A user with that username already exists.";
const MIXED_SCRIPT: &str = "Enter a username written in one alphabet; do not mix scripts such as Latin and Cyrillic.";
const INVALID_CHARACTERS: &str = "This field may not contain control, bidirectional-control or zero-width characters.";

/// Right-to-left override, newline, BEL and zero-width space.
const HIDDEN: [&str; 4] = ["Ali \u{202E}veyilaV", "Ali\nAdmin", "Ali\u{7}Valiyev", "Ali\u{200B}Valiyev"];

async fn patch_me(app: &TestApp, access: &str, body: Value) -> TestResponse {
    let authorization = format!("Bearer {access}");
    let headers = [("content-type", "application/json"), ("authorization", authorization.as_str())];
    app.request(Method::PATCH, "/api/v1/users/me/", &headers, Body::from(body.to_string())).await
}

fn access_of(registered: &Value) -> String {
    registered["tokens"]["access"].as_str().expect("an access token").to_string()
}

fn rest_error(field: &str, code: &str, message: &str) -> Value {
    json!({"success": false, "status_code": 400, "errors": [{
        "code": format!("{field}_{code}"), "field": field, "message": message}]})
}

async fn rest_usernames_are_unique_across_case_and_width_and_in_one_script(backend: Backend) {
    // Arrange: one account holds `admin` and one a Cyrillic name
    let app = TestApp::spawn(backend).await;
    let owner = access_of(&app.register("+998901234567").await);
    let other = access_of(&app.register("+998901234568").await);
    let set = patch_me(&app, &owner, json!({"username": "admin"})).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let cyrillic = patch_me(&app, &other, json!({"username": "алишер"})).await;
    assert_eq!(cyrillic.status, StatusCode::OK, "{}", cyrillic.body);

    // Act + Assert: case and full-width variants are the same name; Cyrillic а + Latin is refused
    for (name, code, message) in [
        ("Admin", "unique", UNIQUE),
        ("ADMIN", "unique", UNIQUE),
        ("ａｄｍｉｎ", "unique", UNIQUE),
        ("\u{0430}dmin", "mixed_script", MIXED_SCRIPT),
        ("ad\u{200B}min", "invalid_characters", INVALID_CHARACTERS),
    ] {
        let refused = patch_me(&app, &other, json!({"username": name})).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{name}: {}", refused.body);
        assert_eq!(refused.body, rest_error("username", code, message), "{name}");
    }
    // Case-insensitive beyond ASCII, on SQLite too.
    let upper_cyrillic = patch_me(&app, &owner, json!({"username": "АЛИШЕР"})).await;
    assert_eq!(upper_cyrillic.body, rest_error("username", "unique", UNIQUE));

    // A name in one script is fine, full-width letters are stored NFKC-normalised, and an owner
    // may change the case of their own name.
    let normalised = patch_me(&app, &other, json!({"username": "ｖａｌｉ"})).await;
    assert_eq!(normalised.status, StatusCode::OK, "{}", normalised.body);
    assert_eq!(normalised.body["username"], "vali");
    let recased = patch_me(&app, &owner, json!({"username": "Admin"})).await;
    assert_eq!(recased.body["username"], "Admin", "{}", recased.body);
}

async fn graphql_usernames_are_unique_across_case_and_width_and_in_one_script(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let owner = access_of(&app.graphql_register("+998901234567").await);
    let other = access_of(&app.graphql_register("+998901234568").await);
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { username } }";
    let set = app.graphql_as(update, json!({"input": {"username": "admin"}}), Some(&owner)).await;
    assert_eq!(set.body, json!({"data": {"updateProfile": {"username": "admin"}}}));

    // Act + Assert
    for (name, code, message) in
        [("Admin", "unique", UNIQUE), ("ａｄｍｉｎ", "unique", UNIQUE), ("\u{0430}dmin", "mixed_script", MIXED_SCRIPT)]
    {
        let refused = app.graphql_as(update, json!({"input": {"username": name}}), Some(&other)).await;
        let error = refused.graphql_error();
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{name}");
        assert_eq!(
            error["extensions"]["errors"],
            json!([{"field": "username", "code": code, "message": message}]),
            "{name}"
        );
    }
}

async fn rest_full_names_refuse_hidden_characters(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let phone = "+998901234567";
    let session = app.verified_session("auth", phone).await;

    // Act + Assert: register (the refusals leave the session usable)
    for name in HIDDEN {
        let body = json!({"phone_number": phone, "password": PASSWORD, "password2": PASSWORD,
                          "full_name": name, "session": session});
        let refused = app.post("register/", body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{name:?}: {}", refused.body);
        assert_eq!(refused.body, rest_error("full_name", "invalid_characters", INVALID_CHARACTERS), "{name:?}");
    }
    let body = json!({"phone_number": phone, "password": PASSWORD, "password2": PASSWORD,
                      "full_name": "Ali Valiyev", "session": session});
    let registered = app.post("register/", body).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);

    // Act + Assert: PATCH me
    let access = access_of(&registered.body);
    for name in HIDDEN {
        let refused = patch_me(&app, &access, json!({"full_name": name})).await;
        assert_eq!(refused.body, rest_error("full_name", "invalid_characters", INVALID_CHARACTERS), "{name:?}");
    }
    let renamed = patch_me(&app, &access, json!({"full_name": "Алишер Навоий"})).await;
    assert_eq!(renamed.body["full_name"], "Алишер Навоий", "{}", renamed.body);
}

async fn graphql_full_names_refuse_hidden_characters(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let phone = "+998901234567";
    let session = app.graphql_verified_session("AUTH", phone).await;
    let register =
        format!("mutation($input: RegisterInput!) {{ register(input: $input) {{ user {{ {USER_FIELDS} }} }} }}");
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { fullName } }";
    let expected = json!([{"field": "fullName", "code": "invalid_characters", "message": INVALID_CHARACTERS}]);

    // Act + Assert: register
    for name in HIDDEN {
        let input = json!({"phoneNumber": phone, "password": PASSWORD, "password2": PASSWORD,
                           "fullName": name, "session": session});
        let refused = app.graphql(&register, json!({"input": input})).await;
        let error = refused.graphql_error();
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{name:?}");
        assert_eq!(error["extensions"]["errors"], expected, "{name:?}");
    }

    // Act + Assert: updateProfile
    let access = access_of(&app.graphql_register("+998901234568").await);
    for name in HIDDEN {
        let refused = app.graphql_as(update, json!({"input": {"fullName": name}}), Some(&access)).await;
        let error = refused.graphql_error();
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{name:?}");
        assert_eq!(error["extensions"]["errors"], expected, "{name:?}");
    }
}

async fn createsuperuser_refuses_hidden_characters_in_the_full_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let input = |full_name: &str| CreateSuperuserInput {
        phone_number: Some("+998901234567".into()),
        full_name: Some(full_name.into()),
        password: Some(PASSWORD.into()),
        password2: Some(PASSWORD.into()),
    };
    for name in HIDDEN {
        let Err(AppError::Validation(errors)) = create_superuser(&app.state, input(name)).await else {
            panic!("{name:?} was accepted");
        };
        let found: Vec<_> = errors.iter().map(|error| (error.field, error.code)).collect();
        assert_eq!(found, [(Some("full_name"), "invalid_characters")], "{name:?}");
    }
    let created = create_superuser(&app.state, input("Root Admin")).await.expect("a plain name is accepted");
    assert_eq!(created.full_name, "Root Admin");
}
