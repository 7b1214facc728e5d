//! The integration suite: black-box requests through the real router, on SQLite + in-process
//! store and on PostgreSQL + Redis.

mod helpers;
mod rest_errors;
mod rest_flows;
mod rest_otp;
mod rest_tokens;
