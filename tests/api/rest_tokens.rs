//! Token lifecycle through REST: rotation, reuse detection, logout, revocation, profile, and
//! compatibility with what Django and simplejwt produced.

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{outstanding_token, user};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ModelTrait, QueryFilter};
use serde_json::{Value, json};
use tantana::{
    domain::LoginMethod,
    service::{Client, device_session, session},
};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    refresh_rotates_and_reuse_of_a_rotated_token_revokes_the_family,
    a_retried_refresh_within_the_grace_window_gets_the_current_pair,
    logout_blacklists_the_refresh_token,
    token_verify_accepts_valid_and_refuses_bad_tokens,
    bad_access_tokens_get_simplejwts_401_body,
    change_password_ends_every_earlier_session,
    me_returns_and_updates_the_profile,
    password_reset_ends_every_earlier_session,
    django_made_hashes_log_in_and_are_rehashed,
    tokens_made_by_simplejwt_are_accepted,
    a_login_records_last_login_and_its_refresh_token,
    a_sign_in_for_a_deleted_account_records_nothing,
    sign_ins_at_once_are_each_recorded_once,
    concurrent_logins_each_get_a_working_refresh_token,
);

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../fixtures/django.json")).expect("fixture JSON")
}

async fn get_me(app: &TestApp, access: &str) -> TestResponse {
    app.request(Method::GET, "/api/v1/users/me/", &[("authorization", &format!("Bearer {access}"))], Body::empty())
        .await
}

fn tokens(body: &Value) -> (String, String) {
    let tokens = if body.get("tokens").is_some() { &body["tokens"] } else { body };
    (tokens["access"].as_str().unwrap().to_string(), tokens["refresh"].as_str().unwrap().to_string())
}

async fn refresh_rotates_and_reuse_of_a_rotated_token_revokes_the_family(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[]).await;
    let (_, first) = tokens(&app.register("+998901234567").await);
    let (_, other_device) =
        tokens(&app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await.body);

    // A chain of three rotations.
    let mut current = first.clone();
    for _ in 0..3 {
        let response = app.post("token/refresh/", json!({"refresh": current})).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        let (access, refresh) = tokens(&response.body);
        assert_eq!(response.body.as_object().unwrap().len(), 2);
        assert_ne!(refresh, current);
        assert_eq!(get_me(&app, &access).await.status, StatusCode::OK);
        current = refresh;
    }

    // Replaying the first (long rotated, outside the grace window) is theft: everything dies.
    backdate_rotations(&app).await;
    let replay = app.post("token/refresh/", json!({"refresh": first})).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.body["code"], "token_not_valid");
    assert_eq!(replay.body["detail"], "Token is blacklisted");
    for token in [&current, &other_device] {
        let response = app.post("token/refresh/", json!({"refresh": token})).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{}", response.body);
        assert_eq!(response.body["code"], "token_not_valid");
    }
}

/// Moves every rotation out of the grace window, as if the replay came later.
async fn backdate_rotations(app: &TestApp) {
    use entity::refresh_rotation;
    use sea_orm::IntoActiveModel;
    for row in refresh_rotation::Entity::find().all(&app.state.db).await.unwrap() {
        let mut active = row.into_active_model();
        active.rotated_at = Set(chrono::Utc::now() - chrono::Duration::minutes(5));
        active.update(&app.state.db).await.unwrap();
    }
}

async fn a_retried_refresh_within_the_grace_window_gets_the_current_pair(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, refresh) = tokens(&app.register("+998901234567").await);

    let first = app.post("token/refresh/", json!({"refresh": refresh})).await;
    let retry = app.post("token/refresh/", json!({"refresh": refresh})).await;

    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(first.body["refresh"], retry.body["refresh"]);
    let (_, current) = tokens(&retry.body);
    assert_eq!(app.post("token/refresh/", json!({"refresh": current})).await.status, StatusCode::OK);
}

