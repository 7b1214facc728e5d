//! Abuse brakes: per-IP and global SMS limits, account lockout, trusted proxies, captcha, the
//! Eskiz provider, and guessing in parallel over both transports.

use std::net::SocketAddr;

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_string_contains, header, method, path},
};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, TestResponse, eskiz_token},
    on_both_backends,
};

on_both_backends!(
    send_otp_is_limited_per_client_ip,
    the_deployment_wide_sms_budget_stops_sending,
    an_account_locks_after_repeated_failed_logins,
    login_and_verify_are_limited_per_client_ip,
    forwarded_for_is_believed_only_from_trusted_proxies,
    captcha_is_required_and_checked_when_configured,
    eskiz_sends_refreshes_its_token_and_fails_cleanly,
    parallel_guesses_over_rest_and_graphql_evaluate_at_most_five,
);

async fn send_from(app: &TestApp, ip: [u8; 4], phone: &str, forwarded_for: Option<&str>) -> TestResponse {
    let body = json!({"type": "auth", "phone_number": phone}).to_string();
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = forwarded_for {
        headers.push(("x-forwarded-for", value));
    }
    app.request_from(
        SocketAddr::from((ip, 50_000)),
        Method::POST,
        "/api/v1/users/send-otp/",
        &headers,
        Body::from(body),
    )
    .await
}

fn retry_after(response: &TestResponse) -> u64 {
    response.header("retry-after").expect("Retry-After").parse().expect("whole seconds")
}

async fn send_otp_is_limited_per_client_ip(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_OTP_PER_IP_PER_HOUR", "2")]).await;

    assert_eq!(send_from(&app, [203, 0, 113, 7], "+998901000001", None).await.status, StatusCode::CREATED);
    assert_eq!(send_from(&app, [203, 0, 113, 7], "+998901000002", None).await.status, StatusCode::CREATED);
    let limited = send_from(&app, [203, 0, 113, 7], "+998901000003", None).await;

    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.error_codes(), ["non_field_errors_throttled"]);
    assert!((3500..=3600).contains(&retry_after(&limited)));
    assert_eq!(app.outbox().len(), 2, "no SMS for the refused request");
    // Another client is not affected; the limited one passes once its window is reset.
    assert_eq!(send_from(&app, [198, 51, 100, 9], "+998901000003", None).await.status, StatusCode::CREATED);
    app.state.store.remove("limit:otp_per_ip:203.0.113.7").await.unwrap();
    assert_eq!(send_from(&app, [203, 0, 113, 7], "+998901000004", None).await.status, StatusCode::CREATED);
}

async fn the_deployment_wide_sms_budget_stops_sending(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, &[("RATE_LIMIT_SMS_PER_HOUR", "2"), ("OTP_TEST_NUMBERS", "+998900000000=081020")])
            .await;
    app.send_otp("auth", "+998901000001").await;
    app.send_otp("auth", "+998901000002").await;

    let exhausted = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901000003"})).await;

    assert_eq!(exhausted.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(exhausted.error_codes(), ["non_field_errors_sms_budget_exhausted"]);
    assert!(retry_after(&exhausted) > 3500);
    // The refused phone's own cooldown was not spent, and review numbers cost no SMS.
    app.send_otp("auth", "+998900000000").await;
    app.state.store.remove("limit:sms_registration:all").await.unwrap();
    app.send_otp("auth", "+998901000003").await;
}

async fn an_account_locks_after_repeated_failed_logins(backend: Backend) {
    let app =
        TestApp::spawn_with(backend, &[("RATE_LIMIT_LOGIN_FAILURES", "3"), ("RATE_LIMIT_LOGIN_LOCK_SECS", "60")]).await;
    app.register("+998901234567").await;
    app.register("+998901234568").await;
    let login = |phone: &'static str, password: &'static str| {
        let app = &app;
        async move { app.post("login/", json!({"phone_number": phone, "password": password})).await }
    };

    // Failures below the limit are forgotten after a successful login.
    for _ in 0..2 {
        assert_eq!(login("+998901234567", "Wrong-pass-1").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login("+998901234567", PASSWORD).await.status, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(login("+998901234567", "Wrong-pass-1").await.status, StatusCode::UNAUTHORIZED);
    }

    let locked = login("+998901234567", PASSWORD).await;

    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.error_codes(), ["non_field_errors_too_many_login_attempts"]);
    assert!((1..=60).contains(&retry_after(&locked)));
    assert_eq!(login("+998901234568", PASSWORD).await.status, StatusCode::OK, "other accounts are not locked");
    // Unknown phones lock the same way, so the lock says nothing about whether an account exists.
    for _ in 0..3 {
        login("+998907777777", "Wrong-pass-1").await;
    }
    assert_eq!(login("+998907777777", "Wrong-pass-1").await.status, StatusCode::TOO_MANY_REQUESTS);
    app.state.store.remove("login_failures:+998901234567").await.unwrap();
    assert_eq!(login("+998901234567", PASSWORD).await.status, StatusCode::OK);
}

