//! The in-process store: a bounded map split into shards, each behind its own mutex.
//!
//! A key lives in one shard, so every check-and-update still runs under one lock. Each shard
//! keeps its entries ordered by expiry: writes drop the expired ones from the front (work in
//! proportion to what expired, not to the map), and a full shard evicts the entry that would
//! expire soonest, so short rate-limit windows go before OTP sessions and hourly counters.

use std::{
    collections::{BTreeMap, HashMap},
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use super::{Attempt, AttemptOutcome, OtpSession, SessionState};
use crate::{domain::OtpType, error::AppResult};

/// Enough shards that two cores rarely wait on one another, few enough that they stay near-full
/// before any evicts.
const MAX_SHARDS: usize = 16;

enum Value {
    Session(OtpSession),
    Flag,
    Counter(u64),
}

struct Entry {
    value: Value,
    expires_at: Instant,
    /// Ties entries that expire at the same instant apart in the expiry index.
    seq: u64,
}

/// One slice of the keys: the entries and the same entries ordered by expiry.
struct Shard {
    entries: HashMap<Arc<str>, Entry>,
    by_expiry: BTreeMap<(Instant, u64), Arc<str>>,
    next_seq: u64,
    capacity: usize,
}

impl Shard {
    fn new(capacity: usize) -> Self {
        Self { entries: HashMap::new(), by_expiry: BTreeMap::new(), next_seq: 0, capacity }
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry under `key` unless it has expired (an expired one is dropped on the way).
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|entry| entry.expires_at <= now) {
            self.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn remove(&mut self, key: &str) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                self.by_expiry.remove(&(entry.expires_at, entry.seq));
                true
            }
            None => false,
        }
    }

    /// Drops every expired entry, oldest first; returns how many went.
    fn purge_expired(&mut self, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.entries.remove(&key);
            dropped += 1;
        }
        dropped
    }

    /// Stores `value` under `key` for `ttl`, making room first when the shard is full.
    fn insert(&mut self, key: &str, value: Value, ttl: Duration, now: Instant) {
        self.purge_expired(now);
        if !self.remove(key) && self.entries.len() >= self.capacity {
            self.evict_soonest();
        }
        let key: Arc<str> = Arc::from(key);
        let (expires_at, seq) = (now + ttl, self.take_seq());
        self.by_expiry.insert((expires_at, seq), Arc::clone(&key));
        self.entries.insert(key, Entry { value, expires_at, seq });
    }

    /// Moves a live entry's expiry, keeping the index in step.
    fn extend(&mut self, key: &str, expires_at: Instant) {
        let seq = self.take_seq();
        let Some((stored_key, entry)) = self.entries.get_key_value(key) else { return };
        let stored_key = Arc::clone(stored_key);
        let old = (entry.expires_at, entry.seq);
        self.by_expiry.remove(&old);
        self.by_expiry.insert((expires_at, seq), stored_key);
        if let Some(entry) = self.entries.get_mut(key) {
            entry.expires_at = expires_at;
            entry.seq = seq;
        }
    }

    fn evict_soonest(&mut self) {
        if let Some((_, key)) = self.by_expiry.pop_first() {
            self.entries.remove(&key);
            metrics::counter!("store_memory_evictions_total").increment(1);
        }
    }

    fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

struct Shards {
    shards: Box<[Mutex<Shard>]>,
    /// Randomly keyed, so a client cannot choose keys that all land in one shard.
    hasher: RandomState,
}

/// State for a single instance; several instances need Redis.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Shards>,
    /// Added to the clock, so tests can let time pass without sleeping.
    #[cfg(test)]
    skew: Arc<Mutex<Duration>>,
}

