//! The `tantana` binary itself: subcommands, and a real server on a real port.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

/// A scratch directory per test, so `.env` files and SQLite databases never collide.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tantana-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub(crate) fn database_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("db.sqlite3").display())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tantana(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tantana"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the tantana binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn print_schema_prints_the_committed_sdl() {
    let scratch = Scratch::new();
    let output = tantana(&scratch.0, &["print-schema"], &[]);
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(text(&output.stdout), committed);
}

#[test]
fn check_config_masks_secrets_and_names_bad_variables() {
    let scratch = Scratch::new();
    let good = tantana(
        &scratch.0,
        &["check-config"],
        &[
            ("SECRET_KEY", "very-secret-signing-key"),
            (
                "DATABASE_URL",
                "postgres://tantana:db-password@db.internal:5432/tantana?sslpassword=ssl-key-password&\
                 password=query-password&sslmode=require",
            ),
            ("REDIS_URL", "redis://:redis-password@cache.internal:6379/0"),
            ("OTP_TEST_NUMBERS", "+998900000000=081020"),
            ("ESKIZ_EMAIL", "ops@tantana.uz"),
            ("ESKIZ_PASSWORD", "eskiz-password"),
            ("SMS_BACKEND", "eskiz"),
        ],
    );
    let shown = text(&good.stdout);
    assert!(good.status.success(), "{}", text(&good.stderr));
    assert!(shown.contains("configuration is valid"));
    assert!(
        shown.contains("postgres://tantana:***@db.internal:5432/tantana?sslpassword=***&password=***&sslmode=require"),
        "{shown}"
    );
    assert!(shown.contains("redis://:***@cache.internal:6379/0"), "{shown}");
    // The review number is shown, its fixed code is not.
    assert!(shown.contains("\"+998900000000\": \"***\""), "{shown}");
    for secret in [
        "very-secret-signing-key",
        "db-password",
        "ssl-key-password",
        "query-password",
        "redis-password",
        "081020",
        "eskiz-password",
    ] {
        assert!(!shown.contains(secret), "{secret} shown:\n{shown}");
    }
    // Unset, the pool follows the machine: two connections per CPU plus one.
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert!(shown.contains(&format!("db_max_connections: {},", 2 * cpus + 1)), "{shown}");

    for (env, variable) in [
        (vec![("OTP_TTL", "two minutes")], "OTP_TTL"),
        (vec![("SMS_BACKEND", "pigeon")], "SMS_BACKEND"),
        (vec![("DEBUG", "false")], "SECRET_KEY"),
        (vec![("RATE_LIMIT_LOGIN_FAILURES", "1000")], "RATE_LIMIT_LOGIN_FAILURES"),
        (vec![("TRUSTED_PROXIES", "10.0.0.0/99")], "TRUSTED_PROXIES"),
        (vec![("PASSWORD_HASH_NICE", "-5")], "PASSWORD_HASH_NICE"),
        (vec![("PASSWORD_HASH_NICE", "20")], "PASSWORD_HASH_NICE"),
        (vec![("DB_MAX_CONNECTIONS", "0")], "DB_MAX_CONNECTIONS"),
        (vec![("PASSWORD_HASH_CONCURRENCY", "0")], "PASSWORD_HASH_CONCURRENCY"),
    ] {
        let bad = tantana(&scratch.0, &["check-config"], &env);
        assert!(!bad.status.success(), "{env:?} was accepted");
        assert!(text(&bad.stderr).contains(variable), "{env:?}: {}", text(&bad.stderr));
    }
}

