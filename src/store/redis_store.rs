//! The Redis store: Lua scripts make each check-and-update one atomic step shared by all instances.

use std::{sync::Arc, time::Duration};

use redis::{AsyncCommands, Script, aio::ConnectionManager, aio::ConnectionManagerConfig};

use super::{Attempt, AttemptOutcome, OtpSession, SessionState};
use crate::{domain::OtpType, error::AppResult};

/// How long one Redis command may take before the request gets a 503 instead of hanging.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Counts a guess only while attempts remain; verifies on a correct one.
const ATTEMPT_SCRIPT: &str = r"
local state = redis.call('HGET', KEYS[1], 's')
if not state then return 'missing' end
local attempts = tonumber(redis.call('HGET', KEYS[1], 'a'))
local max = tonumber(ARGV[2])
if state == 'dead' or attempts >= max then return 'exhausted' end
if ARGV[1] == '1' then
  if state ~= 'verified' then
    redis.call('HSET', KEYS[1], 's', 'verified', 'v', ARGV[3])
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
  end
  return 'verified'
end
attempts = attempts + 1
if attempts >= max then
  redis.call('HSET', KEYS[1], 'a', attempts, 's', 'dead')
else
  redis.call('HSET', KEYS[1], 'a', attempts)
end
return 'wrong'
";

/// Deletes the session only if it is verified, bound to this phone and type, and still fresh.
const CONSUME_SCRIPT: &str = r"
local v = redis.call('HMGET', KEYS[1], 's', 'p', 't', 'v')
if v[1] ~= 'verified' or v[2] ~= ARGV[1] or v[3] ~= ARGV[2] then return 0 end
if tonumber(v[4]) < tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

/// Sets the cooldown, or reports how long the existing one has left.
const COOLDOWN_SCRIPT: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return -1 end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then left = 1 end
return left
";

/// Fixed-window counter whose window starts at the first hit.
const WINDOW_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
";

/// Takes one back without creating or extending the window.
const DECREMENT_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 1
";

struct Scripts {
    attempt: Script,
    consume: Script,
    cooldown: Script,
    window: Script,
    decrement: Script,
}

/// State shared by every instance through one Redis.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
    scripts: Arc<Scripts>,
}

