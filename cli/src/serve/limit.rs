//! Per-client rate limits: token buckets (one per identity) and a stricter bucket of failed
//! credential attempts per client address, kept in this process or, for several replicas, in
//! Redis with one atomic script call per request.
//!
//! One decision, after the credential was verified (its result not yet told to the client):
//! 1. the address's failed-attempt bucket is empty → 429, whatever the credential (a correct
//!    guess made after the lock-out is refused like a wrong one, so guessing learns nothing);
//! 2. the identity's bucket is empty → 429;
//! 3. otherwise one token is taken from the identity's bucket, and one from the address's
//!    failed-attempt bucket when the credential was refused.
//!
//! Memory is bounded: a bucket idle long enough to have refilled is dropped (it is then
//! indistinguishable from a new one, so nothing is forgotten); past `max_keys` buckets the
//! longest-idle eighth of a shard is dropped (counted in `limiter_evictions`).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::metrics::Metrics;
use super::redis::{Redis, RedisOutcome};

/// Buckets are spread over this many independently locked maps.
const SHARDS: usize = 16;
/// After a Redis failure, the local buckets answer alone for this long before Redis is tried
/// again, so that a dead Redis costs one failed call per second rather than one per request.
const REDIS_BACKOFF: Duration = Duration::from_secs(1);

/// A refill rate and a capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket capacity: the most requests allowed at once after a quiet period.
    pub burst: f64,
}

impl Rate {
    /// Seconds for an empty bucket to refill completely.
    pub fn refill_seconds(&self) -> f64 {
        self.burst / self.per_second
    }
}

/// Rate-limit settings.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// Per identity (client id, API key id, or address for requests without a valid credential).
    pub client: Rate,
    /// Failed credential attempts per client address.
    pub failed: Rate,
    /// Most buckets kept in this process.
    pub max_keys: usize,
}

/// Why a request was limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Its identity's bucket is empty.
    Identity,
    /// Its address has failed too many credential attempts.
    Failed,
}

impl Reason {
    /// The metrics label and log value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Identity => "identity",
            Reason::Failed => "failed_attempts",
        }
    }
}

/// The limiter's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Within the limits (tokens taken).
    Allowed,
    /// Over a limit: retry after this many seconds (at least 1).
    Limited { retry_after: u64, reason: Reason },
}

/// Local buckets, optionally backed by Redis.
pub struct Limiter {
    settings: LimitSettings,
    local: Local,
    redis: Option<Redis>,
    /// Milliseconds since `start` until which Redis is not asked (after a failure).
    redis_backoff_until: AtomicU64,
    start: Instant,
    metrics: Arc<Metrics>,
}

impl Limiter {
    /// A limiter with these settings; `redis` shares the buckets between processes.
    pub fn new(settings: LimitSettings, redis: Option<Redis>, metrics: Arc<Metrics>) -> Limiter {
        Limiter {
            local: Local::new(settings.max_keys),
            settings,
            redis,
            redis_backoff_until: AtomicU64::new(0),
            start: Instant::now(),
            metrics,
        }
    }

    /// Decides one request (see the module docs). `identity` and `address` are bucket keys;
    /// `failed` says the request presented a credential that was refused.
    pub async fn check(&self, identity: &str, address: &str, failed: bool) -> Outcome {
        if let Some(redis) = &self.redis {
            let now = self.start.elapsed().as_millis() as u64;
            if now >= self.redis_backoff_until.load(Ordering::Relaxed) {
                match redis
                    .take(
                        identity,
                        address,
                        failed,
                        self.settings.client,
                        self.settings.failed,
                    )
                    .await
                {
                    Ok(RedisOutcome { allowed: true, .. }) => return Outcome::Allowed,
                    Ok(RedisOutcome {
                        retry_after_ms,
                        failed_limit,
                        ..
                    }) => {
                        return Outcome::Limited {
                            retry_after: retry_after_ms.div_ceil(1000).max(1),
                            reason: if failed_limit {
                                Reason::Failed
                            } else {
                                Reason::Identity
                            },
                        };
                    }
                    Err(error) => {
                        // Fail open to the local buckets: a rate limit protects capacity, not
                        // access (every credential is still verified), and failing closed would
                        // make Redis a single point of failure for all authenticated traffic.
                        // Each replica then enforces the limits on its own share.
                        self.metrics.redis_errors.fetch_add(1, Ordering::Relaxed);
                        let until = now + REDIS_BACKOFF.as_millis() as u64;
                        let previous = self.redis_backoff_until.swap(until, Ordering::Relaxed);
                        if previous <= now.saturating_sub(60_000) || previous == 0 {
                            super::log::warn(&format!(
                                "redis rate-limit store failed ({error}); using this process's buckets until it answers again"
                            ));
                        }
                    }
                }
            }
        }
        self.local
            .take(identity, address, failed, &self.settings, Instant::now())
    }

