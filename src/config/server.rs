//! The HTTP surface: connection limits, log format, CORS, and what GraphQL shows an explorer.

use super::{parse, variables::RawConfig};

/// Shape of the log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Connection limits of the public listener.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// A request's headers must arrive within this.
    pub header_read_timeout_secs: u64,
    /// An idle kept-alive connection is closed after this.
    pub keepalive_timeout_secs: u64,
    /// Concurrent connections; more wait in the listen backlog for a free slot.
    pub max_connections: usize,
}

/// The HTTP surface of one configuration.
pub(super) struct Surface {
    pub http: HttpConfig,
    pub log_format: LogFormat,
    pub cors_allowed_origins: Vec<String>,
    pub graphiql: bool,
    pub graphql_introspection: bool,
}

pub(super) fn build(raw: &RawConfig, production: bool) -> anyhow::Result<Surface> {
    // GraphiQL and introspection map the API for an attacker, so in production they are off
    // unless asked for.
    let exploring = |name: &str, value: Option<&str>| -> anyhow::Result<bool> {
        Ok(parse::optional_switch(name, value)?.unwrap_or(!production))
    };
    Ok(Surface {
        http: HttpConfig {
            header_read_timeout_secs: parse::seconds(
                "HTTP_HEADER_READ_TIMEOUT_SECS",
                raw.http_header_read_timeout_secs,
            )?,
            keepalive_timeout_secs: parse::seconds("HTTP_KEEPALIVE_TIMEOUT_SECS", raw.http_keepalive_timeout_secs)?,
            max_connections: parse::at_least_one("HTTP_MAX_CONNECTIONS", raw.http_max_connections)?,
        },
        log_format: match raw.log_format.as_deref() {
            None => LogFormat::Text,
            Some(value) => parse::choice("LOG_FORMAT", value, &[("text", LogFormat::Text), ("json", LogFormat::Json)])?,
        },
        cors_allowed_origins: parse::list(raw.cors_allowed_origins.as_deref().unwrap_or_default())
            .map(str::to_string)
            .collect(),
        graphiql: exploring("GRAPHIQL", raw.graphiql.as_deref())?,
        graphql_introspection: exploring("GRAPHQL_INTROSPECTION", raw.graphql_introspection.as_deref())?,
    })
}
