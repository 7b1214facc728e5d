//! The hardening of `/graphql`: attempt limits across aliases and batches, depth, complexity,
//! batch size, body size, GET rules, and the GraphiQL and introspection switches.

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use serde_json::{Value, json};

use crate::{
    graphql_helpers::SEND_OTP,
    helpers::{Backend, PASSWORD, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    graphql_aliased_wrong_codes_use_up_the_attempts_of_the_session,
    graphql_batched_wrong_codes_use_up_the_attempts_of_the_session,
    graphql_aliased_logins_lock_the_account_like_separate_requests,
    graphql_batched_logins_lock_the_account_like_separate_requests,
    graphql_aliased_guesses_count_against_the_per_client_limit,
);

const PHONE: &str = "+998901234567";

/// A code that is not `code`.
fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

fn verify_field(alias: &str, session: &str, otp_code: &str) -> String {
    format!(
        "{alias}: verifyOtp(input: {{type: AUTH, phoneNumber: \"{PHONE}\", session: \"{session}\", otpCode: \"{otp_code}\"}}) {{ verified }}"
    )
}

/// `extensions.code` of each error, by the alias (first path segment) it belongs to.
fn codes_by_alias(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|error| {
            (error["path"][0].as_str().unwrap().to_string(), error["extensions"]["code"].as_str().unwrap().to_string())
        })
        .collect()
}

async fn graphql_aliased_wrong_codes_use_up_the_attempts_of_the_session(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let session = app.graphql_send_otp("AUTH", PHONE).await;
    let code = app.last_code(PHONE);
    let mut fields: Vec<String> =
        (0..10).map(|i| verify_field(&format!("guess{i}"), &session, wrong_code(&code))).collect();
    fields.push(verify_field("right", &session, &code));

    // Act: ten wrong guesses, then the right code, in one document
    let response = app.graphql(&format!("mutation {{ {} }}", fields.join(" ")), json!({})).await;

    // Assert: each alias counted as its own attempt, in order
    let mut expected: Vec<(String, String)> = (0..10)
        .map(|i| (format!("guess{i}"), if i < 5 { "OTP_INVALID" } else { "OTP_ATTEMPTS_EXCEEDED" }.to_string()))
        .collect();
    expected.push(("right".into(), "OTP_ATTEMPTS_EXCEEDED".into()));
    assert_eq!(codes_by_alias(&response.body), expected);
    let later = app.graphql(&format!("mutation {{ {} }}", verify_field("again", &session, &code)), json!({})).await;
    assert_eq!(later.graphql_codes(), ["OTP_ATTEMPTS_EXCEEDED"]);
}

async fn graphql_batched_wrong_codes_use_up_the_attempts_of_the_session(backend: Backend) {
    // Arrange
    let app = TestApp::spawn(backend).await;
    let session = app.graphql_send_otp("AUTH", PHONE).await;
    let code = app.last_code(PHONE);
    let operation =
        |otp_code: &str| json!({"query": format!("mutation {{ {} }}", verify_field("verify", &session, otp_code))});
    let mut batch: Vec<Value> = (0..9).map(|_| operation(wrong_code(&code))).collect();
    batch.push(operation(&code));

    // Act: nine wrong guesses, then the right code, as one batch of ten
    let response = app.graphql_body(&Value::Array(batch), None).await;

    // Assert
    assert_eq!(response.status, StatusCode::OK);
    let codes: Vec<String> = response
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a batch answer: {}", response.body))
        .iter()
        .map(|answer| answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("none").to_string())
        .collect();
    let mut expected = vec!["OTP_INVALID"; 5];
    expected.extend(["OTP_ATTEMPTS_EXCEEDED"; 5]);
    assert_eq!(codes, expected);
    let single = app.graphql_body(&operation(&code), None).await;
    assert_eq!(single.graphql_codes(), ["OTP_ATTEMPTS_EXCEEDED"]);
}

/// `alias: login(…) { user { id } }` for `PHONE`.
fn login_field(alias: &str, password: &str) -> String {
    format!("{alias}: login(input: {{phoneNumber: \"{PHONE}\", password: \"{password}\"}}) {{ user {{ id }} }}")
}

