//! The minting thread and its schedule: a fresh token every millisecond into the next session,
//! and at 40 % of the run the key rotation as a provider should do it — new keys published next
//! to the old ones (the overlap window), minting switched to them, and the old keys withdrawn once
//! every session holds a new-key token.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::issuer::DemoIssuer;
use super::shared::Shared;
use super::{PUBLISHED, ROWS};

/// The issuer mints a new token every millisecond (1,000/s), each replacing the token of the
/// next session: sessions get fresh tokens while most requests re-send one, as MCP clients do.
const MINT_INTERVAL: Duration = Duration::from_millis(1);
/// When the rotation starts, as a fraction of the run.
const ROTATE_AT: f64 = 0.4;

/// When the rotation started and when the old keys were withdrawn, as offsets from the start.
pub(super) struct Rotation {
    pub(super) started_at: Option<Duration>,
    pub(super) withdrawn_at: Option<Duration>,
}

/// Mints until the run is told to stop, rotating the keys on schedule.
pub(super) fn mint_and_rotate(issuer: &DemoIssuer, shared: &Shared, run_for: Duration) -> Rotation {
    let sessions = shared.sessions.len();
    let rotate_at = shared.start + run_for.mul_f64(ROTATE_AT);
    let (mut generation, mut replaced, mut cursor) = (0u8, 0usize, 0usize);
    let mut rotation = Rotation {
        started_at: None,
        withdrawn_at: None,
    };
    let mut next = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        if generation == 0 && Instant::now() >= rotate_at {
            // Overlap first: publish the new keys next to the old ones, so a verifier that
            // fetches now can verify tokens of both.
            issuer.publish_new_keys();
            rotation.started_at = Some(shared.start.elapsed());
            shared.event(format!(
                "rotation: {} new keys published next to the old ones (overlap window opens)",
                PUBLISHED.len()
            ));
            generation = 1;
            let _ = shared.switched.set(Instant::now());
            shared.event("minting switched to the new keys".to_string());
            shared.set_phase("overlap: old + new keys published, minting with new keys");
        }
        if generation == 1 && rotation.withdrawn_at.is_none() && replaced >= sessions {
            // Every session now holds a new-key token: the old keys can go.
            issuer.withdraw_old_keys();
            rotation.withdrawn_at = Some(shared.start.elapsed());
            shared.event("old keys withdrawn: every session holds a new-key token".to_string());
            shared.set_phase("rotated: old keys withdrawn");
        }
        let row = cursor % ROWS.len();
        match issuer.mint(row, generation) {
            Ok(entry) => {
                shared.sessions[cursor].store(Arc::new(entry));
                shared.minted[row].fetch_add(1, Ordering::Relaxed);
            }
            Err(f) => shared.event(format!("minting failed: {}", f.message)),
        }
        if generation == 1 {
            replaced += 1;
        }
        cursor = (cursor + 1) % sessions;
        next += MINT_INTERVAL;
        let now = Instant::now();
        if next > now {
            thread::sleep(next - now);
        } else if now - next > Duration::from_millis(50) {
            // Fell behind (a slow RSA signature on a busy core): do not burst to catch up.
            next = now;
        }
    }
    rotation
}
