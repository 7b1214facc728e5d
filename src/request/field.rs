//! `Field<T>`: one field of an input as the client sent it. Deserializing never fails, so the
//! service can judge every field and report all problems at once, as a DRF serializer does.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::domain::{Gender, Language, OtpType};

/// One input field before the service has judged it. Input structs mark each field
/// `#[serde(default)]`, so a key the body lacks is `Absent`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// The key is not in the body.
    #[default]
    Absent,
    /// `null`.
    Null,
    Value(T),
    /// Text (or a number, read as text) that is none of `T`'s values, kept to quote it back.
    Unparsed(String),
    /// A JSON type `T` is never written as, such as a list where text belongs.
    WrongType,
}

/// A value a typed caller (GraphQL, the command line) already has, or `Absent` without one.
impl<T> From<Option<T>> for Field<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Field::Absent, Field::Value)
    }
}

/// A type a `Field` can hold, read from any JSON value other than `null`.
pub trait FromField: Sized {
    /// The message for a value of the wrong JSON type (code `invalid`), in DRF's words.
    const WRONG_TYPE: &'static str = "Not a valid string.";

    fn from_json(value: Value) -> Field<Self> {
        // DRF's CharField reads numbers as their text.
        match value {
            Value::String(text) => Self::from_text(text),
            Value::Number(number) => Self::from_text(number.to_string()),
            _ => Field::WrongType,
        }
    }

    /// A value written as text.
    fn from_text(text: String) -> Field<Self>;
}

impl<'de, T: FromField> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Field::Null,
            value => T::from_json(value),
        })
    }
}

impl FromField for String {
    fn from_text(text: String) -> Field<Self> {
        Field::Value(text)
    }
}

impl FromField for bool {
    const WRONG_TYPE: &'static str = "Must be a valid boolean.";

    fn from_json(value: Value) -> Field<Self> {
        match value {
            Value::Bool(value) => Field::Value(value),
            _ => Field::WrongType,
        }
    }

    fn from_text(_: String) -> Field<Self> {
        Field::WrongType
    }
}

/// `YYYY-MM-DD`, surrounding spaces ignored.
impl FromField for NaiveDate {
    fn from_text(text: String) -> Field<Self> {
        match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
            Ok(date) => Field::Value(date),
            Err(_) => Field::Unparsed(text),
        }
    }
}

macro_rules! choice_fields {
    ($($choice:ty),+) => {$(
        /// One of the lower-case wire spellings, exactly.
        impl FromField for $choice {
            fn from_text(text: String) -> Field<Self> {
                <$choice>::from_wire(&text).map_or(Field::Unparsed(text), Field::Value)
            }
        }
    )+};
}

choice_fields!(OtpType, Gender, Language);

/// A field with the name clients spell it by, which errors about it carry.
#[derive(Debug)]
pub struct Named<T> {
    pub name: &'static str,
    pub field: Field<T>,
}

impl<T> Named<T> {
    /// `r#type` is spelled `type` on the wire.
    pub fn new(rust_name: &'static str, field: impl Into<Field<T>>) -> Self {
        Self { name: rust_name.strip_prefix("r#").unwrap_or(rust_name), field: field.into() }
    }
}

/// `named!(input.phone_number)`: the field with its wire name, which is its Rust name (input
/// structs use no serde renames), so an error can never name a field differently from the body.
macro_rules! named {
    ($input:ident . $field:ident) => {
        $crate::request::Named::new(stringify!($field), $input.$field)
    };
}

pub(crate) use named;

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: FromField>(json: &str) -> Field<T> {
        serde_json::from_str(json).expect("any JSON value is a field")
    }

    #[test]
    fn fields_tell_null_text_numbers_and_wrong_types_apart() {
        assert_eq!(read::<String>("null"), Field::Null);
        assert_eq!(read::<String>("\"x\""), Field::Value("x".into()));
        assert_eq!(read::<String>("998901234567"), Field::Value("998901234567".into()));
        assert_eq!(read::<String>("[1]"), Field::WrongType);
        assert_eq!(read::<bool>("\"true\""), Field::WrongType);
        assert_eq!(read::<OtpType>("\"signup\""), Field::Unparsed("signup".into()));
        assert_eq!(read::<OtpType>("\"forgot_password\""), Field::Value(OtpType::ForgotPassword));
        assert_eq!(read::<NaiveDate>("\" 2001-02-03 \""), Field::Value(NaiveDate::from_ymd_opt(2001, 2, 3).unwrap()));
    }

    #[test]
    fn raw_identifiers_are_named_as_the_wire_spells_them() {
        assert_eq!(Named::<String>::new("r#type", Field::Absent).name, "type");
        assert_eq!(Named::<String>::new("phone_number", Field::Absent).name, "phone_number");
    }
}