impl MemoryStore {
    /// A store holding at most `max_entries` entries (at least one).
    pub fn new(max_entries: usize) -> Self {
        let max_entries = max_entries.max(1);
        // Fewer shards than entries would leave some shards unable to hold anything.
        let count = max_entries.min(MAX_SHARDS);
        let shards = (0..count)
            .map(|index| Mutex::new(Shard::new(max_entries / count + usize::from(index < max_entries % count))))
            .collect();
        Self {
            inner: Arc::new(Shards { shards, hasher: RandomState::new() }),
            #[cfg(test)]
            skew: Arc::default(),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let index = (self.inner.hasher.hash_one(key) % self.inner.shards.len() as u64) as usize;
        // A panic while holding the lock cannot leave an entry half-written, so the data is usable.
        self.inner.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[cfg(not(test))]
    fn now(&self) -> Instant {
        Instant::now()
    }

    #[cfg(test)]
    fn now(&self) -> Instant {
        Instant::now() + *self.skew.lock().unwrap()
    }

    pub async fn put_otp_session(&self, id: &str, session: &OtpSession, keep_for: Duration) -> AppResult<()> {
        let key = session_key(id);
        self.shard(&key).insert(&key, Value::Session(session.clone()), keep_for, self.now());
        Ok(())
    }

    pub async fn get_otp_session(&self, id: &str) -> AppResult<Option<OtpSession>> {
        let key = session_key(id);
        Ok(match self.shard(&key).live(&key, self.now()) {
            Some(Entry { value: Value::Session(session), .. }) => Some(session.clone()),
            _ => None,
        })
    }

    pub async fn delete_otp_session(&self, id: &str) -> AppResult<()> {
        let key = session_key(id);
        self.shard(&key).remove(&key);
        Ok(())
    }

    pub async fn record_otp_attempt(&self, id: &str, attempt: Attempt) -> AppResult<AttemptOutcome> {
        let now = self.now();
        let key = session_key(id);
        let mut shard = self.shard(&key);
        let Some(entry) = shard.live(&key, now) else {
            return Ok(AttemptOutcome::Missing);
        };
        let Value::Session(session) = &mut entry.value else {
            return Ok(AttemptOutcome::Missing);
        };
        if session.state == SessionState::Dead || session.attempts >= attempt.max_attempts {
            return Ok(AttemptOutcome::Exhausted);
        }
        if attempt.correct {
            if session.state != SessionState::Verified {
                session.state = SessionState::Verified;
                session.verified_until_ms = attempt.verified_until_ms;
                shard.extend(&key, now + attempt.keep_verified_for);
            }
            return Ok(AttemptOutcome::Verified);
        }
        session.attempts += 1;
        if session.attempts >= attempt.max_attempts {
            session.state = SessionState::Dead;
        }
        Ok(AttemptOutcome::Wrong)
    }

    pub async fn consume_verified_session(
        &self,
        id: &str,
        phone_number: &str,
        otp_type: OtpType,
        now_ms: i64,
    ) -> AppResult<bool> {
        let key = session_key(id);
        let now = self.now();
        let mut shard = self.shard(&key);
        let consumable = matches!(
            shard.live(&key, now),
            Some(Entry { value: Value::Session(session), .. })
                if session.state == SessionState::Verified
                    && session.phone_number == phone_number
                    && session.otp_type == otp_type
                    && session.verified_until_ms >= now_ms
        );
        if consumable {
            shard.remove(&key);
        }
        Ok(consumable)
    }

    pub async fn try_start_cooldown(&self, key: &str, ttl: Duration) -> AppResult<Option<Duration>> {
        let now = self.now();
        let mut shard = self.shard(key);
        if let Some(entry) = shard.live(key, now) {
            return Ok(Some(entry.expires_at - now));
        }
        shard.insert(key, Value::Flag, ttl, now);
        Ok(None)
    }

    pub async fn exists(&self, key: &str) -> AppResult<bool> {
        let now = self.now();
        Ok(self.shard(key).live(key, now).is_some())
    }

    pub async fn remove(&self, key: &str) -> AppResult<()> {
        self.shard(key).remove(key);
        Ok(())
    }

    pub async fn increment_window(&self, key: &str, window: Duration) -> AppResult<(u64, Duration)> {
        let now = self.now();
        let mut shard = self.shard(key);
        if let Some(Entry { value: Value::Counter(count), expires_at, .. }) = shard.live(key, now) {
            *count += 1;
            return Ok((*count, *expires_at - now));
        }
        shard.insert(key, Value::Counter(1), window, now);
        Ok((1, window))
    }

    pub async fn read_window(&self, key: &str) -> AppResult<Option<(u64, Duration)>> {
        let now = self.now();
        Ok(match self.shard(key).live(key, now) {
            Some(Entry { value: Value::Counter(count), expires_at, .. }) => Some((*count, *expires_at - now)),
            _ => None,
        })
    }

    pub async fn decrement_window(&self, key: &str) -> AppResult<()> {
        let now = self.now();
        if let Some(Entry { value: Value::Counter(count), .. }) = self.shard(key).live(key, now) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    pub async fn ping(&self) -> AppResult<()> {
        Ok(())
    }

    /// Entries held, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.inner.shards.iter().map(|shard| shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn session_key(id: &str) -> String {
    format!("otp:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    impl MemoryStore {
        fn advance(&self, by: Duration) {
            *self.skew.lock().unwrap() += by;
        }
    }

    fn session(phone_number: &str) -> OtpSession {
        OtpSession {
            phone_number: phone_number.to_string(),
            otp_type: OtpType::Auth,
            code_mac: "00".repeat(32),
            attempts: 0,
            state: SessionState::Pending,
            expires_at_ms: i64::MAX,
            verified_until_ms: 0,
        }
    }

    fn attempt(correct: bool) -> Attempt {
        Attempt { correct, max_attempts: 3, verified_until_ms: i64::MAX, keep_verified_for: 10 * MINUTE }
    }

    #[tokio::test]
    async fn never_holds_more_than_its_capacity() {
        let store = MemoryStore::new(1_000);
        for n in 0..10_000 {
            store.increment_window(&format!("rl:ip:{n}"), MINUTE).await.unwrap();
        }
        assert!(store.len() <= 1_000, "{} entries", store.len());
        // Hashing spreads keys unevenly, but every shard fills before it evicts.
        assert!(store.len() >= 900, "{} entries", store.len());
    }

    #[tokio::test]
    async fn a_tiny_capacity_still_holds_entries() {
        let store = MemoryStore::new(3);
        for n in 0..30 {
            store.try_start_cooldown(&format!("cd:{n}"), MINUTE).await.unwrap();
        }
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn writes_drop_expired_entries_from_the_front_only() {
        let start = Instant::now();
        let mut shard = Shard::new(1_000);
        for n in 0..100 {
            shard.insert(&format!("short:{n}"), Value::Flag, Duration::from_secs(1), start);
        }
        for n in 0..50 {
            shard.insert(&format!("long:{n}"), Value::Flag, Duration::from_secs(3_600), start);
        }
        let later = start + Duration::from_secs(2);
        // Exactly the expired entries are visited and dropped; the live ones are left alone.
        assert_eq!(shard.purge_expired(later), 100);
        assert_eq!(shard.purge_expired(later), 0);
        assert_eq!(shard.len(), 50);
        assert_eq!(shard.by_expiry.len(), 50);

        for n in 0..10 {
            shard.insert(&format!("short:{n}"), Value::Flag, Duration::from_secs(1), later);
        }
        // One ordinary write is enough to clear what expired since.
        shard.insert("next", Value::Flag, MINUTE, later + Duration::from_secs(5));
        assert_eq!(shard.len(), 51);
        assert!(shard.entries.keys().all(|key| !key.starts_with("short:")));
    }

    #[test]
    fn a_full_shard_evicts_the_entry_closest_to_expiry() {
        let now = Instant::now();
        let mut shard = Shard::new(3);
        shard.insert("session", Value::Flag, 10 * MINUTE, now);
        shard.insert("minute", Value::Counter(1), MINUTE, now);
        shard.insert("hour", Value::Counter(1), 60 * MINUTE, now);
        shard.insert("new", Value::Flag, 2 * MINUTE, now);
        assert!(shard.entries.contains_key("session"));
        assert!(shard.entries.contains_key("hour"));
        assert!(shard.entries.contains_key("new"));
        assert!(!shard.entries.contains_key("minute"));

        // Rewriting a key that is already there replaces it instead of evicting another.
        shard.insert("new", Value::Flag, 2 * MINUTE, now);
        assert_eq!(shard.len(), 3);
        assert!(shard.entries.contains_key("session"));
        assert_eq!(shard.by_expiry.len(), 3);
    }

    #[tokio::test]
    async fn a_cooldown_is_held_until_it_runs_out() {
        let store = MemoryStore::new(100);
        assert_eq!(store.try_start_cooldown("cd", 2 * MINUTE).await.unwrap(), None);
        store.advance(MINUTE);
        let left = store.try_start_cooldown("cd", 2 * MINUTE).await.unwrap().expect("still held");
        assert!(left <= MINUTE && left > MINUTE - Duration::from_secs(5), "{left:?}");
        store.advance(MINUTE + Duration::from_secs(1));
        assert_eq!(store.try_start_cooldown("cd", 2 * MINUTE).await.unwrap(), None);
        store.remove("cd").await.unwrap();
        assert_eq!(store.try_start_cooldown("cd", 2 * MINUTE).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_window_counts_until_it_closes() {
        let store = MemoryStore::new(100);
        assert_eq!(store.increment_window("w", MINUTE).await.unwrap().0, 1);
        assert_eq!(store.increment_window("w", MINUTE).await.unwrap().0, 2);
        store.decrement_window("w").await.unwrap();
        assert_eq!(store.read_window("w").await.unwrap().map(|(count, _)| count), Some(1));
        store.advance(MINUTE);
        assert_eq!(store.read_window("w").await.unwrap(), None);
        assert_eq!(store.increment_window("w", MINUTE).await.unwrap(), (1, MINUTE));
    }

    #[tokio::test]
    async fn an_otp_session_dies_after_its_attempts_and_a_verified_one_is_consumed_once() {
        let store = MemoryStore::new(100);
        store.put_otp_session("a", &session("+998901234567"), 2 * MINUTE).await.unwrap();
        for _ in 0..3 {
            assert_eq!(store.record_otp_attempt("a", attempt(false)).await.unwrap(), AttemptOutcome::Wrong);
        }
        assert_eq!(store.record_otp_attempt("a", attempt(true)).await.unwrap(), AttemptOutcome::Exhausted);
        assert_eq!(store.record_otp_attempt("missing", attempt(true)).await.unwrap(), AttemptOutcome::Missing);

        store.put_otp_session("b", &session("+998901234567"), 2 * MINUTE).await.unwrap();
        assert_eq!(store.record_otp_attempt("b", attempt(true)).await.unwrap(), AttemptOutcome::Verified);
        // Verifying keeps the session past its original two minutes.
        store.advance(5 * MINUTE);
        assert!(!store.consume_verified_session("b", "+998901111111", OtpType::Auth, 0).await.unwrap());
        assert!(!store.consume_verified_session("b", "+998901234567", OtpType::Login, 0).await.unwrap());
        assert!(store.consume_verified_session("b", "+998901234567", OtpType::Auth, 0).await.unwrap());
        assert!(!store.consume_verified_session("b", "+998901234567", OtpType::Auth, 0).await.unwrap());
        assert_eq!(store.get_otp_session("b").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_unverified_session_expires() {
        let store = MemoryStore::new(100);
        store.put_otp_session("c", &session("+998901234567"), 2 * MINUTE).await.unwrap();
        assert!(store.get_otp_session("c").await.unwrap().is_some());
        store.advance(2 * MINUTE);
        assert_eq!(store.get_otp_session("c").await.unwrap(), None);
        assert_eq!(store.record_otp_attempt("c", attempt(true)).await.unwrap(), AttemptOutcome::Missing);
    }
}