#[test]
fn migrate_applies_and_lists_every_migration() {
    let scratch = Scratch::new();
    let env = [("DATABASE_URL", scratch.database_url()), ("SECRET_KEY", "k".into())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let up = tantana(&scratch.0, &["migrate", "up"], &env);
    let status = tantana(&scratch.0, &["migrate", "status"], &env);

    assert!(up.status.success(), "{}", text(&up.stderr));
    let listed = text(&status.stdout);
    for name in
        ["create_users_table", "create_token_blacklist_tables", "add_users_tokens_valid_after", "account_lifecycle"]
    {
        assert!(listed.lines().any(|line| line.contains(name) && line.contains("Applied")), "{listed}");
    }
    let down = tantana(&scratch.0, &["migrate", "down"], &env);
    assert!(down.status.success());
    let after = text(&tantana(&scratch.0, &["migrate", "status"], &env).stdout);
    assert!(after.lines().any(|line| line.contains("account_lifecycle") && line.contains("Pending")));
    assert!(after.lines().any(|line| line.contains("add_users_tokens_valid_after") && line.contains("Applied")));
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Stops the server even when an assertion fails.
pub(crate) struct Server(pub(crate) std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn createsuperuser_then_the_real_server_logs_them_in_and_stops_gracefully() {
    let scratch = Scratch::new();
    let database_url = scratch.database_url();
    let created = tantana(
        &scratch.0,
        &["createsuperuser", "--phone-number", "998 90 555 44 33", "--full-name", "Admin"],
        &[("DATABASE_URL", &database_url), ("SECRET_KEY", "k"), ("SUPERUSER_PASSWORD", "Registan-Square-1")],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("+998905554433"));
    let weak = tantana(
        &scratch.0,
        &["createsuperuser", "--phone-number", "+998905554434", "--full-name", "Admin"],
        &[("DATABASE_URL", &database_url), ("SECRET_KEY", "k"), ("SUPERUSER_PASSWORD", "12345678")],
    );
    assert!(!weak.status.success());
    assert!(text(&weak.stderr).contains("This password is entirely numeric."));

    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_tantana"))
            .env_clear()
            .envs([("DATABASE_URL", database_url.as_str()), ("SECRET_KEY", "k"), ("BIND", bind.as_str())])
            .current_dir(&scratch.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let base = format!("http://{bind}");
    let mut healthy = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healthy, "the server did not come up on {bind}");

    let login: Value = client
        .post(format!("{base}/api/v1/users/login/"))
        .json(&json!({"phone_number": "+998905554433", "password": "Registan-Square-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["message"], "Login successful");
    assert_eq!(login["user"]["full_name"], "Admin");

    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = server.0.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(exited.is_some_and(|status| status.success()), "SIGTERM should stop the server cleanly: {exited:?}");
}

/// The password sent by the failed login of `logs_of_a_short_run`: it must never be logged.
const LOGGED_OUT_PASSWORD: &str = "Never-logged-9";

/// Serves with `LOG_FORMAT=log_format` and the hashing threads' debug lines on, asks for
/// `/healthz`, one OTP sent under the request id `edge-7` and one failed password login (hashed
/// on a hashing thread) under `edge-8`, stops the server, and returns what it wrote to stdout.
async fn logs_of_a_short_run(log_format: &str) -> String {
    let scratch = Scratch::new();
    let database_url = scratch.database_url();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_tantana"))
            .env_clear()
            .envs([
                ("DATABASE_URL", database_url.as_str()),
                ("SECRET_KEY", "k"),
                ("BIND", bind.as_str()),
                ("LOG_FORMAT", log_format),
                ("RUST_LOG", "info,tantana::service::password=debug"),
            ])
            .current_dir(&scratch.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let mut answered = false;
    for _ in 0..100 {
        if client.get(format!("http://{bind}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "the server did not come up on {bind}");
    let sent = client
        .post(format!("http://{bind}/api/v1/users/send-otp/"))
        .header("x-request-id", "edge-7")
        .json(&json!({"type": "auth", "phone_number": "+998901234567"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
    assert_eq!(sent.headers()["x-request-id"], "edge-7");
    let login = client
        .post(format!("http://{bind}/api/v1/users/login/"))
        .header("x-request-id", "edge-8")
        .json(&json!({"phone_number": "+998901234568", "password": LOGGED_OUT_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_client_error(), "{}", login.status());
    assert_eq!(login.headers()["x-request-id"], "edge-8");
    assert!(Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap().success());
    let output = std::mem::replace(&mut server.0, Command::new("true").spawn().unwrap()).wait_with_output().unwrap();
    let logs = text(&output.stdout);
    for secret in [LOGGED_OUT_PASSWORD, "+998901234567", "998901234568"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs:\n{logs}");
    }
    logs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_json_writes_one_json_object_per_line_with_the_request_id_on_each_of_a_requests_lines() {
    let lines: Vec<Value> = logs_of_a_short_run("json")
        .await
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let request = lines
        .iter()
        .find(|line| line["span"]["route"] == "/healthz" && line["fields"]["message"] == "request")
        .unwrap_or_else(|| panic!("no request line for /healthz in {lines:?}"));
    assert_eq!(request["fields"]["status"], 200);
    assert!(request["fields"]["latency_ms"].is_f64(), "{request}");
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["span"]["name"], "request");
    assert_eq!(request["span"]["method"], "GET");
    let generated = request["span"]["request_id"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "not a generated UUID: {request}");

    // Every line a request logged, and only those, carries the id it came with.
    let messages_under = |id: &str| -> Vec<&str> {
        let under = lines.iter().filter(|line| line["span"]["request_id"] == id);
        under.map(|line| line["fields"]["message"].as_str().unwrap_or_default()).collect()
    };
    let sent = messages_under("edge-7");
    assert_eq!(sent.len(), 3, "{lines:?}");
    assert!(sent[0].starts_with("console SMS: "), "{sent:?}");
    assert_eq!(sent[1..], ["OTP sent", "request"]);
    // The login's hashes ran on the hashing threads, and their lines carry the login's id too.
    let hashed: Vec<&Value> =
        lines.iter().filter(|line| line["fields"]["message"] == "password hash started").collect();
    assert!(!hashed.is_empty(), "no line from a hashing thread in {lines:?}");
    assert!(hashed.iter().all(|line| line["span"]["request_id"] == "edge-8"), "{hashed:?}");
    let login = messages_under("edge-8");
    assert_eq!(login.len(), hashed.len() + 2, "{lines:?}");
    assert_eq!(login[login.len() - 2..], ["password login failed", "request"]);
    let serving = lines.iter().find(|line| line["fields"]["message"] == "Tantana Auth is serving").unwrap();
    assert_eq!(serving.get("span"), None, "a line outside any request has no span: {serving}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_text_shows_the_request_id_in_the_lines_request_span() {
    let logs = logs_of_a_short_run("text").await;
    let span = r#" request{method=POST route="/api/v1/users/send-otp/" request_id="edge-7"}: "#;
    let under_request: Vec<&str> = logs.lines().filter(|line| line.contains(span)).collect();
    assert_eq!(under_request.len(), 3, "{logs}");
    assert!(under_request[1].contains(": OTP sent phone_number=+998*****4567 otp_type=\"auth\""), "{logs}");
    assert!(under_request[2].contains(": request status=201 latency_ms="), "{logs}");
    let hashed = logs.lines().find(|line| line.contains("password hash started")).unwrap_or_else(|| panic!("{logs}"));
    assert!(hashed.contains(r#"request_id="edge-8"}: "#), "{hashed}");
    let serving = logs.lines().find(|line| line.contains("Tantana Auth is serving")).unwrap();
    assert!(serving.contains("  INFO tantana: Tantana Auth is serving bind=127.0.0.1:"), "{serving}");
}
