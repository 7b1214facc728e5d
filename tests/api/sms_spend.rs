//! What SMS cost: only mobile numbers of the allowed regions get codes, registration and
//! existing accounts spend separate budgets, a number block has its own, and review numbers
//! cannot open unlimited sessions.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use futures::StreamExt;
use serde_json::json;

use crate::{
    graphql_helpers::SEND_OTP,
    helpers::{Backend, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    foreign_numbers_and_landlines_spend_no_sms,
    a_registration_flood_leaves_login_and_password_reset_working,
    the_prefix_budget_stops_registration_into_one_block,
    a_review_number_opens_at_most_the_hourly_sessions,
);

const NOT_ALLOWED: &str = "Codes can only be sent to mobile numbers of the supported countries.";

async fn send_from(app: &TestApp, ip: IpAddr, otp_type: &str, phone: &str) -> TestResponse {
    let body = json!({"type": otp_type, "phone_number": phone}).to_string();
    let headers = [("content-type", "application/json")];
    app.request_from(SocketAddr::new(ip, 50_000), Method::POST, "/api/v1/users/send-otp/", &headers, Body::from(body))
        .await
}

fn retry_after(response: &TestResponse) -> u64 {
    response.header("retry-after").expect("Retry-After").parse().expect("whole seconds")
}

/// The `i`-th number of the attack: valid numbers that are foreign (mobile, premium rate,
/// satellite and other non-geographic ranges) or Uzbek landlines.
fn pumped_number(i: usize) -> String {
    match i % 10 {
        0 => format!("+447911{i:06}"), // UK mobile
        1 => format!("+44909{i:07}"),  // UK premium rate
        2 => format!("+8816{i:09}"),   // Iridium
        3 => format!("+882342{i:04}"), // international networks
        4 => format!("+22507{i:08}"),  // Côte d'Ivoire
        5 => format!("+5926{i:06}"),   // Guyana mobile
        6 => format!("+3712{i:07}"),   // Latvian mobile
        7 => format!("+7912{i:07}"),   // Russian mobile
        8 => format!("+998712{i:06}"), // Tashkent landline
        _ => format!("+998662{i:06}"), // Samarkand landline
    }
}

async fn foreign_numbers_and_landlines_spend_no_sms(backend: Backend) {
    // A budget of one SMS: a single send that slipped through would use it up.
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_SMS_PER_HOUR", "1")]).await;
    let subnet: u128 = u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0x5a, 0x64, 0, 0, 0, 0));
    let types = ["auth", "login", "forgot_password"];

    // 1,000 requests from 34 addresses in one /64 and a few IPv4 ones, 16 at a time.
    let responses: Vec<(String, TestResponse)> = futures::stream::iter(0..1_000)
        .map(|i| {
            let app = &app;
            async move {
                let ip = match i % 40 {
                    host @ 0..34 => IpAddr::V6(Ipv6Addr::from(subnet | (host as u128 * 0x1_0001 + 7))),
                    host => IpAddr::V4(Ipv4Addr::new(198, 51, 100, host as u8)),
                };
                let phone = pumped_number(i);
                let response = send_from(app, ip, types[i % 3], &phone).await;
                (phone, response)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;

    assert_eq!(responses.len(), 1_000);
    for (phone, response) in &responses {
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{phone}: {}", response.body);
        assert_eq!(
            response.body,
            json!({"success": false, "status_code": 400, "errors": [{
                "code": "phone_number_not_allowed", "field": "phone_number", "message": NOT_ALLOWED}]}),
            "{phone}"
        );
    }
    assert!(app.outbox().is_empty(), "no SMS left");
    for budget in ["limit:sms_registration:all", "limit:sms_accounts:all", "limit:sms_prefix:+99871200"] {
        assert_eq!(app.state.store.read_window(budget).await.unwrap().map(|(count, _)| count).unwrap_or(0), 0);
    }
    // Refused before any brake: not even the phone's hourly count was written.
    assert_eq!(app.state.store.read_window("otp_hourly:+998712000018").await.unwrap(), None);

    // GraphQL refuses the same way, with the field in camelCase.
    let graphql = app.graphql(SEND_OTP, json!({"input": {"type": "AUTH", "phoneNumber": "+998 71 200 00 00"}})).await;
    let error = graphql.graphql_error();
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        error["extensions"]["errors"],
        json!([{"field": "phoneNumber", "code": "not_allowed", "message": NOT_ALLOWED}])
    );
    // Every problem is listed at once, as for other field errors.
    let both = app.post("send-otp/", json!({"type": "sms", "phone_number": "+447911123456"})).await;
    assert_eq!(both.error_codes(), ["type_invalid_choice", "phone_number_not_allowed"]);

    // The budget the flood could not touch still sends a registration code to an Uzbek mobile.
    app.send_otp("auth", "+998901234567").await;
    assert_eq!(app.outbox().len(), 1);
}

async fn a_registration_flood_leaves_login_and_password_reset_working(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("RATE_LIMIT_SMS_PER_HOUR", "3"),
            ("RATE_LIMIT_SMS_ACCOUNTS_PER_HOUR", "2"),
            ("RATE_LIMIT_SMS_PER_PREFIX_PER_HOUR", "1000"),
        ],
    )
    .await;
    app.register("+998901234567").await;
    app.register("+998911234567").await;

    // The flood: registration codes to fresh numbers from many clients.
    let mut refused = 0;
    for i in 0..20u8 {
        let response =
            send_from(&app, IpAddr::V4(Ipv4Addr::new(203, 0, 113, i)), "auth", &format!("+9989350000{i:02}")).await;
        if response.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.error_codes(), ["non_field_errors_sms_budget_exhausted"]);
            assert!(retry_after(&response) > 3500);
            refused += 1;
        } else {
            assert_eq!(response.status, StatusCode::CREATED, "{}", response.body);
        }
    }
    assert_eq!(refused, 19, "the registration budget of 3 held one more code after two registrations");

    // Existing users still get their login and password-reset codes.
    app.send_otp("login", "+998901234567").await;
    app.send_otp("forgot_password", "+998901234567").await;
    let sent_types: Vec<_> = app
        .outbox()
        .iter()
        .filter(|message| message["phone_number"] == "+998901234567")
        .map(|message| message["type"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(sent_types, ["auth", "login", "forgot_password"]);
    // That budget has its own cap (2 here).
    let third = app.post("send-otp/", json!({"type": "login", "phone_number": "+998911234567"})).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS, "{}", third.body);
    assert_eq!(third.error_codes(), ["non_field_errors_sms_budget_exhausted"]);
}

