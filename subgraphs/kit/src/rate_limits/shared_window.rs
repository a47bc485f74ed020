//! The shared window: a sliding window per key in a Redis sorted set,
//! which every replica of every subgraph counts in, so two replicas admit
//! exactly the limit between them.
//!
//! One Lua script does the whole decision atomically on the server (drop
//! entries older than the window, count, add when under the limit), called
//! by its SHA-1 (`EVALSHA`; the client loads it once when Redis answers
//! `NOSCRIPT`, after a restart too). The script reads the time from Redis
//! itself (`TIME`), so replicas whose clocks differ still share one window.

use std::time::Duration;

use redis::aio::ConnectionManager;

/// `KEYS[1]`: the window. `ARGV`: the window in milliseconds, the limit,
/// and a member unique to this operation. Answers `{1, 0}` when admitted,
/// `{0, ms}` when refused, `ms` being how long until the oldest entry
/// leaves the window.
const SLIDING_WINDOW: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, window - (now - tonumber(oldest[2])))}
";

/// What the shared window decided, or why it could not.
pub enum SharedDecision {
    Admitted,
    Refused {
        retry_after: Duration,
    },
    /// Redis did not answer within the timeout, or failed.
    Unavailable(String),
}

pub struct SharedWindow {
    connection: ConnectionManager,
    script: redis::Script,
    timeout: Duration,
}

impl SharedWindow {
    /// A window in the Redis at `url`, each decision bounded by `timeout`.
    /// Connects lazily and reconnects by itself: a Redis that is down when
    /// the subgraph starts, or goes away later, only means the shadow
    /// window decides meanwhile.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let connection = crate::redis_connection::lazy_connection(url)?;
        Ok(Self {
            connection,
            script: redis::Script::new(SLIDING_WINDOW),
            timeout,
        })
    }

    /// Admits and counts an operation under `key`, or refuses it.
    pub async fn admit(&self, key: &str, limit: u32, window: Duration) -> SharedDecision {
        let mut connection = self.connection.clone();
        let member = format!(
            "{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = self.script.key(key);
        invocation.arg(window_ms).arg(limit).arg(member);
        let answer = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<(i64, i64)>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok((1, _))) => SharedDecision::Admitted,
            Ok(Ok((_, retry_ms))) => SharedDecision::Refused {
                retry_after: Duration::from_millis(u64::try_from(retry_ms).unwrap_or(1)),
            },
            Ok(Err(error)) => SharedDecision::Unavailable(error.to_string()),
            Err(_elapsed) => SharedDecision::Unavailable(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            )),
        }
    }
}
