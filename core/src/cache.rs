//! The verified-token cache.
//!
//! MCP clients send the same access token with every request of a session, so a hit saves the
//! signature check, which is nearly all of the cost. The cache is a fixed array of four-way sets
//! of `ArcSwapOption` slots, indexed by a keyed hash of the whole token:
//! - reads take no lock and allocate nothing (one arc-swap load per way);
//! - memory is bounded by construction: at most `capacity` entries, each holding a token of at
//!   most [`MAX_CACHED_TOKEN_BYTES`], and no eviction bookkeeping is needed;
//! - a hit compares the full token in constant time, re-checks `exp`/`nbf` against the current
//!   time and, after every key-set change, confirms that the token's `alg` and `kid` would still
//!   select the key that verified it (published, same kid, same alg restriction, `use` still
//!   `sig`) — a hit is never looser than a fresh verification. The rest of the policy (issuers,
//!   audiences, algorithms, typ, scopes) is fixed when the verifier is built and the cache belongs
//!   to that one verifier, so an entry cannot outlive the policy that admitted it;
//! - a new entry replaces, within its set, an expired entry or else the least recently used one
//!   (use is stamped in whole seconds, so a hot entry is written at most once a second). With two
//!   ways and "expires first" eviction, a demo with 256 live sessions in a 1,024-entry cache hit
//!   only ~93% of re-sent tokens: live entries kept evicting each other.
//!
//! Only successes are cached. The hash is keyed per process (foldhash seeded at random); since only
//! tokens whose signature verified are inserted, an attacker cannot choose colliding entries.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;

use crate::alg::Algorithm;
use crate::crypto::constant_time_eq;
use crate::keyset::KeySet;
use crate::verified::Verified;

/// Tokens longer than this are never cached (DESIGN.md: only tokens ≤ 4 KiB).
pub(crate) const MAX_CACHED_TOKEN_BYTES: usize = 4096;

/// How many trailing bytes of a token select its cache set (see [`TokenCache::locate`]).
const HASHED_SUFFIX_BYTES: usize = 32;

/// Default number of cached tokens.
pub(crate) const DEFAULT_CAPACITY: usize = 1024;

/// Most reference-count stripes per entry (one per core, up to this).
const MAX_STRIPES: usize = 8;

/// Stripes for per-thread copies and counters: one per core, at most [`MAX_STRIPES`].
pub(crate) fn stripe_count() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_STRIPES)
}

/// This thread's stripe: threads are numbered in the order they first hit the cache.
#[inline]
pub(crate) fn stripe() -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) as usize;
    }
    STRIPE.with(|s| *s)
}

pub(crate) struct Entry {
    /// The keyed hash of `token`: compared first, so that only the entry that can match is
    /// compared byte for byte (in constant time). The hash is keyed per process and reveals
    /// nothing about the token.
    hash: u64,
    token: Box<str>,
    /// Equal copies of the result, each with its own reference count: threads take the copy of
    /// their stripe, so concurrent hits on one token do not bounce one counter's cache line
    /// between cores (measured: without this, 2 threads served fewer hits per second than 1).
    copies: Box<[Verified]>,
    /// The key that verified the token, by fingerprint, and the header values that selected it.
    key_fingerprint: [u8; 32],
    alg: Algorithm,
    kid: Option<Box<str>>,
    /// The key-set generation in which the fingerprint was last seen.
    generation: AtomicU64,
    /// Validity window in seconds since the epoch, leeway applied.
    valid_from: f64,
    valid_until: f64,
    /// Last hit, in whole seconds since the epoch.
    last_used: AtomicU64,
}

/// What selected the key that verified a cached token, re-checked after every key-set change.
pub(crate) struct KeyBinding<'a> {
    /// The key, by fingerprint.
    pub(crate) fingerprint: [u8; 32],
    /// The token's `alg` and `kid`, which selected it.
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<&'a str>,
    /// The key-set generation that held it.
    pub(crate) generation: u64,
}

/// Slots per set (fewer for caches smaller than this).
const WAYS: usize = 4;

pub(crate) struct TokenCache {
    slots: Box<[ArcSwapOption<Entry>]>,
    /// The hash of each slot's entry (0 when empty), read before the slot itself: a lookup then
    /// loads only the slot that can match instead of every way of the set (an arc-swap load is
    /// the dearest step of a hit after hashing). Only a hint — the entry's own `hash` and token
    /// decide; a tag that lags a concurrent store costs at most a miss, never a wrong hit.
    tags: Box<[AtomicU64]>,
    sets: usize,
    ways: usize,
    stripes: usize,
    hasher: foldhash::quality::RandomState,
}