async fn logout_blacklists_the_refresh_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, refresh) = tokens(&app.register("+998901234567").await);

    let logout = app.post("logout/", json!({"refresh": refresh})).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(logout.body, json!({}));

    let refreshed = app.post("token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refreshed.header("www-authenticate"), Some("Bearer realm=\"api\""));
    assert_eq!(
        refreshed.body,
        json!({"success": false, "status_code": 401,
               "errors": [{"code": "non_field_errors_token_not_valid", "field": null, "message": "Token is blacklisted"}],
               "detail": "Token is blacklisted", "code": "token_not_valid"})
    );
    assert_eq!(app.post("logout/", json!({"refresh": refresh})).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.post("logout/", json!({})).await.error_codes(), ["refresh_required"]);
}

async fn token_verify_accepts_valid_and_refuses_bad_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, refresh) = tokens(&app.register("+998901234567").await);

    for token in [&access, &refresh] {
        let response = app.post("token/verify/", json!({"token": token})).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body, json!({}));
    }
    let garbage = app.post("token/verify/", json!({"token": "not.a.token"})).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.body["detail"], "Token is invalid");
    app.post("logout/", json!({"refresh": refresh})).await;
    let blacklisted = app.post("token/verify/", json!({"token": refresh})).await;
    assert_eq!(blacklisted.body["detail"], "Token is blacklisted");
}

/// A token with the given claims, signed with the test key (or not signed at all).
fn forge(claims: Value, header: &str, key: Option<&[u8]>) -> String {
    use hmac::{Hmac, Mac};
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = match key {
        Some(key) => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            mac.update(input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        None => String::new(),
    };
    format!("{input}.{signature}")
}

async fn bad_access_tokens_get_simplejwts_401_body(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, refresh) = tokens(&app.register("+998901234567").await);
    let key = b"test-secret-key-that-is-long-enough-for-hs256";
    let now = chrono::Utc::now().timestamp();
    let claims = |token_type: &str, exp: i64, user_id: &str| json!({"token_type": token_type, "exp": exp, "iat": now - 10, "jti": "0123456789abcdef0123456789abcdef", "user_id": user_id});
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let mut tampered = access.clone();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });

    let invalid_message = |message: &str| {
        json!({"success": false, "status_code": 401,
               "errors": [{"code": "non_field_errors_token_not_valid", "field": null,
                           "message": "Given token not valid for any token type"}],
               "detail": "Given token not valid for any token type", "code": "token_not_valid",
               "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}]})
    };
    let cases = [
        (tampered, invalid_message("Token is invalid")),
        (
            forge(claims("access", now + 60, "1"), r#"{"alg":"none","typ":"JWT"}"#, None),
            invalid_message("Token is invalid"),
        ),
        (forge(claims("access", now - 1, "1"), header, Some(key)), invalid_message("Token is expired")),
        (refresh.clone(), invalid_message("Token is invalid")),
        (
            forge(claims("access", now + 60, "1"), header, Some(b"another-key-entirely-another-key!")),
            invalid_message("Token is invalid"),
        ),
        (
            forge(claims("access", now + 60, "999"), header, Some(key)),
            json!({"success": false, "status_code": 401,
                   "errors": [{"code": "non_field_errors_user_not_found", "field": null, "message": "User not found"}],
                   "detail": "User not found", "code": "user_not_found"}),
        ),
    ];
    for (token, expected) in cases {
        let response = get_me(&app, &token).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(response.header("www-authenticate"), Some("Bearer realm=\"api\""));
        assert_eq!(response.body, expected, "{token}");
    }
    let missing = app.request(Method::GET, "/api/v1/users/me/", &[], Body::empty()).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.body["detail"], "Authentication credentials were not provided.");
}

async fn change_password_ends_every_earlier_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, refresh) = tokens(&app.register("+998901234567").await);
    // Tokens carry second-precision `iat`; a change in a later second must outdate them.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let new_password = "Namangan-Apple-3";

    let wrong = app
        .post_as(
            "change-password/",
            json!({"old_password": "Wrong-pass-1", "password": new_password, "password2": new_password}),
            Some(&access),
        )
        .await;
    assert_eq!(wrong.error_codes(), ["old_password_password_incorrect"]);

    let changed = app
        .post_as(
            "change-password/",
            json!({"old_password": PASSWORD, "password": new_password, "password2": new_password}),
            Some(&access),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body, json!({"success": true, "message": "Password changed successfully"}));

    let old_access = get_me(&app, &access).await;
    assert_eq!(old_access.status, StatusCode::UNAUTHORIZED);
    assert_eq!(old_access.body["code"], "token_not_valid");
    assert_eq!(app.post("token/refresh/", json!({"refresh": refresh})).await.status, StatusCode::UNAUTHORIZED);
    let login = app.post("login/", json!({"phone_number": "+998901234567", "password": new_password})).await;
    let (fresh_access, _) = tokens(&login.body);
    assert_eq!(get_me(&app, &fresh_access).await.status, StatusCode::OK);
}

