//! Phone numbers, parsed with the libphonenumber port and kept in E.164.

use phonenumber::country;

/// A valid phone number in E.164 form (`+998901234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// The input is not a valid phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// Accepts `+998901234567`, `998901234567`, `+998 90 123-45-67` and national forms.
    pub fn parse(input: &str, default_region: country::Id) -> Result<Self, InvalidPhoneNumber> {
        let input = input.trim();
        // libphonenumber takes a bare `998…` as a national number of the default region; people
        // who type the country code without `+` mean an international number, so try that first.
        let digits_only = !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit());
        if digits_only
            && input.len() > 10
            && let Some(phone) = Self::parse_valid(&format!("+{input}"), None)
        {
            return Ok(phone);
        }
        Self::parse_valid(input, Some(default_region)).ok_or(InvalidPhoneNumber)
    }

    fn parse_valid(input: &str, region: Option<country::Id>) -> Option<Self> {
        let number = phonenumber::parse(region, input).ok()?;
        // E.164 is `+`, country code, national number; the crate's formatter would first match
        // the region's format patterns (regexes behind one global lock) only to ignore them.
        phonenumber::is_valid(&number).then(|| Self(format!("+{}{}", number.country().code(), number.national())))
    }

    /// Wraps a number already stored in E.164 (database rows, store records).
    pub fn from_e164_unchecked(e164: String) -> Self {
        Self(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: `+998*****4567`, enough to correlate without exposing the number.
    pub fn masked(&self) -> String {
        let visible_tail = 4;
        let head = self.0.len().min(4);
        let tail_start = self.0.len().saturating_sub(visible_tail).max(head);
        format!("{}{}{}", &self.0[..head], "*".repeat(tail_start - head), &self.0[tail_start..])
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<String, InvalidPhoneNumber> {
        PhoneNumber::parse(input, country::Id::UZ).map(|p| p.0)
    }

    #[test]
    fn accepts_the_forms_people_type() {
        for input in ["+998901234567", "998901234567", "+998 90 123-45-67", "90 123 45 67", " +998(90)1234567 "] {
            assert_eq!(parse(input).as_deref(), Ok("+998901234567"), "{input}");
        }
    }

    #[test]
    fn rejects_invalid_numbers() {
        for input in ["", "abc", "+99890", "12345", "+9989012345678901", "+998 00 000 00 00"] {
            assert_eq!(parse(input), Err(InvalidPhoneNumber), "{input}");
        }
    }

    #[test]
    fn e164_output_matches_the_crates_formatter() {
        // Italian fixed lines keep their leading zero in E.164; the others are plain.
        for (input, region) in [
            ("+998901234567", country::Id::UZ),
            ("+39 02 1234 5678", country::Id::IT),
            ("+7 912 345-67-89", country::Id::RU),
            ("(201) 555-0123", country::Id::US),
        ] {
            let number = phonenumber::parse(Some(region), input).unwrap();
            let expected = number.format().mode(phonenumber::Mode::E164).to_string();
            assert_eq!(PhoneNumber::parse(input, region).map(|p| p.0), Ok(expected), "{input}");
        }
    }

    #[test]
    fn masks_the_middle_digits() {
        let phone = PhoneNumber::parse("+998901234567", country::Id::UZ).unwrap();
        assert_eq!(phone.masked(), "+998*****4567");
    }
}