/// Why a lookup did not return a hit.
pub(crate) enum Miss {
    /// Not cached (or a different token in the slot).
    Absent,
    /// Cached, but outside its validity window now: verify in full for the exact error.
    Stale,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Option<TokenCache> {
        if capacity == 0 {
            return None;
        }
        // Never more slots than the capacity asked for.
        let ways = WAYS.min(capacity);
        let sets = capacity / ways;
        let stripes = stripe_count();
        Some(TokenCache {
            slots: (0..sets * ways).map(|_| ArcSwapOption::empty()).collect(),
            tags: (0..sets * ways).map(|_| AtomicU64::new(0)).collect(),
            sets,
            ways,
            stripes,
            hasher: foldhash::quality::RandomState::default(),
        })
    }

    /// The token's keyed hash and the index of the first slot of its set.
    ///
    /// Only the last [`HASHED_SUFFIX_BYTES`] of a token are hashed (with its length): they are
    /// signature bytes, which differ between any two tokens the cache holds (only tokens whose
    /// signature verified are inserted), and hashing all of a 400–800-byte token was a fifth of a
    /// hit's instructions. A token is still found only by comparing all of it.
    #[inline]
    fn locate(&self, token: &str) -> (u64, usize) {
        let bytes = token.as_bytes();
        let suffix = &bytes[bytes.len().saturating_sub(HASHED_SUFFIX_BYTES)..];
        let hash = self.hasher.hash_one((bytes.len(), suffix));
        // Multiply-shift maps the hash onto 0..sets without a division.
        let set = ((hash as u128 * self.sets as u128) >> 64) as usize;
        (hash, self.ways * set)
    }

    /// Returns the cached result for `token` if it is still valid at `now` under `keys`.
    #[inline]
    pub(crate) fn get(&self, token: &str, now: f64, keys: &KeySet) -> Result<Verified, Miss> {
        if token.len() > MAX_CACHED_TOKEN_BYTES {
            return Err(Miss::Absent);
        }
        let (hash, first) = self.locate(token);
        for i in first..first + self.ways {
            if self.tags[i].load(Ordering::Relaxed) != hash {
                continue;
            }
            let way = &self.slots[i];
            let guard = way.load();
            let Some(entry) = guard.as_deref() else {
                continue;
            };
            // Constant time: how many leading bytes of a cached token a guess shares must not show.
            if entry.hash != hash || !constant_time_eq(entry.token.as_bytes(), token.as_bytes()) {
                continue;
            }
            if now < entry.valid_from || now >= entry.valid_until {
                return Err(Miss::Stale);
            }
            let second = now as u64;
            if entry.last_used.load(Ordering::Relaxed) < second {
                entry.last_used.store(second, Ordering::Relaxed);
            }
            let generation = keys.generation();
            if entry.generation.load(Ordering::Relaxed) != generation {
                // The set changed since: the entry stays only if a fresh verification would still
                // pick its key.
                if !keys.still_selects(entry.alg, entry.kid.as_deref(), &entry.key_fingerprint) {
                    way.store(None);
                    self.tags[i].store(0, Ordering::Relaxed);
                    return Err(Miss::Absent);
                }
                entry.generation.store(generation, Ordering::Relaxed);
            }
            return Ok(entry.copies[stripe() % entry.copies.len()].clone());
        }
        Err(Miss::Absent)
    }

    /// Caches a successful verification, valid in `[valid_from, valid_until)` (seconds since the
    /// epoch, leeway applied); returns whether a live entry was pushed out for it.
    pub(crate) fn insert(
        &self,
        token: &str,
        verified: &Verified,
        key: KeyBinding<'_>,
        (valid_from, valid_until): (f64, f64),
        now: f64,
    ) -> bool {
        if token.len() > MAX_CACHED_TOKEN_BYTES {
            return false;
        }
        let (hash, first) = self.locate(token);
        // The way to replace: this token's own, else an empty one, else an expired one, else the
        // least recently used (ties: the one expiring first).
        let mut target = first;
        let mut best = (u8::MAX, u64::MAX, f64::INFINITY);
        for (i, way) in self.slots[first..first + self.ways].iter().enumerate() {
            let rank = match way.load().as_deref() {
                Some(e)
                    if e.hash == hash && constant_time_eq(e.token.as_bytes(), token.as_bytes()) =>
                {
                    (0, 0, 0.0)
                }
                None => (1, 0, 0.0),
                Some(e) if e.valid_until <= now => (2, 0, 0.0),
                Some(e) => (3, e.last_used.load(Ordering::Relaxed), e.valid_until),
            };
            if rank < best {
                best = rank;
                target = first + i;
            }
        }
        let copies = (0..self.stripes)
            .map(|i| {
                if i == 0 {
                    verified.clone()
                } else {
                    verified.deep_clone()
                }
            })
            .collect();
        self.slots[target].store(Some(Arc::new(Entry {
            hash,
            token: token.into(),
            copies,
            key_fingerprint: key.fingerprint,
            alg: key.alg,
            kid: key.kid.map(Into::into),
            generation: AtomicU64::new(key.generation),
            valid_from,
            valid_until,
            // One second older than "now": an entry hit this second outranks one merely
            // inserted this second, so one-off tokens are evicted before live ones.
            last_used: AtomicU64::new((now as u64).saturating_sub(1)),
        })));
        self.tags[target].store(hash, Ordering::Relaxed);
        best.0 == 3
    }

