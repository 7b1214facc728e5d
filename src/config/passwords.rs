//! Password hashing capacity: threads, the queue in front of them, and their priority.

use anyhow::bail;

use super::{parse, variables::RawConfig, variables::defaults};

/// Niceness of the hashing threads unless configured: at 19 hashing gets the CPU that requests
/// leave, so a login flood does not slow cheap requests; a login alone is as fast as before.
pub const DEFAULT_HASH_NICE: i32 = 19;

/// The hashing settings of one configuration.
pub(super) struct Hashing {
    pub concurrency: usize,
    pub queue: usize,
    pub nice: i32,
}

pub(super) fn build(raw: &RawConfig) -> anyhow::Result<Hashing> {
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    let nice = match raw.password_hash_nice {
        // Negative values would raise hashing above requests, and need privileges anyway.
        Some(nice) if !(0..=19).contains(&nice) => bail!("PASSWORD_HASH_NICE must be between 0 and 19"),
        Some(nice) => nice,
        None => DEFAULT_HASH_NICE,
    };
    Ok(Hashing {
        concurrency: parse::count_or("PASSWORD_HASH_CONCURRENCY", raw.password_hash_concurrency, cpus)?,
        queue: parse::count_or("PASSWORD_HASH_QUEUE", raw.password_hash_queue, defaults::password_hash_queue(cpus))?,
        nice,
    })
}
