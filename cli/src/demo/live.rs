//! What a person watches during the run: the live line on stderr (time, verifications, failures,
//! rate, phase), updated ten times a second, and the events printed above it as they happen.

use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::shared::Shared;
use crate::ui::{self, DIM, FAIL, OK, group_digits, paint};

/// The live line, drawn on stderr (only on a terminal).
pub(super) fn progress_bar(run_for: Duration) -> ProgressBar {
    let progress = ProgressBar::with_draw_target(
        Some(run_for.as_millis() as u64),
        ProgressDrawTarget::stderr(),
    );
    progress.set_style(
        ProgressStyle::with_template("{spinner:.green} {bar:24.cyan/blue} {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    progress
}

/// Updates the live line ten times a second until the run ends; events print above it.
pub(super) fn watch(shared: &Shared, progress: &ProgressBar, run_for: Duration, json: bool) {
    let mut last = (Instant::now(), 0u64);
    let mut rate = 0.0;
    let mut reported_pickup = false;
    loop {
        let elapsed = shared.start.elapsed();
        if elapsed >= run_for {
            return;
        }
        thread::sleep(Duration::from_millis(100).min(run_for - elapsed));
        if let Some(picked) = shared.picked_up().filter(|_| !reported_pickup) {
            reported_pickup = true;
            // Stamped when it happened, not when this loop noticed.
            let switched = shared
                .switched
                .get()
                .map_or(Duration::ZERO, |t| t.duration_since(shared.start));
            shared.event_at(
                switched + picked,
                format!(
                    "first new-key token verified: rotation picked up after {:.1} ms",
                    picked.as_secs_f64() * 1e3
                ),
            );
        }
        print_events(shared, progress, json);
        let verified = shared.verified.load(Ordering::Relaxed);
        let now = Instant::now();
        let window = now.duration_since(last.0).as_secs_f64();
        if window > 0.0 {
            rate = (verified - last.1) as f64 / window;
        }
        last = (now, verified);
        let failures = shared.failures.load(Ordering::Relaxed);
        progress.set_position(shared.start.elapsed().as_millis() as u64);
        progress.set_message(format!(
            "{:>4.1} s  {} verified  {}  {}/s  {}",
            shared.start.elapsed().as_secs_f64(),
            group_digits(verified),
            if failures == 0 {
                paint(OK, "0 failures")
            } else {
                paint(FAIL, format!("{failures} failures"))
            },
            group_digits(rate as u64),
            shared.phase()
        ));
    }
}

/// Prints pending events above the progress line (stdout; not in JSON mode).
pub(super) fn print_events(shared: &Shared, progress: &ProgressBar, json: bool) {
    let events = shared.take_events();
    if json || events.is_empty() {
        return;
    }
    progress.suspend(|| {
        for (at, text) in events {
            ui::outln!(
                "  {}  {text}",
                paint(DIM, format!("{:>5.2} s", at.as_secs_f64()))
            );
        }
    });
}