    /// Drops buckets that have refilled (run periodically).
    pub fn sweep(&self) {
        self.local.sweep(&self.settings, Instant::now());
    }

    /// Buckets held in this process now.
    pub fn local_keys(&self) -> usize {
        self.local.len()
    }

    /// Buckets dropped early because `max_keys` was reached.
    pub fn evictions(&self) -> u64 {
        self.local.evictions.load(Ordering::Relaxed)
    }
}

/// One bucket: its level at `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

type Shard = HashMap<Box<str>, Bucket>;

/// The in-process buckets.
struct Local {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    hasher: std::collections::hash_map::RandomState,
    evictions: AtomicU64,
}

impl Local {
    fn new(max_keys: usize) -> Local {
        Local {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
            hasher: std::collections::hash_map::RandomState::new(),
            evictions: AtomicU64::new(0),
        }
    }

    fn shard_of(&self, key: &str) -> usize {
        (self.hasher.hash_one(key) % SHARDS as u64) as usize
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding a shard cannot leave a bucket half-written (plain f64 stores),
        // so a poisoned lock is still usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take(
        &self,
        identity: &str,
        address: &str,
        failed: bool,
        settings: &LimitSettings,
        now: Instant,
    ) -> Outcome {
        let identity_key = format!("i:{identity}");
        let failed_key = format!("f:{address}");
        let (fi, ii) = (self.shard_of(&failed_key), self.shard_of(&identity_key));
        // Both buckets are decided under their locks, taken in index order (no deadlock), so that
        // concurrent attempts cannot all pass the failed-attempt check before any is counted.
        if fi == ii {
            let mut shard = self.lock(fi);
            let mut pair = Pair {
                failed: &mut shard,
                identity: None,
            };
            self.decide(&mut pair, &identity_key, &failed_key, failed, settings, now)
        } else {
            let (mut low, mut high) = (self.lock(fi.min(ii)), self.lock(fi.max(ii)));
            let (failed_shard, identity_shard) = if fi < ii {
                (&mut *low, &mut *high)
            } else {
                (&mut *high, &mut *low)
            };
            let mut pair = Pair {
                failed: failed_shard,
                identity: Some(identity_shard),
            };
            self.decide(&mut pair, &identity_key, &failed_key, failed, settings, now)
        }
    }

    fn decide(
        &self,
        pair: &mut Pair<'_>,
        identity_key: &str,
        failed_key: &str,
        failed: bool,
        settings: &LimitSettings,
        now: Instant,
    ) -> Outcome {
        let failed_level = level(pair.failed.get(failed_key), settings.failed, now);
        if failed_level < 1.0 {
            return Outcome::Limited {
                retry_after: wait_seconds(failed_level, settings.failed),
                reason: Reason::Failed,
            };
        }
        let identity_level = level(pair.identity().get(identity_key), settings.client, now);
        let outcome = if identity_level < 1.0 {
            Outcome::Limited {
                retry_after: wait_seconds(identity_level, settings.client),
                reason: Reason::Identity,
            }
        } else {
            let shard = pair.identity();
            self.store(shard, identity_key, identity_level - 1.0, now);
            Outcome::Allowed
        };
        if failed {
            self.store(pair.failed, failed_key, failed_level - 1.0, now);
        }
        outcome
    }

    fn store(&self, shard: &mut Shard, key: &str, tokens: f64, now: Instant) {
        if let Some(bucket) = shard.get_mut(key) {
            *bucket = Bucket { tokens, at: now };
            return;
        }
        if shard.len() >= self.per_shard {
            // Full of buckets that have not refilled yet: drop the longest-idle eighth. They
            // forget some spent tokens; the alternative (refusing new clients) would let whoever
            // fills the table lock everyone else out.
            let mut ages: Vec<Instant> = shard.values().map(|b| b.at).collect();
            let cut = (ages.len() / 8).max(1);
            let (_, nth, _) = ages.select_nth_unstable(cut - 1);
            let oldest = *nth;
            let before = shard.len();
            shard.retain(|_, b| b.at > oldest);
            self.evictions
                .fetch_add((before - shard.len()) as u64, Ordering::Relaxed);
        }
        shard.insert(key.into(), Bucket { tokens, at: now });
    }

