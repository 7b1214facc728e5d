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
    /// Every number type; a number is valid when it matches the general rule and any of these.
    types: Cow<'static, [RuleSource]>,
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
        let types = [
            descriptors.premium_rate(),
            descriptors.toll_free(),
            descriptors.shared_cost(),
            descriptors.voip(),
            descriptors.personal_number(),
            descriptors.pager(),
            descriptors.uan(),
            descriptors.voicemail(),
            descriptors.fixed_line(),
            descriptors.mobile(),
        ];
        Some(Self {
            country_code: code,
            international_prefix,
            general: RuleSource::of(descriptors.general()),
            types: types.into_iter().flatten().map(RuleSource::of).collect(),
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
    types: Vec<Rule>,
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
            types: source.types.iter().map(Rule::compile).collect::<Option<_>>()?,
        })
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
        let valid = NATIONAL_LENGTHS.contains(&national.len())
            && self.general.is_match(national)
            && self.types.iter().any(|rule| rule.is_match(national));
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
        text.push_str("    types: Cow::Borrowed(&[\n");
        for each in source.types.iter() {
            let _ = writeln!(text, "        {},", rule(each));
        }
        text.push_str("    ]),\n};\n");
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
