//! What the minting thread, the workers and the live line share: the sessions (one token each,
//! replaced as new tokens are minted), the stop flag, the moments of the rotation, live counters
//! and the event log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::ROWS;

/// A token in a session.
pub(super) struct Entry {
    pub(super) token: String,
    /// Index into `ROWS`.
    pub(super) row: usize,
    /// 0: signed by a key of the first generation; 1: by a rotated-in key.
    pub(super) generation: u8,
    /// Set by the first verification, so later ones count as repeats.
    pub(super) used: AtomicBool,
}

/// State shared by the minting thread, the workers and the progress loop.
pub(super) struct Shared {
    pub(super) sessions: Vec<ArcSwap<Entry>>,
    pub(super) stop: AtomicBool,
    pub(super) start: Instant,
    /// When minting switched to the new keys.
    pub(super) switched: OnceLock<Instant>,
    /// Nanoseconds from the switch to the first successful verification of a new-key token.
    pub(super) picked_up_ns: AtomicU64,
    pub(super) verified: AtomicU64,
    pub(super) failures: AtomicU64,
    pub(super) minted: [AtomicU64; ROWS.len()],
    events: Mutex<Vec<(Duration, String)>>,
    phase: Mutex<&'static str>,
}

impl Shared {
    /// The run starts now, with these sessions (their tokens count as minted).
    pub(super) fn new(sessions: Vec<Entry>) -> Shared {
        let shared = Shared {
            sessions: sessions.into_iter().map(ArcSwap::from_pointee).collect(),
            stop: AtomicBool::new(false),
            start: Instant::now(),
            switched: OnceLock::new(),
            picked_up_ns: AtomicU64::new(u64::MAX),
            verified: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            minted: Default::default(),
            events: Mutex::new(Vec::new()),
            phase: Mutex::new("first keys published"),
        };
        for i in 0..shared.sessions.len() {
            shared.minted[i % ROWS.len()].fetch_add(1, Ordering::Relaxed);
        }
        shared
    }

    pub(super) fn event(&self, text: String) {
        self.event_at(self.start.elapsed(), text);
    }

    pub(super) fn event_at(&self, at: Duration, text: String) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((at, text));
    }

    /// The events logged since the last call, in time order.
    pub(super) fn take_events(&self) -> Vec<(Duration, String)> {
        let mut events =
            std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()));
        events.sort_by_key(|(at, _)| *at);
        events
    }

    pub(super) fn set_phase(&self, phase: &'static str) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase;
    }

    pub(super) fn phase(&self) -> &'static str {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// From the switch to the new keys to the first new-key token verified, once it happened.
    pub(super) fn picked_up(&self) -> Option<Duration> {
        let picked = self.picked_up_ns.load(Ordering::Relaxed);
        (picked != u64::MAX).then(|| Duration::from_nanos(picked))
    }
}
