//! The in-process store: one mutex-guarded map, so every check-and-update is atomic.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use super::{Attempt, AttemptOutcome, OtpSession, SessionState};
use crate::{domain::OtpType, error::AppResult};

/// Sweep expired entries after this many writes, so abandoned sessions do not pile up.
const SWEEP_EVERY_WRITES: u64 = 1024;

enum Value {
    Session(OtpSession),
    Flag,
    Counter(u64),
}

struct Entry {
    value: Value,
    expires_at: Instant,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    writes: u64,
}

impl Inner {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|entry| entry.expires_at <= now) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn insert(&mut self, key: &str, value: Value, ttl: Duration, now: Instant) {
        self.writes += 1;
        if self.writes.is_multiple_of(SWEEP_EVERY_WRITES) {
            self.entries.retain(|_, entry| entry.expires_at > now);
        }
        self.entries.insert(key.to_string(), Entry { value, expires_at: now + ttl });
    }
}

/// State for a single instance; several instances need Redis.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave an entry half-written, so the data is usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub async fn put_otp_session(&self, id: &str, session: &OtpSession, keep_for: Duration) -> AppResult<()> {
        self.lock().insert(&session_key(id), Value::Session(session.clone()), keep_for, Instant::now());
        Ok(())
    }

    pub async fn get_otp_session(&self, id: &str) -> AppResult<Option<OtpSession>> {
        let mut inner = self.lock();
        Ok(match inner.live(&session_key(id), Instant::now()) {
            Some(Entry { value: Value::Session(session), .. }) => Some(session.clone()),
            _ => None,
        })
    }

    pub async fn delete_otp_session(&self, id: &str) -> AppResult<()> {
        self.lock().entries.remove(&session_key(id));
        Ok(())
    }

    pub async fn record_otp_attempt(&self, id: &str, attempt: Attempt) -> AppResult<AttemptOutcome> {
        let now = Instant::now();
        let mut inner = self.lock();
        let Some(entry) = inner.live(&session_key(id), now) else {
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
                entry.expires_at = now + attempt.keep_verified_for;
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
        let mut inner = self.lock();
        let consumable = matches!(
            inner.live(&key, Instant::now()),
            Some(Entry { value: Value::Session(session), .. })
                if session.state == SessionState::Verified
                    && session.phone_number == phone_number
                    && session.otp_type == otp_type
                    && session.verified_until_ms >= now_ms
        );
        if consumable {
            inner.entries.remove(&key);
        }
        Ok(consumable)
    }

    pub async fn try_start_cooldown(&self, key: &str, ttl: Duration) -> AppResult<Option<Duration>> {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(entry) = inner.live(key, now) {
            return Ok(Some(entry.expires_at - now));
        }
        inner.insert(key, Value::Flag, ttl, now);
        Ok(None)
    }

    pub async fn remove(&self, key: &str) -> AppResult<()> {
        self.lock().entries.remove(key);
        Ok(())
    }

    pub async fn increment_window(&self, key: &str, window: Duration) -> AppResult<(u64, Duration)> {
        let now = Instant::now();
        let mut inner = self.lock();
        if let Some(Entry { value: Value::Counter(count), expires_at }) = inner.live(key, now) {
            *count += 1;
            return Ok((*count, *expires_at - now));
        }
        inner.insert(key, Value::Counter(1), window, now);
        Ok((1, window))
    }

    pub async fn read_window(&self, key: &str) -> AppResult<Option<(u64, Duration)>> {
        let now = Instant::now();
        let mut inner = self.lock();
        Ok(match inner.live(key, now) {
            Some(Entry { value: Value::Counter(count), expires_at }) => Some((*count, *expires_at - now)),
            _ => None,
        })
    }

    pub async fn decrement_window(&self, key: &str) -> AppResult<()> {
        let mut inner = self.lock();
        if let Some(Entry { value: Value::Counter(count), .. }) = inner.live(key, Instant::now()) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }

    pub async fn ping(&self) -> AppResult<()> {
        Ok(())
    }
}

fn session_key(id: &str) -> String {
    format!("otp:{id}")
}
