//! Who a client is for per-client limits (IPv6 /64 and /48, IPv4-mapped addresses, the
//! forwarded-for walk), and the per-client limit on phone-number look-ups.

use std::net::{IpAddr, SocketAddr};

use axum::{
    body::Body,
    http::{Method, StatusCode},
};
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, TestResponse},
    on_both_backends,
};

on_both_backends!(
    ipv6_clients_share_a_limit_per_64,
    an_ipv6_48_has_an_aggregate_limit,
    ipv4_mapped_ipv6_is_the_same_client_as_ipv4,
    forwarded_for_strips_ports_and_stops_at_a_hop_that_does_not_parse,
    check_user_and_login_check_are_limited_per_client,
    every_graphql_alias_counts_against_the_lookup_limit,
);

async fn check_user_from(app: &TestApp, peer: &str, forwarded_for: Option<&str>) -> TestResponse {
    let ip: IpAddr = peer.parse().expect("a test address");
    let mut headers = vec![("content-type", "application/json")];
    if let Some(value) = forwarded_for {
        headers.push(("x-forwarded-for", value));
    }
    let body = json!({"phone_number": "+998901234567"}).to_string();
    app.request_from(SocketAddr::new(ip, 50_000), Method::POST, "/api/v1/users/check-user/", &headers, Body::from(body))
        .await
}

async fn ipv6_clients_share_a_limit_per_64(backend: Backend) {
    // Arrange: one look-up per client.
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE", "1")]).await;

    // Act: two addresses of one /64, then one of another /64.
    let first = check_user_from(&app, "2001:db8:0:1::1", None).await;
    let same_64 = check_user_from(&app, "2001:db8:0:1:ffff:ffff:ffff:fffe", None).await;
    let other_64 = check_user_from(&app, "2001:db8:0:2::1", None).await;

    // Assert
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(same_64.status, StatusCode::TOO_MANY_REQUESTS, "a /64 is one client: {}", same_64.body);
    assert_eq!(same_64.error_codes(), ["non_field_errors_throttled"]);
    assert!(same_64.header("retry-after").is_some());
    assert_eq!(other_64.status, StatusCode::OK, "another /64 is another client");
}

async fn an_ipv6_48_has_an_aggregate_limit(backend: Backend) {
    // Arrange: one look-up per /64, twice that per /48.
    let app = TestApp::spawn_with(
        backend,
        &[("RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE", "1"), ("RATE_LIMIT_IPV6_48_FACTOR", "2")],
    )
    .await;

    // Act: three /64s of one /48, then a /64 of another /48.
    let statuses = [
        check_user_from(&app, "2001:db8:aa:1::1", None).await.status,
        check_user_from(&app, "2001:db8:aa:2::1", None).await.status,
        check_user_from(&app, "2001:db8:aa:3::1", None).await.status,
        check_user_from(&app, "2001:db8:bb:1::1", None).await.status,
    ];

    // Assert
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS, StatusCode::OK],
        "the third /64 of one /48 is over the /48's aggregate"
    );
}

async fn ipv4_mapped_ipv6_is_the_same_client_as_ipv4(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE", "1")]).await;

    let plain = check_user_from(&app, "198.51.100.7", None).await;
    let mapped = check_user_from(&app, "::ffff:198.51.100.7", None).await;

    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(mapped.status, StatusCode::TOO_MANY_REQUESTS, "::ffff:198.51.100.7 is 198.51.100.7");
}

async fn forwarded_for_strips_ports_and_stops_at_a_hop_that_does_not_parse(backend: Backend) {
    // Arrange: the peer 10.0.0.1 is a trusted proxy.
    let app = TestApp::spawn_with(
        backend,
        &[("RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE", "1"), ("TRUSTED_PROXIES", "10.0.0.0/8")],
    )
    .await;
    let proxy = "10.0.0.1";

    // Act + Assert: an address with a port is the address.
    assert_eq!(check_user_from(&app, proxy, Some("203.0.113.5:4444")).await.status, StatusCode::OK);
    let same_client = check_user_from(&app, proxy, Some("203.0.113.5")).await;
    assert_eq!(same_client.status, StatusCode::TOO_MANY_REQUESTS, "203.0.113.5:4444 is 203.0.113.5");
    assert_eq!(check_user_from(&app, proxy, Some("[2001:db8::9]:4444")).await.status, StatusCode::OK);
    let same_v6 = check_user_from(&app, proxy, Some("2001:db8::9")).await;
    assert_eq!(same_v6.status, StatusCode::TOO_MANY_REQUESTS, "[2001:db8::9]:4444 is 2001:db8::9");

    // A hop that does not parse ends the walk: the attacker's leftmost entries are not believed,
    // so two requests that differ only there are one client (the proxy's hop).
    let other_proxy = "10.0.0.2";
    assert_eq!(check_user_from(&app, other_proxy, Some("192.0.2.1, unknown")).await.status, StatusCode::OK);
    let spoofed = check_user_from(&app, other_proxy, Some("192.0.2.2, unknown")).await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS, "the walk stops at `unknown`");
}

async fn check_user_and_login_check_are_limited_per_client(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE", "3")]).await;
    let body = json!({"phone_number": "+998901234567"});

    let mut statuses = Vec::new();
    for endpoint in ["check-user/", "login/check/", "check-user/", "login/check/"] {
        statuses.push(app.post(endpoint, body.clone()).await.status);
    }

    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
}

async fn every_graphql_alias_counts_against_the_lookup_limit(backend: Backend) {
    // Arrange: three look-ups a minute; one document asks five.
    let app = TestApp::spawn_with(backend, &[("RATE_LIMIT_LOOKUP_PER_IP_PER_MINUTE", "3")]).await;
    let aliases: String =
        (0..5).map(|i| format!("a{i}: checkUser(phoneNumber: \"+99890123456{i}\") {{ exists }} ")).collect();

    // Act
    let response = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;

    // Assert: the two look-ups past the limit are refused with the limit's code (a refused
    // non-null root field nulls `data`, as the GraphQL spec says), and the limit is used up.
    let errors = response.body["errors"].as_array().expect("errors for the refused aliases");
    assert_eq!(errors.len(), 2, "{}", response.body);
    assert!(errors.iter().all(|error| error["extensions"]["code"] == "RATE_LIMITED"), "{}", response.body);
    let next = app.graphql("{ checkUser(phoneNumber: \"+998901234567\") { exists } }", json!({})).await;
    assert_eq!(next.body["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{}", next.body);
}
