//! Bare baseline for `bench/run`: one axum route running check-user's SELECT on PostgreSQL.
//!
//! No logging, metrics, request ids, phone parsing or ORM: the table divides the product's
//! check-user figure by this one to show what the layers cost.

use std::time::Duration;

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde_json::{Value, json};
use sqlx::{Connection, PgPool, postgres::PgPoolOptions};

/// The statement SeaORM sends for `service::user::look_up_user` (bench/run checks it is the same).
const LOOK_UP_USER: &str = r#"SELECT "users"."password" FROM "users" WHERE "users"."phone_number" = $1 LIMIT $2"#;

/// As `tantana::db::PING_IF_IDLE_FOR`.
const PING_IF_IDLE_FOR: Duration = Duration::from_millis(500);

fn main() {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let database_url = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres");
    let bind = env("BIND", "127.0.0.1:8001");
    // bench/run passes the product's effective pool size, so the comparison is about the layers only.
    let max_connections = env("DB_MAX_CONNECTIONS", "5").parse().expect("DB_MAX_CONNECTIONS is a number");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async move {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // The product's pool policy: ping only connections idle for half a second or more.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(&database_url)
            .await
            .expect("cannot connect to DATABASE_URL");
        let app = Router::new()
            .route("/api/v1/users/check-user/", post(check_user))
            .route("/api/v1/users/check-user", post(check_user))
            .with_state(pool);
        let listener = tokio::net::TcpListener::bind(&bind).await.expect("cannot bind BIND");
        axum::serve(listener, app).await.expect("server failed");
    });
}

async fn check_user(State(pool): State<PgPool>, Json(body): Json<Value>) -> Result<Json<Value>, StatusCode> {
    let Some(phone) = body.get("phone_number").and_then(Value::as_str) else {
        return Err(StatusCode::BAD_REQUEST);
    };
    let password: Option<String> = sqlx::query_scalar(LOOK_UP_USER)
        .bind(phone)
        .bind(1_i64)
        .fetch_optional(&pool)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    // Decoded like the product does (it derives `has_password` from it), though the body omits it.
    Ok(Json(json!({ "success": true, "exists": password.is_some(), "phone_number": phone })))
}