async fn the_prefix_budget_stops_registration_into_one_block(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[
            ("RATE_LIMIT_SMS_PER_PREFIX_PER_HOUR", "3"),
            ("RATE_LIMIT_SMS_PREFIX_DIGITS", "5"),
            ("RATE_LIMIT_SMS_PER_HOUR", "5"),
        ],
    )
    .await;
    // The block +998 90 123: three codes, the first to a user who registers.
    app.register("+998901230001").await;
    app.send_otp("auth", "+998901230002").await;
    app.send_otp("auth", "+998901230003").await;

    let full = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998901230004"})).await;

    assert_eq!(full.status, StatusCode::TOO_MANY_REQUESTS, "{}", full.body);
    assert_eq!(full.error_codes(), ["non_field_errors_sms_budget_exhausted"]);
    assert!(retry_after(&full) > 3500);
    // The next block is open, and the registered user of the full block still logs in by code.
    app.send_otp("auth", "+998901240004").await;
    app.send_otp("login", "+998901230001").await;
    // Once the block's hour is over (reset here), the refused phone gets its code: the refusal
    // spent neither its cooldown nor the registration budget (5 = 3 + 1 + this one).
    app.state.store.remove("limit:sms_prefix:+99890123").await.unwrap();
    app.send_otp("auth", "+998901230004").await;
    let over = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998971230001"})).await;
    assert_eq!(over.error_codes(), ["non_field_errors_sms_budget_exhausted"], "the registration budget is 5");
}

async fn a_review_number_opens_at_most_the_hourly_sessions(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        &[("OTP_TEST_NUMBERS", "+998900000000=081020,+998712000000=123456"), ("OTP_MAX_PER_HOUR", "3")],
    )
    .await;
    // No cooldown for review numbers: a reviewer may ask again at once.
    let sessions = [
        app.send_otp("auth", "+998900000000").await,
        app.send_otp("auth", "+998900000000").await,
        app.send_otp("auth", "+998900000000").await,
    ];

    let capped = app.post("send-otp/", json!({"type": "auth", "phone_number": "+998900000000"})).await;

    assert_eq!(capped.status, StatusCode::TOO_MANY_REQUESTS, "{}", capped.body);
    assert_eq!(capped.error_codes(), ["non_field_errors_otp_hourly_limit"]);
    assert!((3500..=3600).contains(&retry_after(&capped)));
    let graphql = app.graphql(SEND_OTP, json!({"input": {"type": "AUTH", "phoneNumber": "+998900000000"}})).await;
    assert_eq!(graphql.graphql_codes(), ["RATE_LIMITED"]);
    // Guesses at the fixed code: five per session, three sessions an hour.
    let mut evaluated = 0;
    for session in &sessions {
        for _ in 0..8 {
            let guess =
                json!({"type": "auth", "phone_number": "+998900000000", "session": session, "otp_code": "999999"});
            let response = app.post("verify-otp/", guess).await;
            evaluated += usize::from(response.error_codes() == ["non_field_errors_otp_invalid"]);
        }
    }
    assert_eq!(evaluated, 15);
    assert!(app.outbox().is_empty(), "review numbers send nothing");
    // A review number the operator chose on a landline range still works: it receives no SMS.
    app.send_otp("auth", "+998712000000").await;
}
