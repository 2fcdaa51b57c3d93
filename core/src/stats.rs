//! Counters of what a verifier did: outcomes by error code, cache use, key fetches. The hot path
//! adds to a relaxed atomic in its thread's stripe (threads are spread over up to eight
//! cache-line-aligned stripes, as in the verified-token cache), so concurrent verifications do
//! not contend on one counter; [`Verifier::stats`](crate::Verifier::stats) sums the stripes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorCode;

/// What a verifier has done since it was built, and the state of its keys and cache.
///
/// Counters only grow; take two snapshots and subtract for rates. Obtained from
/// [`Verifier::stats`](crate::Verifier::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Credentials accepted (from the cache, by full verification, as static tokens, or on an
    /// introspection answer), less
    /// [`refused_after_verification`](Stats::refused_after_verification).
    pub accepted: u64,
    /// Credentials that verified (counted in `cache_hits` or `verified`) and were then refused:
    /// their DPoP binding failed (RFC 9449), or, with several providers, the verifier's own
    /// required scopes were missing. They count as rejected.
    pub refused_after_verification: u64,
    /// Accepted from the verified-token cache, without crypto.
    pub cache_hits: u64,
    /// Accepted by a full verification (signature and claims).
    pub verified: u64,
    /// Accepted as configured static tokens.
    pub static_tokens: u64,
    /// Accepted on the provider's introspection answer (RFC 7662), fresh or cached.
    pub introspected: u64,
    /// Rejections, in total.
    pub rejected: u64,
    /// Rejections by error code (codes that occurred, in [`ErrorCode::ALL`] order).
    pub rejected_by_code: Vec<(ErrorCode, u64)>,
    /// Cache lookups that found nothing usable (the token then went through full verification).
    pub cache_misses: u64,
    /// Results stored in the cache.
    pub cache_inserts: u64,
    /// Live entries pushed out of the cache to make room.
    pub cache_evictions: u64,
    /// Entries in the cache now.
    pub cache_entries: usize,
    /// The cache's capacity (0 when it is disabled).
    pub cache_capacity: usize,
    /// Discovery documents fetched (attempts, failed ones included).
    pub discovery_fetches: u64,
    /// Discovery attempts that failed.
    pub discovery_failures: u64,
    /// JWKS documents fetched (attempts, failed ones included).
    pub jwks_fetches: u64,
    /// JWKS fetches that failed.
    pub jwks_failures: u64,
    /// Refreshes asked for by tokens with an unknown `kid`.
    pub kid_refreshes: u64,
    /// The current key set's generation.
    pub key_generation: u64,
    /// Time since the current remote key set was fetched.
    pub key_age: Option<Duration>,
    /// Whether the last good remote keys are in use because refreshes fail.
    pub keys_stale: bool,
    /// Calls to the provider's introspection endpoint (RFC 7662), failed ones included.
    pub introspections: u64,
    /// Introspection calls that failed (no answer, refused credentials, a malformed answer, or
    /// too many calls at once).
    pub introspection_failures: u64,
}

impl Stats {
    /// `accepted` from the counts it sums.
    pub(crate) fn compute_accepted(&mut self) {
        self.accepted = (self.cache_hits + self.verified + self.static_tokens + self.introspected)
            .saturating_sub(self.refused_after_verification);
    }
}

/// One stripe of the per-verifier counters, on its own cache lines.
#[repr(align(128))]
#[derive(Default)]
struct Stripe {
    cache_hits: AtomicU64,
    verified: AtomicU64,
    static_tokens: AtomicU64,
    introspected: AtomicU64,
    cache_misses: AtomicU64,
    cache_inserts: AtomicU64,
    cache_evictions: AtomicU64,
    /// Credentials that verified and were then refused for their DPoP binding.
    binding_refused: AtomicU64,
    rejected: [AtomicU64; ErrorCode::ALL.len()],
}

/// The counters of one verifier.
pub(crate) struct Counters {
    stripes: Box<[Stripe]>,
}

/// Which counter to add to.
#[derive(Clone, Copy)]
pub(crate) enum Event {
    CacheHit,
    Verified,
    StaticToken,
    Introspected,
    CacheMiss,
    CacheInsert,
    CacheEviction,
    RefusedAfterVerification,
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            stripes: (0..crate::cache::stripe_count())
                .map(|_| Stripe::default())
                .collect(),
        }
    }

    #[inline]
    fn stripe(&self) -> &Stripe {
        &self.stripes[crate::cache::stripe() % self.stripes.len()]
    }

    #[inline]
    pub(crate) fn add(&self, event: Event) {
        let s = self.stripe();
        let counter = match event {
            Event::CacheHit => &s.cache_hits,
            Event::Verified => &s.verified,
            Event::StaticToken => &s.static_tokens,
            Event::Introspected => &s.introspected,
            Event::CacheMiss => &s.cache_misses,
            Event::CacheInsert => &s.cache_inserts,
            Event::CacheEviction => &s.cache_evictions,
            Event::RefusedAfterVerification => &s.binding_refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reject(&self, code: ErrorCode) {
        self.stripe().rejected[code as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The sums over all stripes (key and cache state are filled in by the verifier).
    pub(crate) fn snapshot(&self) -> Stats {
        let sum = |f: fn(&Stripe) -> &AtomicU64| -> u64 {
            self.stripes
                .iter()
                .map(|s| f(s).load(Ordering::Relaxed))
                .sum()
        };
        let mut stats = Stats {
            cache_hits: sum(|s| &s.cache_hits),
            verified: sum(|s| &s.verified),
            static_tokens: sum(|s| &s.static_tokens),
            introspected: sum(|s| &s.introspected),
            cache_misses: sum(|s| &s.cache_misses),
            cache_inserts: sum(|s| &s.cache_inserts),
            cache_evictions: sum(|s| &s.cache_evictions),
            ..Stats::default()
        };
        stats.refused_after_verification = sum(|s| &s.binding_refused);
        stats.compute_accepted();
        for code in ErrorCode::ALL {
            let n: u64 = self
                .stripes
                .iter()
                .map(|s| s.rejected[code as usize].load(Ordering::Relaxed))
                .sum();
            if n > 0 {
                stats.rejected += n;
                stats.rejected_by_code.push((code, n));
            }
        }
        stats
    }
}