async fn graphql_aliased_logins_lock_the_account_like_separate_requests(backend: Backend) {
    // Arrange: the account locks after three failures
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_LOGIN_FAILURES", "3")]).await;
    app.graphql_register(PHONE).await;
    let fields = ["Wrong-pass-1", "Wrong-pass-2", "Wrong-pass-3"]
        .iter()
        .enumerate()
        .map(|(i, password)| login_field(&format!("wrong{i}"), password))
        .chain([login_field("right", PASSWORD)])
        .collect::<Vec<_>>()
        .join(" ");

    // Act: three wrong passwords, then the right one, in one document
    let response = app.graphql(&format!("mutation {{ {fields} }}"), json!({})).await;

    // Assert
    let expected = [
        ("wrong0", "UNAUTHENTICATED"),
        ("wrong1", "UNAUTHENTICATED"),
        ("wrong2", "UNAUTHENTICATED"),
        ("right", "RATE_LIMITED"),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(alias, code)| (alias.to_string(), code.to_string())).collect();
    assert_eq!(codes_by_alias(&response.body), expected);
    let locked = &response.body["errors"][3];
    assert_eq!(locked["extensions"]["errors"][0]["code"], "too_many_login_attempts");
    assert!(locked["extensions"]["retryAfter"].as_u64().is_some_and(|seconds| seconds > 0));
}

async fn graphql_batched_logins_lock_the_account_like_separate_requests(backend: Backend) {
    // Arrange
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_LOGIN_FAILURES", "3")]).await;
    app.graphql_register(PHONE).await;
    let operation = |password: &str| json!({"query": format!("mutation {{ {} }}", login_field("login", password))});
    let batch =
        vec![operation("Wrong-pass-1"), operation("Wrong-pass-2"), operation("Wrong-pass-3"), operation(PASSWORD)];

    // Act
    let response = app.graphql_body(&Value::Array(batch), None).await;

    // Assert
    let codes: Vec<&str> = response
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a batch answer: {}", response.body))
        .iter()
        .map(|answer| answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(codes, ["UNAUTHENTICATED", "UNAUTHENTICATED", "UNAUTHENTICATED", "RATE_LIMITED"]);
}

async fn graphql_aliased_guesses_count_against_the_per_client_limit(backend: Backend) {
    // Arrange: three login or verify attempts per client per minute
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_AUTH_PER_IP_PER_MINUTE", "3")]).await;
    let session = app.graphql_send_otp("AUTH", PHONE).await;
    let code = app.last_code(PHONE);
    let fields: Vec<String> = (0..4).map(|i| verify_field(&format!("guess{i}"), &session, wrong_code(&code))).collect();

    // Act
    let response = app.graphql(&format!("mutation {{ {} }}", fields.join(" ")), json!({})).await;

    // Assert
    let codes: Vec<String> = codes_by_alias(&response.body).into_iter().map(|(_, code)| code).collect();
    assert_eq!(codes, ["OTP_INVALID", "OTP_INVALID", "OTP_INVALID", "RATE_LIMITED"]);
}

#[tokio::test]
async fn graphql_ten_aliased_logins_are_too_complex_and_none_runs() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let fields: Vec<String> = (0..10)
        .map(|i| format!("l{i}: login(input: {{phoneNumber: \"{PHONE}\", password: \"x{i}\"}}) {{ user {{ id }} }}"))
        .collect();

    // Act
    let response = app.graphql(&format!("mutation {{ {} }}", fields.join(" ")), json!({})).await;

    // Assert
    let error = response.graphql_error();
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("complex"), "{}", response.body);
    assert!(error["path"].is_null());
}