async fn login_and_verify_are_limited_per_client_ip(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_AUTH_PER_IP_PER_MINUTE", "3")]).await;
    let session = app.send_otp("auth", "+998901234567").await;
    let guess = json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": "000000"});

    app.post("login/", json!({"phone_number": "+998901234567", "password": "Wrong-pass-1"})).await;
    app.post("verify-otp/", guess.clone()).await;
    app.post("login/", json!({"phone_number": "+998901234567", "password": "Wrong-pass-1"})).await;
    let limited_verify = app.post("verify-otp/", guess).await;
    let limited_login = app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await;

    for response in [&limited_verify, &limited_login] {
        assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS, "{}", response.body);
        assert_eq!(response.error_codes(), ["non_field_errors_throttled"]);
        assert!((1..=60).contains(&retry_after(response)));
    }
    // Once the window is over (reset here rather than waited for), the client passes again.
    app.state.store.remove("limit:auth_per_ip:127.0.0.1").await.unwrap();
    let again = app.post("login/", json!({"phone_number": "+998901234567", "password": "Wrong-pass-1"})).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

async fn forwarded_for_is_believed_only_from_trusted_proxies(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[("RATE_LIMIT_OTP_PER_IP_PER_HOUR", "1"), ("TRUSTED_PROXIES", "10.0.0.0/8"), ("OTP_RESEND_COOLDOWN", "0")],
    )
    .await;
    let proxy = [10, 0, 0, 1];

    // Behind the trusted proxy, each forwarded client has its own budget.
    assert_eq!(send_from(&app, proxy, "+998901000001", Some("192.0.2.1")).await.status, StatusCode::CREATED);
    assert_eq!(send_from(&app, proxy, "+998901000002", Some("192.0.2.2")).await.status, StatusCode::CREATED);
    let spoofed_prefix = send_from(&app, proxy, "+998901000003", Some("6.6.6.6, 192.0.2.1")).await;
    assert_eq!(spoofed_prefix.status, StatusCode::TOO_MANY_REQUESTS, "the nearest untrusted hop is the client");

    // From an untrusted peer the header is ignored: the peer itself is the client.
    let untrusted = [198, 51, 100, 20];
    assert_eq!(send_from(&app, untrusted, "+998901000004", Some("192.0.2.50")).await.status, StatusCode::CREATED);
    let spoofing = send_from(&app, untrusted, "+998901000005", Some("192.0.2.51")).await;
    assert_eq!(spoofing.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn captcha_is_required_and_checked_when_configured(backend: Backend) {
    let captcha = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/siteverify"))
        .and(body_string_contains("response=good-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "score": 0.9})))
        .mount(&captcha)
        .await;
    Mock::given(method("POST"))
        .and(path("/siteverify"))
        .and(body_string_contains("response=bot-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "score": 0.1})))
        .mount(&captcha)
        .await;
    Mock::given(method("POST"))
        .and(path("/siteverify"))
        .and(body_string_contains("response=bad-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": false})))
        .mount(&captcha)
        .await;
    let verify_url = format!("{}/siteverify", captcha.uri());
    let app = TestApp::spawn_with(
        backend,
        &[("RECAPTCHA_PRIVATE_KEY", "captcha-secret"), ("RECAPTCHA_VERIFY_URL", verify_url.as_str())],
    )
    .await;
    let send = |token: Option<&'static str>| {
        let app = &app;
        async move {
            let mut body = json!({"type": "auth", "phone_number": "+998901234567"});
            if let Some(token) = token {
                body["recaptcha_token"] = json!(token);
            }
            app.post("send-otp/", body).await
        }
    };

    assert_eq!(send(None).await.error_codes(), ["recaptcha_token_required"]);
    assert_eq!(send(Some("bad-token")).await.error_codes(), ["recaptcha_token_invalid"]);
    assert_eq!(send(Some("bot-token")).await.error_codes(), ["recaptcha_token_invalid"]);
    assert!(app.outbox().is_empty());
    assert_eq!(send(Some("good-token")).await.status, StatusCode::CREATED);
    let requests = captcha.received_requests().await.unwrap();
    assert!(String::from_utf8_lossy(&requests[0].body).contains("secret=captcha-secret"));
}

/// The form fields of a request Eskiz received.
fn form_of(request: &wiremock::Request) -> Value {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body).expect("a form body");
    Value::Object(pairs.into_iter().map(|(key, value)| (key, Value::String(value))).collect())
}

async fn eskiz_sends_refreshes_its_token_and_fails_cleanly(backend: Backend) {
    let eskiz = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .respond_with(eskiz_token("token-1"))
        .up_to_n_times(1)
        .mount(&eskiz)
        .await;
    Mock::given(method("POST")).and(path("/api/auth/login")).respond_with(eskiz_token("token-2")).mount(&eskiz).await;
    // The first token works for one message, then Eskiz says it expired.
    Mock::given(method("POST"))
        .and(path("/api/message/sms/send"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1", "status": "waiting"})))
        .up_to_n_times(1)
        .mount(&eskiz)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/message/sms/send"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&eskiz)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/message/sms/send"))
        .and(header("authorization", "Bearer token-2"))
        .and(body_string_contains("mobile_phone=998901000003"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&eskiz)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/message/sms/send"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "2", "status": "waiting"})))
        .mount(&eskiz)
        .await;
    let app = TestApp::spawn_with_eskiz(backend, &eskiz, &[]).await;

    // Success with the first token; the code in the SMS verifies.
    let session = app.send_otp("auth", "+998901000001").await;
    let sent: Vec<Value> = eskiz
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/api/message/sms/send")
        .map(form_of)
        .collect();
    assert_eq!(sent[0]["mobile_phone"], "998901000001");
    assert_eq!(sent[0]["from"], "4546");
    let message = sent[0]["message"].as_str().unwrap();
    let code: String = message.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6, "{message}");
    assert!(message.contains("ro'yxatdan o'tish"), "Uzbek registration text: {message}");
    let verified = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901000001", "session": session, "otp_code": code}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::CREATED);

    // The token is refused: log in again and send.
    app.send_otp("auth", "+998901000002").await;
    let logins = eskiz.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/api/auth/login").count();
    assert_eq!(logins, 2);

    // The provider fails: 503, and the cooldown is not spent.
    let failed = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901000003"})).await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(failed.error_codes(), ["non_field_errors_sms_unavailable"]);
    let retried = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901000003"})).await;
    assert_eq!(retried.status, StatusCode::SERVICE_UNAVAILABLE, "not 429: the failed send gave its cooldown back");
}

async fn parallel_guesses_over_rest_and_graphql_evaluate_at_most_five(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let session = app.send_otp("auth", "+998901234567").await;
    let code = app.last_code("+998901234567");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let rest_body = json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": wrong});
    let query = "mutation($input: VerifyOtpInput!) { verifyOtp(input: $input) { verified } }";
    let variables =
        json!({"input": {"type": "AUTH", "phoneNumber": "+998901234567", "session": session, "otpCode": wrong}});

    let rest = (0..25).map(|_| async { app.post("verify-otp/", rest_body.clone()).await.error_codes() });
    let graphql = (0..25).map(|_| async { app.graphql(query, variables.clone()).await.graphql_codes() });
    let (rest, graphql) = tokio::join!(futures::future::join_all(rest), futures::future::join_all(graphql));

    let evaluated = rest.iter().filter(|codes| codes[..] == ["non_field_errors_otp_invalid"]).count()
        + graphql.iter().filter(|codes| codes[..] == ["OTP_INVALID"]).count();
    let refused = rest.iter().filter(|codes| codes[..] == ["non_field_errors_otp_attempts_exceeded"]).count()
        + graphql.iter().filter(|codes| codes[..] == ["OTP_ATTEMPTS_EXCEEDED"]).count();
    assert_eq!(evaluated, 5, "{rest:?} {graphql:?}");
    assert_eq!(refused, 45);
    let right = app
        .post(
            "verify-otp/",
            json!({"type": "auth", "phone_number": "+998901234567", "session": session, "otp_code": code}),
        )
        .await;
    assert_eq!(right.error_codes(), ["non_field_errors_otp_attempts_exceeded"]);
}
