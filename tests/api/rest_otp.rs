//! OTP rules through REST: phone formats, expiry, attempts, binding, reuse, cooldown, hourly cap.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp},
    on_both_backends,
};

on_both_backends!(
    phone_numbers_are_normalised_or_refused,
    an_expired_code_is_refused_as_expired,
    five_wrong_codes_kill_the_session,
    a_session_is_bound_to_its_phone_and_type,
    a_verified_session_is_consumed_once,
    resending_within_the_cooldown_is_throttled,
    sends_per_phone_per_hour_are_capped,
    test_numbers_use_their_fixed_code_and_send_no_sms,
    fifty_parallel_wrong_guesses_evaluate_at_most_five,
);

async fn phone_numbers_are_normalised_or_refused(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("OTP_RESEND_COOLDOWN", "0"), ("OTP_MAX_PER_HOUR", "100")]).await;

    for input in ["+998901234567", "998901234567", "+998 90 123-45-67", "90 123 45 67", "(90) 123-45-67"] {
        let response = app.post("check-user/", json!({"phone_number": input})).await;
        assert_eq!(response.status, StatusCode::OK, "{input}: {}", response.body);
        assert_eq!(response.body["phone_number"], "+998901234567", "{input}");
    }

    for input in ["12345", "+99890", "not a phone", "+998 00 000 00 00", "+9989012345678901"] {
        let response = app.post("send-otp/", json!({"type": "auth", "phone_number": input})).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{input}");
        assert_eq!(
            response.body,
            json!({"success": false, "status_code": 400, "errors": [{
                "code": "phone_number_invalid_phone_number", "field": "phone_number",
                "message": "The phone number entered is not valid."}]}),
            "{input}"
        );
    }

    let blank = app.post("send-otp/", json!({"type": "auth", "phone_number": "  "})).await;
    assert_eq!(blank.error_codes(), ["phone_number_blank"]);
    let missing = app.post("send-otp/", json!({})).await;
    assert_eq!(missing.error_codes(), ["type_required", "phone_number_required"]);
    let bad_type = app.post("send-otp/", json!({"type": "signup", "phone_number": "+998901234567"})).await;
    assert_eq!(
        bad_type.body["errors"],
        json!([{"code": "type_invalid_choice", "field": "type", "message": "\"signup\" is not a valid choice."}])
    );
    assert!(app.outbox().is_empty(), "no SMS for refused requests");
}

async fn an_expired_code_is_refused_as_expired(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("OTP_TTL", "1")]).await;
    let session = app.send_otp("auth", "+998901234567").await;
    let code = app.last_code("+998901234567");

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let response = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": code}),
        )
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.error_codes(), ["non_field_errors_otp_expired"]);
}

async fn five_wrong_codes_kill_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = app.send_otp("auth", "+998901234567").await;
    let code = app.last_code("+998901234567");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let guess = |otp_code: &str| {
        app.post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": otp_code}),
        )
    };

    for _ in 0..5 {
        let response = guess(wrong).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.error_codes(), ["non_field_errors_otp_invalid"]);
    }
    let right_but_late = guess(&code).await;

    assert_eq!(right_but_late.status, StatusCode::BAD_REQUEST);
    assert_eq!(right_but_late.error_codes(), ["non_field_errors_otp_attempts_exceeded"]);
    // A malformed code is an input error and costs no attempt (nothing to evaluate).
    let malformed = guess("12ab").await;
    assert_eq!(malformed.error_codes(), ["otp_code_invalid"]);
}

async fn a_session_is_bound_to_its_phone_and_type(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234568").await;
    let session = app.send_otp("auth", "+998901234567").await;
    let code = app.last_code("+998901234567");

    let other_phone = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234568", "session": session, "otp_code": code}),
        )
        .await;
    let other_type = app
        .post(
            "verify-otp/",
            json!({"type": "login", "phone_number": "+998901234567", "session": session, "otp_code": code}),
        )
        .await;
    let unknown = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234567", "session": uuid::Uuid::new_v4().to_string(), "otp_code": code}),
        )
        .await;
    let not_uuid = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234567", "session": "abc", "otp_code": code}),
        )
        .await;

    for response in [&other_phone, &other_type, &unknown] {
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.error_codes(), ["non_field_errors_session_invalid"]);
    }
    assert_eq!(not_uuid.error_codes(), ["session_invalid"]);

    // A session verified for `auth` cannot reset a password or log in.
    let verified = app.verified_session("auth", "+998901234569").await;
    let login = app.post("login/otp/", json!({"phone_number": "+998901234569", "session": verified})).await;
    assert_eq!(login.error_codes(), ["non_field_errors_user_not_found"]);
}

