//! Parsers shared by the configuration areas; each error names its variable.

use anyhow::{Context, bail};

/// `true`/`false` and their usual spellings, or `None` when unset.
pub(super) fn optional_switch(name: &str, value: Option<&str>) -> anyhow::Result<Option<bool>> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
        Some("0" | "false" | "no" | "off") => Ok(Some(false)),
        Some(other) => bail!("{name} must be true or false, got {other:?}"),
    }
}

/// A configured count that must be at least 1, or `default` when unset.
pub(super) fn count_or<T: Copy + Default + PartialEq>(name: &str, value: Option<T>, default: T) -> anyhow::Result<T> {
    match value {
        Some(n) if n == T::default() => bail!("{name} must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(default),
    }
}

/// A count with a default that must still be at least 1.
pub(super) fn at_least_one<T: Copy + Default + PartialEq>(name: &str, value: T) -> anyhow::Result<T> {
    count_or(name, Some(value), value)
}

/// A duration in seconds that must be at least one.
pub(super) fn seconds(name: &str, value: u64) -> anyhow::Result<u64> {
    if value == 0 {
        bail!("{name} must be at least 1 second");
    }
    Ok(value)
}

/// One of a closed set of lower-case words, naming the variable when the value is not one of them.
pub(super) fn choice<T: Copy>(name: &str, value: &str, choices: &[(&str, T)]) -> anyhow::Result<T> {
    let wanted = value.to_ascii_lowercase();
    choices.iter().find(|(word, _)| *word == wanted).map(|(_, choice)| *choice).with_context(|| {
        let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
        format!("{name} must be one of {}, got {value:?}", words.join(" | "))
    })
}

/// The non-empty entries of a comma-separated list.
pub(super) fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|entry| !entry.is_empty())
}

/// `"10.0.0.0/8, 192.168.1.10"` → networks; a bare address is a /32 (or /128).
pub(super) fn trusted_proxies(value: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list(value)
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("TRUSTED_PROXIES entry {entry:?} is not an IP address or CIDR network"))
        })
        .collect()
}