async fn me_returns_and_updates_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, _) = tokens(&app.register("+998901234567").await);
    let (other_access, _) = tokens(&app.register("+998901234568").await);

    let me = get_me(&app, &access).await;
    assert_eq!(me.status, StatusCode::OK);
    for (field, value) in [
        ("id", json!(1)),
        ("phone_number", json!("+998901234567")),
        ("full_name", json!("Ali Valiyev")),
        ("username", json!(null)),
        ("language", json!("uz")),
        ("is_notification_enabled", json!(true)),
        ("has_password", json!(true)),
    ] {
        assert_eq!(me.body[field], value, "{field}");
    }

    let patch = |token: String, body: Value| {
        let app = &app;
        async move {
            app.request(
                Method::PATCH,
                "/api/v1/users/me/",
                &[("authorization", &format!("Bearer {token}")), ("content-type", "application/json")],
                Body::from(body.to_string()),
            )
            .await
        }
    };
    let updated = patch(
        access.clone(),
        json!({"full_name": "Ali V.", "username": "ali", "date_of_birth": "1991-02-03", "gender": "male",
               "language": "en", "is_notification_enabled": false}),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["username"], "ali");
    assert_eq!(updated.body["date_of_birth"], "1991-02-03");
    assert_eq!(updated.body["language"], "en");
    assert_eq!(updated.body["is_notification_enabled"], false);

    let taken = patch(other_access, json!({"username": "ali"})).await;
    assert_eq!(taken.error_codes(), ["username_unique"]);
    let future = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    let invalid = patch(
        access.clone(),
        json!({"date_of_birth": future.to_string(), "gender": "other", "language": "de", "username": "a b"}),
    )
    .await;
    assert_eq!(
        invalid.error_codes(),
        ["username_invalid", "date_of_birth_invalid", "gender_invalid_choice", "language_invalid_choice"]
    );
    let cleared = patch(access.clone(), json!({"gender": null, "date_of_birth": null})).await;
    assert_eq!(cleared.body["gender"], Value::Null);
    assert_eq!(cleared.body["date_of_birth"], Value::Null);
    assert_eq!(cleared.body["username"], "ali");
}

pub(crate) async fn insert_django_user(app: &TestApp, id: i64, phone: &str, password_hash: &str) {
    let now = chrono::Utc::now();
    user::ActiveModel {
        id: Set(id),
        password: Set(password_hash.to_string()),
        last_login: Set(None),
        is_superuser: Set(false),
        first_name: Set(String::new()),
        last_name: Set(String::new()),
        email: Set(String::new()),
        is_staff: Set(false),
        is_active: Set(true),
        date_joined: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
        username: Set(None),
        phone_number: Set(phone.to_string()),
        full_name: Set("Django User".into()),
        date_of_birth: Set(None),
        language: Set("uz".into()),
        gender: Set(None),
        photo: Set(None),
        is_notification_enabled: Set(true),
        tokens_valid_after: Set(None),
        deleted_at: Set(None),
    }
    .insert(&app.state.db)
    .await
    .expect("insert the Django user");
}

