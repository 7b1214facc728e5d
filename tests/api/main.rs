//! The integration suite: black-box requests through the real router, on SQLite + in-process
//! store and on PostgreSQL + Redis.

mod abuse;
mod cli;
mod client_identity;
mod graphql_errors;
mod graphql_flows;
mod graphql_helpers;
mod graphql_lifecycle;
mod graphql_limits;
mod hash_admission;
mod helpers;
mod lifecycle;
mod names;
mod openapi;
mod ops;
mod production_defaults;
mod rest_errors;
mod rest_flows;
mod rest_otp;
mod rest_tokens;
mod schema;
mod serving;
mod sms_spend;
mod token_hardening;
