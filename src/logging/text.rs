//! Text log lines as tracing-subscriber's default format writes them, with the request being
//! served shown first as the `request{request_id="…"}:` span it used to be.

use std::{fmt, time::SystemTime};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, format::Writer},
    registry::LookupSpan,
};

use super::{request_id, timestamp::write_timestamp};

/// `TIMESTAMP LEVEL spans: target: fields`; in a terminal, styled as tracing-subscriber styles it.
pub struct TextLines;

impl<S, N> FormatEvent<S, N> for TextLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let style = Style { ansi: writer.has_ansi_escapes() };
        style.begin(&mut writer, DIMMED)?;
        write_timestamp(&mut writer, SystemTime::now())?;
        style.end(&mut writer)?;
        writer.write_char(' ')?;
        let (level, colour) = match *meta.level() {
            Level::TRACE => ("TRACE", PURPLE),
            Level::DEBUG => ("DEBUG", BLUE),
            Level::INFO => (" INFO", GREEN),
            Level::WARN => (" WARN", YELLOW),
            Level::ERROR => ("ERROR", RED),
        };
        style.paint(&mut writer, colour, level)?;
        writer.write_char(' ')?;

        let mut any_span = false;
        request_id::with_current(|id| {
            let Some(id) = id else { return Ok(()) };
            any_span = true;
            style.paint(&mut writer, BOLD, "request")?;
            style.paint(&mut writer, BOLD, "{")?;
            // As tracing-subscriber's default fields writer writes a `&str` field.
            style.paint(&mut writer, ITALIC, "request_id")?;
            style.paint(&mut writer, DIMMED, "=")?;
            write!(writer, "{id:?}")?;
            style.paint(&mut writer, BOLD, "}")?;
            style.paint(&mut writer, DIMMED, ":")
        })?;
        for span in ctx.event_scope().into_iter().flat_map(|scope| scope.from_root()) {
            any_span = true;
            style.paint(&mut writer, BOLD, span.name())?;
            if let Some(fields) = span.extensions().get::<FormattedFields<N>>().filter(|fields| !fields.is_empty()) {
                style.paint(&mut writer, BOLD, "{")?;
                writer.write_str(fields)?;
                style.paint(&mut writer, BOLD, "}")?;
            }
            style.paint(&mut writer, DIMMED, ":")?;
        }
        if any_span {
            writer.write_char(' ')?;
        }

        style.paint(&mut writer, DIMMED, meta.target())?;
        style.paint(&mut writer, DIMMED, ":")?;
        writer.write_char(' ')?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// The ANSI styles tracing-subscriber's default format uses (through nu-ansi-term).
const BOLD: &str = "\x1b[1m";
const DIMMED: &str = "\x1b[2m";
const ITALIC: &str = "\x1b[3m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BLUE: &str = "\x1b[34m";
const PURPLE: &str = "\x1b[35m";
const RESET: &str = "\x1b[0m";

/// Writes styles only when the writer goes to a terminal.
#[derive(Clone, Copy)]
struct Style {
    ansi: bool,
}

impl Style {
    fn begin(self, writer: &mut Writer<'_>, style: &str) -> fmt::Result {
        if self.ansi { writer.write_str(style) } else { Ok(()) }
    }

    fn end(self, writer: &mut Writer<'_>) -> fmt::Result {
        if self.ansi { writer.write_str(RESET) } else { Ok(()) }
    }

    fn paint(self, writer: &mut Writer<'_>, style: &str, text: &str) -> fmt::Result {
        self.begin(writer, style)?;
        writer.write_str(text)?;
        self.end(writer)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::logging::captured::Captured;

    /// The text a closure logs, formatted by tracing-subscriber's default format or by ours,
    /// with each line's timestamp cut off.
    fn logged(ours: bool, ansi: bool, log: impl Fn()) -> Vec<String> {
        let captured = Captured::default();
        let builder =
            tracing_subscriber::fmt().with_max_level(Level::TRACE).with_ansi(ansi).with_writer(captured.clone());
        if ours {
            tracing::subscriber::with_default(builder.event_format(TextLines).finish(), &log);
        } else {
            tracing::subscriber::with_default(builder.finish(), &log);
        }
        captured
            .text()
            .lines()
            .map(|line| {
                let (timestamp, rest) = line.split_once('Z').unwrap_or_else(|| panic!("no timestamp: {line:?}"));
                assert!(timestamp.trim_start_matches(DIMMED).len() == "2026-11-30T09:38:52.123456".len(), "{line:?}");
                rest.to_owned()
            })
            .collect()
    }

    #[test]
    fn lines_match_tracing_subscribers_default_format_with_the_request_as_its_span() {
        let id = "edge-\"42\"";
        for ansi in [false, true] {
            let ours = logged(true, ansi, || {
                request_id::scope(&mut Some(HeaderValue::from_static(id)), || {
                    tracing::info!(method = "POST", status = 200u64, "request");
                    tracing::info_span!("inner", step = 2u64).in_scope(|| tracing::warn!(ok = false, "nested"));
                });
                tracing::error!("after the request");
                tracing::debug!(parent: &tracing::info_span!("alone"), "a span without fields");
                tracing::trace!(text = "tab\t", "levels");
            });
            let theirs = logged(false, ansi, || {
                tracing::info_span!("request", request_id = id).in_scope(|| {
                    tracing::info!(method = "POST", status = 200u64, "request");
                    tracing::info_span!("inner", step = 2u64).in_scope(|| tracing::warn!(ok = false, "nested"));
                });
                tracing::error!("after the request");
                tracing::debug!(parent: &tracing::info_span!("alone"), "a span without fields");
                tracing::trace!(text = "tab\t", "levels");
            });
            assert_eq!(ours, theirs, "ansi: {ansi}");
            assert_eq!(ours.len(), 5);
        }
        let plain = logged(true, false, || {
            request_id::scope(&mut Some(HeaderValue::from_static("abc")), || tracing::info!(route = "/x", "request"));
        });
        assert_eq!(plain, [format!("  INFO request{{request_id=\"abc\"}}: {}: request route=\"/x\"", module_path!())]);
    }
}