#[tokio::test]
async fn graphql_queries_over_the_complexity_limit_are_refused() {
    // Arrange: 170 aliases × 3 = 510 > 500
    let app = TestApp::spawn(Backend::Sqlite).await;
    let fields: Vec<String> =
        (0..170).map(|i| format!("c{i}: checkUser(phoneNumber: \"{PHONE}\") {{ exists phoneNumber }}")).collect();

    // Act
    let response = app.graphql(&format!("{{ {} }}", fields.join(" ")), json!({})).await;

    // Assert
    assert_eq!(response.graphql_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(response.graphql_error()["message"].as_str().unwrap().contains("complex"));
}

/// `{ me { f { f { … } } } }` with `depth` levels in all.
fn nested_query(depth: usize) -> String {
    format!("{{ me {}{}{} }}", "{ f ".repeat(depth - 2), "{ id }", " }".repeat(depth - 2))
}

#[tokio::test]
async fn graphql_depth_over_twelve_is_refused_before_validation() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;

    // Act
    let twelve = app.graphql(&nested_query(12), json!({})).await;
    let thirteen = app.graphql(&nested_query(13), json!({})).await;

    // Assert: twelve levels get as far as the schema check (no field `f`); thirteen do not
    assert_eq!(twelve.graphql_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert!(!twelve.graphql_error()["message"].as_str().unwrap().contains("too deep"), "{}", twelve.body);
    assert_eq!(thirteen.graphql_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(thirteen.graphql_error()["message"], "Query is nested too deep: 13 levels, the limit is 12.");
}

#[tokio::test]
async fn graphql_documents_past_any_nesting_limit_are_validation_failures() {
    // Arrange: forty levels of fields (past our limit and async-graphql's own, 32), and two
    // levels of fields with forty inline fragments between them (past async-graphql's only)
    let app = TestApp::spawn(Backend::Sqlite).await;
    let fragments = format!("{{ me {}{{ id }}{} }}", "{ ... on User ".repeat(40), " }".repeat(40));

    // Act
    let forty = app.graphql(&nested_query(40), json!({})).await;
    let forty_fragments = app.graphql(&fragments, json!({})).await;
    let again = app.graphql(&nested_query(40), json!({})).await;

    // Assert: both refused before validation against the schema, with the limit's code; the
    // deeper-than-ours answer names our limit, and a second send gets the same answer
    assert_eq!(forty.graphql_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(forty.graphql_error()["message"], "Query is nested too deep: 40 levels, the limit is 12.");
    assert_eq!(again.body, forty.body);
    assert_eq!(forty_fragments.graphql_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
    let message = forty_fragments.graphql_error()["message"].as_str().unwrap();
    assert!(message.contains("recursion depth"), "{}", forty_fragments.body);
    assert!(forty_fragments.body["data"].is_null(), "{}", forty_fragments.body);
}

/// graphql-js's `getIntrospectionQuery()`, which GraphiQL sends: 14 levels deep.
const INTROSPECTION_QUERY: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}
"#;

#[tokio::test]
async fn graphql_introspection_serves_graphiql_but_not_recursive_bombs() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let bomb = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";

    // Act
    let standard = app.graphql(INTROSPECTION_QUERY, json!({})).await;
    let recursive = app.graphql(bomb, json!({})).await;

    // Assert
    assert!(standard.body["errors"].is_null(), "{}", standard.body);
    assert_eq!(standard.body["data"]["__schema"]["queryType"]["name"], "Query");
    assert_eq!(recursive.graphql_codes(), ["GRAPHQL_VALIDATION_FAILED"]);
}

#[tokio::test]
async fn graphql_introspection_switches_off() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Sqlite, &[("GRAPHQL_INTROSPECTION", "false")]).await;

    // Act
    let introspection = app.graphql("{ __schema { queryType { name } } }", json!({})).await;
    let query = app.graphql("{ checkUser(phoneNumber: \"+998901234567\") { exists } }", json!({})).await;

    // Assert
    assert!(introspection.body["data"]["__schema"].is_null(), "{}", introspection.body);
    assert_eq!(query.body, json!({"data": {"checkUser": {"exists": false}}}));
}

#[tokio::test]
async fn graphql_batch_of_eleven_is_refused_and_nothing_runs() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let send = |i: usize| json!({"query": SEND_OTP, "variables": {"input": {"type": "AUTH", "phoneNumber": format!("+9989012345{i:02}")}}});

    // Act
    let eleven = app.graphql_body(&Value::Array((0..11).map(send).collect()), None).await;
    let empty = app.graphql_body(&json!([]), None).await;
    let ten = app.graphql_body(&Value::Array((0..10).map(send).collect()), None).await;

    // Assert
    assert_eq!(eleven.status, StatusCode::BAD_REQUEST);
    assert_eq!(eleven.graphql_codes(), ["BATCH_LIMIT_EXCEEDED"]);
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty.graphql_codes(), ["BAD_REQUEST"]);
    assert_eq!(ten.status, StatusCode::OK);
    assert_eq!(ten.body.as_array().map(Vec::len), Some(10), "{}", ten.body);
    assert_eq!(app.outbox().len(), 10, "only the batch of ten sent codes");
}

