//! The load: worker threads verifying the sessions' tokens round-robin, as MCP clients re-send
//! theirs, and what each worker tallies per algorithm.
//!
//! A worker asks the verified-token cache first (`Verifier::verify_cached`) and verifies fully
//! only when the cache has no answer, as a non-blocking server does; so whether a call was a
//! cache hit is the verifier's own answer, not a guess from its duration.

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
    pub(super) verifications: u64,
    /// Durations of first verifications (one per minted token: thousands, not millions), for
    /// the median, which preemption on a busy machine cannot drag the way it drags a mean.
    pub(super) first_samples: Vec<u64>,
    /// Verifications of a token sent before.
    pub(super) resent: u64,
    /// Calls the verified-token cache answered, and their total duration.
    pub(super) hits: u64,
    pub(super) hit_ns: u64,
    /// Verifications of new-key tokens that started before the verifier had the new keys: they
    /// waited for the key fetch and are left out of the µs columns.
    pub(super) waited: u64,
    pub(super) waited_ns: u64,
    pub(super) failures: u64,
    pub(super) first_error: Option<Error>,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.verifications += other.verifications;
        self.first_samples.extend_from_slice(&other.first_samples);
        self.resent += other.resent;
        self.hits += other.hits;
        self.hit_ns += other.hit_ns;
        self.waited += other.waited;
        self.waited_ns = self.waited_ns.max(other.waited_ns);
        self.failures += other.failures;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
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
}

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
            let (hit, result) = match verifier.verify_cached(&entry.token) {
                Some(result) => (true, result),
                None => (false, verifier.verify(&entry.token)),
            };
            let ns = started.elapsed().as_nanos() as u64;
            let tally = &mut tallies[entry.row];
            tally.verifications += 1;
            if waiting {
                tally.waited += 1;
                tally.waited_ns = tally.waited_ns.max(ns);
            } else {
                if repeat {
                    tally.resent += 1;
                }
                if hit {
                    tally.hits += 1;
                    tally.hit_ns += ns;
                } else if !repeat {
                    tally.first_samples.push(ns);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_merge_per_algorithm() {
        let worker = |first: &[u64], hits: u64| {
            let mut tallies = vec![Tally::default(); ROWS.len()];
            tallies[0] = Tally {
                verifications: first.len() as u64 + hits,
                first_samples: first.to_vec(),
                hits,
                hit_ns: hits * 200,
                waited_ns: first.len() as u64,
                ..Tally::default()
            };
            tallies
        };
        let rows = merge(&[worker(&[10, 30], 5), worker(&[20], 7)]);
        assert_eq!(rows.len(), ROWS.len());
        let row = &rows[0];
        assert_eq!((row.verifications, row.hits, row.hit_ns), (15, 12, 2400));
        assert_eq!(row.median_first_ns(), 20);
        // The longest wait is the longest of any worker, not a sum.
        assert_eq!(row.waited_ns, 2);
        assert_eq!(rows[1].median_first_ns(), 0);
    }
}