    /// Number of slots (the capacity, rounded down to whole sets).
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Number of occupied slots (a scan: for statistics, not the hot path).
    pub(crate) fn entries(&self) -> usize {
        self.slots.iter().filter(|s| s.load().is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding() -> KeyBinding<'static> {
        KeyBinding {
            fingerprint: [0; 32],
            alg: Algorithm::EdDSA,
            kid: None,
            generation: 0,
        }
    }

    #[test]
    fn capacity_zero_disables_the_cache() {
        assert!(TokenCache::new(0).is_none());
    }

    #[test]
    fn holds_at_most_capacity_entries() {
        let cache = TokenCache::new(10).unwrap();
        let v = Verified::from_static("x", &crate::StaticToken::new("x", "c"));
        let keys = KeySet::default();
        for i in 0..1000 {
            cache.insert(&format!("token-{i}"), &v, binding(), (0.0, f64::MAX), 0.0);
        }
        assert!(cache.entries() <= 10);
        assert!(cache.entries() >= 5, "{}", cache.entries());
        // Recent insertions are found; the window is enforced.
        cache.insert("fresh", &v, binding(), (100.0, 200.0), 100.0);
        assert!(cache.get("fresh", 150.0, &keys).is_ok());
        assert!(matches!(cache.get("fresh", 200.0, &keys), Err(Miss::Stale)));
        assert!(matches!(cache.get("fresh", 99.0, &keys), Err(Miss::Stale)));
        assert!(matches!(
            cache.get("other", 150.0, &keys),
            Err(Miss::Absent)
        ));
    }

    #[test]
    fn recently_used_entries_survive_a_stream_of_new_tokens() {
        // 32 live tokens hit every second while 10,000 one-off tokens pass through a cache of 256.
        // (A set can still draw more live tokens than it has ways, as hashing falls, so a few
        // misses are expected, not zero.)
        let cache = TokenCache::new(256).unwrap();
        let v = Verified::from_static("x", &crate::StaticToken::new("x", "c"));
        let keys = KeySet::default();
        let live: Vec<String> = (0..32).map(|i| format!("live-{i}")).collect();
        let mut second = 1_000.0;
        for t in &live {
            cache.insert(t, &v, binding(), (0.0, f64::MAX), second);
        }
        // Per live token, whether it ever missed after the first round. The hash is seeded at
        // random per cache, so now and then one set draws five or more of the 32 live tokens
        // (about 1 % of runs) and those few thrash whatever the policy: the property is that
        // recently used tokens in general survive the stream, not that every set is lucky.
        let mut missed = vec![false; live.len()];
        for round in 0..100 {
            second += 1.0;
            for (i, t) in live.iter().enumerate() {
                if cache.get(t, second, &keys).is_err() {
                    missed[i] = true;
                    cache.insert(t, &v, binding(), (0.0, f64::MAX), second);
                }
            }
            for j in 0..100 {
                cache.insert(
                    &format!("once-{round}-{j}"),
                    &v,
                    binding(),
                    (0.0, f64::MAX),
                    second,
                );
            }
        }
        // Without recency (random or FIFO replacement) nearly every live token misses here.
        let missing = missed.iter().filter(|m| **m).count();
        println!("{missing} of 32 live tokens missed at least once");
        assert!(missing <= 8, "{missing} of 32 live tokens missed");
    }

    #[test]
    fn long_tokens_are_not_cached() {
        let cache = TokenCache::new(4).unwrap();
        let v = Verified::from_static("x", &crate::StaticToken::new("x", "c"));
        let long = "a".repeat(MAX_CACHED_TOKEN_BYTES + 1);
        cache.insert(&long, &v, binding(), (0.0, f64::MAX), 0.0);
        assert_eq!(cache.entries(), 0);
    }
}
