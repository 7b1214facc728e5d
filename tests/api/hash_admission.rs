//! Admission to the password hashing threads: the bounded queue (503 with `Retry-After` at once),
//! the failure lock reserved before the hash, and the per-account limit on password changes.

use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    a_flood_of_wrong_old_passwords_is_refused_and_other_accounts_still_sign_in,
    parallel_wrong_passwords_evaluate_at_most_the_lock_threshold,
    a_full_hash_queue_answers_503_with_retry_after_at_once,
    a_wrong_old_password_counts_towards_the_login_lock,
    password_changes_are_limited_per_account,
);

const NEW_PASSWORD: &str = "Samarkand-2025?";
const WRONG_PASSWORD: &str = "Wrong-pass-123";
const GRAPHQL_LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { user { id } } }";
const GRAPHQL_CHANGE_PASSWORD: &str = "mutation($input: ChangePasswordInput!) { changePassword(input: $input) }";

fn access_token(registered: &Value) -> String {
    registered["tokens"]["access"].as_str().expect("access token").to_string()
}

fn retry_after(response: &TestResponse) -> u64 {
    response.header("retry-after").expect("Retry-After").parse().expect("whole seconds")
}

async fn login(app: &TestApp, phone: &str, password: &str) -> TestResponse {
    app.post("login/", json!({"phone_number": phone, "password": password})).await
}

