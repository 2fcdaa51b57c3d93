//! The load: worker threads verifying the sessions' tokens round-robin, as MCP clients re-send
//! theirs, and what each worker tallies per algorithm.
//!
//! Cache hit rate: core has no hit counters. The workload says which verifications re-send a
//! token seen before, but not whether the cache still held it, so hits are measured: a re-sent
//! token answered in under half the time of a full verification of its algorithm skipped the
//! signature check (see `Tally::cache`).

use std::sync::atomic::Ordering;
use std::time::Instant;

use jwtgate::Error;

use super::ROWS;
use super::shared::Shared;
use super::verifiers::Verifiers;

/// Verifications between looks at the stop flag and the shared counters.
const BATCH: usize = 16;

/// Per-algorithm tallies of one worker.
#[derive(Default, Clone)]
pub(super) struct Tally {
    first: u64,
    /// Durations of first verifications (one per minted token: thousands, not millions), for
    /// the median, which preemption on a busy machine cannot drag the way it drags a mean.
    first_samples: Vec<u64>,
    pub(super) repeat: u64,
    /// Re-sent tokens by duration: `repeat_count[b]` verifications took [2^(b-1), 2^b) ns.
    repeat_count: [u64; BUCKETS],
    repeat_ns: [u64; BUCKETS],
    /// Verifications of new-key tokens that started before the verifier had the new keys: they
    /// waited for the key fetch and are left out of the µs columns.
    pub(super) waited: u64,
    pub(super) waited_ns: u64,
    pub(super) failures: u64,
    pub(super) first_error: Option<Error>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.first += other.first;
        self.first_samples.extend_from_slice(&other.first_samples);
        self.repeat += other.repeat;
        for b in 0..BUCKETS {
            self.repeat_count[b] += other.repeat_count[b];
            self.repeat_ns[b] += other.repeat_ns[b];
        }
        self.waited += other.waited;
        self.waited_ns = self.waited_ns.max(other.waited_ns);
        self.failures += other.failures;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }

    pub(super) fn verifications(&self) -> u64 {
        self.first + self.repeat + self.waited
    }

    /// The median duration of a full verification (a token's first), in ns.
    pub(super) fn median_first_ns(&self) -> u64 {
        if self.first_samples.is_empty() {
            return 0;
        }
        let mut samples = self.first_samples.clone();
        let middle = samples.len() / 2;
        *samples.select_nth_unstable(middle).1
    }

    fn record_repeat(&mut self, ns: u64) {
        let b = ((u64::BITS - ns.leading_zeros()) as usize).min(BUCKETS - 1);
        self.repeat += 1;
        self.repeat_count[b] += 1;
        self.repeat_ns[b] += ns;
    }

    /// Cache hits among the re-sent tokens, measured: core has no hit counter, but a hit skips
    /// the signature check, so it takes a fraction of a full verification while a re-sent token
    /// that was evicted takes the full time. Re-sent verifications faster than half the mean
    /// first verification (rounded down to a power of two) count as hits.
    /// Returns (hits, their ns, misses among re-sent tokens, their ns).
    pub(super) fn cache(&self) -> (u64, u64, u64, u64) {
        let full = self.median_first_ns();
        let limit = if self.first_samples.is_empty() {
            BUCKETS
        } else {
            (u64::BITS - (full / 2).leading_zeros()) as usize
        };
        let (mut hits, mut hit_ns, mut misses, mut miss_ns) = (0, 0, 0, 0);
        for b in 0..BUCKETS {
            // Bucket b holds durations below 2^b; it is all hits if 2^b <= full / 2.
            if b < limit {
                hits += self.repeat_count[b];
                hit_ns += self.repeat_ns[b];
            } else {
                misses += self.repeat_count[b];
                miss_ns += self.repeat_ns[b];
            }
        }
        (hits, hit_ns, misses, miss_ns)
    }
}

/// Duration buckets of re-sent verifications (powers of two of nanoseconds, up to ~1 s).
const BUCKETS: usize = 31;

/// The tallies of all workers, merged per algorithm.
pub(super) fn merge(workers: &[Vec<Tally>]) -> Vec<Tally> {
    let mut rows = vec![Tally::default(); ROWS.len()];
    for worker in workers {
        for (row, tally) in rows.iter_mut().zip(worker) {
            row.add(tally);
        }
    }
    rows
}

/// A worker: verifies session tokens round-robin from session `first` until told to stop.
pub(super) fn work(shared: &Shared, verifiers: &Verifiers, first: usize) -> Vec<Tally> {
    let mut tallies = vec![Tally::default(); ROWS.len()];
    let sessions = shared.sessions.len();
    let mut next = first % sessions;
    loop {
        let mut failed = 0;
        for _ in 0..BATCH {
            let entry = shared.sessions[next].load_full();
            next = (next + 1) % sessions;
            let repeat = entry.used.swap(true, Ordering::Relaxed);
            let new_key = entry.generation == 1 && entry.row != super::HMAC_ROW;
            let waiting = new_key && shared.picked_up_ns.load(Ordering::Relaxed) == u64::MAX;
            let verifier = verifiers.for_row(entry.row);
            let started = Instant::now();
            let result = verifier.verify(&entry.token);
            let ns = started.elapsed().as_nanos() as u64;
            let tally = &mut tallies[entry.row];
            if waiting {
                tally.waited += 1;
                tally.waited_ns = tally.waited_ns.max(ns);
            } else if repeat {
                tally.record_repeat(ns);
            } else {
                tally.first += 1;
                tally.first_samples.push(ns);
            }
            match result {
                Ok(_) if waiting => {
                    if let Some(switched) = shared.switched.get() {
                        let since = switched.elapsed().as_nanos() as u64;
                        shared.picked_up_ns.fetch_min(since, Ordering::Relaxed);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failed += 1;
                    tally.failures += 1;
                    tally.first_error.get_or_insert(e);
                }
            }
        }
        shared.verified.fetch_add(BATCH as u64, Ordering::Relaxed);
        if failed > 0 {
            shared.failures.fetch_add(failed, Ordering::Relaxed);
        }
        if shared.stop.load(Ordering::Relaxed) {
            return tallies;
        }
    }
}
