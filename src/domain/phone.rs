//! Phone numbers, parsed with the libphonenumber port and kept in E.164.

use std::borrow::Cow;

use phonenumber::{country, metadata::DATABASE};

use super::region_rules::RegionRules;

/// A valid phone number in E.164 form (`+998901234567`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// A mobile number of an allowed region: one that may receive a code by SMS. Its E.164 digits
/// are split so that budgets can count per number block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MobileNumber<'a> {
    pub region: country::Id,
    /// The country calling code's digits (`998`).
    pub country_code: &'a str,
    /// The national significant number (`901234567`).
    pub national: &'a str,
}

/// The input is not a valid phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidPhoneNumber;

impl PhoneNumber {
    /// Accepts `+998901234567`, `998901234567`, `+998 90 123-45-67` and national forms.
    pub fn parse(input: &str, default_region: country::Id) -> Result<Self, InvalidPhoneNumber> {
        let input = input.trim();
        let rules = RegionRules::for_region(default_region);
        let decided_fast = |digits: &str| rules.as_ref().and_then(|rules| rules.decide(digits));
        if let Some(written) = input.strip_prefix('+')
            && let Some(digits) = grouped_digits(written)
            && let Some(decision) = decided_fast(&digits)
        {
            return decision.map(Self).ok_or(InvalidPhoneNumber);
        }
        // libphonenumber takes a bare `998…` as a national number of the default region; people
        // who type the country code without `+` mean an international number, so try that first.
        let digits_only = !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit());
        if digits_only && input.len() > 10 {
            let as_international = match decided_fast(input) {
                Some(decision) => decision.map(Self),
                None => Self::parse_valid(&format!("+{input}"), None),
            };
            if let Some(phone) = as_international {
                return Ok(phone);
            }
        }
        Self::parse_valid(input, Some(default_region)).ok_or(InvalidPhoneNumber)
    }

    fn parse_valid(input: &str, region: Option<country::Id>) -> Option<Self> {
        let number = phonenumber::parse(region, input).ok()?;
        // E.164 is `+`, country code, national number; the crate's formatter would first match
        // the region's format patterns (regexes behind one global lock) only to ignore them.
        phonenumber::is_valid(&number).then(|| Self(format!("+{}{}", number.country().code(), number.national())))
    }

    /// The number as a mobile line of one of `regions`, or `None` when it is another type of
    /// line (fixed, premium rate, VoIP, …) or belongs elsewhere. Mobile is what
    /// `phonenumber::number_type` calls `Mobile` or `FixedLineOrMobile`: ranges the metadata
    /// cannot split are mostly wireless, while a plain fixed line cannot take an SMS at all.
    pub fn as_mobile_of(&self, regions: &[country::Id]) -> Option<MobileNumber<'_>> {
        let digits = self.0.strip_prefix('+')?;
        // Regions the fast path knows decide from their compiled rules: for Uzbekistan without
        // loading the crate's database (see `RegionRules::for_region`).
        for &region in regions {
            if let Some(rules) = RegionRules::for_region(region)
                && let Some(mobile) = rules.is_mobile(digits)
            {
                let (country_code, national) = digits.split_at(rules.country_code().len());
                return mobile.then_some(MobileNumber { region, country_code, national });
            }
        }
        let number = phonenumber::parse(None, &self.0).ok()?;
        let region = number.country().id().filter(|region| regions.contains(region))?;
        let mobile =
            matches!(number.number_type(&DATABASE), phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile);
        let (country_code, national) = digits.split_at(number.code().value().to_string().len());
        mobile.then_some(MobileNumber { region, country_code, national })
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