async fn django_made_hashes_log_in_and_are_rehashed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixtures = fixtures();
    let password = fixtures["password"].as_str().unwrap();
    insert_django_user(&app, 10, "+998901110001", fixtures["pbkdf2_sha256_hash"].as_str().unwrap()).await;
    insert_django_user(&app, 11, "+998901110002", fixtures["argon2_hash"].as_str().unwrap()).await;

    for (id, phone) in [(10, "+998901110001"), (11, "+998901110002")] {
        let wrong = app.post("login/", json!({"phone_number": phone, "password": "not the password"})).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        let inserted = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
        let response = app.post("login/", json!({"phone_number": phone, "password": password})).await;
        assert_eq!(response.status, StatusCode::OK, "{phone}: {}", response.body);
        let stored = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
        assert!(stored.password.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"), "rehashed: {}", stored.password);
        assert!(stored.updated_at > inserted.updated_at && stored.last_login.is_some(), "{stored:?}");
        let again = app.post("login/", json!({"phone_number": phone, "password": password})).await;
        assert_eq!(again.status, StatusCode::OK);
    }
}

async fn tokens_made_by_simplejwt_are_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fixtures = fixtures();
    let id = fixtures["user_id"].as_i64().unwrap();
    insert_django_user(&app, id, "+998901110003", "!unusable").await;

    let me = get_me(&app, fixtures["access"].as_str().unwrap()).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["id"], id);
    assert_eq!(me.body["has_password"], false);

    let refreshed = app.post("token/refresh/", json!({"refresh": fixtures["refresh"]})).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let (access, _) = tokens(&refreshed.body);
    // Our tokens have simplejwt's header bytes and claim order.
    let mut parts = access.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let keys: Vec<&String> = claims.as_object().unwrap().keys().collect();
    assert_eq!(&keys[..5], ["token_type", "exp", "iat", "jti", "user_id"]);
    assert_eq!(claims["user_id"], id.to_string());
    assert_eq!(claims["jti"].as_str().unwrap().len(), 32);
}

async fn password_reset_ends_every_earlier_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (access, refresh) = tokens(&app.register("+998901234567").await);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let session = app.verified_session("forgot_password", "+998901234567").await;
    let new_password = "Fergana-Valley-8";

    let reset = app
        .post(
            "forgot-password/reset/",
            json!({"phone_number": "+998901234567", "password": new_password, "password2": new_password, "session": session}),
        )
        .await;

    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(get_me(&app, &access).await.status, StatusCode::UNAUTHORIZED);
    let refreshed = app.post("token/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refreshed.body["code"], "token_not_valid");
}

/// The claims of a JWT, unverified.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn a_login_records_last_login_and_its_refresh_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let registered = app.register("+998901234567").await;
    let id = registered["user"]["id"].as_i64().unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let registered_row = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();

    let login = app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let stored = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    assert!(stored.last_login.is_some_and(|at| at >= before), "last_login: {:?}", stored.last_login);
    // No rehash: the hash and the profile's change time stay as they were.
    assert_eq!((&stored.password, stored.updated_at), (&registered_row.password, registered_row.updated_at));
    let (_, refresh) = tokens(&login.body);
    let claims = claims_of(&refresh);
    let jti = claims["jti"].as_str().unwrap();
    let row = outstanding_token::Entity::find()
        .filter(outstanding_token::Column::Jti.eq(jti))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("the login's refresh token is outstanding");
    assert_eq!((row.user_id, row.token.as_str()), (Some(id), refresh.as_str()));
    assert_eq!(row.expires_at.timestamp(), claims["exp"].as_i64().unwrap());
    assert!(row.created_at.is_some_and(|at| at >= before));
    // The register's and the login's tokens: one row each.
    let rows = outstanding_token::Entity::find().filter(outstanding_token::Column::UserId.eq(id));
    assert_eq!(rows.all(&app.state.db).await.unwrap().len(), 2);
}

