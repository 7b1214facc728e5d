//! GraphQL request helpers for `TestApp`: one operation, a raw body (batches), and the
//! registration steps as GraphQL operations.

use axum::{body::Body, http::Method};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestResponse};

pub const SEND_OTP: &str = "mutation($input: SendOtpInput!) { sendOtp(input: $input) { type phoneNumber session } }";
pub const VERIFY_OTP: &str =
    "mutation($input: VerifyOtpInput!) { verifyOtp(input: $input) { type phoneNumber session verified } }";
pub const USER_FIELDS: &str =
    "id phoneNumber fullName username dateOfBirth gender language hasPassword isNotificationEnabled dateJoined";

impl TestApp {
    /// POSTs one operation to `/graphql`.
    pub async fn graphql(&self, query: &str, variables: Value) -> TestResponse {
        self.graphql_as(query, variables, None).await
    }

    /// Like `graphql`, with a bearer access token.
    pub async fn graphql_as(&self, query: &str, variables: Value, access: Option<&str>) -> TestResponse {
        self.graphql_body(&json!({"query": query, "variables": variables}), access).await
    }

    /// POSTs any JSON body (a batch, say) to `/graphql`.
    pub async fn graphql_body(&self, body: &Value, access: Option<&str>) -> TestResponse {
        let authorization = access.map(|token| format!("Bearer {token}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(value) = &authorization {
            headers.push(("authorization", value));
        }
        self.request(Method::POST, "/graphql", &headers, Body::from(body.to_string())).await
    }

    /// `sendOtp` through GraphQL; returns the session.
    pub async fn graphql_send_otp(&self, otp_type: &str, phone: &str) -> String {
        let response = self.graphql(SEND_OTP, json!({"input": {"type": otp_type, "phoneNumber": phone}})).await;
        response.body["data"]["sendOtp"]["session"]
            .as_str()
            .unwrap_or_else(|| panic!("sendOtp failed: {}", response.body))
            .to_string()
    }

    /// `sendOtp` + `verifyOtp` with the code from the outbox; returns the verified session.
    pub async fn graphql_verified_session(&self, otp_type: &str, phone: &str) -> String {
        let session = self.graphql_send_otp(otp_type, phone).await;
        let code = self.last_code(phone);
        let input = json!({"type": otp_type, "phoneNumber": phone, "session": session, "otpCode": code});
        let response = self.graphql(VERIFY_OTP, json!({"input": input})).await;
        assert_eq!(response.body["data"]["verifyOtp"]["verified"], true, "verifyOtp failed: {}", response.body);
        session
    }

    /// A whole registration through GraphQL; returns `data.register` (`user`, `tokens`).
    pub async fn graphql_register(&self, phone: &str) -> Value {
        let session = self.graphql_verified_session("AUTH", phone).await;
        let query = format!(
            "mutation($input: RegisterInput!) {{ register(input: $input) {{ user {{ {USER_FIELDS} }} tokens {{ access refresh }} }} }}"
        );
        let input = json!({"phoneNumber": phone, "password": PASSWORD, "password2": PASSWORD,
                           "fullName": "Ali Valiyev", "session": session});
        let response = self.graphql(&query, json!({"input": input})).await;
        assert!(response.body["errors"].is_null(), "register failed: {}", response.body);
        response.body["data"]["register"].clone()
    }
}

impl TestResponse {
    /// `extensions.code` of each GraphQL error, in order.
    pub fn graphql_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|error| error["extensions"]["code"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The only GraphQL error, failing the test when there is not exactly one.
    pub fn graphql_error(&self) -> &Value {
        let errors = self.body["errors"].as_array().unwrap_or_else(|| panic!("no errors in {}", self.body));
        assert_eq!(errors.len(), 1, "expected one error: {}", self.body);
        &errors[0]
    }
}