impl RedisStore {
    /// Connects (and fails with a clear message when Redis does not answer).
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|error| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {error}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|error| anyhow::anyhow!("Redis at REDIS_URL does not answer: {error}"))?;
        Ok(Self {
            connection,
            prefix: prefix.into(),
            scripts: Arc::new(Scripts {
                attempt: Script::new(ATTEMPT_SCRIPT),
                consume: Script::new(CONSUME_SCRIPT),
                cooldown: Script::new(COOLDOWN_SCRIPT),
                window: Script::new(WINDOW_SCRIPT),
                decrement: Script::new(DECREMENT_SCRIPT),
            }),
        })
    }

    fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    fn session_key(&self, id: &str) -> String {
        self.key(&format!("otp:{id}"))
    }

    pub async fn put_otp_session(&self, id: &str, session: &OtpSession, keep_for: Duration) -> AppResult<()> {
        let key = self.session_key(id);
        let mut connection = self.connection.clone();
        redis::pipe()
            .atomic()
            .hset_multiple(
                &key,
                &[
                    ("p", session.phone_number.clone()),
                    ("t", session.otp_type.as_str().to_string()),
                    ("c", session.code_mac.clone()),
                    ("a", session.attempts.to_string()),
                    ("s", session.state.as_str().to_string()),
                    ("e", session.expires_at_ms.to_string()),
                    ("v", session.verified_until_ms.to_string()),
                ],
            )
            .ignore()
            .pexpire(&key, i64::try_from(millis(keep_for)).unwrap_or(i64::MAX))
            .ignore()
            .query_async::<()>(&mut connection)
            .await?;
        Ok(())
    }

    pub async fn get_otp_session(&self, id: &str) -> AppResult<Option<OtpSession>> {
        let mut connection = self.connection.clone();
        let fields: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.session_key(id))
            .arg(&["p", "t", "c", "a", "s", "e", "v"])
            .query_async(&mut connection)
            .await?;
        let [Some(phone), Some(kind), Some(mac), Some(attempts), Some(state), Some(expires), Some(verified)] =
            <[Option<String>; 7]>::try_from(fields).unwrap_or_default()
        else {
            return Ok(None);
        };
        // A record this version cannot read is treated as absent rather than trusted.
        let parsed = (|| {
            Some(OtpSession {
                phone_number: phone,
                otp_type: OtpType::from_wire(&kind)?,
                code_mac: mac,
                attempts: attempts.parse().ok()?,
                state: SessionState::parse(&state)?,
                expires_at_ms: expires.parse().ok()?,
                verified_until_ms: verified.parse().ok()?,
            })
        })();
        Ok(parsed)
    }

    pub async fn delete_otp_session(&self, id: &str) -> AppResult<()> {
        let mut connection = self.connection.clone();
        connection.del::<_, ()>(self.session_key(id)).await?;
        Ok(())
    }

    pub async fn record_otp_attempt(&self, id: &str, attempt: Attempt) -> AppResult<AttemptOutcome> {
        let mut connection = self.connection.clone();
        let outcome: String = self
            .scripts
            .attempt
            .key(self.session_key(id))
            .arg(if attempt.correct { "1" } else { "0" })
            .arg(attempt.max_attempts)
            .arg(attempt.verified_until_ms)
            .arg(millis(attempt.keep_verified_for))
            .invoke_async(&mut connection)
            .await?;
        Ok(match outcome.as_str() {
            "verified" => AttemptOutcome::Verified,
            "wrong" => AttemptOutcome::Wrong,
            "exhausted" => AttemptOutcome::Exhausted,
            _ => AttemptOutcome::Missing,
        })
    }

    pub async fn consume_verified_session(
        &self,
        id: &str,
        phone_number: &str,
        otp_type: OtpType,
        now_ms: i64,
    ) -> AppResult<bool> {
        let mut connection = self.connection.clone();
        let consumed: i64 = self
            .scripts
            .consume
            .key(self.session_key(id))
            .arg(phone_number)
            .arg(otp_type.as_str())
            .arg(now_ms)
            .invoke_async(&mut connection)
            .await?;
        Ok(consumed == 1)
    }

    pub async fn try_start_cooldown(&self, key: &str, ttl: Duration) -> AppResult<Option<Duration>> {
        let mut connection = self.connection.clone();
        let left: i64 = self.scripts.cooldown.key(self.key(key)).arg(millis(ttl)).invoke_async(&mut connection).await?;
        Ok((left >= 0).then(|| Duration::from_millis(left.unsigned_abs())))
    }

    pub async fn exists(&self, key: &str) -> AppResult<bool> {
        let mut connection = self.connection.clone();
        Ok(connection.exists(self.key(key)).await?)
    }

    pub async fn remove(&self, key: &str) -> AppResult<()> {
        let mut connection = self.connection.clone();
        connection.del::<_, ()>(self.key(key)).await?;
        Ok(())
    }

    pub async fn increment_window(&self, key: &str, window: Duration) -> AppResult<(u64, Duration)> {
        let mut connection = self.connection.clone();
        let (count, left): (u64, i64) =
            self.scripts.window.key(self.key(key)).arg(millis(window)).invoke_async(&mut connection).await?;
        Ok((count, Duration::from_millis(left.max(0).unsigned_abs())))
    }

    pub async fn read_window(&self, key: &str) -> AppResult<Option<(u64, Duration)>> {
        let key = self.key(key);
        let mut connection = self.connection.clone();
        let (count, left): (Option<u64>, i64) = redis::pipe().get(&key).pttl(&key).query_async(&mut connection).await?;
        Ok(count.map(|count| (count, Duration::from_millis(left.max(0).unsigned_abs()))))
    }

    pub async fn decrement_window(&self, key: &str) -> AppResult<()> {
        let mut connection = self.connection.clone();
        self.scripts.decrement.key(self.key(key)).invoke_async::<()>(&mut connection).await?;
        Ok(())
    }

    pub async fn ping(&self) -> AppResult<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING").query_async::<()>(&mut connection).await?;
        Ok(())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}
