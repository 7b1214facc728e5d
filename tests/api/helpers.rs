//! `TestApp`: a real router on its own database and store namespace, plus request helpers.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::connect_info::MockConnectInfo,
    http::{HeaderMap, Method, Request, StatusCode},
};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tantana::{AppState, app, config::Config, db, store::Store};
use tower::ServiceExt;

/// Which production parts a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: a SQLite file and the in-process store.
    Sqlite,
    /// The production parts: PostgreSQL and Redis.
    Postgres,
}

/// Runs each listed `async fn name(backend: Backend)` once per backend, as two named tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite_and_memory_store() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(backing_services), ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL + Redis tier")]
            async fn on_postgres_and_redis() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )+};
}

pub const PASSWORD: &str = "Tashkent-2024!";

/// PostgreSQL server used for test databases; each test creates its own database on it.
fn postgres_url() -> String {
    required_var("TEST_DATABASE_URL")
}

fn redis_url() -> String {
    required_var("TEST_REDIS_URL")
}

/// The PostgreSQL + Redis tier runs only when its servers are named; a test of that tier run
/// without them (`--include-ignored`) fails saying so, rather than guessing an address.
fn required_var(name: &str) -> String {
    std::env::var(name).ok().filter(|value| !value.is_empty()).unwrap_or_else(|| {
        panic!("{name} is not set: the PostgreSQL + Redis tests need TEST_DATABASE_URL and TEST_REDIS_URL")
    })
}

/// Removes what a test created when it ends, pass or fail.
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { server_url: String, name: String },
}

/// One application instance under test.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub backend: Backend,
    outbox: PathBuf,
    cleanup: Vec<Cleanup>,
    /// Redis key prefix of this test; a second instance built with `sibling` shares it.
    store_prefix: String,
}

