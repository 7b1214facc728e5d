//! The operational surface: health, readiness, metrics, request ids, headers, log hygiene, and
//! behaviour while Redis is away.

use std::{
    io::Write,
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::json;
use tantana::db::PING_IF_IDLE_FOR;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::{
    helpers::{Backend, PASSWORD, TestApp, eskiz_token},
    on_both_backends,
};

on_both_backends!(
    health_and_readiness_answer,
    metrics_count_requests_and_otp_events,
    every_response_has_a_request_id_and_security_headers,
    cors_allows_only_configured_origins,
    a_request_past_its_deadline_gets_a_503_in_the_contracts_shape,
);

async fn health_and_readiness_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let health = app.request(Method::GET, "/healthz", &[], Body::empty()).await;
    let ready = app.request(Method::GET, "/readyz", &[], Body::empty()).await;

    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body, json!({"status": "ok"}));
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body, json!({"status": "ok", "database": "ok", "store": "ok"}));
}

async fn metrics_count_requests_and_otp_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.send_otp("auth", "+998901234567").await;
    app.post("login/", json!({"phone_number": "+998901234567", "password": "Wrong-pass-1"})).await;
    let made_up_method = Method::from_bytes(b"BREW").unwrap();
    app.request(made_up_method, "/api/v1/users/check-user/", &[], Body::empty()).await;
    let unknown = app.request(Method::GET, "/api/v1/users/no-such-endpoint/", &[], Body::empty()).await;

    let scrape = app.request(Method::GET, "/metrics", &[], Body::empty()).await;

    assert_eq!(scrape.status, StatusCode::OK);
    assert!(scrape.header("content-type").unwrap().starts_with("text/plain"));
    let text = scrape.body.as_str().unwrap();
    for expected in [
        "http_requests_total{method=\"POST\",route=\"/api/v1/users/send-otp/\",status=\"201\"}",
        "http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/users/send-otp/\",le=\"0.01\"}",
        "otp_sent_total{type=\"auth\"}",
        "logins_total{method=\"password\",result=\"failed\"}",
        "password_hash_queue_depth",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    // Clients choose methods freely; the label set must not grow with them.
    assert!(text.contains("method=\"OTHER\",route=\"/api/v1/users/check-user/\",status=\"405\""), "{text}");
    assert!(!text.contains("BREW"), "{text}");
    // Unknown paths share one label, whatever the path, and are tracked like any request.
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.header("x-request-id").is_some());
    assert!(text.contains("method=\"GET\",route=\"unmatched\",status=\"404\""), "{text}");
    assert!(!text.contains("no-such-endpoint"), "{text}");
}

async fn a_request_past_its_deadline_gets_a_503_in_the_contracts_shape(backend: Backend) {
    // An SMS provider slower than the request deadline (1 s), with an SMS timeout (5 s) that
    // does not fire first: only the deadline can answer.
    let eskiz = MockServer::start().await;
    Mock::given(method("POST")).and(path("/api/auth/login")).respond_with(eskiz_token("token-1")).mount(&eskiz).await;
    Mock::given(method("POST"))
        .and(path("/api/message/sms/send"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1", "status": "waiting"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&eskiz)
        .await;
    let app =
        TestApp::spawn_with_eskiz(backend, &eskiz, &[("REQUEST_TIMEOUT_SECS", "1"), ("SMS_TIMEOUT_SECS", "5")]).await;

    let late = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234567"})).await;
    let again = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234567"})).await;
    let scrape = app.request(Method::GET, "/metrics", &[], Body::empty()).await;

    assert_eq!(late.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        late.body,
        json!({"success": false, "status_code": 503, "errors": [{
            "code": "non_field_errors_timeout", "field": null,
            "message": "The server is temporarily unavailable. Try again shortly."}]})
    );
    assert!(late.header("x-request-id").is_some());
    let text = scrape.body.as_str().unwrap();
    assert!(text.contains("route=\"/api/v1/users/send-otp/\",status=\"503\""), "{text}");
    // The provider had the message when the deadline struck and may deliver it, so the send's
    // cooldown stands, as after any send: no second SMS to the phone within it.
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS, "{}", again.body);
}

async fn every_response_has_a_request_id_and_security_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let generated = app.post("check-user/", json!({"phone_number": "+998901234567"})).await;
    let forwarded = app
        .request(
            Method::POST,
            "/api/v1/users/check-user/",
            &[("content-type", "application/json"), ("x-request-id", "edge-42")],
            Body::from(r#"{"phone_number":"+998901234567"}"#),
        )
        .await;
    let overlong = "x".repeat(65);
    let unusable = app.request(Method::GET, "/healthz", &[("x-request-id", overlong.as_str())], Body::empty()).await;
    let not_found = app.request(Method::GET, "/nope", &[], Body::empty()).await;

    let id = generated.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "not a UUID: {id}");
    assert_eq!(forwarded.header("x-request-id"), Some("edge-42"));
    // An id that would bloat every log line of the request is replaced, not echoed.
    let replaced = unusable.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "not a UUID: {replaced}");
    for response in [&generated, &not_found] {
        assert!(response.header("x-request-id").is_some());
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }
}

async fn cors_allows_only_configured_origins(backend: Backend) {
    let app = &TestApp::spawn_with(backend, &[("CORS_ALLOWED_ORIGINS", "https://app.tantana.uz")]).await;
    let preflight = |origin: &'static str| async move {
        let headers = [("origin", origin), ("access-control-request-method", "POST")];
        app.request(Method::OPTIONS, "/api/v1/users/login/", &headers, Body::empty()).await
    };

    let allowed = preflight("https://app.tantana.uz").await;
    let refused = preflight("https://evil.example").await;

    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://app.tantana.uz"));
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

