//! The `Date` and `DateTime` scalars: fixed text forms, so clients in any language read them alike.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

/// A calendar date as `YYYY-MM-DD` (`2001-02-03`), with no time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar date, `YYYY-MM-DD`.
#[Scalar(name = "Date", specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        parse_date(text).map(Date).ok_or_else(|| InputValueError::custom("Dates are written YYYY-MM-DD."))
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if parse_date(text).is_some())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// chrono alone also takes `2001-2-3` and `+2001-02-03`; the scalar promises exactly ten characters.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let shape_ok = text.len() == 10
        && text
            .bytes()
            .enumerate()
            .all(|(i, byte)| if i == 4 || i == 7 { byte == b'-' } else { byte.is_ascii_digit() });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// An instant as RFC 3339 in UTC (`2026-01-02T03:04:05.678Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant in RFC 3339, written in UTC (`2026-01-02T03:04:05Z`).
#[Scalar(name = "DateTime", specified_by_url = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|instant| DateTime(instant.with_timezone(&Utc)))
            .map_err(|_| InputValueError::custom("Instants are written in RFC 3339, e.g. 2026-01-02T03:04:05Z."))
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_accepts_only_the_ten_character_form() {
        assert_eq!(parse_date("2001-02-03"), NaiveDate::from_ymd_opt(2001, 2, 3));
        for bad in ["2001-2-3", "+2001-02-03", "2001-02-30", "03.02.2001", "2001-02-03T00:00:00Z"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_time_is_written_in_utc_with_a_z() {
        let instant = chrono::DateTime::parse_from_rfc3339("2026-01-02T08:04:05+05:00").unwrap().with_timezone(&Utc);
        assert_eq!(DateTime(instant).to_value(), Value::String("2026-01-02T03:04:05Z".into()));
    }
}
