//! A region's validity patterns from libphonenumber's metadata, compiled once as plain regexes.
//!
//! `phonenumber` matches every metadata pattern through one process-wide `Mutex<LruCache>`,
//! held for the whole match and keyed by the pattern text: with two workers that lock is the
//! costliest part of check-user. Numbers typed as `+<country code><national number>` for the
//! default region (almost all of ours) are decided here with the same data and the same rule
//! as `phonenumber::is_valid`; everything else still goes through the crate.

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock, RwLock},
};

use phonenumber::{
    country,
    metadata::{DATABASE, Descriptor, Metadata},
};
use regex::{Regex, RegexBuilder};

/// The shortest and longest national significant numbers the crate accepts.
const NATIONAL_LENGTHS: std::ops::RangeInclusive<usize> = 2..=17;

/// One metadata descriptor: possible lengths and the national-number pattern.
struct Rule {
    lengths: Vec<u16>,
    /// Anchored at the start only, as the crate checks `find(..).start() == 0`.
    pattern: Regex,
}

impl Rule {
    fn compile(descriptor: &Descriptor) -> Option<Self> {
        let source = descriptor.national_number().as_str();
        let pattern = RegexBuilder::new(&format!("^(?:{source})")).ignore_whitespace(true).build().ok()?;
        Some(Self { lengths: descriptor.possible_length().to_vec(), pattern })
    }

    /// `phonenumber`'s `Descriptor::is_match`.
    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16))) && self.pattern.is_match(national)
    }
}

/// The default region's rules, for numbers that carry its country code.
pub struct RegionRules {
    country_code: String,
    /// An international dialling prefix the crate would strip after the `+` (a digits literal).
    international_prefix: Option<String>,
    general: Rule,
    /// Every number type; a number is valid when it matches the general rule and any of these.
    types: Vec<Rule>,
}

impl RegionRules {
    /// The rules for `region`, compiled on first use; `None` when the crate's parser could treat
    /// this region's numbers differently from a plain split (national prefixes to strip, a
    /// country code shared by several regions, an IDD that is a pattern).
    pub fn for_region(region: country::Id) -> Option<Arc<Self>> {
        static COMPILED: OnceLock<RwLock<HashMap<country::Id, Option<Arc<RegionRules>>>>> = OnceLock::new();
        let compiled = COMPILED.get_or_init(Default::default);
        if let Some(rules) = compiled.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&region) {
            return rules.clone();
        }
        let rules = DATABASE.by_id(region.as_ref()).and_then(Self::compile).map(Arc::new);
        compiled.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(region, rules.clone());
        rules
    }

    fn compile(meta: &Metadata) -> Option<Self> {
        let code = meta.country_code();
        let country_code = code.to_string();
        let sole_region_for_code = DATABASE.region(&code).is_some_and(|regions| regions.len() == 1);
        let no_national_prefix = meta.national_prefix().is_none() && meta.national_prefix_for_parsing().is_none();
        // The crate takes the first 1–3 digits that name any country code.
        let code_is_first_match = (1..country_code.len()).all(|len| {
            country_code[..len].parse::<u16>().ok().and_then(|shorter| DATABASE.by_code(&shorter)).is_none()
        });
        let international_prefix = match meta.international_prefix().map(|idd| idd.as_str().trim()) {
            None => None,
            Some(idd) if idd.bytes().all(|b| b.is_ascii_digit()) => Some(idd.to_string()),
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
            country_code,
            international_prefix,
            general: Rule::compile(descriptors.general())?,
            types: types.into_iter().flatten().map(Rule::compile).collect::<Option<_>>()?,
        })
    }

    /// For `digits` (what followed the `+`): `Some(valid)` when they carry this region's country
    /// code and this fast path decides exactly as the crate would, `None` when the crate must.
    pub fn decide(&self, digits: &str) -> Option<Option<String>> {
        if !digits.bytes().all(|b| b.is_ascii_digit())
            || self.international_prefix.as_deref().is_some_and(|idd| digits.starts_with(idd))
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