/// A writer the test can read back: what the service logged during the test.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// On a current-thread runtime every request runs on this thread, so a thread-local subscriber
/// sees exactly this test's logs.
#[tokio::test(flavor = "current_thread")]
async fn logs_of_a_registration_hold_no_code_password_token_or_full_phone() {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // tracing caches each call site's interest process-wide, computed when the site first runs.
    // If a parallel test ran the request-logging sites for the first time just as this
    // subscriber was installed, they stayed "never" for it and the request lines went missing.
    // One request before installing it makes sure they are registered, and installing it then
    // recomputes their interest with it included.
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.request(Method::GET, "/healthz", &[], Body::empty()).await;
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();

    let registered = app.register("+998901234567").await;
    let code = app.last_code("+998901234567");
    let login = app.post("login/", json!({"phone_number": "+998901234567", "password": PASSWORD})).await;
    let refresh = login.body["tokens"]["refresh"].as_str().unwrap().to_string();
    app.post("token/refresh/", json!({"refresh": refresh})).await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("+998*****4567"), "the masked phone is logged:\n{text}");
    assert!(text.contains("route=\"/api/v1/users/register/\""), "request lines are logged:\n{text}");
    for secret in [
        code.as_str(),
        PASSWORD,
        "+998901234567",
        "998901234567",
        registered["tokens"]["access"].as_str().unwrap(),
        registered["tokens"]["refresh"].as_str().unwrap(),
        refresh.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the logs:\n{text}");
    }
}

/// A Redis server of this test's own, so it can be stopped and started again.
struct OwnRedis {
    port: u16,
    child: Child,
}

impl OwnRedis {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed to run this test (Debian package redis-server)");
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backing_services),
    ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL + Redis tier"
)]
async fn losing_redis_gives_503_and_the_service_recovers_by_itself() {
    let port = free_port();
    let redis = OwnRedis::start(port);
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let app =
        TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", url.as_str()), ("OTP_RESEND_COOLDOWN", "0")]).await;
    app.send_otp("auth", "+998901234567").await;

    drop(redis);
    let down = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234568"})).await;
    let not_ready = app.request(Method::GET, "/readyz", &[], Body::empty()).await;
    let alive = app.request(Method::GET, "/healthz", &[], Body::empty()).await;

    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{}", down.body);
    assert_eq!(down.error_codes(), ["non_field_errors_service_unavailable"]);
    assert_eq!(not_ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(not_ready.body, json!({"status": "unavailable", "database": "ok", "store": "down"}));
    assert_eq!(alive.status, StatusCode::OK);

    let _redis = OwnRedis::start(port);
    let mut recovered = None;
    for _ in 0..40 {
        let response = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901234568"})).await;
        if response.status == StatusCode::CREATED {
            recovered = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered.is_some(), "the service did not recover within 10 s of Redis coming back");
    let ready = app.request(Method::GET, "/readyz", &[], Body::empty()).await;
    assert_eq!(ready.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backing_services),
    ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL + Redis tier"
)]
async fn pooled_connections_the_database_closed_are_replaced_before_use() {
    // Hot connections are lent without a ping; one idle for `PING_IF_IDLE_FOR` is checked first,
    // so connections the server dropped while idle (a restart, a proxy's timeout) cost no request.
    let app = TestApp::spawn(Backend::Postgres).await;
    let check_user = || app.post("check-user/", json!({"phone_number": "+998901234567"}));
    assert_eq!(check_user().await.status, StatusCode::OK);

    close_connections_of(&app).await;
    tokio::time::sleep(PING_IF_IDLE_FOR + Duration::from_millis(100)).await;

    let after = check_user().await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
    assert_eq!(after.body, json!({"success": true, "exists": false, "phone_number": "+998901234567"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(backing_services),
    ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL + Redis tier"
)]
async fn a_connection_lost_while_in_use_costs_at_most_a_503_and_the_next_request_succeeds() {
    // One pooled connection, closed by the server moments after use: too fresh to be pinged,
    // so the next query may run on it. That request gets the database-unavailable envelope (never
    // a 500), and sqlx drops the connection so the one after it gets a fresh one.
    let app = TestApp::spawn_with(Backend::Postgres, &[("DB_MAX_CONNECTIONS", "1")]).await;
    let check_user = || app.post("check-user/", json!({"phone_number": "+998901234567"}));
    assert_eq!(check_user().await.status, StatusCode::OK);

    close_connections_of(&app).await;
    let during = check_user().await;
    let after = check_user().await;

    assert!(
        during.status == StatusCode::OK
            || (during.status == StatusCode::SERVICE_UNAVAILABLE
                && during.error_codes() == ["non_field_errors_service_unavailable"]),
        "{} {}",
        during.status,
        during.body
    );
    assert_eq!(after.status, StatusCode::OK, "{}", after.body);
}

/// Closes every connection the app holds to its database, from the server side.
async fn close_connections_of(app: &TestApp) {
    let admin = Database::connect(app.state.config.database_url.as_str()).await.unwrap();
    let closed = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ))
        .await
        .unwrap();
    admin.close().await.unwrap();
    assert!(!closed.is_empty(), "the app held no connection to close");
}
