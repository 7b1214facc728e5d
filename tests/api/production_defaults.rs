//! What `DEBUG=false` changes: a deployment-grade `SECRET_KEY`, an explicit `SMS_BACKEND`,
//! GraphiQL and introspection off unless asked for; and the OTP MAC key apart from the JWT key.

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::json;
use tantana::config::Config;

use crate::helpers::{Backend, TestApp};

/// Passes Django's check security.W009: 50+ characters, many distinct ones.
const STRONG_KEY: &str = "k3y-0f-f1fty-or-m0re-ch4racters-wh1ch-p4sses-dj4ngo-w009-ch3ck";

fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
    Config::from_vars(vars.iter().map(|(name, value)| (name.to_string(), value.to_string())))
}

#[test]
fn production_refuses_a_secret_key_that_fails_djangos_deployment_check() {
    let production = |key: &str| config(&[("DEBUG", "false"), ("SMS_BACKEND", "console"), ("SECRET_KEY", key)]);
    let weak = [
        "abc".to_string(),
        "a".repeat(60),
        "abcd".repeat(20),
        format!("django-insecure-{}", &STRONG_KEY[..50]),
        STRONG_KEY[..49].to_string(),
    ];
    for key in weak {
        let error = production(&key).expect_err(&format!("{key:?} was accepted")).to_string();
        assert!(error.contains("SECRET_KEY") && error.contains("W009"), "{error}");
    }
    assert!(production(STRONG_KEY).is_ok());
    assert!(config(&[("SECRET_KEY", "abc")]).is_ok(), "DEBUG=true keeps development keys working");
}

#[test]
fn production_needs_an_explicit_sms_backend() {
    let error = config(&[("DEBUG", "false"), ("SECRET_KEY", STRONG_KEY)]).unwrap_err().to_string();
    assert!(error.contains("SMS_BACKEND"), "{error}");
    assert!(config(&[("DEBUG", "false"), ("SECRET_KEY", STRONG_KEY), ("SMS_BACKEND", "file")]).is_ok());
}

#[tokio::test]
async fn production_serves_neither_graphiql_nor_introspection_unless_asked() {
    // Arrange
    let production = [("DEBUG", "false"), ("SECRET_KEY", STRONG_KEY)];
    let app = TestApp::spawn_with(Backend::Sqlite, &production).await;
    let staging = TestApp::spawn_with(
        Backend::Sqlite,
        &[&production[..], &[("GRAPHIQL", "true"), ("GRAPHQL_INTROSPECTION", "true")]].concat(),
    )
    .await;
    let introspect = "{ __schema { queryType { name } } }";

    // Act
    let page = app.request(Method::GET, "/graphql", &[("accept", "text/html")], Body::empty()).await;
    let introspection = app.graphql(introspect, json!({})).await;
    let query = app.graphql("{ checkUser(phoneNumber: \"+998901234567\") { exists } }", json!({})).await;
    let staging_page = staging.request(Method::GET, "/graphql", &[("accept", "text/html")], Body::empty()).await;
    let staging_introspection = staging.graphql(introspect, json!({})).await;

    // Assert
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "no GraphiQL page");
    assert!(introspection.body["data"]["__schema"].is_null(), "{}", introspection.body);
    assert_eq!(query.body, json!({"data": {"checkUser": {"exists": false}}}));
    assert_eq!(staging_page.status, StatusCode::OK);
    assert_eq!(staging_introspection.body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn otp_codes_are_keyed_apart_from_the_jwt_signing_key() {
    // Arrange: a code is sent; its session as the store keeps it.
    let app = TestApp::spawn(Backend::Sqlite).await;
    let session = app.send_otp("auth", "+998901234567").await;
    let code = app.last_code("+998901234567");
    let stored = app.state.store.get_otp_session(&session).await.unwrap().expect("the session is stored");
    let secret = app.state.config.secret_key.expose_secret().as_bytes().to_vec();
    let mac_with = |key: &[u8]| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(format!("{session}:{code}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };

    // Act: the key HKDF derives from SECRET_KEY for this one purpose.
    let mut derived = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, &secret).expand(b"tantana otp code mac v1", &mut derived).unwrap();

    // Assert: the code's MAC is made with the derived key, not with the key that signs tokens.
    assert_eq!(app.state.config.jwt_signing_key.expose_secret().as_bytes(), secret.as_slice());
    assert_ne!(stored.code_mac, mac_with(&secret));
    assert_eq!(stored.code_mac, mac_with(&derived));
}

#[test]
fn djangos_database_password_is_never_pasted_into_the_url() {
    let config = config(&[
        ("DB_ENGINE", "django.db.backends.postgresql"),
        ("DB_NAME", "tantana"),
        ("DB_USER", "tantana"),
        ("DB_PASSWORD", "p@ss:word/with?odd#chars"),
        ("DB_HOST", "db.internal"),
    ])
    .unwrap();

    assert_eq!(config.database_url, "postgres://tantana@db.internal:5432/tantana");
    assert_eq!(config.db_password.as_ref().map(|password| password.expose_secret()), Some("p@ss:word/with?odd#chars"));
    assert!(!format!("{config:?}").contains("p@ss"), "Debug output shows the password");
}