async fn a_sign_in_for_a_deleted_account_records_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.register("+998901234567").await["user"]["id"].as_i64().unwrap();
    let read = user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
    read.clone().delete(&app.state.db).await.unwrap();

    let pair = app.state.tokens.issue_pair(id, LoginMethod::Password, device_session::new_id()).unwrap();
    let recorded =
        session::record_sign_in(&app.state, &Client::default(), read, chrono::Utc::now(), None, &pair).await.unwrap();
    assert!(recorded.is_none());
    let jti = outstanding_token::Column::Jti.eq(pair.refresh_claims.jti.clone());
    assert!(outstanding_token::Entity::find().filter(jti).one(&app.state.db).await.unwrap().is_none());
}

async fn sign_ins_at_once_are_each_recorded_once(backend: Backend) {
    // On PostgreSQL these go out together: one batch with a deleted account in it, and the
    // second sign-in of one account held over to the next batch.
    let app = TestApp::spawn(backend).await;
    let mut accounts = Vec::new();
    for phone in ["+998901234561", "+998901234562", "+998901234563"] {
        let id = app.register(phone).await["user"]["id"].as_i64().unwrap();
        accounts.push(user::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap());
    }
    let [first, deleted, third] = <[user::Model; 3]>::try_from(accounts).unwrap();
    deleted.clone().delete(&app.state.db).await.unwrap();
    let signing_in = [first.clone(), deleted, third.clone(), first.clone()];
    let pairs: Vec<_> = signing_in
        .iter()
        .map(|user| app.state.tokens.issue_pair(user.id, LoginMethod::Password, device_session::new_id()).unwrap())
        .collect();

    let nobody = Client::default();
    let recorded = futures::future::join_all(signing_in.iter().zip(&pairs).map(|(user, pair)| {
        session::record_sign_in(&app.state, &nobody, user.clone(), chrono::Utc::now(), None, pair)
    }))
    .await;

    let recorded_ids: Vec<Option<i64>> =
        recorded.into_iter().map(|recorded| recorded.unwrap().map(|user| user.id)).collect();
    assert_eq!(recorded_ids, [Some(first.id), None, Some(third.id), Some(first.id)]);
    for (pair, expected_owner) in pairs.iter().zip([Some(first.id), None, Some(third.id), Some(first.id)]) {
        let jti = outstanding_token::Column::Jti.eq(pair.refresh_claims.jti.clone());
        let row = outstanding_token::Entity::find().filter(jti).one(&app.state.db).await.unwrap();
        assert_eq!(row.map(|row| row.user_id), expected_owner.map(Some), "{}", pair.refresh_claims.jti);
    }
    let stored = user::Entity::find_by_id(first.id).one(&app.state.db).await.unwrap().unwrap();
    assert!(stored.last_login.is_some());
}

async fn concurrent_logins_each_get_a_working_refresh_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let phones = ["+998901234561", "+998901234562", "+998901234563"];
    for phone in phones {
        app.register(phone).await;
    }

    // Two logins per account, all at once.
    let logins = phones
        .iter()
        .chain(&phones)
        .map(|phone| app.post("login/", json!({"phone_number": phone, "password": PASSWORD})));
    let logins = futures::future::join_all(logins).await;

    let mut jtis = std::collections::HashSet::new();
    for login in &logins {
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        let (_, refresh) = tokens(&login.body);
        assert!(jtis.insert(claims_of(&refresh)["jti"].as_str().unwrap().to_string()));
        let refreshed = app.post("token/refresh/", json!({"refresh": refresh})).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    }
    // Three registrations, six logins and six rotations: one row each.
    assert_eq!(outstanding_token::Entity::find().all(&app.state.db).await.unwrap().len(), 15);
}