/// The digits of `text` when it is digit groups separated by single spaces (`998 90 123 45 67`);
/// `None` for anything else, which the crate parses. Not hyphens: the crate first reads a number
/// with hyphens as an RFC 3966 one, and rejects some that it would accept with spaces
/// (`+9989037287-95`).
fn grouped_digits(text: &str) -> Option<Cow<'_, str>> {
    let bytes = text.as_bytes();
    if bytes.iter().all(u8::is_ascii_digit) {
        return Some(Cow::Borrowed(text));
    }
    let between_digits =
        |at: usize| at > 0 && bytes[at - 1].is_ascii_digit() && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
    let mut digits = String::with_capacity(text.len());
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'0'..=b'9' => digits.push(char::from(byte)),
            b' ' if between_digits(at) => {}
            _ => return None,
        }
    }
    Some(Cow::Owned(digits))
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

    /// `PhoneNumber::parse` as it was before the compiled fast path: the crate decides everything.
    fn parse_with_the_crate_only(input: &str, region: country::Id) -> Option<String> {
        let input = input.trim();
        let digits_only = !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit());
        if digits_only
            && input.len() > 10
            && let Some(phone) = PhoneNumber::parse_valid(&format!("+{input}"), None)
        {
            return Some(phone.0);
        }
        PhoneNumber::parse_valid(input, Some(region)).map(|phone| phone.0)
    }

    #[test]
    fn the_fast_path_decides_exactly_as_the_crate() {
        assert!(RegionRules::for_region(country::Id::UZ).is_some(), "UZ numbers must take the fast path");
        // A fixed linear congruential sequence: the same inputs on every run.
        let mut state: u64 = 0x5eed;
        let mut next = |below: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % below
        };
        let mut inputs = vec!["+998".to_string(), "+9989".to_string(), "+99800".to_string(), "+00998901234567".into()];
        inputs.extend(
            ["+998 90 123-45-67", "+998-901234567", "+ 998901234567", "+998 901234567 ", "+998 -90 123 45 67"]
                .map(String::from),
        );
        inputs.extend(
            ["+998  90 123 45 67", "+998 (90) 123-45-67", "+998 90 123 45 67-", "+998\t901234567"].map(String::from),
        );
        for length in 0..=14 {
            for _ in 0..400 {
                let national: String = (0..length).map(|_| char::from(b'0' + next(10) as u8)).collect();
                inputs.push(format!("+998{national}"));
                inputs.push(format!("998{national}"));
                inputs.push(format!("+7{national}"));
                inputs.push(format!("+39{national}"));
                // The same digits in groups, a separator (space, hyphen, or both) before some
                // digits, the country code's included.
                let mut grouped = String::from("+");
                for (at, digit) in format!("998{national}").chars().enumerate() {
                    match next(12) {
                        _ if at == 0 => {}
                        0 => grouped.push(' '),
                        1 => grouped.push('-'),
                        2 => grouped.push_str(" -"),
                        _ => {}
                    }
                    grouped.push(digit);
                }
                inputs.push(grouped);
            }
        }
        let mut accepted = 0;
        for input in &inputs {
            for region in [country::Id::UZ, country::Id::RU, country::Id::IT] {
                let expected = parse_with_the_crate_only(input, region);
                accepted += usize::from(expected.is_some());
                assert_eq!(PhoneNumber::parse(input, region).ok().map(|p| p.0), expected, "{input} ({region:?})");
            }
        }
        assert!(accepted > 1000, "the sample must hold valid numbers too, got {accepted}");
    }

    /// The crate's own answer: a mobile line of one of `regions`.
    fn mobile_by_the_crate(e164: &str, regions: &[country::Id]) -> bool {
        let number = phonenumber::parse(None, e164).unwrap();
        let region = number.country().id();
        region.is_some_and(|region| regions.contains(&region))
            && matches!(number.number_type(&DATABASE), phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile)
    }

    #[test]
    fn the_fast_path_tells_mobile_lines_as_the_crate() {
        let mut state: u64 = 0xfeed;
        let mut next = |below: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % below
        };
        let (mut mobile, mut other) = (0, 0);
        for _ in 0..20_000 {
            let national: String = (0..9).map(|_| char::from(b'0' + next(10) as u8)).collect();
            let Ok(phone) = PhoneNumber::parse(&format!("+998{national}"), country::Id::UZ) else { continue };
            let expected = mobile_by_the_crate(phone.as_str(), &[country::Id::UZ]);
            let fast = phone.as_mobile_of(&[country::Id::UZ]);
            assert_eq!(fast.is_some(), expected, "{phone}");
            if let Some(parts) = fast {
                assert_eq!((parts.region, parts.country_code, parts.national), (country::Id::UZ, "998", &*national));
                mobile += 1;
            } else {
                other += 1;
            }
            // A region list without Uzbekistan takes none of them.
            assert_eq!(phone.as_mobile_of(&[country::Id::KZ, country::Id::GB]), None, "{phone}");
        }
        assert!(mobile > 500 && other > 500, "the sample must hold both kinds: {mobile} mobile, {other} other");
    }

    #[test]
    fn only_mobile_lines_of_the_allowed_regions_may_get_a_code() {
        let uz = [country::Id::UZ];
        let mobile_of = |input: &str, regions: &[country::Id]| {
            let phone = PhoneNumber::parse(input, country::Id::UZ).unwrap();
            phone
                .as_mobile_of(regions)
                .map(|parts| (parts.region, format!("{}|{}", parts.country_code, parts.national)))
        };
        assert_eq!(mobile_of("+998901234567", &uz), Some((country::Id::UZ, "998|901234567".into())));
        assert_eq!(mobile_of("+998331234567", &uz), Some((country::Id::UZ, "998|331234567".into())));
        // Tashkent and Samarkand landlines.
        assert_eq!(mobile_of("+998712345678", &uz), None);
        assert_eq!(mobile_of("+998662345678", &uz), None);
        // Foreign mobiles, satellite and other non-geographic ranges.
        for foreign in [
            "+447400123456",
            "+79123456789",
            "+37120012345",
            "+2250701234567",
            "+5926091234",
            "+8816212345678",
            "+8823421234",
        ] {
            let phone = PhoneNumber::parse(foreign, country::Id::UZ).unwrap();
            assert_eq!(phone.as_mobile_of(&uz), None, "{foreign}");
        }
        // Other regions go through the crate, whose type check the list follows.
        let gb = [country::Id::UZ, country::Id::GB];
        assert_eq!(mobile_of("+447400123456", &gb), Some((country::Id::GB, "44|7400123456".into())));
        assert_eq!(mobile_of("+442079460000", &gb), None, "a London landline");
        // +7 is shared: a Russian mobile is not a Kazakh one.
        assert_eq!(mobile_of("+79123456789", &[country::Id::KZ]), None);
        assert_eq!(mobile_of("+79123456789", &[country::Id::RU]), Some((country::Id::RU, "7|9123456789".into())));
        assert_eq!(mobile_of("+77012345678", &[country::Id::KZ]), Some((country::Id::KZ, "7|7012345678".into())));
    }

    #[test]
    fn masks_the_middle_digits() {
        let phone = PhoneNumber::parse("+998901234567", country::Id::UZ).unwrap();
        assert_eq!(phone.masked(), "+998*****4567");
    }
}
