//! A region's validity patterns from libphonenumber's metadata, compiled once as plain regexes.
//!
//! `phonenumber` matches every metadata pattern through one process-wide `Mutex<LruCache>`,
//! held for the whole match and keyed by the pattern text: with two workers that lock is the
//! costliest part of check-user. Numbers typed as `+<country code><national number>` for the
//! default region (almost all of ours) are decided here with the same data and the same rule
//! as `phonenumber::is_valid`; everything else still goes through the crate.

mod uz;

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{Arc, OnceLock, RwLock},
};

use phonenumber::{
    country,
    metadata::{DATABASE, Descriptor},
};
use regex::{Regex, RegexBuilder};

/// The shortest and longest national significant numbers the crate accepts.
const NATIONAL_LENGTHS: std::ops::RangeInclusive<usize> = 2..=17;

/// A descriptor as text: the possible lengths and the national-number pattern, whitespace and
/// all (the patterns are compiled in verbose mode).
#[derive(Debug, Clone)]
struct RuleSource {
    lengths: &'static [u16],
    pattern: &'static str,
}

/// What the fast path needs of a region's metadata, before compiling.
#[derive(Debug)]
struct RegionSource {
    country_code: u16,
    /// An international dialling prefix the crate would strip after the `+` (a digits literal).
    international_prefix: Option<&'static str>,
    general: RuleSource,
    /// The types the crate tries before fixed line and mobile, in its order (premium rate, toll
    /// free, shared cost, VoIP, personal, pager, UAN, voicemail); a number matching one of these
    /// is of that type, whatever else it matches.
    other_types: Cow<'static, [RuleSource]>,
    fixed_line: Option<RuleSource>,
    mobile: Option<RuleSource>,
}

impl RegionSource {
    /// `region`'s data from the crate's database, or `None` when the crate's parser could treat
    /// this region's numbers differently from a plain split (national prefixes to strip, a
    /// country code shared by several regions, an IDD that is a pattern).
    fn from_database(region: country::Id) -> Option<Self> {
        let meta = DATABASE.by_id(region.as_ref())?;
        let code = meta.country_code();
        let sole_region_for_code = DATABASE.region(&code).is_some_and(|regions| regions.len() == 1);
        let no_national_prefix = meta.national_prefix().is_none() && meta.national_prefix_for_parsing().is_none();
        // The crate takes the first 1–3 digits that name any country code.
        let country_code = code.to_string();
        let code_is_first_match = (1..country_code.len()).all(|len| {
            country_code[..len].parse::<u16>().ok().and_then(|shorter| DATABASE.by_code(&shorter)).is_none()
        });
        let international_prefix = match meta.international_prefix().map(|idd| idd.as_str().trim()) {
            None => None,
            Some(idd) if idd.bytes().all(|b| b.is_ascii_digit()) => Some(idd),
            Some(_) => return None,
        };
        if !(sole_region_for_code && no_national_prefix && code_is_first_match) {
            return None;
        }
        let descriptors = meta.descriptors();
        let other_types = [
            descriptors.premium_rate(),
            descriptors.toll_free(),
            descriptors.shared_cost(),
            descriptors.voip(),
            descriptors.personal_number(),
            descriptors.pager(),
            descriptors.uan(),
            descriptors.voicemail(),
        ];
        Some(Self {
            country_code: code,
            international_prefix,
            general: RuleSource::of(descriptors.general()),
            other_types: other_types.into_iter().flatten().map(RuleSource::of).collect(),
            fixed_line: descriptors.fixed_line().map(RuleSource::of),
            mobile: descriptors.mobile().map(RuleSource::of),
        })
    }
}

impl RuleSource {
    fn of(descriptor: &'static Descriptor) -> Self {
        Self { lengths: descriptor.possible_length(), pattern: descriptor.national_number().as_str() }
    }
}

/// One metadata descriptor, compiled.
struct Rule {
    lengths: &'static [u16],
    /// Anchored at the start only, as the crate checks `find(..).start() == 0`.
    pattern: Regex,
}

impl Rule {
    fn compile(source: &RuleSource) -> Option<Self> {
        let pattern = RegexBuilder::new(&format!("^(?:{})", source.pattern)).ignore_whitespace(true).build().ok()?;
        Some(Self { lengths: source.lengths, pattern })
    }

    /// A descriptor the region may lack: `Some(None)` without one, `None` when it does not compile.
    fn compile_optional(source: &Option<RuleSource>) -> Option<Option<Self>> {
        match source {
            None => Some(None),
            Some(source) => Self::compile(source).map(Some),
        }
    }

    /// `phonenumber`'s `Descriptor::is_match`.
    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16))) && self.pattern.is_match(national)
    }
}

/// The default region's rules, for numbers that carry its country code.
pub struct RegionRules {
    country_code: String,
    international_prefix: Option<&'static str>,
    general: Rule,
    other_types: Vec<Rule>,
    fixed_line: Option<Rule>,
    mobile: Option<Rule>,
    /// The crate calls every fixed line "fixed line or mobile" when both patterns are one text.
    fixed_line_is_mobile: bool,
}

/// A valid number's type as `phonenumber::number_type` tells it, as far as SMS delivery cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineType {
    FixedLine,
    Mobile,
    FixedLineOrMobile,
    /// Premium rate, toll free, VoIP and the other types that are neither.
    Other,
}