async fn change_password(app: &TestApp, access: &str, old_password: &str) -> TestResponse {
    let body = json!({"old_password": old_password, "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
    app.post_as("change-password/", body, Some(access)).await
}

/// A Django PBKDF2 hash with `iterations` rounds whose password nobody knows.
fn pbkdf2_hash(iterations: u32) -> String {
    format!("pbkdf2_sha256${iterations}$seasalt${}", STANDARD.encode([7u8; 32]))
}

async fn a_flood_of_wrong_old_passwords_is_refused_and_other_accounts_still_sign_in(backend: Backend) {
    // One hashing thread with a small queue; the queue is larger than the lock threshold (10), so
    // the flood's hashes alone can never fill it and the other user's login always gets in.
    let app = TestApp::spawn_with(backend, &[("PASSWORD_HASH_CONCURRENCY", "1"), ("PASSWORD_HASH_QUEUE", "12")]).await;
    let attacker = access_token(&app.register("+998901000001").await);
    app.register("+998901000002").await;
    let hashes_before = app.state.passwords.hashes_started();

    let rest = (0..250).map(|_| async { change_password(&app, &attacker, WRONG_PASSWORD).await });
    let input = json!({"oldPassword": WRONG_PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
    let graphql = (0..50).map(|_| async {
        app.graphql_as(GRAPHQL_CHANGE_PASSWORD, json!({"input": input}), Some(&attacker)).await.graphql_codes()
    });
    let (rest, graphql, real_user) = tokio::join!(
        futures::future::join_all(rest),
        futures::future::join_all(graphql),
        login(&app, "+998901000002", PASSWORD)
    );

    assert_eq!(real_user.status, StatusCode::OK, "{}", real_user.body);
    let evaluated = rest.iter().filter(|r| r.error_codes() == ["old_password_password_incorrect"]).count()
        + graphql.iter().filter(|codes| codes[..] == ["BAD_USER_INPUT"]).count();
    let refused = rest.iter().filter(|r| matches!(r.status.as_u16(), 429 | 503)).count()
        + graphql
            .iter()
            .filter(|codes| matches!(&codes[..], [code] if code == "RATE_LIMITED" || code == "SERVICE_UNAVAILABLE"))
            .count();
    assert!(evaluated <= 10, "{evaluated} wrong old passwords were checked");
    assert_eq!(evaluated + refused, 300, "every flood request is either checked or refused");
    // The flood's checks plus the real user's login: nothing else reached the hashing thread.
    assert!(app.state.passwords.hashes_started() - hashes_before <= 11);
}

async fn parallel_wrong_passwords_evaluate_at_most_the_lock_threshold(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("PASSWORD_HASH_QUEUE", "64")]).await;
    app.register("+998901234567").await;
    let hashes_before = app.state.passwords.hashes_started();
    let variables = json!({"input": {"phoneNumber": "+998901234567", "password": WRONG_PASSWORD}});

    let rest = (0..25).map(|_| async { login(&app, "+998901234567", WRONG_PASSWORD).await.error_codes() });
    let graphql = (0..25).map(|_| async { app.graphql(GRAPHQL_LOGIN, variables.clone()).await.graphql_codes() });
    let (rest, graphql) = tokio::join!(futures::future::join_all(rest), futures::future::join_all(graphql));

    let evaluated = rest.iter().filter(|codes| codes[..] == ["non_field_errors_invalid_credentials"]).count()
        + graphql.iter().filter(|codes| codes[..] == ["UNAUTHENTICATED"]).count();
    let refused = rest.iter().filter(|codes| codes[..] == ["non_field_errors_too_many_login_attempts"]).count()
        + graphql.iter().filter(|codes| codes[..] == ["RATE_LIMITED"]).count();
    assert!(evaluated <= 10, "{evaluated} evaluated: {rest:?} {graphql:?}");
    assert_eq!(evaluated + refused, 50, "{rest:?} {graphql:?}");
    assert!(app.state.passwords.hashes_started() - hashes_before <= 10);
    // The account is locked now, for the right password too.
    let locked = login(&app, "+998901234567", PASSWORD).await;
    assert_eq!(locked.error_codes(), ["non_field_errors_too_many_login_attempts"]);
}

async fn a_full_hash_queue_answers_503_with_retry_after_at_once(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("PASSWORD_HASH_CONCURRENCY", "1"), ("PASSWORD_HASH_QUEUE", "1")]).await;
    app.register("+998901234567").await;
    let passwords = &app.state.passwords;
    // The only thread checks a costly legacy hash (seconds), and another waits in the one place.
    let started = passwords.hashes_started();
    let running = tokio::spawn({
        let passwords = passwords.clone();
        async move { passwords.verify("anything", Some(&pbkdf2_hash(20_000_000))).await }
    });
    while passwords.hashes_started() == started {
        tokio::task::yield_now().await;
    }
    let waiting = tokio::spawn({
        let passwords = passwords.clone();
        async move { passwords.verify("anything", Some(&pbkdf2_hash(1_000))).await }
    });
    while passwords.queue_depth() == 0 {
        tokio::task::yield_now().await;
    }

    let rest = login(&app, "+998901234567", PASSWORD).await;
    let variables = json!({"input": {"phoneNumber": "+998901234567", "password": PASSWORD}});
    let graphql = app.graphql(GRAPHQL_LOGIN, variables).await;

    assert_eq!(passwords.queue_depth(), 1, "the long hash still ran while the requests were refused");
    assert_eq!(rest.status, StatusCode::SERVICE_UNAVAILABLE, "{}", rest.body);
    assert_eq!(rest.error_codes(), ["non_field_errors_service_unavailable"]);
    assert!(retry_after(&rest) >= 1);
    let error = graphql.graphql_error();
    assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{}", graphql.body);
    assert!(error["extensions"]["retryAfter"].as_u64().is_some_and(|secs| secs >= 1), "{}", graphql.body);
    // A refused login was never checked, so it is not a failure towards the account's lock.
    let failures = app.state.store.read_window("login_failures:+998901234567").await.unwrap();
    assert_eq!(failures.map_or(0, |(count, _)| count), 0);
    // The queued check gives up and frees its place; the running one finishes in the background.
    waiting.abort();
    drop(running);
}

