//! JSON log lines in tracing-subscriber's own shape, written straight into the line buffer.
//!
//! tracing-subscriber's JSON formatter parses the current span's stored fields back out of JSON
//! for every line and formats each value into its own `String` first; on a cheap request that
//! was a measurable share of the request line's cost. Here an event's fields are written straight
//! into the line, and a span's stored object (tracing-subscriber's `JsonFields`, rare: the request
//! is not a span) is copied as it is. The request being served is written as the span `request`
//! tracing-subscriber would show.

use std::{
    fmt::{self, Write as _},
    time::SystemTime,
};

use super::{request_id, timestamp::write_timestamp};
use tracing::{Event, Subscriber, field::Field};
use tracing_subscriber::{
    field::Visit,
    fmt::{
        FmtContext, FormatEvent, FormattedFields,
        format::{JsonFields, Writer},
    },
    registry::LookupSpan,
};

/// `{"timestamp","level","fields":{…},"target","span":{…,"name"}}`, one per line.
pub struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut writer, SystemTime::now())?;
        write!(writer, "\",\"level\":\"{}\",\"fields\":{{", meta.level())?;
        let mut fields = FieldWriter { writer: &mut writer, first: true, result: Ok(()) };
        event.record(&mut fields);
        fields.result?;
        writer.write_str("},\"target\":")?;
        write_json_str(&mut writer, meta.target())?;
        // tracing-subscriber shows the innermost span only; ours have none inside a request.
        if let Some(span) = ctx.parent_span() {
            let extensions = span.extensions();
            let stored = extensions.get::<FormattedFields<JsonFields>>().map_or("", |fields| fields.fields.as_str());
            // `{"a":1}` → `"a":1`; an empty span stores `` or `{}`.
            let inner = stored.trim().strip_prefix('{').and_then(|rest| rest.strip_suffix('}')).unwrap_or("").trim();
            writer.write_str(",\"span\":{")?;
            if !inner.is_empty() {
                writer.write_str(inner)?;
                writer.write_char(',')?;
            }
            writer.write_str("\"name\":")?;
            write_json_str(&mut writer, span.name())?;
            writer.write_char('}')?;
        } else {
            request_id::with_current(|id| match id {
                Some(id) => {
                    writer.write_str(",\"span\":{\"request_id\":")?;
                    write_json_str(&mut writer, id)?;
                    writer.write_str(",\"name\":\"request\"}")
                }
                None => Ok(()),
            })?;
        }
        writer.write_str("}\n")
    }
}

/// Writes an event's fields as JSON members, as tracing-serde would name and type them.
struct FieldWriter<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl FieldWriter<'_, '_> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.writer.write_char(',')?;
            }
            write_json_str(self.writer, name)?;
            self.writer.write_char(':')?;
            value(self.writer)
        })();
    }
}

impl Visit for FieldWriter<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |writer| write_json_str(writer, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // `{:?}` keeps the `.0` of whole numbers, as serde_json does; JSON has no NaN or infinity,
        // which serde_json writes as null.
        self.member(
            field,
            |writer| if value.is_finite() { write!(writer, "{value:?}") } else { writer.write_str("null") },
        );
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |writer| {
            writer.write_char('"')?;
            write!(JsonEscaped(writer), "{value:?}")?;
            writer.write_char('"')
        });
    }
}

fn write_json_str(writer: &mut impl fmt::Write, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    JsonEscaped(writer).write_str(text)?;
    writer.write_char('"')
}

/// Escapes what passes through it for the inside of a JSON string.
struct JsonEscaped<'w, W: fmt::Write>(&'w mut W);

impl<W: fmt::Write> fmt::Write for JsonEscaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Nearly all text has nothing to escape: one scan, then one write.
        if !text.bytes().any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\') {
            return self.0.write_str(text);
        }
        let mut plain_from = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 => "",
                _ => continue,
            };
            self.0.write_str(&text[plain_from..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain_from = at + 1;
        }
        self.0.write_str(&text[plain_from..])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::logging::captured::Captured;

    /// The lines a closure logs, formatted by tracing-subscriber's own JSON or by ours.
    fn lines(ours: bool, log: impl Fn()) -> Vec<Value> {
        let captured = Captured::default();
        let builder = tracing_subscriber::fmt().json().with_span_list(false).with_writer(captured.clone());
        if ours {
            tracing::subscriber::with_default(builder.event_format(JsonLines).finish(), &log);
        } else {
            tracing::subscriber::with_default(builder.finish(), &log);
        }
        captured
            .text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    }

    fn without_timestamps(lines: Vec<Value>) -> Vec<Value> {
        let strip = |mut line: Value| {
            assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{line}");
            line.as_object_mut().unwrap().remove("timestamp");
            line
        };
        lines.into_iter().map(strip).collect()
    }

    #[test]
    fn lines_match_tracing_subscribers_json_but_for_the_timestamp() {
        let log = || {
            let span = tracing::info_span!("request", request_id = "abc\"def");
            tracing::info!(parent: &span, method = %"POST", route = "/x", status = 200u64, ok = true, delta = -3i64,
                ratio = 0.25, whole = 3.0, latency_ms = format_args!("{:.2}", 1.5), "request");
            let _entered = span.enter();
            tracing::warn!(text = "quote \" backslash \\ newline \n tab \t bell \u{7} é", "inside: {}", 42);
            drop(_entered);
            tracing::error!("no span");
            let later = tracing::info_span!("later", first = 1u64, second = tracing::field::Empty, flag = false);
            tracing::info!(parent: &later, "nothing recorded yet");
            later.record("second", "now");
            later.record("first", 2u64);
            tracing::info!(parent: &later, "two recorded after creation");
            tracing::info!(parent: &tracing::info_span!("empty"), "a span without fields");
        };
        let ours = without_timestamps(lines(true, log));
        let theirs = without_timestamps(lines(false, log));
        assert_eq!(ours.len(), 6);
        assert_eq!(ours, theirs);
        assert_eq!(ours[4]["span"], serde_json::json!({"name": "later", "first": 2, "second": "now", "flag": false}));
    }

    #[test]
    fn the_request_being_served_is_written_as_the_request_span_tracing_subscriber_would_show() {
        // A client's request id may hold a quote: it is any visible ASCII.
        let id = "edge-\"42\"";
        let ours = lines(true, || {
            request_id::scope(&mut Some(axum::http::HeaderValue::from_static(id)), || {
                tracing::info!(status = 200u64, "request");
            });
            tracing::info!("after the request");
        });
        let theirs = lines(false, || {
            tracing::info_span!("request", request_id = id).in_scope(|| tracing::info!(status = 200u64, "request"));
            tracing::info!("after the request");
        });
        let ours = without_timestamps(ours);
        assert_eq!(ours, without_timestamps(theirs));
        assert_eq!(ours[0]["span"], serde_json::json!({"request_id": id, "name": "request"}));
        assert_eq!(ours[1].get("span"), None);
    }
}