    fn sweep(&self, settings: &LimitSettings, now: Instant) {
        let longest = settings
            .client
            .refill_seconds()
            .max(settings.failed.refill_seconds());
        let longest = Duration::from_secs_f64(longest.min(1e9));
        for index in 0..SHARDS {
            let mut shard = self.lock(index);
            shard.retain(|_, b| now.saturating_duration_since(b.at) < longest);
        }
    }

    fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.lock(i).len()).sum()
    }
}

/// The failed-attempt shard and, when it differs, the identity's.
struct Pair<'a> {
    failed: &'a mut Shard,
    identity: Option<&'a mut Shard>,
}

impl Pair<'_> {
    fn identity(&mut self) -> &mut Shard {
        match &mut self.identity {
            Some(shard) => shard,
            None => self.failed,
        }
    }
}

/// A bucket's level now (a missing bucket is full).
fn level(bucket: Option<&Bucket>, rate: Rate, now: Instant) -> f64 {
    match bucket {
        None => rate.burst,
        Some(b) => {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            (b.tokens + elapsed * rate.per_second).min(rate.burst)
        }
    }
}

/// Whole seconds until a bucket at `level` holds one token (at least 1: `Retry-After` is in
/// seconds, RFC 9110 §10.2.3, and 0 would invite an immediate retry).
fn wait_seconds(level: f64, rate: Rate) -> u64 {
    let seconds = ((1.0 - level).max(0.0) / rate.per_second).ceil();
    (seconds as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_keys: usize) -> LimitSettings {
        LimitSettings {
            client: Rate {
                per_second: 1.0,
                burst: 3.0,
            },
            failed: Rate {
                per_second: 0.1,
                burst: 2.0,
            },
            max_keys,
        }
    }

    #[test]
    fn a_burst_is_allowed_then_limited_until_refilled() {
        let local = Local::new(1000);
        let s = settings(1000);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(
                local.take("c:a", "1.2.3.4", false, &s, t0),
                Outcome::Allowed
            );
        }
        assert_eq!(
            local.take("c:a", "1.2.3.4", false, &s, t0),
            Outcome::Limited {
                retry_after: 1,
                reason: Reason::Identity
            }
        );
        // Another identity from the same address has its own bucket.
        assert_eq!(
            local.take("c:b", "1.2.3.4", false, &s, t0),
            Outcome::Allowed
        );
        let later = t0 + Duration::from_millis(1500);
        assert_eq!(
            local.take("c:a", "1.2.3.4", false, &s, later),
            Outcome::Allowed
        );
    }

    #[test]
    fn failed_attempts_lock_the_address_out_even_for_a_good_credential() {
        let local = Local::new(1000);
        let s = settings(1000);
        let t0 = Instant::now();
        assert_eq!(local.take("a:x", "9.9.9.9", true, &s, t0), Outcome::Allowed);
        assert_eq!(local.take("a:x", "9.9.9.9", true, &s, t0), Outcome::Allowed);
        let limited = local.take("c:good", "9.9.9.9", false, &s, t0);
        assert_eq!(
            limited,
            Outcome::Limited {
                retry_after: 10,
                reason: Reason::Failed
            }
        );
        // Other addresses are unaffected.
        assert_eq!(
            local.take("c:good", "8.8.8.8", false, &s, t0),
            Outcome::Allowed
        );
    }

    #[test]
    fn memory_stays_bounded_and_refilled_buckets_are_swept() {
        let local = Local::new(64);
        let s = settings(64);
        let t0 = Instant::now();
        for i in 0..10_000 {
            local.take(&format!("a:{i}"), &format!("{i}"), false, &s, t0);
        }
        assert!(local.len() <= 64 * 2 + SHARDS, "{}", local.len());
        assert!(local.evictions.load(Ordering::Relaxed) > 0);
        local.sweep(&s, t0 + Duration::from_secs(60));
        assert_eq!(local.len(), 0);
    }
}