async fn a_wrong_old_password_counts_towards_the_login_lock(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_LOGIN_FAILURES", "3")]).await;
    let access = access_token(&app.register("+998901234567").await);
    assert_eq!(login(&app, "+998901234567", WRONG_PASSWORD).await.status, StatusCode::UNAUTHORIZED);

    for _ in 0..2 {
        let wrong = change_password(&app, &access, WRONG_PASSWORD).await;
        assert_eq!(wrong.error_codes(), ["old_password_password_incorrect"]);
    }
    let locked_change = change_password(&app, &access, PASSWORD).await;
    let locked_login = login(&app, "+998901234567", PASSWORD).await;

    for locked in [&locked_change, &locked_login] {
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.body);
        assert_eq!(locked.error_codes(), ["non_field_errors_too_many_login_attempts"]);
        assert!(retry_after(locked) >= 1);
    }
    // Once the lock is over (reset here), the right old password works and clears the failures.
    app.state.store.remove("login_failures:+998901234567").await.unwrap();
    assert_eq!(change_password(&app, &access, WRONG_PASSWORD).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(change_password(&app, &access, PASSWORD).await.status, StatusCode::OK);
    assert!(app.state.store.read_window("login_failures:+998901234567").await.unwrap().is_none());
}

async fn password_changes_are_limited_per_account(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[("RATE_LIMIT_PASSWORD_PER_ACCOUNT_PER_HOUR", "2"), ("OTP_RESEND_COOLDOWN", "0"), ("OTP_MAX_PER_HOUR", "20")],
    )
    .await;
    let limited = |response: &TestResponse| {
        assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS, "{}", response.body);
        assert_eq!(response.error_codes(), ["non_field_errors_throttled"]);
        assert!((3500..=3600).contains(&retry_after(response)));
    };

    // change-password, set-password and reset share one budget per account.
    let access = access_token(&app.register("+998901000001").await);
    for _ in 0..2 {
        assert_eq!(change_password(&app, &access, WRONG_PASSWORD).await.status, StatusCode::BAD_REQUEST);
    }
    limited(&change_password(&app, &access, PASSWORD).await);
    let set = json!({"old_password": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
    limited(&app.post_as("login/set-password/", set, Some(&access)).await);
    let session = app.verified_session("forgot_password", "+998901000001").await;
    let reset = json!({"phone_number": "+998901000001", "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
                       "session": session});
    limited(&app.post("forgot-password/reset/", reset).await);
    let input = json!({"oldPassword": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD});
    let graphql = app.graphql_as(GRAPHQL_CHANGE_PASSWORD, json!({"input": input}), Some(&access)).await;
    assert_eq!(graphql.graphql_codes(), ["RATE_LIMITED"]);

    // Another account is not affected: two resets go through, the third is refused.
    app.register("+998901000002").await;
    for _ in 0..2 {
        let session = app.verified_session("forgot_password", "+998901000002").await;
        let reset = json!({"phone_number": "+998901000002", "password": NEW_PASSWORD, "password2": NEW_PASSWORD,
                           "session": session});
        assert_eq!(app.post("forgot-password/reset/", reset).await.status, StatusCode::OK);
    }
    let session = app.verified_session("forgot_password", "+998901000002").await;
    let reset = json!({"phone_number": "+998901000002", "password": PASSWORD, "password2": PASSWORD,
                       "session": session});
    limited(&app.post("forgot-password/reset/", reset).await);

    // Registration is counted by phone: attempts with a dead session spend the budget too.
    let register = |session: &str| {
        json!({"phone_number": "+998901000003", "password": PASSWORD, "password2": PASSWORD,
               "full_name": "Ali Valiyev", "session": session})
    };
    for _ in 0..2 {
        let dead = app.post("register/", register("5f0c8a52-1111-4c2e-9a8e-000000000000")).await;
        assert_eq!(dead.error_codes(), ["non_field_errors_session_invalid"]);
    }
    let session = app.verified_session("auth", "+998901000003").await;
    limited(&app.post("register/", register(&session)).await);
    app.register("+998901000004").await;
}
