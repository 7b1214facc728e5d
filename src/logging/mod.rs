//! Logs: one line per event, as text or JSON, tagged with the request being served and written
//! to stdout in batches.

pub mod batched_writer;
pub mod json;
pub mod request_id;
pub mod text;
mod timestamp;

#[cfg(test)]
mod captured;

use tracing_subscriber::{EnvFilter, fmt::format::JsonFields};

use crate::config::{Config, LogFormat};

/// Installs the process's log subscriber; the returned guard writes what is left when dropped.
pub fn init(config: &Config) -> batched_writer::FlushGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (writer, guard) = batched_writer::batched(std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(writer);
    match config.log_format {
        LogFormat::Json => builder.fmt_fields(JsonFields::new()).event_format(json::JsonLines).init(),
        LogFormat::Text => builder.event_format(text::TextLines).init(),
    }
    guard
}