/// A response read whole.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The `code` of each entry of the error envelope.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().map(|e| e["code"].as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// An app that sends SMS through the Eskiz API mocked at `eskiz`, with `vars` on top.
    pub async fn spawn_with_eskiz(backend: Backend, eskiz: &wiremock::MockServer, vars: &[(&str, &str)]) -> Self {
        let base_url = format!("{}/api", eskiz.uri());
        let eskiz_vars = [
            ("SMS_BACKEND", "eskiz"),
            ("ESKIZ_EMAIL", "ops@tantana.uz"),
            ("ESKIZ_PASSWORD", "eskiz-secret"),
            ("ESKIZ_BASE_URL", base_url.as_str()),
        ];
        Self::spawn_with(backend, &[&eskiz_vars[..], vars].concat()).await
    }

    /// Starts an app with extra configuration variables (`OTP_TTL`, …).
    pub async fn spawn_with(backend: Backend, vars: &[(&str, &str)]) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut cleanup = Vec::new();
        let database_url = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("tantana-test-{id}.sqlite3"));
                cleanup.push(Cleanup::SqliteFile(path.clone()));
                format!("sqlite://{}?mode=rwc", path.display())
            }
            Backend::Postgres => {
                let name = format!("tantana_test_{id}");
                let server_url = postgres_url();
                create_postgres_database(&server_url, &name).await;
                let url = replace_database_name(&server_url, &name);
                cleanup.push(Cleanup::PostgresDatabase { server_url, name });
                url
            }
        };
        let store_prefix = format!("tantana-test:{id}:");
        Self::build(backend, database_url, store_prefix, cleanup, vars).await
    }

    /// A second instance on the same database and store, like another replica behind a load
    /// balancer: it shares all state with `self` but has its own router and connections.
    pub async fn sibling(&self) -> Self {
        self.sibling_with(&[]).await
    }

    /// A sibling with its own extra configuration (it should match the first instance's).
    pub async fn sibling_with(&self, vars: &[(&str, &str)]) -> Self {
        let database_url = self.state.config.database_url.clone();
        Self::build(self.backend, database_url, self.store_prefix.clone(), Vec::new(), vars).await
    }

    async fn build(
        backend: Backend,
        database_url: String,
        store_prefix: String,
        cleanup: Vec<Cleanup>,
        extra: &[(&str, &str)],
    ) -> Self {
        let outbox = std::env::temp_dir().join(format!("tantana-test-outbox-{}.jsonl", uuid::Uuid::new_v4().simple()));
        let mut vars: Vec<(String, String)> = vec![
            ("SECRET_KEY".into(), "test-secret-key-that-is-long-enough-for-hs256".into()),
            ("DATABASE_URL".into(), database_url),
            ("DB_MAX_CONNECTIONS".into(), "5".into()),
            ("SMS_BACKEND".into(), "file".into()),
            ("SMS_OUTBOX".into(), outbox.display().to_string()),
            ("REDIS_KEY_PREFIX".into(), store_prefix.clone()),
            ("PASSWORD_HASH_CONCURRENCY".into(), "2".into()),
            // Every request of a test comes from one address; the limit tests lower these.
            ("RATE_LIMIT_AUTH_PER_IP_PER_MINUTE".into(), "10000".into()),
            ("RATE_LIMIT_OTP_PER_IP_PER_HOUR".into(), "10000".into()),
            ("RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE".into(), "10000".into()),
        ];
        if backend == Backend::Postgres {
            vars.push(("REDIS_URL".into(), redis_url()));
        }
        // A test's own values replace the defaults above.
        vars.retain(|(key, _)| !extra.iter().any(|(name, _)| name == key));
        vars.extend(extra.iter().map(|(key, value)| (key.to_string(), value.to_string())));
        let config = Config::from_vars(vars).expect("test configuration is valid");
        let store =
            Store::connect(config.redis_url.as_deref(), &config.redis_key_prefix, config.store_memory_max_entries)
                .await
                .unwrap_or_else(|error| {
                    panic!(
                        "Redis at {} does not answer ({error}). Start it (e.g. `redis-server --daemonize yes`) \
                 or point TEST_REDIS_URL at one.",
                        redis_url()
                    )
                });
        let db = db::connect(&config).await.expect("test database opens and migrates");
        let state = AppState::new(config, db, store);
        let router = app(state.clone()).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
        Self { router, state, backend, outbox, cleanup, store_prefix }
    }

    /// Sends one request through the router, from 127.0.0.1.
    pub async fn request(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Body) -> TestResponse {
        self.request_via(self.router.clone(), method, path, headers, body).await
    }

    /// Sends one request as if from `peer` (the socket address the server sees).
    pub async fn request_from(
        &self,
        peer: SocketAddr,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> TestResponse {
        let router = app(self.state.clone()).layer(MockConnectInfo(peer));
        self.request_via(router, method, path, headers, body).await
    }

    async fn request_via(
        &self,
        router: Router,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = router.oneshot(builder.body(body).expect("valid request")).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body reads").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        TestResponse { status, headers, body }
    }

    /// POSTs a JSON body to a users endpoint (`"send-otp/"` → `/api/v1/users/send-otp/`).
    pub async fn post(&self, endpoint: &str, body: Value) -> TestResponse {
        self.post_as(endpoint, body, None).await
    }

    /// Like `post`, with a bearer access token.
    pub async fn post_as(&self, endpoint: &str, body: Value, access: Option<&str>) -> TestResponse {
        let authorization = access.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(value) = &authorization {
            headers.push(("authorization", value));
        }
        self.request(Method::POST, &format!("/api/v1/users/{endpoint}"), &headers, Body::from(body.to_string())).await
    }

    /// Every SMS this instance sent, oldest first, as written to the outbox.
    pub fn outbox(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.outbox)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("outbox lines are JSON"))
            .collect()
    }

    /// The code of the last SMS sent to `phone` (E.164).
    pub fn last_code(&self, phone: &str) -> String {
        self.outbox()
            .iter()
            .rev()
            .find(|message| message["phone_number"] == phone)
            .and_then(|message| message["code"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no SMS was sent to {phone}"))
    }

    /// send-otp; returns the session.
    pub async fn send_otp(&self, otp_type: &str, phone: &str) -> String {
        let response = self.post("send-otp/", json!({"type": otp_type, "phone_number": phone})).await;
        assert_eq!(response.status, StatusCode::CREATED, "send-otp failed: {}", response.body);
        response.body["session"].as_str().expect("session").to_string()
    }

    /// send-otp + verify-otp with the code from the outbox; returns the verified session.
    pub async fn verified_session(&self, otp_type: &str, phone: &str) -> String {
        let session = self.send_otp(otp_type, phone).await;
        let code = self.last_code(phone);
        let response = self
            .post("verify-otp/", json!({"type": otp_type, "phone_number": phone, "session": session, "otp_code": code}))
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "verify-otp failed: {}", response.body);
        session
    }

    /// A complete registration; returns the register response body.
    pub async fn register(&self, phone: &str) -> Value {
        let session = self.verified_session("auth", phone).await;
        let response = self
            .post(
                "register/",
                json!({"phone_number": phone, "password": PASSWORD, "password2": PASSWORD,
                       "full_name": "Ali Valiyev", "session": session}),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "register failed: {}", response.body);
        response.body
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.outbox);
        for cleanup in self.cleanup.drain(..) {
            match cleanup {
                Cleanup::SqliteFile(path) => {
                    for suffix in ["", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                    }
                }
                Cleanup::PostgresDatabase { server_url, name } => {
                    // Drop runs outside async; a short-lived runtime on its own thread does the I/O.
                    let _ = std::thread::spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                        runtime.block_on(async {
                            let admin = Database::connect(&server_url).await.ok()?;
                            admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                                .await
                                .ok()
                        })
                    })
                    .join();
                }
            }
        }
    }
}

async fn create_postgres_database(server_url: &str, name: &str) {
    let admin = tokio::time::timeout(Duration::from_secs(10), Database::connect(server_url))
        .await
        .map_err(|_| "timed out".to_string())
        .and_then(|result| result.map_err(|error| error.to_string()))
        .unwrap_or_else(|error| {
            panic!(
                "PostgreSQL at {server_url} does not answer ({error}). Start it (e.g. \
                 `pg_ctlcluster <version> main start`) or point TEST_DATABASE_URL at a server \
                 where the user may create databases."
            )
        });
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create the test database");
    admin.close().await.ok();
}

/// `postgres://u@h:5432/postgres` + `x` → `postgres://u@h:5432/x` (query string kept).
fn replace_database_name(server_url: &str, name: &str) -> String {
    let (base, query) = server_url.split_once('?').map_or((server_url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Eskiz's answer to its login endpoint, handing out `token`.
pub fn eskiz_token(token: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_json(json!({"message": "token_generated", "data": {"token": token}}))
}
