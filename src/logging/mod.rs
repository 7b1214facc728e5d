//! Logs: tracing-subscriber's own text or JSON lines (`LOG_FORMAT`), filtered by `RUST_LOG`, and
//! written to stdout by tracing-appender's writer thread. A request's lines carry its id through
//! the `request` span that `http::observability` opens around it.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the process's log subscriber. Keep the returned guard alive until exit: dropping it
/// writes the lines still queued.
pub fn init(config: &Config) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Not lossy: when stdout falls behind, loggers wait rather than lines being dropped.
    let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match config.log_format {
        // The request span is the only span, so `span` alone carries the id, in the shape the
        // old formatter wrote and log pipelines read.
        LogFormat::Json => builder.json().with_span_list(false).init(),
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).init(),
    }
    guard
}
