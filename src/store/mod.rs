//! Short-lived shared state: OTP sessions, cooldowns and counters, with atomic check-and-update.
//!
//! Redis when `REDIS_URL` is set (shared by every instance), otherwise an in-process map.

mod memory;
mod redis_store;

use std::time::Duration;

pub use memory::MemoryStore;
pub use redis_store::RedisStore;

use crate::{domain::OtpType, error::AppResult};

/// Where an OTP session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Code sent, not yet guessed.
    Pending,
    /// Right code given; waiting to be consumed by one register / reset / OTP login.
    Verified,
    /// Too many wrong codes.
    Dead,
}

impl SessionState {
    fn as_str(self) -> &'static str {
        match self {
            SessionState::Pending => "pending",
            SessionState::Verified => "verified",
            SessionState::Dead => "dead",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(SessionState::Pending),
            "verified" => Some(SessionState::Verified),
            "dead" => Some(SessionState::Dead),
            _ => None,
        }
    }
}

/// One OTP session as stored. The code itself is never stored, only its HMAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpSession {
    pub phone_number: String,
    pub otp_type: OtpType,
    /// Hex HMAC-SHA256 of the session id and the code.
    pub code_mac: String,
    pub attempts: u32,
    pub state: SessionState,
    /// Unix milliseconds after which the code no longer verifies.
    pub expires_at_ms: i64,
    /// Unix milliseconds until which a verified session can be consumed.
    pub verified_until_ms: i64,
}

/// What one guess did to a session, decided atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The session is verified (now or already).
    Verified,
    /// The guess was wrong and was counted.
    Wrong,
    /// The session had used up its attempts before this guess; nothing was evaluated.
    Exhausted,
    /// No such session (never existed, consumed, or garbage-collected).
    Missing,
}

/// An atomic guess: the store applies it only if the session still has attempts left.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub correct: bool,
    pub max_attempts: u32,
    pub verified_until_ms: i64,
    /// How long the record is kept once verified.
    pub keep_verified_for: Duration,
}

/// The store in use; an enum rather than a trait object keeps calls static and cheap.
#[derive(Clone)]
pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Memory($store) => $call,
            Store::Redis($store) => $call,
        }
    };
}

impl Store {
    /// Connects to Redis when a URL is given, otherwise starts an in-process store holding at
    /// most `memory_max_entries` entries.
    pub async fn connect(redis_url: Option<&str>, key_prefix: &str, memory_max_entries: usize) -> anyhow::Result<Self> {
        Ok(match redis_url {
            Some(url) => Store::Redis(RedisStore::connect(url, key_prefix).await?),
            None => Store::Memory(MemoryStore::new(memory_max_entries)),
        })
    }

    /// Which implementation is running, for logs and `check-config`.
    pub fn kind(&self) -> &'static str {
        match self {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        }
    }

    pub async fn put_otp_session(&self, id: &str, session: &OtpSession, keep_for: Duration) -> AppResult<()> {
        dispatch!(self, store => store.put_otp_session(id, session, keep_for).await)
    }

    pub async fn get_otp_session(&self, id: &str) -> AppResult<Option<OtpSession>> {
        dispatch!(self, store => store.get_otp_session(id).await)
    }

    pub async fn delete_otp_session(&self, id: &str) -> AppResult<()> {
        dispatch!(self, store => store.delete_otp_session(id).await)
    }

    /// Counts one guess against the session, atomically with the attempt limit.
    pub async fn record_otp_attempt(&self, id: &str, attempt: Attempt) -> AppResult<AttemptOutcome> {
        dispatch!(self, store => store.record_otp_attempt(id, attempt).await)
    }

    /// Deletes a verified session bound to this phone and type; true for exactly one caller.
    pub async fn consume_verified_session(
        &self,
        id: &str,
        phone_number: &str,
        otp_type: OtpType,
        now_ms: i64,
    ) -> AppResult<bool> {
        dispatch!(self, store => store.consume_verified_session(id, phone_number, otp_type, now_ms).await)
    }

    /// Takes a cooldown if it is free. `Ok(None)` when taken, `Ok(Some(left))` when already held.
    pub async fn try_start_cooldown(&self, key: &str, ttl: Duration) -> AppResult<Option<Duration>> {
        dispatch!(self, store => store.try_start_cooldown(key, ttl).await)
    }

    /// Raises a flag for `ttl` (a cooldown nobody waits out); raising a raised flag keeps it.
    pub async fn raise_flag(&self, key: &str, ttl: Duration) -> AppResult<()> {
        self.try_start_cooldown(key, ttl).await.map(drop)
    }

    /// Whether a flag (or any entry) under `key` is live.
    pub async fn flag_is_up(&self, key: &str) -> AppResult<bool> {
        dispatch!(self, store => store.exists(key).await)
    }

    /// Deletes a cooldown or a counter.
    pub async fn remove(&self, key: &str) -> AppResult<()> {
        dispatch!(self, store => store.remove(key).await)
    }

    /// Adds one to a fixed-window counter; returns the new count and the time left in the window.
    pub async fn increment_window(&self, key: &str, window: Duration) -> AppResult<(u64, Duration)> {
        dispatch!(self, store => store.increment_window(key, window).await)
    }

    /// The current count of a window and the time it has left, without counting.
    pub async fn read_window(&self, key: &str) -> AppResult<Option<(u64, Duration)>> {
        dispatch!(self, store => store.read_window(key).await)
    }

    /// Takes back one count (a send that did not happen).
    pub async fn decrement_window(&self, key: &str) -> AppResult<()> {
        dispatch!(self, store => store.decrement_window(key).await)
    }

    /// Answers when the store is reachable.
    pub async fn ping(&self) -> AppResult<()> {
        dispatch!(self, store => store.ping().await)
    }
}