/// `GET /graphql?query=…`, percent-encoding the query.
async fn get_graphql(app: &TestApp, query: &str) -> TestResponse {
    let encoded: String = query
        .bytes()
        .map(|byte| if byte.is_ascii_alphanumeric() { (byte as char).to_string() } else { format!("%{byte:02X}") })
        .collect();
    app.request(Method::GET, &format!("/graphql?query={encoded}"), &[], Body::empty()).await
}

#[tokio::test]
async fn graphql_over_get_runs_queries_and_refuses_mutations() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;

    // Act
    let query = get_graphql(&app, "{ checkUser(phoneNumber: \"+998901234567\") { exists } }").await;
    let mutation =
        get_graphql(&app, "mutation { sendOtp(input: {type: AUTH, phoneNumber: \"+998901234567\"}) { session } }")
            .await;

    // Assert
    assert_eq!(query.status, StatusCode::OK);
    assert_eq!(query.body, json!({"data": {"checkUser": {"exists": false}}}));
    assert_eq!(mutation.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.header("allow"), Some("POST"));
    assert_eq!(mutation.graphql_codes(), ["METHOD_NOT_ALLOWED"]);
    assert!(app.outbox().is_empty());
}

#[tokio::test]
async fn graphql_bodies_over_64_kib_and_other_malformed_requests_are_refused() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;
    let padding = " ".repeat(65 * 1024);
    let oversized =
        format!("{{\"query\": \"{{ checkUser(phoneNumber: \\\"+998901234567\\\") {{ exists }} }}{padding}\"}}");
    let json_headers = [("content-type", "application/json")];

    // Act
    let too_large = app.request(Method::POST, "/graphql", &json_headers, Body::from(oversized)).await;
    let not_json = app.request(Method::POST, "/graphql", &[("content-type", "text/plain")], Body::from("{}")).await;
    let broken = app.request(Method::POST, "/graphql", &json_headers, Body::from("{\"query\": ")).await;
    let unparsable = app.graphql("{ checkUser(", json!({})).await;

    // Assert
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.graphql_codes(), ["PAYLOAD_TOO_LARGE"]);
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(not_json.graphql_codes(), ["UNSUPPORTED_MEDIA_TYPE"]);
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.graphql_codes(), ["BAD_USER_INPUT"]);
    assert_eq!(unparsable.status, StatusCode::OK);
    assert_eq!(unparsable.graphql_codes(), ["GRAPHQL_PARSE_FAILED"]);
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_with_a_strict_policy() {
    // Arrange
    let app = TestApp::spawn(Backend::Sqlite).await;

    // Act
    let page = app.request(Method::GET, "/graphql", &[("accept", "text/html")], Body::empty()).await;

    // Assert
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    let html = page.body.as_str().unwrap();
    let sources: Vec<&str> = html.split("src=\"").skip(1).chain(html.split("href=\"").skip(1)).collect();
    assert!(!sources.is_empty());
    for source in sources {
        let path = source.split('"').next().unwrap();
        if path.starts_with("data:") {
            continue;
        }
        assert!(path.starts_with("/graphql/assets/"), "{path} is not served by the binary");
        let asset = app.request(Method::GET, path, &[], Body::empty()).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
    }
    let license = app.request(Method::GET, "/graphql/assets/LICENSE.graphiql", &[], Body::empty()).await;
    assert!(license.body.as_str().unwrap().contains("MIT"));
}

#[tokio::test]
async fn graphiql_switches_off() {
    // Arrange
    let app = TestApp::spawn_with(Backend::Sqlite, &[("GRAPHIQL", "false")]).await;

    // Act
    let page = app.request(Method::GET, "/graphql", &[("accept", "text/html")], Body::empty()).await;
    let asset = app.request(Method::GET, "/graphql/assets/graphiql.min.js", &[], Body::empty()).await;
    let query = app.graphql("{ checkUser(phoneNumber: \"+998901234567\") { exists } }", json!({})).await;

    // Assert
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert_eq!(page.graphql_codes(), ["BAD_REQUEST"]);
    assert_eq!(asset.status, StatusCode::NOT_FOUND);
    assert_eq!(query.body, json!({"data": {"checkUser": {"exists": false}}}));
}