impl RegionRules {
    /// The rules for `region`, compiled on first use; `None` when the fast path cannot decide as
    /// the crate would (see `RegionSource::from_database`).
    ///
    /// Uzbekistan's come from a copy of its metadata (`uz`): loading the crate's database for
    /// them would keep every region's metadata in memory: 2.5 MiB more RSS in the benchmark.
    pub fn for_region(region: country::Id) -> Option<Arc<Self>> {
        static COMPILED: OnceLock<RwLock<HashMap<country::Id, Option<Arc<RegionRules>>>>> = OnceLock::new();
        let compiled = COMPILED.get_or_init(Default::default);
        if let Some(rules) = compiled.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&region) {
            return rules.clone();
        }
        let rules = match region {
            country::Id::UZ => Self::compile(&uz::SOURCE),
            _ => RegionSource::from_database(region).as_ref().and_then(Self::compile),
        };
        let rules = rules.map(Arc::new);
        compiled.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(region, rules.clone());
        rules
    }

    fn compile(source: &RegionSource) -> Option<Self> {
        Some(Self {
            country_code: source.country_code.to_string(),
            international_prefix: source.international_prefix,
            general: Rule::compile(&source.general)?,
            other_types: source.other_types.iter().map(Rule::compile).collect::<Option<_>>()?,
            fixed_line: Rule::compile_optional(&source.fixed_line)?,
            mobile: Rule::compile_optional(&source.mobile)?,
            fixed_line_is_mobile: source.fixed_line.as_ref().map(|rule| rule.pattern)
                == source.mobile.as_ref().map(|rule| rule.pattern),
        })
    }

    /// `phonenumber::number_type` for a national number of this region; `None` for Unknown
    /// (the number is not valid).
    fn line_type(&self, national: &str) -> Option<LineType> {
        let matches = |rule: &Option<Rule>| rule.as_ref().is_some_and(|rule| rule.is_match(national));
        if !(NATIONAL_LENGTHS.contains(&national.len()) && self.general.is_match(national)) {
            None
        } else if self.other_types.iter().any(|rule| rule.is_match(national)) {
            Some(LineType::Other)
        } else if matches(&self.fixed_line) {
            let also_mobile = self.fixed_line_is_mobile || matches(&self.mobile);
            Some(if also_mobile { LineType::FixedLineOrMobile } else { LineType::FixedLine })
        } else if matches(&self.mobile) {
            Some(LineType::Mobile)
        } else {
            None
        }
    }

    /// This region's country calling code, as digits.
    pub fn country_code(&self) -> &str {
        &self.country_code
    }

    /// For `digits` (a valid E.164 number without its `+`): `Some(mobile)` when they carry this
    /// region's country code, `None` when they do not. Mobile is what the crate's `number_type`
    /// calls `Mobile` or `FixedLineOrMobile` (ranges its metadata cannot split, which operators
    /// also give mobile lines; a plain fixed line cannot receive an SMS).
    pub fn is_mobile(&self, digits: &str) -> Option<bool> {
        let national = digits.strip_prefix(&self.country_code)?;
        let line = self.line_type(national);
        Some(matches!(line, Some(LineType::Mobile | LineType::FixedLineOrMobile)))
    }

    /// For `digits` (what followed the `+`): `Some(valid)` when they carry this region's country
    /// code and this fast path decides exactly as the crate would, `None` when the crate must.
    pub fn decide(&self, digits: &str) -> Option<Option<String>> {
        if !digits.bytes().all(|b| b.is_ascii_digit())
            || self.international_prefix.is_some_and(|idd| digits.starts_with(idd))
        {
            return None;
        }
        let national = digits.strip_prefix(&self.country_code)?;
        let valid = self.line_type(national).is_some();
        Some(valid.then(|| format!("+{digits}")))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::*;

    /// `source` as the Rust of `uz.rs`, the patterns without their layout whitespace.
    fn as_rust(source: &RegionSource) -> String {
        let rule = |rule: &RuleSource| {
            let pattern: String = rule.pattern.chars().filter(|c| !c.is_whitespace()).collect();
            format!("RuleSource {{ lengths: &{:?}, pattern: r\"{pattern}\" }}", rule.lengths)
        };
        let mut text = String::from("pub(super) static SOURCE: RegionSource = RegionSource {\n");
        let _ = writeln!(text, "    country_code: {},", source.country_code);
        let _ = writeln!(text, "    international_prefix: {:?},", source.international_prefix);
        let _ = writeln!(text, "    general: {},", rule(&source.general));
        text.push_str("    other_types: Cow::Borrowed(&[");
        for each in source.other_types.iter() {
            let _ = write!(text, "\n        {},", rule(each));
        }
        text.push_str(if source.other_types.is_empty() { "]),\n" } else { "\n    ]),\n" });
        for (name, each) in [("fixed_line", &source.fixed_line), ("mobile", &source.mobile)] {
            let _ = match each {
                Some(each) => writeln!(text, "    {name}: Some({}),", rule(each)),
                None => writeln!(text, "    {name}: None,"),
            };
        }
        text.push_str("};\n");
        text
    }

    #[test]
    fn the_uzbek_copy_is_the_crates_metadata() {
        let from_crate = RegionSource::from_database(country::Id::UZ).expect("UZ numbers must take the fast path");
        let (copy, current) = (as_rust(&uz::SOURCE), as_rust(&from_crate));
        assert!(
            copy == current,
            "src/domain/region_rules/uz.rs differs from phonenumber's metadata; its SOURCE should be:\n{current}"
        );
    }
}