async fn a_verified_session_is_consumed_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.register("+998901234567").await;
    let session = app.verified_session("login", "+998901234567").await;
    let body = json!({"phone_number": "+998901234567", "session": session});

    let (first, second) = tokio::join!(app.post("login/otp/", body.clone()), app.post("login/otp/", body.clone()));

    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
    let third = app.post("login/otp/", body).await;
    assert_eq!(third.error_codes(), ["non_field_errors_session_invalid"]);
}

async fn resending_within_the_cooldown_is_throttled(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("OTP_RESEND_COOLDOWN", "2")]).await;
    app.send_otp("auth", "+998901234567").await;

    let throttled = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234567"})).await;

    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        throttled.body,
        json!({"success": false, "status_code": 429, "errors": [{
            "code": "non_field_errors_otp_already_sent", "field": null, "message": "OTP Already sent"}]})
    );
    assert_eq!(app.outbox().len(), 1);

    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(100)).await;
    let again = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234567"})).await;
    assert_eq!(again.status, StatusCode::CREATED);
}

async fn sends_per_phone_per_hour_are_capped(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("OTP_RESEND_COOLDOWN", "0"), ("OTP_MAX_PER_HOUR", "3")]).await;
    for _ in 0..3 {
        app.send_otp("auth", "+998901234567").await;
    }

    let capped = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234567"})).await;

    assert_eq!(capped.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(capped.error_codes(), ["non_field_errors_otp_hourly_limit"]);
    let retry_after: u64 = capped.header("retry-after").unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(app.outbox().len(), 3);
    // Another phone is not affected, and the capped one passes once its hour is over (reset here).
    app.send_otp("auth", "+998901234568").await;
    app.state.store.remove("otp_hourly:+998901234567").await.unwrap();
    app.send_otp("auth", "+998901234567").await;
}

async fn test_numbers_use_their_fixed_code_and_send_no_sms(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("OTP_TEST_NUMBERS", "+998900000000=081020")]).await;

    let session = app.send_otp("auth", "998900000000").await;
    assert!(app.outbox().is_empty());
    let wrong = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998900000000", "session": session, "otp_code": "123456"}),
        )
        .await;
    assert_eq!(wrong.error_codes(), ["non_field_errors_otp_invalid"]);
    let right = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998900000000", "session": session, "otp_code": "081020"}),
        )
        .await;
    assert_eq!(right.status, StatusCode::CREATED, "{}", right.body);
}

async fn fifty_parallel_wrong_guesses_evaluate_at_most_five(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = app.send_otp("auth", "+998901234567").await;
    let code = app.last_code("+998901234567");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": wrong});

    let responses = futures::future::join_all((0..50).map(|_| app.post("verify-otp/", body.clone()))).await;

    let evaluated = responses.iter().filter(|r| r.error_codes() == ["non_field_errors_otp_invalid"]).count();
    let refused = responses.iter().filter(|r| r.error_codes() == ["non_field_errors_otp_attempts_exceeded"]).count();
    assert_eq!(evaluated, 5);
    assert_eq!(refused, 45);
    let right = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": code}),
        )
        .await;
    assert_eq!(right.error_codes(), ["non_field_errors_otp_attempts_exceeded"]);
}

/// Two instances behind a load balancer share OTP sessions, cooldowns and counters via Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backing_services),
    ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL + Redis tier"
)]
async fn instances_on_one_postgres_and_redis_share_otp_state() {
    let a = TestApp::spawn_with(Backend::Postgres, &[("OTP_MAX_PER_HOUR", "2")]).await;
    let b = a.sibling().await;

    let session = a.send_otp("auth", "+998901234567").await;
    let code = a.last_code("+998901234567");
    let verified_on_b = b
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": code}),
        )
        .await;
    assert_eq!(verified_on_b.status, StatusCode::CREATED, "{}", verified_on_b.body);

    let cooled_on_b = b.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234567"})).await;
    assert_eq!(cooled_on_b.status, StatusCode::TOO_MANY_REQUESTS);

    // The hourly count is shared too: with a cap of 2, one send on A and one on B use it up.
    let b = TestApp::spawn_with(Backend::Postgres, &[("OTP_MAX_PER_HOUR", "2"), ("OTP_RESEND_COOLDOWN", "0")]).await;
    let c = b.sibling_with(&[("OTP_MAX_PER_HOUR", "2"), ("OTP_RESEND_COOLDOWN", "0")]).await;
    b.send_otp("auth", "+998901234568").await;
    c.send_otp("auth", "+998901234568").await;
    let capped = b.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234568"})).await;
    assert_eq!(capped.error_codes(), ["non_field_errors_otp_hourly_limit"]);
}
