//! The OpenAPI document: served as OpenAPI 3, describing exactly the routes the router serves,
//! each of which answers with a status the document lists.

use std::collections::BTreeSet;

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

async fn fetch_document(app: &TestApp) -> Value {
    let response = app.request(Method::GET, DOCUMENT_PATH, &[], Body::empty()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.body
}

/// Every operation of the document: (METHOD, path, operation object).
fn operations(document: &Value) -> Vec<(Method, String, &Value)> {
    let paths = document["paths"].as_object().expect("paths is an object");
    let mut found = Vec::new();
    for (path, item) in paths {
        for (key, operation) in item.as_object().expect("a path item is an object") {
            // A path item also holds `summary`, `parameters`, …: only HTTP methods are operations.
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(&key.as_str()) {
                let method = Method::from_bytes(key.to_ascii_uppercase().as_bytes()).expect("an HTTP method");
                found.push((method, path.clone(), operation));
            }
        }
    }
    found
}

/// `#/components/responses/X` is resolved; inline responses are returned as they are.
fn resolve<'a>(document: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str().and_then(|reference| reference.strip_prefix("#/components/responses/")) {
        Some(name) => &document["components"]["responses"][name],
        None => response,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_served_as_openapi_3() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = fetch_document(&app).await;
    let version = document["openapi"].as_str().expect("an `openapi` version");
    assert!(version.starts_with("3."), "OpenAPI 3, not {version}");
    assert!(!document["info"]["title"].as_str().unwrap_or_default().is_empty());
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let built: Value = serde_json::from_str(tantana::http::openapi::document_json()).expect("the document is JSON");
    assert_eq!(document, built, "the served document is the one the code builds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_exactly_the_routes_the_router_serves() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = fetch_document(&app).await;
    let documented: BTreeSet<(String, String)> =
        operations(&document).into_iter().map(|(method, path, _)| (method.to_string(), path)).collect();

    let table = tantana::http::routes();
    let served: BTreeSet<(String, String)> =
        table.iter().map(|(method, path)| (method.to_string(), (*path).to_string())).collect();
    assert_eq!(served.len(), table.len(), "the route table lists a route twice: {table:?}");

    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not documented: {undocumented:?}; documented but not served: {unserved:?}"
    );
    // The users API of the contract, with its two extra spellings, and the six operations of
    // the account lifecycle and sessions, is all there.
    let users = served.iter().filter(|(_, path)| path.starts_with("/api/v1/users/")).count();
    assert_eq!(users, 23, "{served:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_answers_with_a_documented_status() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = fetch_document(&app).await;
    for (method, path, operation) in operations(&document) {
        let has_body = operation.get("requestBody").is_some();
        let responses = operation["responses"].as_object().expect("responses");
        // The trailing-slash spelling is canonical; the bare one is the same operation.
        let spellings = match path.strip_suffix('/') {
            Some(bare) if !bare.is_empty() => vec![path.clone(), bare.to_string()],
            _ => vec![path.clone()],
        };
        for spelling in spellings {
            let (headers, body): (&[(&str, &str)], Body) = if has_body {
                (&[("content-type", "application/json")], Body::from("{}"))
            } else {
                (&[], Body::empty())
            };
            let response = app.request(method.clone(), &spelling, headers, body).await;
            assert!(
                response.status != StatusCode::NOT_FOUND && response.status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {spelling} is documented but answers {}",
                response.status
            );
            assert!(
                responses.contains_key(response.status.as_str()),
                "{method} {spelling} answered {}, which the document does not list: {}",
                response.status,
                response.body
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_documents_its_failures_and_every_reference_resolves() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = fetch_document(&app).await;
    let mut operation_ids = BTreeSet::new();
    for (method, path, operation) in operations(&document) {
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(operation_ids.insert(id.to_string()), "operationId {id} is used twice");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|status| status.starts_with('2')), "{method} {path} lists no success");
        for (status, response) in responses {
            let response = resolve(&document, response);
            assert!(response.is_object() && response["description"].is_string(), "{method} {path} {status}");
            if let Some(schema) = response["content"]["application/json"]["schema"]["$ref"].as_str() {
                let name = schema.strip_prefix("#/components/schemas/").expect("a local schema");
                assert!(document["components"]["schemas"][name].is_object(), "{schema} is not defined");
            }
            if (status.starts_with('4') || status.starts_with('5')) && path.starts_with("/api/") {
                let schema = response["content"]["application/json"]["schema"]["$ref"].as_str();
                assert!(
                    matches!(schema, Some("#/components/schemas/Error" | "#/components/schemas/AuthError")),
                    "{method} {path} {status} is not the error envelope"
                );
            }
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(responses.contains_key(status), "{method} {path} reads a JSON body but lists no {status}");
            }
        }
        if operation.get("security").is_some() {
            let unauthorized = responses.get("401").map(|response| resolve(&document, response));
            assert_eq!(
                unauthorized.and_then(|response| response["content"]["application/json"]["schema"]["$ref"].as_str()),
                Some("#/components/schemas/AuthError"),
                "{method} {path} needs a token but does not document simplejwt's 401"
            );
            // A token may be optional (`{}` among the requirements, as for send-otp), never unnamed.
            let requirements = operation["security"].as_array().expect("security is a list");
            let schemes: Vec<&String> = requirements
                .iter()
                .filter_map(|requirement| requirement.as_object())
                .flat_map(|names| names.keys())
                .collect();
            assert!(!schemes.is_empty(), "{method} {path} names no security scheme");
            for scheme in schemes {
                assert!(document["components"]["securitySchemes"][scheme].is_object(), "{scheme} is not defined");
            }
        }
        if responses.contains_key("429") {
            let throttled = resolve(&document, &responses["429"]);
            assert!(throttled["headers"]["Retry-After"].is_object(), "{method} {path}: 429 without Retry-After");
        }
    }
}
